"""The chair's approval: approved minutes stay approved until the record changes.

What the minutes are now (`current`): the latest approved version while the record says
what it said then, else the draft built from the record with what changed since that
version (agendas.minutes.changes). Only a draft can be approved, and only once the session
has ended; the chair follows the ended sessions up (`ended_sessions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.minutes import changes, minutes
from agendas.minutes.changes import Change
from agendas.minutes.data import MinutesData
from agendas.record.models import Minutes
from meetings.core import signals
from meetings.core.errors import FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.core.settings import OrganisationSettings
from meetings.core.store import id_of, utcnow
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting, MeetingStatus
from meetings.planning.workdays import Deadline, conclusions_deadline


@dataclass(frozen=True)
class Current:
    """The minutes as they stand: an approved version, or a draft awaiting approval."""

    data: MinutesData
    #: The latest approved version; None before the first approval.
    approved: Minutes | None
    #: What the draft changes since `approved` (empty when there is nothing to approve
    #: again, or nothing approved yet).
    changes: list[Change]

    @property
    def is_draft(self) -> bool:
        return self.data.status != "approved"


async def current(
    session: AsyncSession,
    meeting_id: int,
    organisation: OrganisationSettings,
    *,
    now: datetime | None = None,
) -> Current:
    draft = await minutes.build(session, meeting_id, organisation, now=now)
    latest = await session.scalar(
        select(Minutes)
        .where(col(Minutes.meeting_id) == meeting_id)
        .order_by(col(Minutes.number).desc())
    )
    return _against(draft, latest)


def _against(draft: MinutesData, latest: Minutes | None) -> Current:
    if latest is None:
        return Current(draft, None, [])
    kept = minutes.data_of(latest)
    found = changes.between(kept, draft)
    return Current(draft if found else kept, latest, found)


async def approve(
    session: AsyncSession,
    meeting_id: int,
    organisation: OrganisationSettings,
    *,
    approver: str,
) -> Minutes:
    """Freeze the draft as the next approved version (after the session; not again while
    the record has not changed since the last one)."""
    meeting = await get_meeting_row(session, meeting_id)
    if meeting.status != MeetingStatus.ended:
        raise Invalid(
            "not ended",
            [FieldProblem("status", N_("Minutes are approved once the session has ended"))],
        )
    now = await current(session, meeting_id, organisation)
    if not now.is_draft:
        raise Invalid(
            "approved already",
            [
                FieldProblem(
                    "version",
                    N_("This version is approved already; the record has not changed since"),
                )
            ],
        )
    at = utcnow()
    data = now.data.model_copy(
        update={"status": "approved", "approved_by": approver, "approved_at": at}
    )
    row = Minutes(
        meeting_id=meeting_id,
        number=data.version,
        content=data.model_dump(mode="json"),
        approved_by=approver,
        approved_at=at,
    )
    session.add(row)
    await session.flush()
    await signals.of(session).minutes_approved.send(session, meeting_id)
    return row


def notice_deadline(ends_at: datetime, timezone: str, *, now: datetime | None = None) -> Deadline:
    """5 working days after the session (Vietnamese holidays counted)."""
    return conclusions_deadline(ends_at=ends_at, timezone=timezone, now=now)


@dataclass(frozen=True)
class EndedSession:
    """An ended session as the chair follows it up."""

    meeting: Meeting
    #: Its latest approved minutes; None before the first approval.
    approved: Minutes | None
    #: When its notice of conclusions is due.
    deadline: Deadline
    #: What changed in the record since `approved` (a new draft awaits approval).
    changes: list[Change]

    @property
    def is_awaiting(self) -> bool:
        return self.approved is None or bool(self.changes)


async def ended_sessions(
    session: AsyncSession, organisation: OrganisationSettings, *, now: datetime, limit: int = 50
) -> list[EndedSession]:
    """The latest ended sessions, with their latest approved minutes and what changed since,
    latest first."""
    ended = (
        await session.scalars(
            select(Meeting)
            .where(col(Meeting.status) == MeetingStatus.ended)
            .order_by(col(Meeting.ends_at).desc())
            .limit(limit)
        )
    ).all()
    latest: dict[int, Minutes] = {}
    for row in await session.scalars(
        select(Minutes)
        .where(col(Minutes.meeting_id).in_([m.id for m in ended]))
        .order_by(col(Minutes.number))
    ):
        latest[row.meeting_id] = row
    followed = []
    for meeting in ended:
        approved = latest.get(id_of(meeting))
        found: list[Change] = []
        if approved is not None:  # the draft is built only to compare it
            draft = await minutes.build(session, id_of(meeting), organisation, now=now)
            found = _against(draft, approved).changes
        deadline = notice_deadline(meeting.ends_at, meeting.timezone, now=now)
        followed.append(EndedSession(meeting, approved, deadline, found))
    return followed
