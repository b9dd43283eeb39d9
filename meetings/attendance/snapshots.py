"""The board's snapshot of a session (every invited site's state and the totals), read once
per version of the session's attendance and shared by every board, page and stream of it.

A snapshot is keyed by its session and by the session's fingerprint (`states.fingerprint`:
the participation rows' count, versions and newest id, and the versions of their sites and
clusters), read by each caller in one cheap query: any committed change to what a board
shows (a check-in, an RSVP, an invitation, a renamed site) changes the fingerprint, so a
stale snapshot is never served, whoever made the change (another process too). The live
hub also forgets a session's snapshot as soon as it publishes a change of it. Sharing and
waiting for a read under way are meetings.core.shared's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from aiohttp import web

from meetings.attendance.models import AttendanceBoard, AttendanceSummary, SiteAttendance
from meetings.attendance.report import AttendanceReport, KeptReportRows
from meetings.attendance.states import KeptSites, sites_again
from meetings.attendance.tracking import fingerprint, summary
from meetings.core.commits import commits_key
from meetings.core.shared import KEPT, KeptRows, Newest, Shared
from meetings.core.web import db
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting
from meetings.register.groups import ClusterGroup, by_cluster

Fingerprint = tuple[int, ...]


@dataclass(eq=False)
class Snapshot:
    """Shared and read-only: callers never change its lists."""

    summary: AttendanceSummary
    sites: list[SiteAttendance] = field(default_factory=list)
    #: The board page's tiles as HTML, per what they depend on besides the snapshot
    #: (the reader's language and role, the session's status and zone: views.board_page).
    pages: dict[tuple[object, ...], str] = field(default_factory=dict)
    #: The session page's attendance report of the snapshot, per the session's version
    #: (panel.attendance_panel).
    reports: dict[tuple[object, ...], AttendanceReport] = field(default_factory=dict)

    @cached_property
    def groups(self) -> list[ClusterGroup[SiteAttendance]]:
        return by_cluster(self.sites)

    @cached_property
    def json(self) -> str:
        """The live stream's `snapshot` event data, serialised once for every board."""
        return AttendanceBoard(summary=self.summary, sites=self.sites).model_dump_json(
            exclude={"events"}
        )


class Snapshots(Shared[Snapshot]):
    """One app's snapshots (held by its live hub), never shared between sessions."""

    def __init__(self, kept: int = KEPT) -> None:
        super().__init__(kept)
        #: Each session's row and fingerprint, kept while the database is unchanged.
        self.facts: Shared[tuple[Meeting, Fingerprint]] = Shared(kept)
        #: The boards' tiles as HTML, kept across snapshots (views._tiles).
        self.tiles = KeptRows(kept)
        #: The session page's attendance panel's rows as HTML (panel.attendance_panel).
        self.panel_rows = KeptRows(kept)
        #: Each session's sites as last read (states.sites_again).
        self.states: Newest[int, KeptSites] = Newest(kept)
        #: Each session's attendance report rows, made of those states (report.build_report).
        self.report_rows: Newest[int, KeptReportRows] = Newest(kept)

    def rows_of(self, meeting_id: int) -> KeptReportRows:
        """The session's kept report rows (updated in place by build_report)."""
        return self.report_rows.put(meeting_id, self.report_rows.get(meeting_id) or {})


async def board_facts(
    request: web.Request, snapshots: Snapshots, meeting_id: int
) -> tuple[Meeting, Fingerprint]:
    """The session's row (NotFound for an unknown one) and its fingerprint, read again
    after any commit to the database, by any process (meetings.core.commits): a board
    opened while nothing changed costs no query."""
    marker = await request.app[commits_key].read()

    async def read() -> tuple[Meeting, Fingerprint]:
        async with db(request) as session:
            meeting = await get_meeting_row(session, meeting_id)
            return meeting, await fingerprint(session, meeting_id)

    return await snapshots.facts.get(meeting_id, marker, read)


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
            kept = snapshots.states.get(meeting_id) or {}
            states, kept = await sites_again(session, meeting_id, kept)
        snapshots.states.put(meeting_id, kept)
        return Snapshot(totals, states)

    return await snapshots.get(meeting_id, known, read)
