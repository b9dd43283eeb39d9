"""Application keys of scheduler/."""

from __future__ import annotations

from aiohttp import web

from scheduler.service import Chaser, SchedulerService

scheduler_key = web.AppKey("scheduler", SchedulerService)
#: The chasers the scheduler runs (scheduler.service.Chaser), listed by the composition root.
chasers_key = web.AppKey("chasers", list[Chaser])
