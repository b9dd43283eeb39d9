"""What an inbound e-mail changes in the database: a calendar reply sets the site's RSVP,
a counter-proposal waits for the organiser, a bounce marks the outbox message and flags
the address, a plain reply is attached to the session and site it answers.

Mails are applied a batch at a time with a fixed number of queries, however many the
batch holds: everything the batch names (sessions by UID, invited contacts by address,
outbox messages, the keys already taken in) is loaded up front (`notify.inbound.lookup`),
the mails are applied in memory in order, and the changes are written together: one
executemany per table changed, one `InboundMail` row per mail.
The caller commits the batch as one transaction; a mail whose key is already stored is
not applied again (what became of it is returned), so reading a message twice — after a
restart, or by a second worker — changes nothing the second time.

Cost: the worker applies some hundreds of mails per transaction, so the work per mail is
what counts. No ORM entity is built or flushed (building an `InboundMail` and an
`RsvpChange` cost ~155 µs a pair, pydantic and attribute instrumentation; the unit of
work's flush of the participations more): lookups select tuples of the columns needed,
rows are plain dicts, and each statement goes to the driver as one executemany of
tuples (`notify.inbound.writes`). An answered invitation is written back only at the
version read, its version raised by the answers taken (+1 each), so a writer that read
the old version is refused and one that wrote since is not overwritten (the batch is
refused, `Conflict`; the worker then takes the mails one at a time).
`take_in_batch` returns only what the worker needs of each mail (`Taken`); `take_in`
reads each mail's whole row back, for the pages and tests.

Measured with bench/take_in.py (the clients' replies read by parse.understand, batches
of 500, a fresh migrated copy of the database each round, medians of 3-5 rounds, load
average 1.0-1.3 on the 2 shared cores), µs per mail, applying + commit:

                                               before   take_in   take_in_batch
    SQLite, 2,000 sites, 2,000 replies            583       111              79
    SQLite, 10,000 sites, 10,000 replies          583         -              73
    SQLite, 10,000 sites, mixed (1/10 bounces,    804         -             113
      1/10 plain replies)
    PostgreSQL, 2,000 sites, 2,000 replies        710       244             260

What is left, at 10,000 sites (µs per mail): the inserts ~20, the invitations written
~9, the commit ~10, the keys and invitations read ~15, applying in memory ~8. Reading
contacts by lower-case address and messages by Message-ID were whole-table scans (~14
and ~16) until migration 0016 indexed `lower(contact.email)` and `message.message_id`
(~1 each; the lookup reads contacts first, then their invitations, so SQLite uses the
index without statistics).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from meetings.planning.models import Participation, Rsvp, RsvpSource
from meetings.planning.rsvp import Answering, answers_closed, overturns, take_answer
from meetings.planning.rsvp_models import RsvpChange
from notify.inbound.lookup import (
    Addressee,
    Known,
    Taken,
    bracketed,
    load,
    stored,
    taken,
)
from notify.inbound.models import InboundKind, InboundMail, InboundOutcome
from notify.inbound.parsed import Bounce, CalendarAnswer, Mail, PlainReply, Unreadable
from notify.inbound.writes import BLANK, write
from notify.mail.models import MessageStatus

#: The answers that set a site's RSVP, by PARTSTAT.
ANSWERS = {"ACCEPTED": Rsvp.accepted, "DECLINED": Rsvp.declined, "TENTATIVE": Rsvp.tentative}
DELEGATED = "DELEGATED"

#: The longest stored key (InboundMail.key); a longer Message-ID is stored as its digest.
MAX_KEY = 250
#: A plain reply's text is kept up to this length.
MAX_TEXT = 20_000


async def take_in_batch(
    session: AsyncSession,
    mails: Sequence[Mail],
    *,
    inbound_address: str,
    secret: str,
    now: datetime,
) -> list[Taken]:
    """Apply a batch of mails (up to some hundreds) and add their rows; not committed.
    One `Taken` per mail, in order (all the worker needs): a mail taken in before (its
    key is stored, or it came earlier in the batch) gets what became of it then, and
    changes nothing.

    `inbound_address` and `secret` decode the VERP return path a bounce came back to
    (notify.inbound.addresses). Written with Core statements: rows of these tables the
    session already holds are not refreshed."""
    keys = [key_of(mail) for mail in mails]
    done = await taken(session, keys)
    fresh: dict[str, Mail] = {}
    for key, mail in zip(keys, mails, strict=True):
        if key not in done:
            fresh.setdefault(key, mail)
    known = await load(session, fresh, inbound_address=inbound_address, secret=secret)
    blank = dict(BLANK, created_at=now)
    rows = [_apply(blank, key, mail, known, now) for key, mail in fresh.items()]
    await write(session, known, rows, now)
    for row in rows:
        done[row["key"]] = Taken(row["key"], row["kind"], row["outcome"])
    return [done[key] for key in keys]


async def take_in(
    session: AsyncSession,
    mails: Sequence[Mail],
    *,
    inbound_address: str,
    secret: str,
    now: datetime,
) -> list[InboundMail]:
    """`take_in_batch`, with each mail's whole row read back (one query per chunk of
    keys): for callers that show or test what was stored."""
    lean = await take_in_batch(
        session, mails, inbound_address=inbound_address, secret=secret, now=now
    )
    rows = await stored(session, [row.key for row in lean])
    return [rows[row.key] for row in lean]


async def take_in_one(
    session: AsyncSession, mail: Mail, *, inbound_address: str, secret: str, now: datetime
) -> InboundMail:
    """One mail (see `take_in`): the worker's retry of a batch whose commit failed."""
    (row,) = await take_in(session, [mail], inbound_address=inbound_address, secret=secret, now=now)
    return row


def key_of(mail: Mail) -> str:
    """The mail's unique key as stored: its Message-ID, or a digest when it is too long."""
    key = mail.envelope.key
    if len(key) <= MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


# --- applying one mail -------------------------------------------------------------------


def _apply(
    blank: dict[str, Any], key: str, mail: Mail, known: Known, now: datetime
) -> dict[str, Any]:
    """The mail's InboundMail row (its columns), after applying it."""
    envelope, meaning = mail.envelope, mail.meaning
    row = dict(
        blank,
        key=key,
        kind=InboundKind.unreadable,
        outcome=InboundOutcome.unreadable,
        sender=envelope.sender[:254],
        subject=envelope.subject[:500],
        received_at=envelope.date or now,
    )
    if isinstance(meaning, CalendarAnswer):
        _calendar(row, meaning, known, now)
    elif isinstance(meaning, Bounce):
        _bounce(row, meaning, known, known.outbox_ids.get(key))
    elif isinstance(meaning, PlainReply):
        _plain(row, mail, meaning, known)
    elif isinstance(meaning, Unreadable):
        row["reason"] = meaning.reason
    return row


def _calendar(row: dict[str, Any], answer: CalendarAnswer, known: Known, now: datetime) -> None:
    """Matched by UID to the session and by ATTENDEE (not From: it can be an alias or a
    shared mailbox) to the contacts of invited sites. A person who is the contact of
    several invited sites (one coordinator for two sites) answers for all of them: the
    answer is applied to each, and the row names the first."""
    kind = InboundKind.reply if answer.method == "REPLY" else InboundKind.counter
    row["kind"] = kind
    row["attendee"] = answer.attendee[:254]
    row["response"] = answer.partstat.lower().replace("-", "_")[:16]
    row["sequence"] = answer.sequence
    row["delegated_to"] = answer.delegated_to[:254]
    row["comment"] = answer.comment
    found = known.sessions.get(answer.uid)
    if found is None:
        row["outcome"], row["reason"] = InboundOutcome.unmatched, f"UID {answer.uid}"
        return
    row["meeting_id"] = found.id
    invited = known.invited.get((found.id, answer.attendee), [])
    if not invited:
        row["outcome"] = InboundOutcome.stranger
        return
    row["site_id"] = invited[0].participation.site_id
    row["contact_id"] = invited[0].contact_id
    if answers_closed(found.status):
        row["outcome"] = InboundOutcome.closed
    elif kind == InboundKind.counter:
        row["outcome"] = InboundOutcome.pending
        row["proposed_starts_at"], row["proposed_ends_at"] = answer.starts_at, answer.ends_at
    elif answer.partstat != DELEGATED and answer.partstat not in ANSWERS:
        row["outcome"], row["reason"] = InboundOutcome.unreadable, f"PARTSTAT {answer.partstat}"
    else:
        changes = [_taken_answer(site.participation, answer, now) for site in invited]
        known.changes += changes
        if any(change["applied"] for change in changes):
            row["outcome"] = InboundOutcome.applied
        else:
            row["outcome"] = InboundOutcome.stale
            in_force = invited[0].participation.rsvp_sequence
            row["reason"] = f"SEQUENCE {answer.sequence} < {in_force}"


class _Replied(Answering, Protocol):
    """What a calendar answer reads and sets of an invitation: a `Participation`, or the
    batch's plain `lookup.Invitation`."""

    meeting_id: int
    site_id: int
    expected_delegates: int | None
    rsvp_note: str


def calendar_reply(row: Participation, answer: CalendarAnswer, *, now: datetime) -> RsvpChange:
    """A calendar answer taken for one site (read from the mailbox, or a stranger's the
    organiser applied: notify.inbound.strangers): its history row, to be added, whose
    `applied` is False when it answered an older version than the answer in force
    (recorded, not taken). A delegation is recorded and leaves the RSVP as it is: the
    delegate is still to answer."""
    return RsvpChange(**_taken_answer(row, answer, now))


def _taken_answer(row: _Replied, answer: CalendarAnswer, now: datetime) -> dict[str, Any]:
    """`calendar_reply`'s rule, on either kind of row: the history row's columns."""
    response = ANSWERS.get(answer.partstat)
    if response is None:  # DELEGATED
        applied = overturns(answer.sequence, row.rsvp_sequence)
    else:
        sequence = answer.sequence
        applied = take_answer(row, response, source=RsvpSource.calendar, sequence=sequence, now=now)
        if applied:
            # The calendar says nothing of delegates: an acceptance keeps the number the
            # site gave (the site page still asks for it); a decline clears it, as there.
            if response == Rsvp.declined:
                row.expected_delegates = None
            row.rsvp_note = answer.comment[:1000]
    return {
        "meeting_id": row.meeting_id,
        "site_id": row.site_id,
        "response": DELEGATED.lower() if response is None else response.value,
        "source": RsvpSource.calendar,
        "source_detail": answer.attendee[:254],
        "sequence": answer.sequence,
        "applied": applied,
        "delegated_to": answer.delegated_to[:254],
        "comment": answer.comment[:1000],
        "at": now,
    }


def _bounce(row: dict[str, Any], bounce: Bounce, known: Known, outbox_id: int | None) -> None:
    """Matched to the outbox message by the return path it came back to, else by the
    original's Message-ID. Permanent: the message is marked bounced and every contact with
    its address is flagged (invitations leave it out). Transient: noted on the message,
    which stays sent; the address is not flagged."""
    row["kind"] = InboundKind.bounce
    row["attendee"] = bounce.recipient[:254]
    row["bounce_status"] = bounce.status[:16]
    row["reason"] = bounce.diagnostic
    message = known.messages.get(outbox_id) if outbox_id is not None else None
    if message is None and bounce.original_message_id:
        message = known.by_header.get(bracketed(bounce.original_message_id))
    if message is None:
        row["outcome"] = InboundOutcome.unmatched
        return
    row["message_id"], row["meeting_id"] = message.id, message.meeting_id
    row["site_id"] = message.site_id
    words = f"{bounce.status} {bounce.diagnostic}".strip()
    address = (message.recipient or bounce.recipient).lower()
    contacts = known.contacts.get(address, [])
    row["contact_id"] = _contact_at(contacts, message.site_id)
    if not bounce.permanent:
        if message.status != MessageStatus.bounced:
            message.last_error = words
            known.marked[message.id] = message
        row["outcome"] = InboundOutcome.transient
        return
    message.status = MessageStatus.bounced
    message.last_error = words
    known.marked[message.id] = message
    for contact in contacts:
        known.flagged[contact.id] = words[:500]
    row["outcome"] = InboundOutcome.applied


def _plain(row: dict[str, Any], mail: Mail, reply: PlainReply, known: Known) -> None:
    """Attached to the message it answers (In-Reply-To, then References): its session and
    site; else to the site whose contact sent it (no session: it answers none of ours)."""
    row["kind"] = InboundKind.plain
    row["text"] = reply.text[:MAX_TEXT]
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
        row["message_id"], row["meeting_id"] = message.id, message.meeting_id
        row["site_id"] = message.site_id
        writers = known.contacts.get(sender, []) + known.contacts.get(message.recipient.lower(), [])
        at_site = [c for c in writers if c.site_id == message.site_id]
        row["contact_id"] = at_site[0].id if at_site else None
        row["outcome"] = InboundOutcome.applied
        return
    contacts = known.contacts.get(sender, [])
    if not contacts:
        row["outcome"] = InboundOutcome.unmatched
        return
    # A person who is the contact of several sites: the first (it answers none of our
    # messages, so nothing says which).
    row["site_id"], row["contact_id"] = contacts[0].site_id, contacts[0].id
    row["outcome"] = InboundOutcome.applied


def _contact_at(contacts: list[Addressee], site_id: int | None) -> int | None:
    """The contact of that site among those with an address, else the first of them."""
    at_site = [c for c in contacts if c.site_id == site_id]
    chosen = at_site or contacts
    return chosen[0].id if chosen else None
