"""The year at a glance (issue #16): per series and per year, how the sites attended,
answered the invitations in time, sent their reports in time, and how the office answered
their recommendations and the owners did their action items in time.

Every figure comes from grouped queries over the year's sessions (a fixed number of
queries whatever the number of sites); the per-site, per-cluster and per-session figures
are sums of their groups, so the charts, the page, the JSON and the files show the same
numbers. The rules:

- the year's sessions: starting in the calendar year in the office's zone, live or ended;
- attended: the site's room was seen (connected, present, late, or left after that);
- RSVP on time: answered (accepted, declined or tentative) before the session's start
  (sessions have no answer deadline of their own);
- report on time: uploaded by the request's `due_at`; every invited site owes every
  request of its session;
- recommendation answered: its status is `answered`, whenever that happened;
- action on time: done on or before its due date, read in the session's zone; an item is
  due once it is done or its date has passed (items without a date are not counted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.record.models import ActionItem, ActionStatus, Recommendation, RecommendationStatus
from meetings.attendance.models import AttendanceStatus
from meetings.core.store import key_col
from meetings.planning.models import Meeting, MeetingStatus, Participation, Rsvp, Series
from meetings.planning.request_models import ReportRequest, SiteReport
from meetings.register.models import Cluster, Site

#: A site's room was in the session.
ATTENDED = (
    AttendanceStatus.connected,
    AttendanceStatus.present,
    AttendanceStatus.late,
    AttendanceStatus.left,
)
#: The figures, in the order of the tables and the files: (count, of how many).
MEASURES = (
    ("attended", "invited"),
    ("rsvp_on_time", "invited"),
    ("reports_on_time", "reports_due"),
    ("answered", "recommendations"),
    ("actions_on_time", "actions_due"),
)


def rate(part: int, whole: int) -> float | None:
    """A percentage with one decimal; None when there is nothing to count."""
    return round(100 * part / whole, 1) if whole else None


@dataclass
class Figures:
    invited: int = 0
    attended: int = 0
    rsvp_on_time: int = 0
    reports_due: int = 0
    reports_on_time: int = 0
    recommendations: int = 0
    answered: int = 0
    actions_due: int = 0
    actions_on_time: int = 0

    def add(self, other: Figures) -> None:
        """Spelled out: it runs for every group of every query."""
        self.invited += other.invited
        self.attended += other.attended
        self.rsvp_on_time += other.rsvp_on_time
        self.reports_due += other.reports_due
        self.reports_on_time += other.reports_on_time
        self.recommendations += other.recommendations
        self.answered += other.answered
        self.actions_due += other.actions_due
        self.actions_on_time += other.actions_on_time

    def rates(self) -> dict[str, float | None]:
        """`attended` → its rate in percent, and so on for every measure."""
        return {part: rate(getattr(self, part), getattr(self, whole)) for part, whole in MEASURES}


@dataclass
class ClusterRow:
    cluster_id: int | None
    name: str
    figures: Figures = field(default_factory=Figures)


@dataclass
class SessionRow:
    meeting_id: int
    title: str
    starts_at: datetime
    timezone: str
    figures: Figures = field(default_factory=Figures)
    #: Invited and attended per cluster id (the chart of clusters across the year).
    by_cluster: dict[int | None, Figures] = field(default_factory=dict)


@dataclass
class SiteRow:
    site_id: int
    code: str
    name: str
    cluster_id: int | None
    figures: Figures = field(default_factory=Figures)


@dataclass
class YearlyReport:
    year: int
    series_id: int | None
    series_name: str | None
    generated_at: datetime
    totals: Figures
    clusters: list[ClusterRow]
    sessions: list[SessionRow]
    sites: list[SiteRow]

    def cluster_name(self, cluster_id: int | None) -> str:
        return next((c.name for c in self.clusters if c.cluster_id == cluster_id), "")


def year_bounds(year: int, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


def current_year(now: datetime, zone: str) -> int:
    return now.astimezone(ZoneInfo(zone)).year


async def _sessions(
    session: AsyncSession, year: int, zone: str, series_id: int | None
) -> list[SessionRow]:
    start, end = year_bounds(year, zone)
    query = (
        select(
            key_col(Meeting.id), col(Meeting.title), col(Meeting.starts_at), col(Meeting.timezone)
        )
        .where(col(Meeting.starts_at) >= start, col(Meeting.starts_at) < end)
        .where(col(Meeting.status).in_((MeetingStatus.live, MeetingStatus.ended)))
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    )
    if series_id is not None:
        query = query.where(col(Meeting.series_id) == series_id)
    return [SessionRow(*row) for row in (await session.execute(query)).all()]


def _participation_figures() -> tuple[Any, ...]:
    attended = case((col(Participation.attendance_status).in_(ATTENDED), 1), else_=0)
    on_time = case(
        (
            and_(
                col(Participation.rsvp) != Rsvp.needs_action,
                col(Participation.responded_at).is_not(None),
                col(Participation.responded_at) <= col(Meeting.starts_at),
            ),
            1,
        ),
        else_=0,
    )
    return (func.count(), func.sum(attended), func.sum(on_time))


async def _participations(
    session: AsyncSession, ids: list[int], keys: tuple[Any, ...], *, by_cluster: bool
) -> Sequence[Any]:
    """Invited, attended, answered in time, grouped by `keys`."""
    query = (
        select(*keys, *_participation_figures())
        .select_from(Participation)
        .join(Meeting, col(Meeting.id) == col(Participation.meeting_id))
        .where(col(Participation.meeting_id).in_(ids))
        .group_by(*keys)
    )
    if by_cluster:
        query = query.join(Site, col(Site.id) == col(Participation.site_id))
    return (await session.execute(query)).all()


async def _reports(
    session: AsyncSession, ids: list[int], keys: tuple[Any, ...], *, by_cluster: bool
) -> Sequence[Any]:
    """Reports owed and sent by the deadline, grouped by `keys`."""
    on_time = case((col(SiteReport.uploaded_at) <= col(ReportRequest.due_at), 1), else_=0)
    query = (
        select(*keys, func.count(), func.sum(on_time))
        .select_from(ReportRequest)
        .join(Participation, col(Participation.meeting_id) == col(ReportRequest.meeting_id))
        .outerjoin(
            SiteReport,
            and_(
                col(SiteReport.request_id) == col(ReportRequest.id),
                col(SiteReport.site_id) == col(Participation.site_id),
            ),
        )
        .where(col(ReportRequest.meeting_id).in_(ids))
        .group_by(*keys)
    )
    if by_cluster:
        query = query.join(Site, col(Site.id) == col(Participation.site_id))
    return (await session.execute(query)).all()


async def _recommendations(session: AsyncSession, ids: list[int]) -> Sequence[Any]:
    """(meeting, site, cluster, raised, answered): few rows (one per raising site)."""
    answered = case((col(Recommendation.status) == RecommendationStatus.answered, 1), else_=0)
    keys = (col(Recommendation.meeting_id), col(Recommendation.site_id), col(Site.cluster_id))
    query = (
        select(*keys, func.count(), func.sum(answered))
        .select_from(Recommendation)
        .outerjoin(Site, col(Site.id) == col(Recommendation.site_id))
        .where(col(Recommendation.meeting_id).in_(ids))
        .group_by(*keys)
    )
    return (await session.execute(query)).all()


async def _actions(
    session: AsyncSession, ids: list[int], now: datetime
) -> list[tuple[int, int | None, int | None, int, int]]:
    """(meeting, owner site, owner cluster, due, on time) per group: the dated items read
    once, each judged in its session's zone."""
    owner_cluster = func.coalesce(col(ActionItem.owner_cluster_id), col(Site.cluster_id))
    query = (
        select(
            col(ActionItem.meeting_id),
            col(ActionItem.owner_site_id),
            owner_cluster,
            col(Meeting.timezone),
            col(ActionItem.due_on),
            col(ActionItem.status),
            col(ActionItem.done_at),
        )
        .join(Meeting, col(Meeting.id) == col(ActionItem.meeting_id))
        .outerjoin(Site, col(Site.id) == col(ActionItem.owner_site_id))
        .where(col(ActionItem.meeting_id).in_(ids), col(ActionItem.due_on).is_not(None))
    )
    groups: dict[tuple[int, int | None, int | None], list[int]] = {}
    for meeting_id, site_id, cluster_id, zone, due_on, status, done_at in (
        await session.execute(query)
    ).all():
        due, on_time = _judge(status, due_on, done_at, ZoneInfo(zone), now)
        counts = groups.setdefault((meeting_id, site_id, cluster_id), [0, 0])
        counts[0] += due
        counts[1] += on_time
    return [(*key, due, on_time) for key, (due, on_time) in groups.items()]


def _judge(
    status: str, due_on: date | None, done_at: datetime | None, zone: ZoneInfo, now: datetime
) -> tuple[int, int]:
    """(is due, done on time) of one dated item."""
    if due_on is None:
        return 0, 0
    if status == ActionStatus.done and done_at is not None:
        return 1, int(done_at.astimezone(zone).date() <= due_on)
    return int(due_on < now.astimezone(zone).date()), 0


def _figures(
    invited: int = 0, attended: int = 0, rsvp: int = 0, *, reports: tuple[int, int] = (0, 0)
) -> Figures:
    return Figures(
        invited=int(invited or 0),
        attended=int(attended or 0),
        rsvp_on_time=int(rsvp or 0),
        reports_due=int(reports[0] or 0),
        reports_on_time=int(reports[1] or 0),
    )


async def yearly_report(
    session: AsyncSession,
    *,
    year: int,
    zone: str,
    now: datetime,
    series_id: int | None = None,
) -> YearlyReport:
    """The year's figures per session, per cluster, per site and in total."""
    sessions = await _sessions(session, year, zone, series_id)
    ids = [s.meeting_id for s in sessions]
    series_name = (
        await session.scalar(select(col(Series.name)).where(col(Series.id) == series_id))
        if series_id is not None
        else None
    )
    clusters = {
        cid: ClusterRow(cid, name)
        for cid, name in (
            await session.execute(
                select(col(Cluster.id), col(Cluster.name)).order_by(col(Cluster.code))
            )
        ).all()
    }
    by_session = {s.meeting_id: s for s in sessions}
    sites: dict[int, SiteRow] = {}
    if ids:
        await _fill(session, ids, now, by_session, sites)
    for row in sessions:
        for cluster_id, figures in row.by_cluster.items():
            row.figures.add(figures)
            if cluster_id not in clusters:
                clusters[cluster_id] = ClusterRow(cluster_id, "")
            clusters[cluster_id].figures.add(figures)
    totals = Figures()
    for row in sessions:
        totals.add(row.figures)
    return YearlyReport(
        year=year,
        series_id=series_id,
        series_name=series_name,
        generated_at=now,
        totals=totals,
        clusters=[c for c in clusters.values() if c.figures != Figures()],
        sessions=sessions,
        sites=sorted(sites.values(), key=lambda s: (s.cluster_id or 0, s.code)),
    )


async def _fill(
    session: AsyncSession,
    ids: list[int],
    now: datetime,
    by_session: dict[int, SessionRow],
    sites: dict[int, SiteRow],
) -> None:
    """Every grouped figure into its session (by cluster) and its site."""
    by_cluster = (col(Participation.meeting_id), col(Site.cluster_id))
    by_site = (col(Participation.site_id),)

    def cell(meeting_id: int, cluster_id: int | None) -> Figures:
        return by_session[meeting_id].by_cluster.setdefault(cluster_id, Figures())

    for meeting_id, cluster_id, invited, attended, rsvp in await _participations(
        session, ids, by_cluster, by_cluster=True
    ):
        cell(meeting_id, cluster_id).add(_figures(invited, attended, rsvp))
    invited_sites = select(col(Participation.site_id)).where(col(Participation.meeting_id).in_(ids))
    names = select(key_col(Site.id), col(Site.code), col(Site.name), col(Site.cluster_id)).where(
        col(Site.id).in_(invited_sites)
    )
    for site_id, code, name, cluster_id in (await session.execute(names)).all():
        sites[site_id] = SiteRow(site_id, code, name, cluster_id)
    for site_id, invited, attended, rsvp in await _participations(
        session, ids, by_site, by_cluster=False
    ):
        sites[site_id].figures.add(_figures(invited, attended, rsvp))
    report_cluster = (col(ReportRequest.meeting_id), col(Site.cluster_id))
    for meeting_id, cluster_id, due, on_time in await _reports(
        session, ids, report_cluster, by_cluster=True
    ):
        cell(meeting_id, cluster_id).add(_figures(reports=(due, on_time)))
    for site_id, due, on_time in await _reports(session, ids, by_site, by_cluster=False):
        figures = sites[site_id].figures
        figures.reports_due, figures.reports_on_time = int(due or 0), int(on_time or 0)
    for meeting_id, site_id, cluster_id, raised, answered in await _recommendations(session, ids):
        figures = Figures(recommendations=int(raised or 0), answered=int(answered or 0))
        _spread(figures, cell(meeting_id, cluster_id), sites.get(site_id))
    for meeting_id, owner, cluster_id, due, on_time in await _actions(session, ids, now):
        figures = Figures(actions_due=due, actions_on_time=on_time)
        _spread(figures, cell(meeting_id, cluster_id), sites.get(owner) if owner else None)


def _spread(figures: Figures, cluster_cell: Figures, site: SiteRow | None) -> None:
    cluster_cell.add(figures)
    if site is not None:
        site.figures.add(figures)


async def series_choices(session: AsyncSession) -> list[tuple[int, str]]:
    """Every series, for the page's filter."""
    query = select(key_col(Series.id), col(Series.name)).order_by(col(Series.name))
    return [(sid, name) for sid, name in (await session.execute(query)).all()]
