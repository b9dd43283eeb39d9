"""Queueing invitations, updates and cancellations: one outbox row per recipient.

Called inside the transaction of the change that causes it, so the rows exist exactly
when the change does. Whether a recipient gets an invitation or an update depends on
what was sent before; a recipient whose site is no longer invited gets a cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.errors import FieldProblem, Invalid
from meetings.meeting_models import MeetingStatus, Participation
from meetings.models import Contact
from meetings.planning import get_meeting_row
from meetings.store import utcnow
from notify import tokens
from notify.models import Message, MessageKind, MessageStatus

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
        select(Contact.email, Contact.site_id, Contact.name)
        .join(Participation, Participation.site_id == Contact.site_id)  # type: ignore[arg-type]
        .where(Participation.meeting_id == meeting_id)
        .order_by(Contact.site_id, Contact.position)
    )
    found: dict[str, tuple[int, str]] = {}
    for email, site_id, name in rows.all():
        found.setdefault(email.lower(), (site_id, name))
    return found


async def _invited_before(session: AsyncSession, meeting_id: int) -> dict[str, Message]:
    rows = await session.scalars(
        select(Message)
        .where(
            Message.meeting_id == meeting_id,
            Message.kind.in_(INVITING),  # type: ignore[attr-defined]
            Message.status != MessageStatus.failed,
        )
        .order_by(Message.id)
    )
    return {m.recipient.lower(): m for m in rows}


async def _cancelled_at(session: AsyncSession, meeting_id: int, sequence: int) -> set[str]:
    rows = await session.scalars(
        select(Message.recipient).where(
            Message.meeting_id == meeting_id,
            Message.kind == MessageKind.cancellation,
            Message.sequence >= sequence,
        )
    )
    return {r.lower() for r in rows}


async def queue_invitations(
    session: AsyncSession,
    meeting_id: int,
    *,
    secret_key: str,
    send_after: datetime | None = None,
) -> QueueReport:
    """Invitations to new recipients, updates to those invited before, cancellations to
    those whose site was removed from the session."""
    meeting = await get_meeting_row(session, meeting_id)
    if meeting.status not in (MeetingStatus.draft, MeetingStatus.scheduled):
        raise Invalid(
            "closed session",
            [FieldProblem("status", f"a {meeting.status} session sends no invitations")],
        )
    recipients = await _recipients(session, meeting_id)
    if not recipients:
        raise Invalid(
            "nobody to invite",
            [FieldProblem("site_ids", "the invited sites have no contact e-mail")],
        )
    await tokens.issue_tokens(
        session, {site_id for site_id, _ in recipients.values()}, secret_key=secret_key
    )
    before = await _invited_before(session, meeting_id)
    rows = []
    counts = {"invitation": 0, "update": 0, "cancellation": 0}
    when = send_after or utcnow()
    for email, (site_id, name) in recipients.items():
        kind = MessageKind.update if email in before else MessageKind.invitation
        counts[kind] += 1
        rows.append(_row(meeting_id, site_id, email, name, kind, meeting.sequence, when))
    removed = (
        set(before) - set(recipients) - await _cancelled_at(session, meeting_id, meeting.sequence)
    )
    for email in sorted(removed):
        counts["cancellation"] += 1
        rows.append(
            _row(
                meeting_id,
                before[email].site_id,
                email,
                before[email].recipient_name,
                MessageKind.cancellation,
                meeting.sequence,
                when,
            )
        )
    await _insert(session, rows)
    return QueueReport(counts["invitation"], counts["update"], counts["cancellation"])


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
