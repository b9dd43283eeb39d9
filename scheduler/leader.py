"""One scheduler among several instances: the one that holds a PostgreSQL advisory lock.

Every instance may run the scheduler (`[scheduler] enabled`); on PostgreSQL each one's
`Leadership` asks for the session-level advisory lock LOCK_KEY on a connection of its own,
every TRY_SECONDS, and the one that gets it starts its scheduler, which rebuilds every
plan from the data (scheduler.service: the job store is a cache), so nothing is lost with
the instance that led before. The lock lives as long as that connection: a leader killed
with -9 loses it as soon as PostgreSQL sees the connection closed, and another instance
takes over within TRY_SECONDS; a leader whose connection is lost stops its scheduler
before another can start. Reminders stay exactly once across the change (their sending
is claimed under unique keys: notify.mail.claims).

A session changed on any instance is re-planned by the leader: the change is announced
with NOTIFY giaoban_plan (at its commit), which the leader listens for on its lock's
connection. On SQLite there is one instance, which simply runs its scheduler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.core.live_channel import INSTANCE, Running, from_others, own_connection, tell_others

log = logging.getLogger(__name__)

#: The advisory lock's key: "giao" in ASCII, so that it reads as ours in pg_locks.
LOCK_KEY = 0x67696F61
CHANNEL = "giaoban_plan"
#: How often a waiting instance asks for the lock, and the leader checks its connection.
TRY_SECONDS = 2.0


async def announce_plan(session: AsyncSession, meeting_id: int) -> None:
    """A `meeting_changed` receiver: tell the leading instance to re-plan the session once
    the change commits (nothing on SQLite, where this process's own scheduler hears it)."""
    await tell_others(session, CHANNEL, str(meeting_id))


class Leadership(Running):
    """Waits for the lock, leads while it holds it, and waits again once it is lost."""

    def __init__(
        self,
        url: URL,
        elected: Callable[[], Awaitable[None]],
        deposed: Callable[[], Awaitable[None]],
        heard: Callable[[int], None],
    ) -> None:
        self._url = url
        self._elected = elected
        self._deposed = deposed
        self._heard = heard

    async def _run(self) -> None:
        while True:
            try:
                await self._lead_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: ask again, a little later
                log.warning("scheduler leadership: %s", exc)
            await asyncio.sleep(TRY_SECONDS)

    async def _lead_once(self) -> None:
        connection = await own_connection(self._url, "giaoban-scheduler")
        try:
            while True:  # another instance leads meanwhile
                if await connection.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
                    break
                await asyncio.sleep(TRY_SECONDS)
            heard = from_others(self._heard_of)
            await connection.add_listener(CHANNEL, lambda _c, _p, _ch, what: heard(what))
            log.info("this instance runs the scheduler (instance %s)", INSTANCE)
            try:
                await self._elected()
                while True:  # the lock is held as long as this connection lives
                    await asyncio.sleep(TRY_SECONDS)
                    await asyncio.wait_for(connection.fetchval("SELECT 1"), TRY_SECONDS * 2)
            finally:
                await self._deposed()
                log.info("this instance no longer runs the scheduler")
        finally:
            if not connection.is_closed():
                connection.terminate()  # and with it the lock, if it was held

    def _heard_of(self, what: str) -> None:
        if what.isdigit():
            self._heard(int(what))
