"""The scheduler inside an aiohttp app (`giaoban serve`), or alone (`giaoban scheduler`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from meetings.core.keys import sessions_key, settings_key, signals_key
from notify.mail.keys import wake_key
from scheduler.keys import chasers_key, scheduler_key
from scheduler.service import SchedulerService


async def scheduler_context(app: web.Application) -> AsyncIterator[None]:
    """Runs after the database and delivery contexts: jobs wake the delivery worker."""
    if not app[settings_key].scheduler.enabled:
        yield
        return
    chasers = app[chasers_key] if chasers_key in app else []
    service = SchedulerService(
        app[sessions_key],
        app[settings_key],
        wake=app[wake_key].set,
        signals=app[signals_key],
        chasers=chasers,
    )
    await service.start()
    app[scheduler_key] = service
    yield
    await service.stop()
