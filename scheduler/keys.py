"""Application keys of scheduler/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from scheduler.service import Chaser, SchedulerService

if TYPE_CHECKING:  # the leadership needs the keys' module loaded first
    from scheduler.leader import Leadership


@dataclass
class Scheduling:
    """This app's part in scheduling (scheduler.context): its running service, if it runs
    one now, and its place among the instances (PostgreSQL only)."""

    service: SchedulerService | None = None
    leadership: Leadership | None = None

    @property
    def leading(self) -> bool:
        return self.service is not None


#: This app's part in scheduling, when its scheduler is enabled.
scheduler_key = web.AppKey("scheduler", Scheduling)
#: The chasers the scheduler runs (scheduler.service.Chaser), listed by the composition root.
chasers_key = web.AppKey("chasers", list[Chaser])
