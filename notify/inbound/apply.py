"""What an inbound e-mail changes in the database: a calendar reply sets the site's RSVP,
a counter-proposal waits for the organiser, a bounce marks the outbox message and flags
the address, a plain reply is attached to the session and site it answers.

Mails are applied a batch at a time with a fixed number of queries, however many the
batch holds: everything the batch names (sessions by UID, invited contacts by address,
outbox messages, the keys already taken in) is loaded up front, the mails are applied in
memory in order, and the changes are flushed together with one `InboundMail` row per mail.
The caller commits the batch as one transaction; a mail whose key is already stored is
not applied again (its stored row is returned), so reading a message twice — after a
restart, or by a second worker — changes nothing the second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from meetings.core.store import id_of, key_col, table_of
from meetings.planning.models import (
    Meeting,
    MeetingStatus,
    Participation,
    Rsvp,
    RsvpChange,
    RsvpSource,
)
from meetings.planning.rsvp import answers_closed, overturns, take_answer
from meetings.register.models import Contact
from notify.inbound.addresses import outbox_id_of
from notify.inbound.models import InboundKind, InboundMail, InboundOutcome
from notify.inbound.parsed import Bounce, CalendarAnswer, Mail, PlainReply, Unreadable
from notify.mail.models import Message, MessageStatus

#: Values per `IN (...)` list; two lists in one query stay under SQLite's old limit of
#: 999 parameters.
CHUNK = 450

#: Rows per executemany INSERT.
INSERTED = 1000

#: The answers that set a site's RSVP, by PARTSTAT.
ANSWERS = {"ACCEPTED": Rsvp.accepted, "DECLINED": Rsvp.declined, "TENTATIVE": Rsvp.tentative}
DELEGATED = "DELEGATED"

#: The longest stored key (InboundMail.key); a longer Message-ID is stored as its digest.
MAX_KEY = 250
#: A plain reply's text is kept up to this length.
MAX_TEXT = 20_000


async def take_in(
    session: AsyncSession,
    mails: Sequence[Mail],
    *,
    inbound_address: str,
    secret: str,
    now: datetime,
) -> list[InboundMail]:
    """Apply a batch of mails (up to some hundreds) and add their rows; flushed, not
    committed. One row per mail, in order: a mail taken in before (its key is stored, or
    it came earlier in the batch) gets that row back and changes nothing.

    `inbound_address` and `secret` decode the VERP return path a bounce came back to
    (notify.inbound.addresses)."""
    keys = [key_of(mail) for mail in mails]
    taken = await _taken(session, keys)
    fresh: dict[str, Mail] = {}
    for key, mail in zip(keys, mails, strict=True):
        if key not in taken:
            fresh.setdefault(key, mail)
    known = await _load(session, fresh, inbound_address=inbound_address, secret=secret)
    rows = [_apply(key, mail, known, now) for key, mail in fresh.items()]
    await session.flush()  # the changed participations, messages and contacts: executemany
    # Inserted as executemany, then read back by key: the ORM would insert row by row to
    # learn each id where the database cannot return them in order (SQLite).
    await _insert(session, InboundMail, rows)
    await _insert(session, RsvpChange, known.changes)
    taken |= await _taken(session, list(fresh))
    return [taken[key] for key in keys]


async def take_in_one(
    session: AsyncSession, mail: Mail, *, inbound_address: str, secret: str, now: datetime
) -> InboundMail:
    """One mail (see `take_in`): the worker's retry of a batch whose commit failed."""
    (row,) = await take_in(session, [mail], inbound_address=inbound_address, secret=secret, now=now)
    return row


async def _insert(session: AsyncSession, model: Any, rows: Sequence[SQLModel]) -> None:
    """Into the table itself: every row with every column, so each chunk is one
    executemany (the ORM's bulk insert splits rows by which of their values are None)."""
    values = [row.model_dump(exclude={"id"}) for row in rows]
    for start in range(0, len(values), INSERTED):
        await session.execute(insert(table_of(model)), values[start : start + INSERTED])


def key_of(mail: Mail) -> str:
    """The mail's unique key as stored: its Message-ID, or a digest when it is too long."""
    key = mail.envelope.key
    if len(key) <= MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


# --- what a batch names, loaded up front -----------------------------------------------


class _Session(NamedTuple):
    id: int
    status: MeetingStatus


@dataclass(frozen=True)
class _Invited:
    """A participation of an invited site, through one of its contacts' address."""

    participation: Participation
    contact_id: int


@dataclass
class _Known:
    """Everything the batch's mails name, and what applying them adds."""

    sessions: dict[str, _Session] = field(default_factory=dict)
    #: (session id, address lower-case) → the invited sites with a contact at it.
    invited: dict[tuple[int, str], list[_Invited]] = field(default_factory=dict)
    #: Outbox messages by row id and by Message-ID header.
    messages: dict[int, Message] = field(default_factory=dict)
    by_header: dict[str, Message] = field(default_factory=dict)
    #: A bounce's outbox row by the mail's key: the bounce's own, else decoded from the
    #: return path it was delivered to.
    outbox_ids: dict[str, int | None] = field(default_factory=dict)
    #: Address lower-case → its contacts (every site), in id order.
    contacts: dict[str, list[Contact]] = field(default_factory=dict)
    #: History rows to add.
    changes: list[RsvpChange] = field(default_factory=list)


def _chunks(values: Iterable[Any]) -> list[list[Any]]:
    ordered = sorted(set(values))
    return [ordered[start : start + CHUNK] for start in range(0, len(ordered), CHUNK)]


async def _taken(session: AsyncSession, keys: Sequence[str]) -> dict[str, InboundMail]:
    found: dict[str, InboundMail] = {}
    for chunk in _chunks(keys):
        rows = await session.scalars(select(InboundMail).where(col(InboundMail.key).in_(chunk)))
        found.update((row.key, row) for row in rows)
    return found


async def _load(
    session: AsyncSession, mails: dict[str, Mail], *, inbound_address: str, secret: str
) -> _Known:
    known = _Known()
    answers = [m.meaning for m in mails.values() if isinstance(m.meaning, CalendarAnswer)]
    bounces: list[Bounce] = []
    for key, mail in mails.items():
        if isinstance(mail.meaning, Bounce):
            bounces.append(mail.meaning)
            known.outbox_ids[key] = mail.meaning.outbox_id or outbox_id_of(
                mail.envelope.delivered_to, inbound_address=inbound_address, secret=secret
            )
    plains = [m for m in mails.values() if isinstance(m.meaning, PlainReply)]
    await _load_sessions(session, known, answers)
    headers = [_bracketed(b.original_message_id) for b in bounces if b.original_message_id]
    headers += [_bracketed(mid) for mail in plains for mid in mail.envelope.answers]
    await _load_messages(session, known, known.outbox_ids.values(), headers)
    addresses = {mail.envelope.sender for mail in plains}
    addresses |= {b.recipient for b in bounces}
    addresses |= {m.recipient.lower() for m in known.messages.values()}
    addresses |= {m.recipient.lower() for m in known.by_header.values()}
    await _load_contacts(session, known, addresses - {""})
    return known


async def _load_sessions(
    session: AsyncSession, known: _Known, answers: list[CalendarAnswer]
) -> None:
    """The sessions the calendar answers name, and their invited sites' contacts at the
    attendees' addresses."""
    for chunk in _chunks(a.uid for a in answers):
        rows = await session.execute(
            select(col(Meeting.uid), key_col(Meeting.id), col(Meeting.status)).where(
                col(Meeting.uid).in_(chunk)
            )
        )
        known.sessions.update((uid, _Session(id_, MeetingStatus(s))) for uid, id_, s in rows)
    attendees = {a.attendee for a in answers if a.uid in known.sessions} - {""}
    address = func.lower(col(Contact.email))
    for meeting_ids in _chunks(s.id for s in known.sessions.values()):
        for chunk in _chunks(attendees):
            found = await session.execute(
                select(Participation, key_col(Contact.id), address)
                .join(Contact, col(Contact.site_id) == col(Participation.site_id))
                .where(col(Participation.meeting_id).in_(meeting_ids), address.in_(chunk))
                .order_by(col(Participation.site_id), col(Contact.id))
            )
            for participation, contact_id, email in found.all():
                key = (participation.meeting_id, email)
                known.invited.setdefault(key, []).append(_Invited(participation, contact_id))


async def _load_messages(
    session: AsyncSession, known: _Known, ids: Iterable[int | None], headers: list[str]
) -> None:
    for chunk in _chunks(i for i in ids if i is not None):
        rows = await session.scalars(select(Message).where(col(Message.id).in_(chunk)))
        known.messages.update((id_of(row), row) for row in rows)
    for chunk in _chunks(headers):
        rows = await session.scalars(select(Message).where(col(Message.message_id).in_(chunk)))
        known.by_header.update((row.message_id, row) for row in rows)


async def _load_contacts(session: AsyncSession, known: _Known, addresses: set[str]) -> None:
    address = func.lower(col(Contact.email))
    for chunk in _chunks(addresses):
        rows = await session.scalars(
            select(Contact).where(address.in_(chunk)).order_by(col(Contact.id))
        )
        for contact in rows:
            known.contacts.setdefault(contact.email.lower(), []).append(contact)


def _bracketed(message_id: str) -> str:
    """A Message-ID as our outbox stores it (notify.mail.compose: with its <>)."""
    message_id = message_id.strip()
    return message_id if message_id.startswith("<") else f"<{message_id}>"


# --- applying one mail -------------------------------------------------------------------


def _apply(key: str, mail: Mail, known: _Known, now: datetime) -> InboundMail:
    envelope, meaning = mail.envelope, mail.meaning
    row = InboundMail(
        key=key,
        kind=InboundKind.unreadable,
        outcome=InboundOutcome.unreadable,
        sender=envelope.sender[:254],
        subject=envelope.subject[:500],
        received_at=envelope.date or now,
        created_at=now,
    )
    if isinstance(meaning, CalendarAnswer):
        _calendar(row, meaning, known, now)
    elif isinstance(meaning, Bounce):
        _bounce(row, meaning, known, known.outbox_ids.get(key), now)
    elif isinstance(meaning, PlainReply):
        _plain(row, mail, meaning, known)
    elif isinstance(meaning, Unreadable):
        row.reason = meaning.reason
    return row


def _calendar(row: InboundMail, answer: CalendarAnswer, known: _Known, now: datetime) -> None:
    """Matched by UID to the session and by ATTENDEE (not From: it can be an alias or a
    shared mailbox) to the contacts of invited sites. A person who is the contact of
    several invited sites (one coordinator for two sites) answers for all of them: the
    answer is applied to each, and the row names the first."""
    row.kind = InboundKind.reply if answer.method == "REPLY" else InboundKind.counter
    row.attendee = answer.attendee[:254]
    row.response = answer.partstat.lower().replace("-", "_")[:16]
    row.sequence = answer.sequence
    row.delegated_to = answer.delegated_to[:254]
    row.comment = answer.comment
    found = known.sessions.get(answer.uid)
    if found is None:
        row.outcome, row.reason = InboundOutcome.unmatched, f"UID {answer.uid}"
        return
    row.meeting_id = found.id
    invited = known.invited.get((found.id, answer.attendee), [])
    if not invited:
        row.outcome = InboundOutcome.stranger
        return
    row.site_id = invited[0].participation.site_id
    row.contact_id = invited[0].contact_id
    if answers_closed(found.status):
        row.outcome = InboundOutcome.closed
    elif row.kind == InboundKind.counter:
        row.outcome = InboundOutcome.pending
        row.proposed_starts_at, row.proposed_ends_at = answer.starts_at, answer.ends_at
    elif answer.partstat != DELEGATED and answer.partstat not in ANSWERS:
        row.outcome, row.reason = InboundOutcome.unreadable, f"PARTSTAT {answer.partstat}"
    else:
        taken = [_reply(site.participation, answer, known, now) for site in invited]
        row.outcome = InboundOutcome.applied if any(taken) else InboundOutcome.stale
        if not any(taken):
            in_force = invited[0].participation.rsvp_sequence
            row.reason = f"SEQUENCE {answer.sequence} < {in_force}"


def _reply(row: Participation, answer: CalendarAnswer, known: _Known, now: datetime) -> bool:
    """One site's calendar answer, with its history row; False: it answered an older
    version than the answer in force (recorded, not taken). A delegation is recorded and
    leaves the RSVP as it is: the delegate is still to answer."""
    response = ANSWERS.get(answer.partstat)
    if response is None:  # DELEGATED
        taken = overturns(answer.sequence, row.rsvp_sequence)
    else:
        sequence = answer.sequence
        taken = take_answer(row, response, source=RsvpSource.calendar, sequence=sequence, now=now)
        if taken:
            # The calendar says nothing of delegates: an acceptance keeps the number the
            # site gave (the site page still asks for it); a decline clears it, as there.
            if response == Rsvp.declined:
                row.expected_delegates = None
            row.rsvp_note = answer.comment[:1000]
    known.changes.append(
        RsvpChange(
            meeting_id=row.meeting_id,
            site_id=row.site_id,
            response=DELEGATED.lower() if response is None else response.value,
            source=RsvpSource.calendar,
            source_detail=answer.attendee[:254],
            sequence=answer.sequence,
            applied=taken,
            delegated_to=answer.delegated_to[:254],
            comment=answer.comment[:1000],
            at=now,
        )
    )
    return taken


def _bounce(
    row: InboundMail, bounce: Bounce, known: _Known, outbox_id: int | None, now: datetime
) -> None:
    """Matched to the outbox message by the return path it came back to, else by the
    original's Message-ID. Permanent: the message is marked bounced and every contact with
    its address is flagged (invitations leave it out). Transient: noted on the message,
    which stays sent; the address is not flagged."""
    row.kind = InboundKind.bounce
    row.attendee = bounce.recipient[:254]
    row.bounce_status = bounce.status[:16]
    row.reason = bounce.diagnostic
    message = known.messages.get(outbox_id) if outbox_id is not None else None
    if message is None and bounce.original_message_id:
        message = known.by_header.get(_bracketed(bounce.original_message_id))
    if message is None:
        row.outcome = InboundOutcome.unmatched
        return
    row.message_id, row.meeting_id, row.site_id = message.id, message.meeting_id, message.site_id
    words = f"{bounce.status} {bounce.diagnostic}".strip()
    address = (message.recipient or bounce.recipient).lower()
    contacts = known.contacts.get(address, [])
    row.contact_id = _contact_at(contacts, message.site_id)
    if not bounce.permanent:
        if message.status != MessageStatus.bounced:
            message.last_error = words
        row.outcome = InboundOutcome.transient
        return
    message.status = MessageStatus.bounced
    message.last_error = words
    for contact in contacts:
        contact.bounced_at = now
        contact.bounce_reason = words[:500]
    row.outcome = InboundOutcome.applied


def _plain(row: InboundMail, mail: Mail, reply: PlainReply, known: _Known) -> None:
    """Attached to the message it answers (In-Reply-To, then References): its session and
    site; else to the site whose contact sent it (no session: it answers none of ours)."""
    row.kind = InboundKind.plain
    row.text = reply.text[:MAX_TEXT]
    sender = mail.envelope.sender
    message = next(
        (
            found
            for mid in mail.envelope.answers
            if (found := known.by_header.get(_bracketed(mid))) is not None
        ),
        None,
    )
    if message is not None:
        row.message_id, row.meeting_id, row.site_id = (
            message.id,
            message.meeting_id,
            message.site_id,
        )
        writers = known.contacts.get(sender, []) + known.contacts.get(message.recipient.lower(), [])
        at_site = [c for c in writers if c.site_id == message.site_id]
        row.contact_id = at_site[0].id if at_site else None
        row.outcome = InboundOutcome.applied
        return
    contacts = known.contacts.get(sender, [])
    if not contacts:
        row.outcome = InboundOutcome.unmatched
        return
    # A person who is the contact of several sites: the first (it answers none of our
    # messages, so nothing says which).
    row.site_id, row.contact_id = contacts[0].site_id, contacts[0].id
    row.outcome = InboundOutcome.applied


def _contact_at(contacts: list[Contact], site_id: int | None) -> int | None:
    """The contact of that site among those with an address, else the first of them."""
    at_site = [c for c in contacts if c.site_id == site_id]
    chosen = at_site or contacts
    return chosen[0].id if chosen else None
