"""Application keys of scheduler/."""

from __future__ import annotations

from aiohttp import web

from scheduler.service import SchedulerService

scheduler_key = web.AppKey("scheduler", SchedulerService)
