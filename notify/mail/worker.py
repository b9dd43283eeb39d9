"""The delivery worker inside `giaoban serve`: sends what is due, wakes when work arrives.

This loop drains the outbox: it delivers what is due (and what a dead worker held once
its lease has run out), then sleeps until woken — by newly queued messages, by the
scheduler when a timed mailing or a reminder comes due, by the end of the oldest lease
another worker holds (so a crashed worker's messages go on at once), or by its own tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from meetings.core.keys import sessions_key, settings_key
from meetings.core.store import SessionMaker, utcnow
from notify.mail import claims, outbox, transports
from notify.mail.keys import delivered_key, wake_key
from notify.mail.render import make_renderer

log = logging.getLogger(__name__)
TICK_SECONDS = 30.0
STOP_GRACE_SECONDS = 30.0
#: The shortest sleep between passes (a lease that has just run out is not re-read in a loop).
MIN_WAIT_SECONDS = 0.5


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Sleep until woken (new messages) or until the next tick, whichever is first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)
    event.clear()


async def _until_next_lease_ends(maker: SessionMaker, lease: timedelta) -> float:
    """Seconds to sleep: until the oldest claim held elsewhere runs out, or a tick."""
    left = await claims.next_expiry(maker, now=utcnow(), lease=lease)
    if left is None:
        return TICK_SECONDS
    return min(TICK_SECONDS, max(MIN_WAIT_SECONDS, left.total_seconds() + 0.05))


async def run(app: web.Application, stopping: asyncio.Event) -> None:
    settings = app[settings_key]
    maker = app[sessions_key]
    transport = transports.transport_for(settings.mail)
    render = make_renderer(settings)
    lease = timedelta(seconds=settings.mail.lease_seconds)
    while not stopping.is_set():
        wait = TICK_SECONDS
        try:
            report = await outbox.deliver_due(
                maker, transport, render, connections=settings.mail.max_connections, lease=lease
            )
            wait = await _until_next_lease_ends(maker, lease)
            if report.sent or report.retried or report.failed:
                log.info(
                    "outbox: %s sent, %s retried, %s failed",
                    report.sent,
                    report.retried,
                    report.failed,
                )
        except Exception:
            log.exception("outbox delivery failed; trying again at the next tick")
        app[delivered_key].set()
        await _wait(app[wake_key], wait)


async def delivery_context(app: web.Application) -> AsyncIterator[None]:
    app[wake_key] = asyncio.Event()
    app[delivered_key] = asyncio.Event()
    if not app[settings_key].mail.worker:
        yield
        return
    stopping = asyncio.Event()
    task = asyncio.create_task(run(app, stopping), name="outbox-delivery")
    yield
    # Let the current pass finish (a task cancelled mid-query leaves its connection
    # behind); cancel only if it does not end in time.
    stopping.set()
    app[wake_key].set()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=STOP_GRACE_SECONDS)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
