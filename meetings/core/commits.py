"""A marker of what the database has committed, for answers kept while nothing changed.

The marker is different after any commit that wrote, by any connection of any process
(this server, the scheduler, a `giaoban` command): an answer kept with the marker read
*before* it was read is served again only while the marker is the same, so a kept answer
is never staler than the database, and a revoked token or a disabled account is refused at
once. Reading the marker is cheap, unlike a query per record kind:

- SQLite: `PRAGMA data_version` on a connection of our own that never writes (a few
  microseconds, no thread hop: SQLite says it changes whenever another connection commits);
- PostgreSQL: the current snapshot (`xmin:xmax:in-progress ids`), one round trip, which
  changes when a transaction that wrote begins or ends (read-only ones take no id);
- anything else: a new marker every time, so nothing is kept.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path
from typing import TypeVar

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from meetings.core.shared import Shared

#: Answers kept by `kept` (the least recently read is dropped first), and the slots their
#: queries hash into (two queries in one slot only take turns: each is kept with its query).
KEPT_ANSWERS = 32
SLOTS = 1 << 16


class CommitMarker:
    """One app's view of its database's commits."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite: sqlite3.Connection | None = None
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            # Autocommit: no read transaction is ever held open by the marker.
            self._sqlite = sqlite3.connect(Path(url.database or ""), isolation_level=None)
        self._postgres = url.get_backend_name() == "postgresql"

    async def read(self) -> Hashable:
        if self._sqlite is not None:
            return int(self._sqlite.execute("PRAGMA data_version").fetchone()[0])
        if self._postgres:
            async with self._engine.connect() as connection:
                return str(await connection.scalar(_SNAPSHOT))
        return object()

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None


T = TypeVar("T")
_SNAPSHOT = text("SELECT pg_current_snapshot()::text")
commits_key = web.AppKey("commits", CommitMarker)
#: Answers (JSON, encoded once) that depend on the database only, kept while it is unchanged.
answers_key = web.AppKey("answers", Shared[bytes])


async def kept_in(
    request: web.Request,
    store: Shared[T],
    key: Hashable,
    read: Callable[[], Awaitable[T]],
    *,
    per_minute: bool = False,
) -> T:
    """What `read` gives for `key` (all that it depends on besides the database), kept in
    `store` and read again after any commit (the marker is read *before* `read`, so what is
    kept is never staler than the database) and, `per_minute`, every minute (what shows
    times relative to now: while the new minute's is read, the last minute's is served if
    nothing was committed since); callers arriving while it is read wait for that one
    read. The key's slot stays the key's: two keys in one slot only take turns."""
    marker = await request.app[commits_key].read()
    slot = hash(key) % SLOTS
    if not per_minute:
        return await store.get(slot, (key, marker), read)

    def same_data(kept: Hashable) -> bool:
        return isinstance(kept, tuple) and kept[:2] == (key, marker)

    version = (key, marker, int(time.time() // 60))
    return await store.get_or_kept(slot, version, read, same_data)


async def kept(
    request: web.Request, query: Hashable, read: Callable[[], Awaitable[bytes]]
) -> bytes:
    """The answer to `query` (the route, its parameters, the caller's scope) as `read`
    gives it (JSON, encoded once), read again after any commit."""
    return await kept_in(request, request.app[answers_key], query, read)
