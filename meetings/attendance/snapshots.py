"""The board's snapshot of a session (every invited site's state and the totals), read once
per version of the session's attendance and shared by every board, page and stream of it.

A snapshot is keyed by its session and by the session's fingerprint (`states.fingerprint`:
the participation rows' count, versions and newest id, and the versions of their sites and
clusters), read by each caller in one cheap query: any committed change to what a board
shows (a check-in, an RSVP, an invitation, a renamed site) changes the fingerprint, so a
stale snapshot is never served, whoever made the change (another process too). The live
hub also forgets a session's snapshot as soon as it publishes a change of it. Callers who
arrive while a snapshot is being read wait for that one read (one task per session and
fingerprint), so 100 boards opening at once cost one read, not 100.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property

from aiohttp import web

from meetings.attendance.models import AttendanceBoard, AttendanceSummary, SiteAttendance
from meetings.attendance.tracking import fingerprint, sites, summary
from meetings.core.web import db
from meetings.planning.lifecycle import get_meeting_row
from meetings.register.groups import ClusterGroup, by_cluster

#: The sessions whose snapshot is kept (the least recently read is dropped first).
KEPT = 8
Fingerprint = tuple[int, ...]


@dataclass(eq=False)
class Snapshot:
    """Shared and read-only: callers never change its lists."""

    summary: AttendanceSummary
    sites: list[SiteAttendance] = field(default_factory=list)
    #: The board page's tiles as HTML, per what they depend on besides the snapshot
    #: (the reader's language and role, the session's status and zone: views.board_page).
    pages: dict[tuple[object, ...], str] = field(default_factory=dict)

    @cached_property
    def groups(self) -> list[ClusterGroup[SiteAttendance]]:
        return by_cluster(self.sites)

    @cached_property
    def json(self) -> str:
        """The live stream's `snapshot` event data, serialised once for every board."""
        return AttendanceBoard(summary=self.summary, sites=self.sites).model_dump_json(
            exclude={"events"}
        )


class Snapshots:
    """One app's snapshots (held by its live hub), never shared between sessions."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._entries: dict[int, tuple[Fingerprint, asyncio.Future[Snapshot]]] = {}

    def peek(self, meeting_id: int) -> Snapshot | None:
        """The kept snapshot of a session, if one is read and kept."""
        entry = self._entries.get(meeting_id)
        if entry is None or not entry[1].done() or entry[1].cancelled():
            return None
        return None if entry[1].exception() else entry[1].result()

    def forget(self, meeting_id: int) -> None:
        self._entries.pop(meeting_id, None)

    async def get(
        self,
        meeting_id: int,
        fingerprint: Fingerprint,
        read: Callable[[], Awaitable[Snapshot]],
    ) -> Snapshot:
        """The snapshot of `meeting_id` at `fingerprint`: the kept one, the one being read,
        or a new read (in its own task: a caller that goes away does not cancel it for
        the others waiting on it)."""
        entry = self._entries.pop(meeting_id, None)
        if entry is None or entry[0] != fingerprint:
            entry = (fingerprint, asyncio.ensure_future(read()))
            entry[1].add_done_callback(lambda done: self._drop_failed(meeting_id, done))
        self._entries[meeting_id] = entry  # now the most recently read
        while len(self._entries) > self.kept:
            del self._entries[next(iter(self._entries))]
        return await asyncio.shield(entry[1])

    def _drop_failed(self, meeting_id: int, done: asyncio.Future[Snapshot]) -> None:
        """A failed read is not kept: the next caller reads again."""
        if done.cancelled() or done.exception() is not None:
            entry = self._entries.get(meeting_id)
            if entry is not None and entry[1] is done:
                del self._entries[meeting_id]


async def shared_snapshot(
    request: web.Request,
    snapshots: Snapshots,
    meeting_id: int,
    *,
    known: Fingerprint | None = None,
) -> Snapshot:
    """The session's snapshot from `snapshots` (the app's hub's), read when its fingerprint
    changed; NotFound for an unknown session. `known`: the fingerprint the caller read
    in its own transaction, after finding the session."""
    if known is None:
        async with db(request) as session:
            await get_meeting_row(session, meeting_id)
            known = await fingerprint(session, meeting_id)

    async def read() -> Snapshot:
        async with db(request) as session:
            totals = await summary(session, meeting_id)
            return Snapshot(totals, await sites(session, meeting_id))

    return await snapshots.get(meeting_id, known, read)
