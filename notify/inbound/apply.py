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
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from meetings.core.store import table_of
from meetings.planning.models import (
    Participation,
    Rsvp,
    RsvpChange,
    RsvpSource,
)
from meetings.planning.rsvp import Answering, answers_closed, overturns, take_answer
from meetings.register.models import Contact
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
from notify.mail.models import Message, MessageStatus

#: Rows per executemany INSERT.
INSERTED = 1000

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
    blank = dict(_BLANK, created_at=now)
    rows = [_apply(blank, key, mail, known, now) for key, mail in fresh.items()]
    await _write(session, known, rows, now)
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


# --- writing a batch ---------------------------------------------------------------------


def _defaults(model: type[SQLModel]) -> dict[str, Any]:
    """Every column but the key, with the default the model declares (None where it has
    none, or computes it): the start of each row, so that every row of a batch has the
    same columns and a chunk of them is one executemany."""
    return {
        name: None if info.is_required() or info.default_factory else info.default
        for name, info in model.model_fields.items()
        if name != "id"
    }


_BLANK = _defaults(InboundMail)
_INBOUND: Table = table_of(InboundMail)
_CHANGES: Table = table_of(RsvpChange)


def _by_id(table: Table, **values: Any) -> Any:
    """`UPDATE table SET … WHERE id = :b_id`, for executemany (the parameters are named
    b_…: a column's own name is reserved for its SET clause)."""
    return update(table).where(table.c.id == bindparam("b_id")).values(**values)


_PARTICIPATIONS = table_of(Participation)
#: The answers taken: each +1 on the version stored (rsvp.take_answer), added there so a
#: writer that read the old version is refused (store.bump_version).
_ANSWERED = _by_id(
    _PARTICIPATIONS,
    rsvp=bindparam("b_rsvp"),
    rsvp_source=bindparam("b_source"),
    rsvp_sequence=bindparam("b_sequence"),
    responded_at=bindparam("b_responded_at"),
    updated_at=bindparam("b_updated_at"),
    expected_delegates=bindparam("b_delegates"),
    rsvp_note=bindparam("b_note"),
    version=_PARTICIPATIONS.c.version + bindparam("b_bumps"),
)
_MESSAGES = table_of(Message)
_BOUNCED = _by_id(_MESSAGES, status=bindparam("b_status"), last_error=bindparam("b_error"))
_DELAYED = _by_id(_MESSAGES, last_error=bindparam("b_error"))
_FLAGGED = _by_id(
    table_of(Contact), bounced_at=bindparam("b_at"), bounce_reason=bindparam("b_reason")
)


async def _write(
    session: AsyncSession, known: Known, rows: list[dict[str, Any]], now: datetime
) -> None:
    """What the batch changed, one executemany per table (a message's status is written
    only where a permanent bounce set it), then its rows."""
    answered = [
        {
            "b_id": row.id,
            "b_rsvp": row.rsvp,
            "b_source": row.rsvp_source,
            "b_sequence": row.rsvp_sequence,
            "b_responded_at": row.responded_at,
            "b_updated_at": row.updated_at,
            "b_delegates": row.expected_delegates,
            "b_note": row.rsvp_note,
            "b_bumps": row.version - row.read_version,
        }
        for row in known.invitations.values()
        if row.version != row.read_version
    ]
    bounced = [m for m in known.marked.values() if m.status == MessageStatus.bounced]
    delayed = [m for m in known.marked.values() if m.status != MessageStatus.bounced]
    for statement, values in (
        (_ANSWERED, answered),
        (
            _BOUNCED,
            [{"b_id": m.id, "b_status": m.status, "b_error": m.last_error} for m in bounced],
        ),
        (_DELAYED, [{"b_id": m.id, "b_error": m.last_error} for m in delayed]),
        (_FLAGGED, [{"b_id": i, "b_at": now, "b_reason": r} for i, r in known.flagged.items()]),
    ):
        if values:
            await session.execute(statement, values)
    await _insert(session, _INBOUND, rows)
    await _insert(session, _CHANGES, known.changes)


async def _insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Into the table itself, a chunk per executemany (the ORM's bulk insert splits rows
    by which of their values are None, and reads each id back where the database cannot
    return them in order: SQLite)."""
    for start in range(0, len(rows), INSERTED):
        await session.execute(insert(table), rows[start : start + INSERTED])


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
