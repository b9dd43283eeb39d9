"""What many requests read alike, read once per version and shared: the board's snapshot,
the session page's list of sites; the rendered rows of such pages (`KeptRows`); and the newest
of what parts keep per session beside them (`Newest`).

An entry is keyed by a record's id and by a fingerprint that the caller reads from the
database in one cheap query (versions, counts, newest ids): any committed change, by any
process, gives another fingerprint, so a stale entry is never served, and several processes
on one database stay correct without telling each other anything. Callers who arrive while
an entry is being read wait for that one read (one task per id and fingerprint), so 100
pages opening at once cost one read, not 100.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

#: The records whose entry is kept (the least recently read is dropped first).
KEPT = 8

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Newest(Generic[K, V]):
    """At most `kept` values by key, the least recently put dropped first: what a part
    keeps per session beside its entries (the states last read, rows made of them)."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._values: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def put(self, key: K, value: V) -> V:
        """Keeps `value` under `key`, now the newest; returns it."""
        self._values.pop(key, None)
        self._values[key] = value
        while len(self._values) > self.kept:
            del self._values[next(iter(self._values))]
        return value


class Shared(Generic[T]):
    """One app's entries of one kind, never shared between records."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._entries: dict[int, tuple[Hashable, asyncio.Future[T]]] = {}
        #: Reads started by `get_or_kept`, by key, while the kept entry is served.
        self._refreshing: dict[int, tuple[Hashable, asyncio.Future[T]]] = {}

    def peek(self, key: int) -> T | None:
        """The kept entry of a record, if one is read and kept."""
        entry = self._entries.get(key)
        if entry is None or not entry[1].done() or entry[1].cancelled():
            return None
        return None if entry[1].exception() else entry[1].result()

    def forget(self, key: int) -> None:
        self._entries.pop(key, None)

    async def get(self, key: int, fingerprint: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """The entry of `key` at `fingerprint`: the kept one, the one being read, or a new
        read (in its own task: a caller that goes away does not cancel it for the others
        waiting on it)."""
        entry = self._entries.get(key)
        if entry is None or entry[0] != fingerprint:
            entry = (fingerprint, asyncio.ensure_future(read()))
            entry[1].add_done_callback(lambda done: self._drop_failed(key, done))
        self._keep(key, entry)  # now the most recently read
        return await asyncio.shield(entry[1])

    def _keep(self, key: int, entry: tuple[Hashable, asyncio.Future[T]]) -> None:
        self._entries.pop(key, None)
        self._entries[key] = entry
        while len(self._entries) > self.kept:
            del self._entries[next(iter(self._entries))]

    async def get_or_kept(
        self,
        key: int,
        fingerprint: Hashable,
        read: Callable[[], Awaitable[T]],
        still_good: Callable[[Hashable], bool],
    ) -> T:
        """`get`, except that while a read for `fingerprint` is under way, a kept entry
        whose fingerprint is `still_good` is served (one read at a time, whose entry
        replaces it once done): what is only as old as the time it shows, not older than
        the database, is better than fifty callers waiting for the new minute's page."""
        entry = self._entries.get(key)
        if (
            entry is None
            or entry[0] == fingerprint
            or not entry[1].done()
            or entry[1].cancelled()
            or entry[1].exception() is not None
            or not still_good(entry[0])
        ):
            return await self.get(key, fingerprint, read)
        refreshing = self._refreshing.get(key)
        if refreshing is None or refreshing[0] != fingerprint:
            future = asyncio.ensure_future(read())
            self._refreshing[key] = (fingerprint, future)
            future.add_done_callback(lambda done: self._refreshed(key, fingerprint, done))
        return entry[1].result()

    def _refreshed(self, key: int, fingerprint: Hashable, done: asyncio.Future[T]) -> None:
        if self._refreshing.get(key, (None, None))[1] is done:
            del self._refreshing[key]
        if done.cancelled() or done.exception() is not None:
            # Not served any longer: the next caller reads and hears why (a page that is
            # now a redirect, a database away), instead of the last minute's answer.
            entry = self._entries.get(key)
            if entry is not None and entry[0] != fingerprint:
                del self._entries[key]
            return
        self._keep(key, (fingerprint, done))  # now the most recently read

    def _drop_failed(self, key: int, done: asyncio.Future[T]) -> None:
        """A failed read is not kept: the next caller reads again."""
        if done.cancelled() or done.exception() is not None:
            entry = self._entries.get(key)
            if entry is not None and entry[1] is done:
                del self._entries[key]


class KeptRows:
    """Rendered rows (a board's tiles, a site list's rows) per what they are shown in (the
    session, the reader's language...), then per exactly the values each row shows: kept
    across reads, so after one check-in only the changed row is rendered again and the
    page is a join of kept strings. The newest `kept` sets; each set holds only the rows
    of its newest render, so no stale row piles up."""

    def __init__(self, kept: int = KEPT) -> None:
        self._sets: Newest[Hashable, dict[Hashable, str]] = Newest(kept)

    def rows(self, key: Hashable) -> RowSet:
        """The rows kept under `key` (which must hold the session's id), for one render."""
        return RowSet(self, key, self._sets.get(key) or {})

    def _keep(self, key: Hashable, rows: dict[Hashable, str]) -> None:
        self._sets.put(key, rows)


@dataclass(eq=False)
class RowSet:
    """One render's rows: those kept before, and those it made or used (kept after)."""

    owner: KeptRows
    key: Hashable
    before: dict[Hashable, str]
    used: dict[Hashable, str] = field(default_factory=dict)

    def row(self, state: Hashable, make: Callable[[], str]) -> str:
        """The row showing `state` (every value it shows), made only if not kept."""
        html = self.before.get(state)
        if html is None:
            html = make()
        self.used[state] = html
        return html

    def keep(self) -> None:
        """Keeps the rows of this render (once it is complete) for the next ones."""
        self.owner._keep(self.key, self.used)
