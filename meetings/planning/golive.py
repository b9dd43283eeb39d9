"""When a session may go live, and the log of who changed its status.

A session goes live on its day: from midnight in its own time zone, or from its
rehearsal when that starts earlier. Before then only by an explicit override with a
reason, which the log keeps with who and when; the session page shows the log.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.errors import FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.planning.models import MeetingStatus, StatusChange, StatusChangePublic

#: The refusal of a start before the session's day, on the field that lifts it.
TOO_EARLY = N_("The session goes live on its day; to start it earlier, give a reason.")


class Timed(Protocol):
    """What the rule reads of a session (its row or its public model)."""

    starts_at: datetime
    timezone: str
    rehearsal_minutes: int | None


def live_opens_at(meeting: Timed) -> datetime:
    """The first moment the session may go live without an override."""
    zone = ZoneInfo(meeting.timezone)
    day = meeting.starts_at.astimezone(zone).date()
    midnight = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    rehearsal = meeting.starts_at - timedelta(minutes=meeting.rehearsal_minutes or 0)
    return min(midnight, rehearsal)


def is_early(meeting: Timed, now: datetime) -> bool:
    """Going live now would be before the session's day (an override is needed)."""
    return now < live_opens_at(meeting)


def check_go_live(meeting: Timed, *, now: datetime, reason: str) -> bool:
    """Whether this start is an early one (allowed by its reason); without a reason an
    early start is refused on `early_start_reason`, the field that allows it."""
    if not is_early(meeting, now):
        return False
    if not reason.strip():
        raise Invalid("too early to go live", [FieldProblem("early_start_reason", TOO_EARLY)])
    return True


async def log_change(
    session: AsyncSession,
    meeting_id: int,
    *,
    from_status: MeetingStatus,
    to_status: MeetingStatus,
    by: str,
    at: datetime,
    reason: str = "",
    is_early: bool = False,
) -> None:
    session.add(
        StatusChange(
            meeting_id=meeting_id,
            from_status=from_status,
            to_status=to_status,
            by=by,
            at=at,
            reason=reason,
            is_early=is_early,
        )
    )


async def history(session: AsyncSession, meeting_id: int) -> list[StatusChangePublic]:
    """The session's status changes made by people, oldest first."""
    rows = await session.scalars(
        select(StatusChange)
        .where(col(StatusChange.meeting_id) == meeting_id)
        .order_by(col(StatusChange.at), col(StatusChange.id))
    )
    return [StatusChangePublic.model_validate(row) for row in rows]
