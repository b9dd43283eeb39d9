"""Whom tokens and login cookies speak for, kept while the database has committed nothing.

A script polling the API with its token, or a page opened with the login cookie, would
otherwise cost a query before any work is done. A lookup is kept with the commit marker
read before it (meetings.core.commits): any commit by anyone (a revoked token, a disabled
account, a new role, a logout elsewhere) changes the marker, and the next request looks
again, so nothing is refused or admitted later than without the keeping. Only found
callers are kept (a stranger's guesses cost a query each, as before), at most KEPT of each
kind, tokens by their hash.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from typing import Generic, TypeVar

from meetings.accounts.accounts import TokenCaller, token_caller, token_hash
from meetings.accounts.models import User
from meetings.core.store import SessionMaker

#: Lookups kept at most, of each kind (the least recently used is dropped first).
KEPT = 256

T = TypeVar("T")


class _Kept(Generic[T]):
    def __init__(self, kept: int) -> None:
        self.kept = kept
        self._entries: dict[Hashable, tuple[Hashable, T]] = {}
        #: Lookups under way, by key and marker: after a commit, the 50 requests of a busy
        #: script that arrive together wait for one lookup instead of making 50 (they
        #: queued on the database for a quarter of a second).
        self._reading: dict[tuple[Hashable, Hashable], asyncio.Future[T | None]] = {}

    async def get(
        self, key: Hashable, marker: Hashable, read: Callable[[], Awaitable[T | None]]
    ) -> T | None:
        entry = self._entries.pop(key, None)
        if entry is not None and entry[0] == marker:
            self._entries[key] = entry  # now the most recently used
            return entry[1]
        reading = self._reading.get((key, marker))
        if reading is None:
            reading = self._reading[key, marker] = asyncio.ensure_future(read())
            reading.add_done_callback(lambda done: self._read(key, marker, done))
        # Shielded: a caller that goes away does not cancel the lookup the others await.
        return await asyncio.shield(reading)

    def _read(self, key: Hashable, marker: Hashable, done: asyncio.Future[T | None]) -> None:
        del self._reading[key, marker]
        found = None if done.cancelled() or done.exception() is not None else done.result()
        if found is None:
            return
        self._entries[key] = (marker, found)
        while len(self._entries) > self.kept:
            del self._entries[next(iter(self._entries))]


class Callers:
    """One app's kept lookups: tokens' callers, and users by id (named by login cookies)."""

    def __init__(self, kept: int = KEPT) -> None:
        self._tokens: _Kept[TokenCaller] = _Kept(kept)
        self._users: _Kept[User] = _Kept(kept)
        #: The tokens whose use this process is noting now (the write not yet committed).
        self._noting: set[int] = set()

    def use_to_note(self, caller: TokenCaller, now: datetime) -> bool:
        """Whether this request notes the token's use: news to the database, and not being
        noted by this process already (`noted` once written). Until the note commits, every
        request of a busy script finds the use news: each queued a write of its own, and
        each commit sent the others back to the database."""
        if not caller.use_is_news(now) or caller.token_id in self._noting:
            return False
        self._noting.add(caller.token_id)
        return True

    def noted(self, token_id: int) -> None:
        self._noting.discard(token_id)

    async def caller(self, maker: SessionMaker, token: str, marker: Hashable) -> TokenCaller | None:
        """The token's caller as the database has it at `marker` (read before calling)."""

        async def read() -> TokenCaller | None:
            async with maker() as db:
                return await token_caller(db, token)

        return await self._tokens.get(token_hash(token), marker, read)

    async def user(self, maker: SessionMaker, user_id: int, marker: Hashable) -> User | None:
        """The user of that id as the database has it at `marker`, active or not."""

        async def read() -> User | None:
            async with maker() as db:
                return await db.get(User, user_id)

        return await self._users.get(user_id, marker, read)
