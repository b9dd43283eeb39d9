"""What the dashboard shows of sessions: the live ones first, then the upcoming ones with
their answers. Each list takes a fixed number of queries (counts by GROUP BY over all the
listed sessions at once), whatever the number of sessions and sites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.attendance.models import CONNECTED
from meetings.core.store import id_of
from meetings.planning.lifecycle import publish
from meetings.planning.listing import period_conditions
from meetings.planning.models import Meeting, MeetingPublic, MeetingStatus, Participation, Rsvp


@dataclass(frozen=True)
class LiveSession:
    meeting: MeetingPublic
    #: Invited sites in the session now, and their delegates.
    connected: int
    delegates: int


async def live_sessions(session: AsyncSession, *, limit: int = 20) -> list[LiveSession]:
    """Sessions under way, soonest started first, with their rooms connected now."""
    rows = (
        await session.scalars(
            select(Meeting)
            .where(col(Meeting.status) == MeetingStatus.live)
            .order_by(col(Meeting.starts_at), col(Meeting.id))
            .limit(limit)
        )
    ).all()
    if not rows:
        return []
    connected = col(Participation.attendance_status).in_([s.value for s in CONNECTED])
    counts = {
        meeting_id: (rooms or 0, delegates or 0)
        for meeting_id, rooms, delegates in (
            await session.execute(
                select(
                    col(Participation.meeting_id),
                    func.sum(case((connected, 1), else_=0)),
                    func.sum(
                        case((connected, func.coalesce(col(Participation.delegates_present), 0)))
                    ),
                )
                .where(col(Participation.meeting_id).in_([id_of(m) for m in rows]))
                .group_by(col(Participation.meeting_id))
            )
        ).all()
    }
    return [
        LiveSession(meeting, *counts.get(meeting.id, (0, 0)))
        for meeting in await publish(session, list(rows))
    ]


async def upcoming_sessions(
    session: AsyncSession, *, now: datetime, limit: int = 10
) -> tuple[list[MeetingPublic], int]:
    """Upcoming sessions that are not live (those have their own section), soonest first,
    and how many."""
    conditions = (
        *period_conditions("upcoming", now),
        col(Meeting.status) != MeetingStatus.live,
    )
    total = await session.scalar(select(func.count()).select_from(Meeting).where(*conditions))
    rows = (
        await session.scalars(
            select(Meeting)
            .where(*conditions)
            .order_by(col(Meeting.starts_at), col(Meeting.id))
            .limit(limit)
        )
    ).all()
    return await publish(session, list(rows)), total or 0


@dataclass(frozen=True)
class RsvpTally:
    """A session's answers: how many sites said what, and the delegates expected."""

    invited: int = 0
    accepted: int = 0
    tentative: int = 0
    declined: int = 0
    expected_delegates: int = 0

    @property
    def answered(self) -> int:
        return self.accepted + self.tentative + self.declined

    @property
    def waiting(self) -> int:
        return self.invited - self.answered


async def rsvp_tallies(session: AsyncSession, meeting_ids: list[int]) -> dict[int, RsvpTally]:
    """The answers of each listed session, in one grouped query."""
    if not meeting_ids:
        return {}
    counted: dict[int, dict[str, int]] = {}
    rows = await session.execute(
        select(
            col(Participation.meeting_id),
            col(Participation.rsvp),
            func.count(),
            func.sum(func.coalesce(col(Participation.expected_delegates), 0)),
        )
        .where(col(Participation.meeting_id).in_(meeting_ids))
        .group_by(col(Participation.meeting_id), col(Participation.rsvp))
    )
    for meeting_id, rsvp, count, delegates in rows.all():
        tally = counted.setdefault(meeting_id, {"invited": 0, "expected_delegates": 0})
        tally["invited"] += count
        tally[rsvp] = count
        if rsvp in (Rsvp.accepted, Rsvp.tentative):
            tally["expected_delegates"] += delegates or 0
    return {
        meeting_id: RsvpTally(
            invited=tally["invited"],
            accepted=tally.get(Rsvp.accepted, 0),
            tentative=tally.get(Rsvp.tentative, 0),
            declined=tally.get(Rsvp.declined, 0),
            expected_delegates=tally["expected_delegates"],
        )
        for meeting_id, tally in counted.items()
    }
