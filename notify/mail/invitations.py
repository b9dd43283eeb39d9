"""Queueing invitations, updates and cancellations: one outbox row per recipient.

Called inside the transaction of the change that causes it, so the rows exist exactly
when the change does. Whether a recipient gets an invitation or an update depends on
what was sent before; a recipient whose site is no longer invited gets a cancellation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.programme.programme import agenda_items
from meetings.core import signals
from meetings.core.errors import FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import MeetingStatus
from notify.mail import versions
from notify.mail.messages import DID_NOT_ARRIVE, get_message
from notify.mail.models import Message, MessageKind, MessageStatus
from notify.mail.recipients import (
    Unreachable,
    contact_addresses,
    reachable_only,
    site_recipients,
    unreachable_sites,
)
from notify.site import tokens

INVITING = (MessageKind.invitation, MessageKind.update)
#: What tells a site of the session's state: its latest such message is what it knows.
TELLING = (*INVITING, MessageKind.cancellation)


@dataclass(frozen=True)
class QueueReport:
    invitations: int = 0
    updates: int = 0
    cancellations: int = 0

    @property
    def total(self) -> int:
        return self.invitations + self.updates + self.cancellations


@dataclass(frozen=True)
class Told:
    """The latest message that told a recipient of the session (not a failed or bounced
    one)."""

    kind: MessageKind
    site_id: int | None
    name: str
    sequence: int
    seen: versions.SiteView | None


async def _last_told(session: AsyncSession, meeting_id: int) -> dict[str, Told]:
    rows = await session.execute(
        select(
            col(Message.recipient),
            col(Message.kind),
            col(Message.site_id),
            col(Message.recipient_name),
            col(Message.sequence),
            col(Message.seen),
        )
        .where(
            col(Message.meeting_id) == meeting_id,
            col(Message.kind).in_(TELLING),
            col(Message.status).not_in(DID_NOT_ARRIVE),  # what did not arrive told nobody
        )
        .order_by(col(Message.id))
    )
    return {
        email.lower(): Told(MessageKind(kind), site_id, name, sequence, seen)
        for email, kind, site_id, name, sequence, seen in rows.all()
    }


@dataclass(frozen=True)
class Planned:
    """One recipient of the next sending and what they would get."""

    email: str
    name: str
    site_id: int | None
    kind: MessageKind
    #: The calendar SEQUENCE it carries: above anything the recipient got before.
    sequence: int = 0
    #: What it tells (invitations and updates), and what the recipient had (updates).
    seen: versions.SiteView | None = None
    seen_before: versions.SiteView | None = None


@dataclass(frozen=True)
class InvitationPlan:
    """The next sending, and how many invited sites already have the latest version."""

    planned: list[Planned]
    #: Invited sites (with an e-mail) all of whose contacts have the latest version.
    current_sites: int = 0
    #: Invited sites told before that something they see has changed for.
    outdated_sites: int = 0
    #: Invited sites never invited yet (or invited again after a cancellation).
    new_sites: int = 0
    #: Invited sites the sending cannot reach (no address, or all bounced).
    unreachable: list[Unreachable] = field(default_factory=list)


def _is_current(told: Told, view: versions.SiteView, sequence: int) -> bool:
    if told.kind == MessageKind.cancellation:
        return False
    if told.seen is None:  # sent before views were kept: its sequence says enough
        return told.sequence >= sequence
    return told.seen == view


async def invitation_plan(session: AsyncSession, meeting_id: int) -> InvitationPlan:
    """Who gets what if invitations are sent now: an invitation to a new recipient, an
    update to one told before when something it sees has changed since, a cancellation
    to one whose site was removed; nothing to one that has the latest version. Nothing
    is written, so the organiser sees this before sending."""
    meeting = await get_meeting_row(session, meeting_id)
    if meeting.status not in (MeetingStatus.draft, MeetingStatus.scheduled):
        raise Invalid(
            "closed session",
            [FieldProblem("status", N_("An ended or cancelled session sends no invitations"))],
        )
    addresses = await contact_addresses(session, meeting_id)
    recipients = reachable_only(addresses)
    told = await _last_told(session, meeting_id)
    agenda = versions.agenda_digest(await agenda_items(session, meeting_id=meeting_id))
    planned, current = [], set()
    # One view per room (most sites share the session's): 10,000 sites, a handful of views.
    views: dict[str, versions.SiteView] = {}
    for email, recipient in recipients.items():
        view = views.get(recipient.endpoint)
        if view is None:
            view = views[recipient.endpoint] = versions.site_view(
                meeting, endpoint=recipient.endpoint, agenda=agenda
            )
        before = told.get(email)
        if before is not None and _is_current(before, view, meeting.sequence):
            current.add(recipient.site_id)
            continue
        is_update = before is not None and before.kind != MessageKind.cancellation
        planned.append(
            Planned(
                email,
                recipient.name,
                recipient.site_id,
                MessageKind.update if is_update else MessageKind.invitation,
                _next_sequence(meeting.sequence, before),
                view,
                before.seen if is_update and before is not None else None,
            )
        )
    planned.extend(
        Planned(
            email, t.name, t.site_id, MessageKind.cancellation, _next_sequence(meeting.sequence, t)
        )
        for email, t in sorted(told.items())
        # Not to an address that bounced: a site still invited, whose mail does not arrive.
        if email not in addresses and t.kind != MessageKind.cancellation
    )
    return replace(
        _plan(planned, current), unreachable=await unreachable_sites(session, meeting_id)
    )


def _next_sequence(sequence: int, before: Told | None) -> int:
    """The session's SEQUENCE, or one above what the recipient last got if that is more
    (a change of title or agenda alone does not raise the session's)."""
    return sequence if before is None else max(sequence, before.sequence + 1)


def _plan(planned: list[Planned], current: set[int]) -> InvitationPlan:
    kinds: dict[MessageKind, set[int]] = {}
    for p in planned:
        if p.site_id is not None:
            kinds.setdefault(p.kind, set()).add(p.site_id)
    new = kinds.get(MessageKind.invitation, set())
    outdated = kinds.get(MessageKind.update, set()) - new
    return InvitationPlan(planned, len(current - new - outdated), len(outdated), len(new))


async def plan_invitations(session: AsyncSession, meeting_id: int) -> list[Planned]:
    """The messages of the next sending (see `invitation_plan`)."""
    return (await invitation_plan(session, meeting_id)).planned


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
    """Invitations to new recipients, updates to those whose view of the session changed,
    cancellations to those whose site was removed (see `invitation_plan`); nothing, and
    an empty report, when every site has the latest version."""
    plan = await invitation_plan(session, meeting_id)
    planned = plan.planned
    if not (plan.current_sites or plan.outdated_sites or plan.new_sites):
        raise Invalid(
            "nobody to invite",
            [FieldProblem("site_ids", N_("The invited sites have no contact e-mail"))],
        )
    if not planned:
        return QueueReport()
    await tokens.issue_tokens(
        session,
        {p.site_id for p in planned if p.site_id is not None and p.kind != "cancellation"},
        secret_key=secret_key,
    )
    when = send_after or utcnow()
    rows = [
        _row(meeting_id, p.site_id, p.email, p.name, p.kind, p.sequence, when)
        | {"seen": p.seen, "seen_before": p.seen_before}
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
        sequence=max(row.sequence, meeting.sequence),
        seen=row.seen,
        seen_before=row.seen_before,
    )
    session.add(again)
    await session.flush()
    return again


async def queue_cancellations(session: AsyncSession, meeting_id: int) -> QueueReport:
    """A cancelled session: a CANCEL to everyone invited and not cancelled yet, with a
    SEQUENCE above what each got."""
    meeting = await get_meeting_row(session, meeting_id)
    told = await _last_told(session, meeting_id)
    rows = [
        _row(
            meeting_id,
            t.site_id,
            email,
            t.name,
            MessageKind.cancellation,
            _next_sequence(meeting.sequence, t),
            utcnow(),
        )
        for email, t in told.items()
        if t.kind != MessageKind.cancellation
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
        "seen": None,
        "seen_before": None,
        "created_at": utcnow(),
    }


async def _insert(session: AsyncSession, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), 1000):
        await session.execute(insert(Message), rows[start : start + 1000])


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
    recipients = await site_recipients(session, meeting_id)
    rows = []
    for email, recipient in recipients.items():
        row = _row(
            meeting_id,
            recipient.site_id,
            email,
            recipient.name,
            MessageKind.minutes,
            meeting.sequence,
            utcnow(),
        )
        row["dedupe_key"] = f"minutes:{meeting_id}:{minutes.number}:{email}"[:200]
        rows.append(row)
    await _insert(session, rows)
    minutes.notice_sent_at = utcnow()
    await session.flush()
    return QueueReport(invitations=len(rows))
