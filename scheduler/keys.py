"""Application keys of scheduler/."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from scheduler.service import Chaser, SchedulerService


@dataclass
class Scheduling:
    """This app's part in scheduling (scheduler.context): its running service, while it
    runs one (on PostgreSQL, while it leads: scheduler.leader)."""

    service: SchedulerService | None = None

    @property
    def leading(self) -> bool:
        return self.service is not None


#: This app's part in scheduling, when its scheduler is enabled.
scheduler_key = web.AppKey("scheduler", Scheduling)
#: The chasers the scheduler runs (scheduler.service.Chaser), listed by the composition root.
chasers_key = web.AppKey("chasers", list[Chaser])
