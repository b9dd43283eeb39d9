"""A site's proposal of another time (iTIP METHOD:COUNTER), decided by the organiser.

Accepting moves the session through planning's own edit (its lifecycle rules, version
check and working-day warnings) and queues the update every invited site's calendar
needs; declining queues a METHOD:DECLINECOUNTER to the contact who proposed. Either is
decided once: the row is claimed by a conditional UPDATE, so of two organisers clicking
at the same moment one decides and the other is told it was already decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.errors import Conflict, FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingPublic, MeetingStatus, MeetingUpdate
from meetings.register.models import Contact
from notify.inbound.models import InboundKind, InboundMail, InboundOutcome
from notify.mail import invitations
from notify.mail.models import Message, MessageKind

#: Msgids of a decision already taken, by the outcome it has.
DECIDED = {
    InboundOutcome.accepted: N_("This proposal was already accepted by {by}"),
    InboundOutcome.declined: N_("This proposal was already declined by {by}"),
}


@dataclass(frozen=True)
class Accepted:
    """The session at its new time, and the updates queued for the invited sites."""

    meeting: MeetingPublic
    queued: invitations.QueueReport


async def get_counter(session: AsyncSession, meeting_id: int, inbound_id: int) -> InboundMail:
    """A proposal of another time about this session; anything else is not found."""
    row = await session.get(InboundMail, inbound_id)
    if row is None or row.meeting_id != meeting_id or row.kind != InboundKind.counter:
        raise NotFound.of(
            N_("no proposal {inbound_id} in session {meeting_id}"),
            inbound_id=inbound_id,
            meeting_id=meeting_id,
        )
    return row


async def _claim(
    session: AsyncSession, row: InboundMail, outcome: InboundOutcome, *, by: str, now: datetime
) -> None:
    """Mark the proposal decided, only if it still waits (else Conflict, 409)."""
    result = await session.execute(
        update(InboundMail)
        .where(
            col(InboundMail.id) == row.id,
            col(InboundMail.outcome) == InboundOutcome.pending,
        )
        .values(outcome=outcome, decided_by=by[:100], decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        await session.refresh(row)
        template = DECIDED.get(InboundOutcome(row.outcome))
        if template is None:
            raise Conflict.at("outcome", N_("This mail is not a proposal waiting for a decision"))
        raise Conflict.at("outcome", template, by=row.decided_by or "?")
    await session.refresh(row)


def _refuse_unless_pending(row: InboundMail) -> None:
    """Tell at once that a decided proposal stays decided (the claim checks it again)."""
    template = DECIDED.get(InboundOutcome(row.outcome))
    if template is not None:
        raise Conflict.at("outcome", template, by=row.decided_by or "?")
    if row.outcome != InboundOutcome.pending:
        raise Conflict.at("outcome", N_("This mail is not a proposal waiting for a decision"))


def _proposed_times(row: InboundMail, now: datetime) -> tuple[datetime, datetime]:
    starts_at, ends_at = row.proposed_starts_at, row.proposed_ends_at
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        raise Invalid(
            "no proposed time",
            [FieldProblem("proposed_starts_at", N_("The proposal gives no usable time"))],
        )
    if starts_at <= now:
        raise Invalid(
            "proposed time passed",
            [FieldProblem("proposed_starts_at", N_("The proposed time has already passed"))],
        )
    return starts_at, ends_at


async def accept_counter(
    session: AsyncSession,
    meeting_id: int,
    inbound_id: int,
    *,
    version: int,
    by: str,
    secret_key: str,
    now: datetime | None = None,
) -> Accepted:
    """Move the session to the proposed time (as the session's edit would, `version`
    being the session's version the organiser saw) and queue the updates; other
    proposals of the session stay pending."""
    now = now or utcnow()
    row = await get_counter(session, meeting_id, inbound_id)
    _refuse_unless_pending(row)
    meeting = await planning.get_meeting_row(session, meeting_id)
    if meeting.status not in (MeetingStatus.draft, MeetingStatus.scheduled):
        raise Invalid(
            "session not movable",
            [
                FieldProblem(
                    "status",
                    N_("The session is under way, over or cancelled: it can no longer move"),
                )
            ],
        )
    starts_at, ends_at = _proposed_times(row, now)
    await _claim(session, row, InboundOutcome.accepted, by=by, now=now)
    moved = await planning.update_meeting(
        session,
        meeting_id,
        MeetingUpdate(version=version, starts_at=starts_at, ends_at=ends_at),
        by=by,
    )
    queued = await invitations.queue_invitations(session, meeting_id, secret_key=secret_key)
    return Accepted(moved, queued)


async def decline_counter(
    session: AsyncSession,
    meeting_id: int,
    inbound_id: int,
    *,
    by: str,
    now: datetime | None = None,
) -> Message:
    """Keep the session's time and queue a METHOD:DECLINECOUNTER to the contact who
    proposed (the proposal's ATTENDEE), with the session's current SEQUENCE."""
    now = now or utcnow()
    row = await get_counter(session, meeting_id, inbound_id)
    _refuse_unless_pending(row)
    recipient = row.attendee or row.sender
    if not recipient:
        raise Invalid(
            "nobody to answer",
            [FieldProblem("attendee", N_("The proposal names no address to answer"))],
        )
    meeting = await planning.get_meeting_row(session, meeting_id)
    contact = await session.get(Contact, row.contact_id) if row.contact_id else None
    await _claim(session, row, InboundOutcome.declined, by=by, now=now)
    message = Message(
        meeting_id=meeting_id,
        site_id=row.site_id,
        recipient=recipient,
        recipient_name=contact.name if contact else "",
        kind=MessageKind.declinecounter,
        sequence=meeting.sequence,
        send_after=now,
        # One answer per proposal, whatever happens to the request that queued it.
        dedupe_key=f"declinecounter:{row.id}",
    )
    session.add(message)
    await session.flush()
    return message
