"""The scheduler inside an aiohttp app (`giaoban serve`), or alone (`giaoban scheduler`).

On SQLite the app runs its scheduler. On PostgreSQL several instances may each be told to
run one, and only the one that holds the lock does (scheduler.leader): the others stand
by and take over if it goes away. Every process announces the sessions it changes to the
leader (the composition root's receivers: scheduler.leader.announce_plan), whether it
runs a scheduler or not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from meetings.core.keys import engine_key, sessions_key, settings_key, signals_key
from meetings.core.live_channel import is_postgres
from notify.mail.keys import wake_key
from scheduler.keys import Scheduling, chasers_key, scheduler_key
from scheduler.leader import Leadership
from scheduler.service import SchedulerService


def _service(app: web.Application) -> SchedulerService:
    chasers = app[chasers_key] if chasers_key in app else []
    return SchedulerService(
        app[sessions_key],
        app[settings_key],
        wake=app[wake_key].set,
        signals=app[signals_key],
        chasers=chasers,
    )


async def scheduler_context(app: web.Application) -> AsyncIterator[None]:
    """Runs after the database and delivery contexts: jobs wake the delivery worker."""
    if not app[settings_key].scheduler.enabled:
        yield
        return
    scheduling = app[scheduler_key] = Scheduling()
    engine = app[engine_key]
    if not is_postgres(engine):
        scheduling.service = _service(app)
        await scheduling.service.start()
        yield
        await scheduling.service.stop()
        return

    async def elected() -> None:
        service = _service(app)
        await service.start()  # rebuilds every session's plan from the data
        scheduling.service = service

    async def deposed() -> None:
        service, scheduling.service = scheduling.service, None
        if service is not None:
            await service.stop()

    def heard(meeting_id: int) -> None:
        if scheduling.service is not None:
            scheduling.service.replan(meeting_id)

    leadership = Leadership(engine.url, elected, deposed, heard)
    leadership.start()
    yield
    await leadership.stop()


async def leading(app: web.Application) -> float:
    """1 while this instance runs the scheduler, else 0 (a gauge of meetings.core.observe)."""
    return 1.0 if scheduler_key in app and app[scheduler_key].leading else 0.0
