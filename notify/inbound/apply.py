"""What an inbound e-mail changes in the database: a calendar reply sets the site's RSVP,
a counter-proposal waits for the organiser, a bounce marks the outbox message and flags
the address, a plain reply is attached to the session and site it answers.

Mails are applied a batch at a time with a fixed number of queries, however many the
batch holds: everything the batch names (sessions by UID, invited contacts by address,
outbox messages, the keys already taken in) is loaded up front (`notify.inbound.lookup`),
the mails are applied in memory in order, and the changes are flushed together with one
`InboundMail` row per mail.
The caller commits the batch as one transaction; a mail whose key is already stored is
not applied again (its stored row is returned), so reading a message twice — after a
restart, or by a second worker — changes nothing the second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from meetings.core.store import table_of
from meetings.planning.models import (
    Participation,
    Rsvp,
    RsvpChange,
    RsvpSource,
)
from meetings.planning.rsvp import answers_closed, overturns, take_answer
from meetings.register.models import Contact
from notify.inbound.lookup import Known, bracketed, load, stored
from notify.inbound.models import InboundKind, InboundMail, InboundOutcome
from notify.inbound.parsed import Bounce, CalendarAnswer, Mail, PlainReply, Unreadable
from notify.mail.models import MessageStatus

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
    taken = await stored(session, keys)
    fresh: dict[str, Mail] = {}
    for key, mail in zip(keys, mails, strict=True):
        if key not in taken:
            fresh.setdefault(key, mail)
    known = await load(session, fresh, inbound_address=inbound_address, secret=secret)
    rows = [_apply(key, mail, known, now) for key, mail in fresh.items()]
    await session.flush()  # the changed participations, messages and contacts: executemany
    # Inserted as executemany, then read back by key: the ORM would insert row by row to
    # learn each id where the database cannot return them in order (SQLite).
    await _insert(session, InboundMail, rows)
    await _insert(session, RsvpChange, known.changes)
    taken |= await stored(session, list(fresh))
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


# --- applying one mail -------------------------------------------------------------------


def _apply(key: str, mail: Mail, known: Known, now: datetime) -> InboundMail:
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


def _calendar(row: InboundMail, answer: CalendarAnswer, known: Known, now: datetime) -> None:
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


def _reply(row: Participation, answer: CalendarAnswer, known: Known, now: datetime) -> bool:
    """One site's calendar answer, with its history row (see `calendar_reply`)."""
    change = calendar_reply(row, answer, now=now)
    known.changes.append(change)
    return change.applied


def calendar_reply(row: Participation, answer: CalendarAnswer, *, now: datetime) -> RsvpChange:
    """A calendar answer taken for one site (read from the mailbox, or a stranger's the
    organiser applied: notify.inbound.strangers): its history row, to be added, whose
    `applied` is False when it answered an older version than the answer in force
    (recorded, not taken). A delegation is recorded and leaves the RSVP as it is: the
    delegate is still to answer."""
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
    return RsvpChange(
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


def _bounce(
    row: InboundMail, bounce: Bounce, known: Known, outbox_id: int | None, now: datetime
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
        message = known.by_header.get(bracketed(bounce.original_message_id))
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


def _plain(row: InboundMail, mail: Mail, reply: PlainReply, known: Known) -> None:
    """Attached to the message it answers (In-Reply-To, then References): its session and
    site; else to the site whose contact sent it (no session: it answers none of ours)."""
    row.kind = InboundKind.plain
    row.text = reply.text[:MAX_TEXT]
    sender = mail.envelope.sender
    message = next(
        (
            found
            for mid in mail.envelope.answers
            if (found := known.by_header.get(bracketed(mid))) is not None
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
