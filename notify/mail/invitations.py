"""Queueing invitations, updates and cancellations: one outbox row per recipient.

Called inside the transaction of the change that causes it, so the rows exist exactly
when the change does. Whether a recipient gets an invitation or an update depends on
what was sent before; a recipient whose site is no longer invited gets a cancellation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core import signals
from meetings.core.errors import FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import MeetingStatus, Participation
from meetings.register.models import Contact
from notify.mail.messages import get_message
from notify.mail.models import Message, MessageKind, MessageStatus
from notify.site import tokens

INVITING = (MessageKind.invitation, MessageKind.update)


@dataclass(frozen=True)
class QueueReport:
    invitations: int = 0
    updates: int = 0
    cancellations: int = 0

    @property
    def total(self) -> int:
        return self.invitations + self.updates + self.cancellations


async def _recipients(session: AsyncSession, meeting_id: int) -> dict[str, tuple[int, str]]:
    """Every contact e-mail of every invited site: address → (site id, name)."""
    rows = await session.execute(
        select(col(Contact.email), col(Contact.site_id), col(Contact.name))
        .join(Participation, col(Participation.site_id) == col(Contact.site_id))
        .where(col(Participation.meeting_id) == meeting_id)
        .order_by(col(Contact.site_id), col(Contact.position))
    )
    found: dict[str, tuple[int, str]] = {}
    for email, site_id, name in rows.all():
        found.setdefault(email.lower(), (site_id, name))
    return found


async def _invited_before(session: AsyncSession, meeting_id: int) -> dict[str, Message]:
    rows = await session.scalars(
        select(Message)
        .where(
            col(Message.meeting_id) == meeting_id,
            col(Message.kind).in_(INVITING),
            col(Message.status) != MessageStatus.failed,
        )
        .order_by(col(Message.id))
    )
    return {m.recipient.lower(): m for m in rows}


async def _cancelled_at(session: AsyncSession, meeting_id: int, sequence: int) -> set[str]:
    rows = await session.scalars(
        select(col(Message.recipient)).where(
            col(Message.meeting_id) == meeting_id,
            col(Message.kind) == MessageKind.cancellation,
            col(Message.sequence) >= sequence,
        )
    )
    return {r.lower() for r in rows}


@dataclass(frozen=True)
class Planned:
    """One recipient of the next sending and what they would get."""

    email: str
    name: str
    site_id: int | None
    kind: MessageKind


async def plan_invitations(session: AsyncSession, meeting_id: int) -> list[Planned]:
    """Who gets what if invitations are sent now: an invitation to a new recipient, an
    update to one invited before, a cancellation to one whose site was removed. Nothing
    is written, so the organiser sees this before sending."""
    meeting = await get_meeting_row(session, meeting_id)
    if meeting.status not in (MeetingStatus.draft, MeetingStatus.scheduled):
        raise Invalid(
            "closed session",
            [FieldProblem("status", N_("An ended or cancelled session sends no invitations"))],
        )
    recipients = await _recipients(session, meeting_id)
    before = await _invited_before(session, meeting_id)
    planned = [
        Planned(
            email,
            name,
            site_id,
            MessageKind.update if email in before else MessageKind.invitation,
        )
        for email, (site_id, name) in recipients.items()
    ]
    removed = (
        set(before) - set(recipients) - await _cancelled_at(session, meeting_id, meeting.sequence)
    )
    planned.extend(
        Planned(
            email, before[email].recipient_name, before[email].site_id, MessageKind.cancellation
        )
        for email in sorted(removed)
    )
    return planned


def by_kind(plan: Sequence[Planned]) -> dict[str, list[Planned]]:
    """The planned messages grouped by kind (invitation, update, cancellation)."""
    grouped: dict[str, list[Planned]] = {}
    for planned in plan:
        grouped.setdefault(planned.kind, []).append(planned)
    return grouped


async def queue_invitations(
    session: AsyncSession,
    meeting_id: int,
    *,
    secret_key: str,
    send_after: datetime | None = None,
) -> QueueReport:
    """Invitations to new recipients, updates to those invited before, cancellations to
    those whose site was removed from the session (see `plan_invitations`)."""
    planned = await plan_invitations(session, meeting_id)
    if not any(p.kind != MessageKind.cancellation for p in planned):
        raise Invalid(
            "nobody to invite",
            [FieldProblem("site_ids", N_("The invited sites have no contact e-mail"))],
        )
    meeting = await get_meeting_row(session, meeting_id)
    await tokens.issue_tokens(
        session,
        {p.site_id for p in planned if p.site_id is not None and p.kind != "cancellation"},
        secret_key=secret_key,
    )
    when = send_after or utcnow()
    rows = [
        _row(meeting_id, p.site_id, p.email, p.name, p.kind, meeting.sequence, when)
        for p in planned
    ]
    await _insert(session, rows)
    if send_after is not None:
        await signals.of(session).meeting_changed.send(session, meeting_id)  # a dispatch to plan
    return _report(planned)


def _report(planned: list[Planned]) -> QueueReport:
    kinds = [p.kind for p in planned]
    return QueueReport(
        kinds.count(MessageKind.invitation),
        kinds.count(MessageKind.update),
        kinds.count(MessageKind.cancellation),
    )


async def resend(session: AsyncSession, meeting_id: int, message_id: int) -> Message:
    """Send one recipient's message again: a failed row goes back to the queue as it is;
    otherwise a new row of the same kind is queued (the earlier one stays as history)."""
    row = await get_message(session, meeting_id, message_id)
    meeting = await get_meeting_row(session, meeting_id)
    if row.status in (MessageStatus.queued, MessageStatus.sending):
        raise Invalid(
            "already queued", [FieldProblem("status", N_("This message is still being sent"))]
        )
    if row.status == MessageStatus.failed:
        row.status = MessageStatus.queued
        row.attempts = 0
        row.send_after = utcnow()
        row.last_error = ""
        row.sequence = max(row.sequence, meeting.sequence)
        await session.flush()
        return row
    again = Message(
        meeting_id=meeting_id,
        site_id=row.site_id,
        recipient=row.recipient,
        recipient_name=row.recipient_name,
        kind=row.kind,
        sequence=meeting.sequence,
    )
    session.add(again)
    await session.flush()
    return again


async def queue_cancellations(session: AsyncSession, meeting_id: int) -> QueueReport:
    """A cancelled session: a CANCEL to everyone who was invited (once per sequence)."""
    meeting = await get_meeting_row(session, meeting_id)
    before = await _invited_before(session, meeting_id)
    done = await _cancelled_at(session, meeting_id, meeting.sequence)
    rows = [
        _row(
            meeting_id,
            m.site_id,
            email,
            m.recipient_name,
            MessageKind.cancellation,
            meeting.sequence,
            utcnow(),
        )
        for email, m in before.items()
        if email not in done
    ]
    await _insert(session, rows)
    return QueueReport(cancellations=len(rows))


def _row(
    meeting_id: int,
    site_id: int | None,
    email: str,
    name: str,
    kind: MessageKind,
    sequence: int,
    when: datetime,
) -> dict[str, object]:
    return {
        "meeting_id": meeting_id,
        "site_id": site_id,
        "recipient": email,
        "recipient_name": name,
        "kind": kind,
        "status": MessageStatus.queued,
        "sequence": sequence,
        "attempts": 0,
        "last_error": "",
        "send_after": when,
        "message_id": "",
        "created_at": utcnow(),
    }


async def _insert(session: AsyncSession, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), 1000):
        await session.execute(insert(Message), rows[start : start + 1000])


@dataclass(frozen=True)
class DeliverySummary:
    """How far the session's sending has got, for the progress bar."""

    total: int
    queued: int
    sending: int
    sent: int
    failed: int
    #: Queued rows whose time has not come (a chosen send time, or a retry's back-off).
    waiting: int

    @property
    def is_busy(self) -> bool:
        return self.queued + self.sending > 0


async def delivery_summary(
    session: AsyncSession, meeting_id: int, *, now: datetime
) -> DeliverySummary:
    counts: dict[str, int] = {}
    # One expression (one bound `now`) in the select and the GROUP BY: PostgreSQL refuses
    # to group by `send_after > $2` what it selects as `send_after > $1`.
    later = col(Message.send_after) > now
    rows = await session.execute(
        select(col(Message.status), later, func.count())
        .where(col(Message.meeting_id) == meeting_id)
        .group_by(col(Message.status), later)
    )
    waiting = 0
    for status, is_later, count in rows.all():
        counts[status] = counts.get(status, 0) + count
        if status == MessageStatus.queued and is_later:
            waiting += count
    return DeliverySummary(
        total=sum(counts.values()),
        queued=counts.get(MessageStatus.queued, 0),
        sending=counts.get(MessageStatus.sending, 0),
        sent=counts.get(MessageStatus.sent, 0),
        failed=counts.get(MessageStatus.failed, 0) + counts.get(MessageStatus.skipped, 0),
        waiting=waiting,
    )


async def queue_minutes_notice(session: AsyncSession, meeting_id: int) -> QueueReport:
    """The notice of conclusions with the approved minutes, to every contact of every
    invited site; the unique key allows one notice per address and approved version."""
    from agendas.record.models import Minutes  # the record's table; notify only reads it

    minutes = await session.scalar(
        select(Minutes)
        .where(col(Minutes.meeting_id) == meeting_id)
        .order_by(col(Minutes.number).desc())
    )
    if minutes is None:
        return QueueReport()
    meeting = await get_meeting_row(session, meeting_id)
    recipients = await _recipients(session, meeting_id)
    rows = []
    for email, (site_id, name) in recipients.items():
        row = _row(
            meeting_id, site_id, email, name, MessageKind.minutes, meeting.sequence, utcnow()
        )
        row["dedupe_key"] = f"minutes:{meeting_id}:{minutes.number}:{email}"[:200]
        rows.append(row)
    await _insert(session, rows)
    minutes.notice_sent_at = utcnow()
    await session.flush()
    return QueueReport(invitations=len(rows))
