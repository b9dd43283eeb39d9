"""The attendance report of one session: the figures the minutes quote (files: report_files).

`build_report` reads the invited sites' attendance once and derives everything from that
one read: the per-site rows, the per-cluster subtotals, the totals and the absent list. So
the page, the CSV, the workbook and the minutes (#7) show numbers that always add up, even
while check-ins are still arriving (two separate queries could straddle a commit).

The rules are those of `meetings.attendance.summary`, which the totals equal:
- a site is *connected* when its state is connected, present or late;
- delegates count only while the site is connected (a site that left counts none);
- a site is *absent* when it is not connected at the time of the report, which after
  the session's end is its end state: it never connected (or declined the invitation),
  was marked absent, left and did not come back (a reconnection makes it connected again),
  or reported a technical problem. So the absent list has `totals.missing` sites.

Times are shown in the session's time zone, as everywhere in the UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.attendance.labels import ATTENDANCE_LABELS
from meetings.attendance.models import (
    CONNECTED,
    AttendanceStatus,
    AttendanceSummary,
    RehearsalStatus,
    SiteAttendance,
)
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.listing import SITE_COLUMNS, invited_sites
from meetings.planning.models import Participation


class Absence(StrEnum):
    """Why an invited site is on the absent list (the minutes give a reason per site)."""

    declined = "declined"
    never_connected = "never_connected"
    absent = "absent"
    left = "left"
    technical_issue = "technical_issue"


#: The board's labels, plus one for a site that has not been seen at all.
STATUS_LABELS: dict[str, str] = {"": N_("Not connected"), **ATTENDANCE_LABELS}

ABSENCE_LABELS: dict[str, str] = {
    Absence.declined: N_("Declined the invitation"),
    Absence.never_connected: N_("Never connected"),
    Absence.absent: N_("Reported absent"),
    Absence.left: N_("Left and did not come back"),
    Absence.technical_issue: N_("Technical issue"),
}


@dataclass(frozen=True)
class ReportRow:
    """One invited site as the report shows it."""

    site_id: int
    site_code: str
    site_name: str
    cluster_name: str | None
    rsvp: str
    expected_delegates: int | None
    status: AttendanceStatus | None
    #: In the session's time zone.
    joined_at: datetime | None
    left_at: datetime | None
    #: Delegates counted in the totals: the stated number while connected (None: not
    #: stated, or not connected, so not counted).
    delegates: int | None
    officials: tuple[str, ...]
    #: Why the site is absent; None when it is connected.
    absence: Absence | None

    @property
    def is_connected(self) -> bool:
        return self.absence is None


@dataclass(frozen=True)
class ClusterGroup:
    """The sites of one cluster (or of none) and their subtotal."""

    cluster_id: int | None
    name: str | None
    rows: tuple[ReportRow, ...]
    subtotal: AttendanceSummary


@dataclass(frozen=True)
class AttendanceReport:
    meeting_id: int
    title: str
    location: str
    timezone: str
    #: The session's times and the report's moment, in the session's time zone.
    starts_at: datetime
    ends_at: datetime
    generated_at: datetime
    status: str
    clusters: tuple[ClusterGroup, ...]
    totals: AttendanceSummary

    @property
    def rows(self) -> list[ReportRow]:
        return [row for group in self.clusters for row in group.rows]

    @property
    def absent(self) -> list[ReportRow]:
        """Invited sites not connected at the report's moment, in register order."""
        return [row for row in self.rows if not row.is_connected]


class State(NamedTuple):
    """What the report reads of one invited site: plain columns, not the three ORM objects
    and the model of the board's read (at 10,000 sites those cost most of the download
    and grow the garbage collector's work faster than the rows)."""

    site_id: int
    site_code: str
    site_name: str
    cluster_id: int | None
    cluster_name: str | None
    rsvp: str
    expected_delegates: int | None
    #: The stored value (a str) or, from the board's snapshot, the enum member.
    attendance_status: str | None
    joined_at: datetime | None
    left_at: datetime | None
    delegates_present: int | None
    officials_present: Sequence[str] | None
    rehearsal_status: str | None

    @classmethod
    def of(cls, site: SiteAttendance) -> State:
        """A state of the board's snapshot (its shared read: no query of ours)."""
        return cls(
            site.site_id,
            site.site_code,
            site.site_name,
            site.cluster_id,
            site.cluster_name,
            site.rsvp,
            site.expected_delegates,
            site.attendance_status,
            site.joined_at,
            site.left_at,
            site.delegates_present,
            site.officials_present,
            site.rehearsal_status,
        )


#: The invited sites' columns, grouped by cluster in register order (the board's order:
#: meetings.attendance.states.sites); built once.
_STATES = invited_sites(
    *SITE_COLUMNS,
    col(Participation.rsvp),
    col(Participation.expected_delegates),
    col(Participation.attendance_status),
    col(Participation.joined_at),
    col(Participation.left_at),
    col(Participation.delegates_present),
    col(Participation.officials_present),
    col(Participation.rehearsal_status),
)


async def read_states(session: AsyncSession, meeting_id: int) -> list[State]:
    """Every invited site's state in one query of plain columns (on the session's
    connection: the ORM's result handling, which columns do not need, doubled the read)."""
    connection = await session.connection()
    rows = await connection.execute(_STATES, {"meeting_id": meeting_id})
    return [State._make(row) for row in rows]


def tally(states: Sequence[State]) -> AttendanceSummary:
    """`attendance.summary`'s figures computed from rows already read (same rules), in
    one pass (a 10,000-site session's report tallies each cluster and the whole)."""
    connected = present = absent = delegates = ok = problem = 0
    for s in states:
        status = s.attendance_status
        if status in CONNECTED:
            connected += 1
            delegates += s.delegates_present or 0
        if status in _PRESENT:
            present += 1
        elif status == AttendanceStatus.absent:
            absent += 1
        if s.rehearsal_status == RehearsalStatus.ok:
            ok += 1
        elif s.rehearsal_status == RehearsalStatus.problem:
            problem += 1
    return AttendanceSummary(
        invited=len(states),
        connected=connected,
        present=present,
        absent=absent,
        missing=len(states) - connected,
        delegates_present=delegates,
        rehearsal_ok=ok,
        rehearsal_problem=problem,
    )


#: Counted as present (on time or late).
_PRESENT = frozenset((AttendanceStatus.present, AttendanceStatus.late))


def absence_of(state: State) -> Absence | None:
    status = state.attendance_status
    if status in CONNECTED:
        return None
    if status is None:
        return Absence.declined if state.rsvp == "declined" else Absence.never_connected
    return Absence(status)


def _row(state: State, zone: ZoneInfo) -> ReportRow:
    absence = absence_of(state)
    return ReportRow(
        site_id=state.site_id,
        site_code=state.site_code,
        site_name=state.site_name,
        cluster_name=state.cluster_name,
        rsvp=state.rsvp,
        expected_delegates=state.expected_delegates,
        status=None
        if state.attendance_status is None
        else AttendanceStatus(state.attendance_status),
        joined_at=state.joined_at.astimezone(zone) if state.joined_at else None,
        left_at=state.left_at.astimezone(zone) if state.left_at else None,
        delegates=state.delegates_present if absence is None else None,
        officials=tuple(state.officials_present or ()),
        absence=absence,
    )


#: A report's rows made from a snapshot's states, by site id, with the state each was made
#: of and the zone: kept across reports by the session page's attendance panel.
KeptReportRows = dict[int, tuple[SiteAttendance, ZoneInfo, "State", ReportRow]]


async def build_report(
    session: AsyncSession,
    meeting_id: int,
    *,
    now: datetime | None = None,
    states: list[SiteAttendance] | None = None,
    kept: KeptReportRows | None = None,
) -> AttendanceReport:
    """The report of `meeting_id` as of now (NotFound for an unknown session); `states`:
    the sites' states when the caller has them (the board's shared snapshot). `kept`: the
    rows of an earlier report of the same session, updated in place: a site whose state is
    the very object it was made of (the snapshot keeps those of unchanged sites) keeps its
    row, so after one check-in of 10,000 one row is made again."""
    meeting = await get_meeting_row(session, meeting_id)
    zone = ZoneInfo(meeting.timezone)
    if states is None:
        read = await read_states(session, meeting_id)
    elif kept is None:
        read = [State.of(site) for site in states]
    else:
        read = [_kept_state(kept, site, zone) for site in states]
    rows = (
        {site_id: entry[3] for site_id, entry in kept.items()}
        if kept is not None and states is not None
        else {}
    )
    groups: list[tuple[int | None, str | None, list[State]]] = []
    for state in read:  # already grouped by cluster, in register order
        if not groups or groups[-1][0] != state.cluster_id:
            groups.append((state.cluster_id, state.cluster_name, []))
        groups[-1][2].append(state)
    return AttendanceReport(
        meeting_id=meeting_id,
        title=meeting.title,
        location=meeting.location,
        timezone=meeting.timezone,
        starts_at=meeting.starts_at.astimezone(zone),
        ends_at=meeting.ends_at.astimezone(zone),
        generated_at=(now or utcnow()).astimezone(zone),
        status=meeting.status,
        clusters=tuple(
            ClusterGroup(
                cluster_id=cluster_id,
                name=name,
                rows=tuple(rows.get(s.site_id) or _row(s, zone) for s in members),
                subtotal=tally(members),
            )
            for cluster_id, name, members in groups
        ),
        totals=tally(read),
    )


def _kept_state(kept: KeptReportRows, site: SiteAttendance, zone: ZoneInfo) -> State:
    """The site's state for a report, and its row kept in `kept`: made again only when the
    snapshot holds another object for the site than the one it was made of."""
    entry = kept.get(site.site_id)
    if entry is None or entry[0] is not site or entry[1] != zone:
        state = State.of(site)
        entry = kept[site.site_id] = (site, zone, state, _row(state, zone))
    return entry[2]
