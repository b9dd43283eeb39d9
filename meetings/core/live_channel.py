"""What the boards of every instance hear: a session's sites changed, as PostgreSQL says.

One process's live hub hears the changes its own sessions commit (meetings.core.signals).
Several instances on one PostgreSQL database also hear each other's: a transaction that
changes what a board shows calls `announce`, which sends `NOTIFY giaoban_live` with the
session and the sites (PostgreSQL delivers it at the commit, never for a rollback, and to
every listening connection of the database); each instance's `Listener` holds one
connection of its own that listens, and hands what another instance changed to its hub,
which reads those sites' states from the database (the payload is small: who changed,
not what). A process that commits and serves no board (the scheduler, a `giaoban`
command) announces all the same. On SQLite there is one instance, and nothing is sent.

A lost listening connection is opened again (after 0.5 s, then up to 5 s apart); what
was announced meanwhile is lost, so every board of the instance is sent a fresh snapshot
once it listens again (`on_connected`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from meetings.core import signals
from meetings.core.store import after_commit

log = logging.getLogger(__name__)

CHANNEL = "giaoban_live"
#: Requests under unknown site links, per address (meetings.core.link_guard): each
#: instance counts those the others saw too.
GUARD_CHANNEL = "giaoban_guard"
#: This process, in every payload it sends: its own announcements reach it too, and its
#: hub has already had them.
INSTANCE = uuid.uuid4().hex[:12]
#: Sites named in one notification (PostgreSQL's payload is at most 8,000 bytes).
SITES_PER_NOTICE = 800
#: Waits before opening the listening connection again: the first, and the longest.
RETRY_FIRST, RETRY_MOST = 0.5, 5.0
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")

#: What an instance does with another's change: the session, and its changed sites
#: (empty: any of them, every board of the session reloads).
Heard = Callable[[int, list[int]], None]


def is_postgres(bind: AsyncSession | AsyncEngine) -> bool:
    """Several instances may share this database (on SQLite there is only one)."""
    engine = bind.get_bind() if isinstance(bind, AsyncSession) else bind
    return engine.dialect.name == "postgresql"


async def own_connection(url: URL, name: str) -> Any:
    """An asyncpg connection of its own to the database at `url`, not one of the pool's:
    it listens, or holds a lock, for as long as it lives (`name`: its application_name,
    as pg_stat_activity shows it)."""
    import asyncpg  # type: ignore[import-untyped]  # the PostgreSQL driver, installed

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.connect(dsn, server_settings={"application_name": name})


class Running:
    """A loop of its own (`_run`) from `start` until `stop`."""

    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def announce(
    session: AsyncSession, meeting_id: int, site_ids: Collection[int], *, here: bool = True
) -> None:
    """Tell every instance, once this transaction commits, that these sites of the session
    changed: this process's hub through its signals (`here`: not when the caller tells it
    itself, as attendance does with the states it wrote), the others by a notification
    (PostgreSQL only: on SQLite there are no others)."""
    ids = sorted(set(site_ids))
    listeners = signals.of(session).sites_changed
    if here and listeners and ids:

        def tell() -> None:
            for listener in listeners:
                listener(meeting_id, ids)

        after_commit(session, tell)
    for start in range(0, max(len(ids), 1), SITES_PER_NOTICE):
        sites = ",".join(map(str, ids[start : start + SITES_PER_NOTICE]))
        await tell_others(session, CHANNEL, f"{meeting_id}:{sites}")


def others(heard: Heard) -> Callable[[str], None]:
    """A `Listener` handler of CHANNEL: what other instances changed (`announce`), to
    `heard`: the session, and its sites (none: any of them)."""

    def handle(what: str) -> None:
        try:
            meeting, _, sites = what.partition(":")
            heard(int(meeting), [int(s) for s in sites.split(",") if s])
        except ValueError:
            log.warning("live listener: a notification it cannot read: %r", what[:200])

    return from_others(handle)


async def tell_others(session: AsyncSession, channel: str, what: str) -> None:
    """Say `what` on `channel` to the other instances once `session` commits (PostgreSQL;
    nothing on SQLite); `from_others` on their side hands it on."""
    if is_postgres(session):
        await session.execute(_NOTIFY, {"channel": channel, "payload": f"{INSTANCE}:{what}"})


def from_others(handle: Callable[[str], None]) -> Callable[[str], None]:
    """A `Listener` handler that hands on what other instances said with `tell_others`."""

    def handler(payload: str) -> None:
        instance, _, what = payload.partition(":")
        if instance != INSTANCE:
            handle(what)

    return handler


class Listener(Running):
    """One instance's listening connection, opened again whenever it is lost: each
    notification of a channel goes to that channel's handler, as its payload."""

    def __init__(
        self,
        url: URL,
        channels: dict[str, Callable[[str], None]],
        on_connected: Callable[[], None],
    ) -> None:
        self._url = url
        self._channels = channels
        self._on_connected = on_connected
        self._lost = asyncio.Event()
        #: Listening now (the readiness check reads it).
        self.connected = False
        #: How many times the connection was opened (the first one included).
        self.connections = 0

    async def _run(self) -> None:
        wait = RETRY_FIRST
        while True:
            try:
                await self._listen()
                wait = RETRY_FIRST
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: try again, a little later
                log.warning("live listener: %s; listening again in %.1f s", exc, wait)
            self.connected = False
            await asyncio.sleep(wait)
            wait = min(wait * 2, RETRY_MOST)

    async def _listen(self) -> None:
        connection = await own_connection(self._url, "giaoban-listener")
        try:
            self._lost.clear()
            connection.add_termination_listener(lambda _connection: self._lost.set())
            for channel in self._channels:
                await connection.add_listener(channel, self._notified)
            self.connected = True
            self.connections += 1
            log.info("live listener: listening (connection %d)", self.connections)
            self._on_connected()
            while not self._lost.is_set():
                # A connection cut without a word (a network gone) is only seen by using it.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._lost.wait(), 5.0)
                if not self._lost.is_set():
                    await asyncio.wait_for(connection.execute("SELECT 1"), 5.0)
        finally:
            self.connected = False
            if not connection.is_closed():
                connection.terminate()

    def _notified(self, _connection: object, _pid: int, channel: str, payload: str) -> None:
        self._channels[channel](payload)
