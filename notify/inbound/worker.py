"""The mailbox worker inside `giaoban serve`: reads the sites' answers as they arrive.

It connects to the inbound mailbox, takes in everything waiting there (one pass,
notify.inbound.intake), then listens with IMAP IDLE (or sleeps `poll_seconds` on a
server without it) and takes in again when mail arrives. When the mailbox or the
database cannot be used it logs why and tries again later, waiting longer each time up
to a few minutes: a mail server that is down, or a wrong password, never stops the
service and is not hammered. On shutdown it finishes the chunk in hand, leaves IDLE
and logs out.

More than one worker may read the same mailbox (several `giaoban serve` processes): each
message is still applied once (see intake's docstring).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from meetings.core.keys import sessions_key, settings_key
from meetings.core.settings import Settings
from meetings.core.store import SessionMaker
from notify.inbound import intake, mailbox
from notify.inbound.keys import listening_key, passed_key

log = logging.getLogger(__name__)
#: The first wait after a failure; it doubles up to MAX_BACKOFF_SECONDS.
FIRST_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 300.0
STOP_GRACE_SECONDS = 30.0
#: The next pass after one that left messages for another worker to move.
DEFERRED_SECONDS = 10.0


async def _sleep(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)


async def run(
    settings: Settings,
    maker: SessionMaker,
    stopping: asyncio.Event,
    *,
    passed: asyncio.Event | None = None,
    listening: asyncio.Event | None = None,
) -> None:
    """Until `stopping` is set. `passed` is set after each pass, `listening` while the
    worker waits for new mail."""
    await _loop(settings, maker, stopping, passed=passed, listening=listening)


async def _loop(
    settings: Settings,
    maker: SessionMaker,
    stopping: asyncio.Event,
    *,
    passed: asyncio.Event | None,
    listening: asyncio.Event | None,
) -> None:
    inbound = settings.inbound
    backoff = FIRST_BACKOFF_SECONDS
    while not stopping.is_set():
        try:
            async with mailbox.connect(inbound) as box:
                log.info(
                    "inbound: reading %s %s at %s (%s)",
                    inbound.imap_user,
                    inbound.folder,
                    box.where,
                    "IDLE" if box.can_idle else f"every {inbound.poll_seconds}s",
                )
                while not stopping.is_set():
                    report = await intake.take_in_pass(box, maker, settings, stopping=stopping)
                    backoff = FIRST_BACKOFF_SECONDS
                    if report.read:
                        log.info("inbound: %s", report.summary())
                    if passed is not None:
                        passed.set()
                    if stopping.is_set():
                        break
                    wait = mailbox.IDLE_SECONDS if box.can_idle else inbound.poll_seconds
                    if report.deferred:  # another worker's to move: see that it did
                        wait = min(wait, DEFERRED_SECONDS)
                    await box.wait(wait, stopping, waiting=listening)
        except mailbox.MailboxError as error:
            log.warning("inbound: %s; trying again in %.0fs", error, backoff)
        except Exception:
            log.exception("inbound: the pass failed; trying again in %.0fs", backoff)
        if stopping.is_set():
            break
        await _sleep(stopping, backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


async def inbound_context(app: web.Application) -> AsyncIterator[None]:
    """The worker runs with `[inbound] enabled` and in a process that runs workers
    (`[mail] worker`: one setting says which processes do background work)."""
    app[passed_key] = asyncio.Event()
    app[listening_key] = asyncio.Event()
    settings = app[settings_key]
    if not (settings.inbound.enabled and settings.mail.worker):
        yield
        return
    stopping = asyncio.Event()
    task = asyncio.create_task(
        run(
            settings,
            app[sessions_key],
            stopping,
            passed=app[passed_key],
            listening=app[listening_key],
        ),
        name="inbound-mailbox",
    )
    yield
    # Let the chunk in hand finish (a task cancelled mid-commit leaves its connection
    # behind); cancel only if it does not end in time.
    stopping.set()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=STOP_GRACE_SECONDS)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
