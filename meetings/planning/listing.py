"""Lists of planning: sessions for the list page and the API, and the invited sites of one
session for its grid (each in a fixed number of queries, whatever the number of rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.store import utcnow
from meetings.core.types import word_conditions
from meetings.planning.lifecycle import get_meeting_row, publish
from meetings.planning.models import (
    Meeting,
    MeetingPublic,
    MeetingStatus,
    Participation,
    ParticipationPublic,
    Rsvp,
)
from meetings.register.models import Cluster, Site

Period = Literal["upcoming", "past", "cancelled", "all"]
PERIODS: tuple[Period, ...] = ("upcoming", "past", "cancelled", "all")


def as_period(value: str) -> Period | None:
    """The period `value` names, or None for anything else."""
    return next((period for period in PERIODS if period == value), None)


@dataclass(frozen=True)
class MeetingPage:
    items: list[MeetingPublic]
    total: int


def period_conditions(period: Period, now: datetime) -> list[Any]:
    """Which sessions a period holds: the one rule for lists and dashboards. A session ended
    early is past; one running over its planned end is still upcoming (it is live)."""
    status = col(Meeting.status)
    if period == "upcoming":
        return [
            status.not_in([MeetingStatus.cancelled, MeetingStatus.ended]),
            or_(col(Meeting.ends_at) >= now, status == MeetingStatus.live),
        ]
    if period == "past":
        return [
            status != MeetingStatus.cancelled,
            or_(
                status == MeetingStatus.ended,
                and_(col(Meeting.ends_at) < now, status != MeetingStatus.live),
            ),
        ]
    if period == "cancelled":
        return [status == MeetingStatus.cancelled]
    return []


async def list_meetings(
    session: AsyncSession,
    *,
    period: Period = "all",
    kind: str | None = None,
    cluster_id: int | None = None,
    q: str | None = None,
    now: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    own_cluster_id: int | None = None,
) -> MeetingPage:
    """Sessions for lists: upcoming soonest first, past and cancelled latest first;
    `own_cluster_id`: only that cluster's own meetings (what its leader sees)."""
    now = now or utcnow()
    conditions: list[Any] = period_conditions(period, now)
    if own_cluster_id is not None:
        conditions.append(col(Meeting.cluster_id) == own_cluster_id)
    order: Any = col(Meeting.starts_at)
    if period in ("past", "cancelled"):
        order = col(Meeting.starts_at).desc()
    if kind:
        conditions.append(col(Meeting.kind) == kind)
    if cluster_id is not None:
        conditions.append(
            col(Meeting.id).in_(
                select(col(Participation.meeting_id))
                .join(Site, col(Site.id) == col(Participation.site_id))
                .where(col(Site.cluster_id) == cluster_id)
            )
        )
    conditions.extend(word_conditions(col(Meeting.search_text), q))
    total = await session.scalar(select(func.count()).select_from(Meeting).where(*conditions)) or 0
    rows = (
        await session.scalars(
            select(Meeting)
            .where(*conditions)
            .order_by(order, col(Meeting.id))
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return MeetingPage(items=await publish(session, list(rows)), total=total)


#: Who an invited site is: the first columns of every read of a session's invited sites.
SITE_COLUMNS = (
    col(Site.id),
    col(Site.code),
    col(Site.name),
    col(Site.cluster_id),
    col(Cluster.name),
)


def invited_sites(*columns: Any) -> Select[Any]:
    """`columns` of each invited site of the session given as the bound parameter
    `meeting_id` (its participation, site and cluster), grouped by cluster in register
    order; plain columns, not ORM objects, for the reads of every site of a 10,000-site
    session (the page's grid, the board's snapshot)."""
    return (
        select(*columns)
        .select_from(Participation)
        .join(Site, col(Site.id) == col(Participation.site_id))
        .outerjoin(Cluster, col(Cluster.id) == col(Site.cluster_id))
        .where(col(Participation.meeting_id) == bindparam("meeting_id"))
        .order_by(col(Cluster.code).nulls_first(), col(Site.search_text), col(Site.id))
    )


#: What the session page's grid shows of each invited site; built once.
_PARTICIPATIONS = invited_sites(
    *SITE_COLUMNS,
    col(Cluster.leader_site_id),
    col(Participation.rsvp),
    col(Participation.expected_delegates),
    col(Participation.technical_contact),
    col(Participation.rsvp_note),
    col(Participation.responded_at),
    col(Participation.rsvp_source),
    col(Participation.endpoint),
    col(Site.endpoint),
    col(Site.timezone),
    col(Participation.attendance_status),
    col(Participation.joined_at),
    col(Participation.left_at),
    col(Participation.delegates_present),
    col(Participation.officials_present),
)


#: The same, of some of the sites only (their ids as the bound parameter `site_ids`).
_SOME_PARTICIPATIONS = _PARTICIPATIONS.where(
    col(Site.id).in_(bindparam("site_ids", expanding=True))
)


async def participations(
    session: AsyncSession, meeting_id: int, site_ids: list[int] | None = None
) -> list[ParticipationPublic]:
    """Every invited site of a session in register order, with its local start time and
    its attendance (one query of plain columns, whatever the number of sites); only
    those of `site_ids` if given (then a cluster leader is known as one only if it
    belongs to its cluster: meetings.planning.site_list rereads changed sites so)."""
    meeting = await get_meeting_row(session, meeting_id)
    if site_ids is None:
        rows = (await session.execute(_PARTICIPATIONS, {"meeting_id": meeting_id})).all()
    else:
        some = {"meeting_id": meeting_id, "site_ids": site_ids}
        rows = (await session.execute(_SOME_PARTICIPATIONS, some)).all()
    leaders = {row[5] for row in rows if row[5] is not None}
    # Our own rows, read back: built without validating them again (each value is already
    # of its field's type), with the local times computed once per zone.
    local: dict[str, tuple[str, str]] = {}
    found = []
    for row in rows:
        zone = row[14] or meeting.timezone
        if zone not in local:
            local[zone] = (local_time(meeting.starts_at, zone), local_time(meeting.ends_at, zone))
        found.append(
            ParticipationPublic.model_construct(
                site_id=row[0] or 0,
                site_code=row[1],
                site_name=row[2],
                cluster_id=row[3],
                cluster_name=row[4],
                is_host=row[0] == meeting.host_site_id,
                is_cluster_leader=row[0] in leaders,
                rsvp=Rsvp(row[6]),
                expected_delegates=row[7],
                technical_contact=row[8],
                rsvp_note=row[9],
                responded_at=row[10],
                rsvp_source=row[11],
                endpoint=row[12] or row[13],
                timezone=zone,
                local_starts_at=local[zone][0],
                local_ends_at=local[zone][1],
                # Attendance as it happened: derived from the events onto the same row.
                attendance_status=row[15],
                joined_at=row[16],
                left_at=row[17],
                delegates_present=row[18],
                officials_present=row[19] or [],
            )
        )
    return found


def local_time(moment: datetime, zone: str) -> str:
    """ISO 8601 with the zone's offset at that moment (DST included)."""
    return moment.astimezone(ZoneInfo(zone)).isoformat()
