"""Sites' check-ins by group commit: a burst becomes a few set-based transactions.

When 5,000 bridge points press "we are connected" within a minute, one transaction per
site queues them all behind the database's single writer (SQLite) and each request
spends most of its time on round trips. Here a request only parses its body and waits:
one writer task per session takes everything queued, resolves all the links in one
query, reads the session once, and applies the lot with `attendance.record_many`.
A wrong link, a site not invited or an impossible value is refused for that request
alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from meetings.attendance import tracking as attendance
from meetings.attendance.models import CheckIn, SiteAttendance
from meetings.core.errors import DomainError, NotFound
from meetings.core.settings import AttendanceSettings
from meetings.core.store import SessionMaker
from meetings.planning.models import Meeting

GATHER_SECONDS = 0.005


@dataclass(frozen=True)
class _Pending:
    token: str
    data: CheckIn
    at: datetime
    future: asyncio.Future[SiteAttendance]


#: Sites' links → their sites' (id, code), those known and not revoked (notify.site.tokens,
#: passed in by the composition root: meetings/ does not import notify).
LinkResolver = Callable[[AsyncSession, Collection[str]], Awaitable[dict[str, tuple[int, str]]]]


class CheckInBatcher:
    def __init__(
        self,
        maker: SessionMaker,
        config: AttendanceSettings,
        *,
        sites_for_links: LinkResolver,
        size: int = 500,
    ):
        self.maker = maker
        self.config = config
        self.sites_for_links = sites_for_links
        self.size = size
        self._queues: dict[int, list[_Pending]] = {}
        self._writers: dict[int, asyncio.Task[None]] = {}

    async def submit(
        self, meeting_id: int, token: str, data: CheckIn, *, at: datetime
    ) -> SiteAttendance:
        future: asyncio.Future[SiteAttendance] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(meeting_id, []).append(_Pending(token, data, at, future))
        writer = self._writers.get(meeting_id)
        if writer is None or writer.done():
            self._writers[meeting_id] = asyncio.create_task(self._write(meeting_id))
        return await future

    async def _write(self, meeting_id: int) -> None:
        # A moment for the rest of a burst to arrive, so it shares the first commit
        # (PostgreSQL's commit_delay, in small): 5 ms more for a lone check-in.
        await asyncio.sleep(GATHER_SECONDS)
        while queue := self._queues.get(meeting_id):
            batch, self._queues[meeting_id] = queue[: self.size], queue[self.size :]
            try:
                results = await self._apply(meeting_id, batch)
            except Exception as exc:  # the whole batch failed: each request hears why
                results = [exc] * len(batch)
            for pending, result in zip(batch, results, strict=True):
                if pending.future.done():
                    continue
                if isinstance(result, BaseException):
                    pending.future.set_exception(result)
                else:
                    pending.future.set_result(result)
        self._queues.pop(meeting_id, None)

    async def _apply(
        self, meeting_id: int, batch: list[_Pending]
    ) -> list[SiteAttendance | BaseException]:
        async with self.maker() as session, session.begin():
            sites = await self.sites_for_links(session, {p.token for p in batch})
            slots: list[int | DomainError] = []
            known: list[tuple[_Pending, tuple[int, str]]] = []
            for pending in batch:
                site = sites.get(pending.token)  # (id, code)
                if site is None:
                    slots.append(NotFound("no such site link"))
                    continue
                slots.append(len(known))
                known.append((pending, site))

            def changes(meeting: Meeting) -> list[tuple[int, attendance.Change]]:
                return [
                    (
                        site_id,
                        attendance.check_in_change(
                            meeting,
                            delegates=pending.data.delegates_present,
                            officials=pending.data.officials_present,
                            site_code=code,
                            now=pending.at,
                            config=self.config,
                        ),
                    )
                    for pending, (site_id, code) in known
                ]

            done = await attendance.record_with_session(
                session, meeting_id, {site for _, (site, _) in known}, changes, self.config
            )
        return [done[slot] if isinstance(slot, int) else slot for slot in slots]
