"""Lists of planning: sessions for the list page and the API, and the invited sites of one
session for its grid (each in a fixed number of queries, whatever the number of rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.store import id_of, utcnow
from meetings.core.types import word_conditions
from meetings.planning.lifecycle import get_meeting_row, publish
from meetings.planning.models import (
    Meeting,
    MeetingPublic,
    MeetingStatus,
    Participation,
    ParticipationPublic,
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


async def participations(session: AsyncSession, meeting_id: int) -> list[ParticipationPublic]:
    """Every invited site of a session in register order, with its local start time and
    its attendance (one query, whatever the number of sites)."""
    meeting = await get_meeting_row(session, meeting_id)
    rows = (
        await session.execute(
            select(Participation, Site, Cluster)
            .join(Site, col(Site.id) == col(Participation.site_id))
            .outerjoin(Cluster, col(Cluster.id) == col(Site.cluster_id))
            .where(col(Participation.meeting_id) == meeting_id)
            .order_by(col(Cluster.code).nulls_first(), col(Site.search_text), col(Site.id))
        )
    ).all()
    leaders = {c.leader_site_id for _, _, c in rows if c is not None}
    return [
        ParticipationPublic(
            site_id=id_of(site),
            site_code=site.code,
            site_name=site.name,
            cluster_id=site.cluster_id,
            cluster_name=cluster.name if cluster else None,
            is_host=site.id == meeting.host_site_id,
            is_cluster_leader=site.id in leaders,
            rsvp=participation.rsvp,
            expected_delegates=participation.expected_delegates,
            technical_contact=participation.technical_contact,
            rsvp_note=participation.rsvp_note,
            responded_at=participation.responded_at,
            rsvp_source=participation.rsvp_source,
            endpoint=participation.endpoint or site.endpoint,
            timezone=site.timezone or meeting.timezone,
            local_starts_at=local_time(meeting.starts_at, site.timezone or meeting.timezone),
            local_ends_at=local_time(meeting.ends_at, site.timezone or meeting.timezone),
            # Attendance as it happened: derived from the events onto the same row.
            attendance_status=participation.attendance_status,
            joined_at=participation.joined_at,
            left_at=participation.left_at,
            delegates_present=participation.delegates_present,
            officials_present=participation.officials_present or [],
        )
        for participation, site, cluster in rows
    ]


def local_time(moment: datetime, zone: str) -> str:
    """ISO 8601 with the zone's offset at that moment (DST included)."""
    return moment.astimezone(ZoneInfo(zone)).isoformat()
