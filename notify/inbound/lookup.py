"""Everything a batch of inbound mails names, looked up before any is applied.

Sessions by UID, invited contacts by address, outbox messages by row id and by
Message-ID, contacts by address, and the keys already taken in: a fixed number of
queries per batch (chunked `IN (...)` lists), however many mails it holds, so
`notify.inbound.apply` can apply the mails in memory.

Only the columns applying reads or writes are selected, as tuples into the plain rows
below (no ORM entity: building and tracking one costs more than the whole reply's
budget); `apply` writes the changed ones back in one statement per table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.store import key_col
from meetings.planning.models import Meeting, MeetingStatus, Participation, Rsvp
from meetings.register.models import Contact
from notify.inbound.addresses import outbox_id_of
from notify.inbound.models import InboundKind, InboundMail, InboundOutcome
from notify.inbound.parsed import Bounce, CalendarAnswer, Mail, PlainReply
from notify.mail.models import Message, MessageStatus

#: Values in the `IN (...)` lists of one query, under SQLite's old limit of 999
#: parameters: each list of a batch of the worker's size (500) is one query.
PER_QUERY = 900


class _Session(NamedTuple):
    id: int
    status: MeetingStatus


class Taken(NamedTuple):
    """What the worker needs back of a mail taken in: its key, what it was and what was
    done with it (the pass moves it by kind and counts the outcomes)."""

    key: str
    kind: InboundKind
    outcome: InboundOutcome


@dataclass(slots=True)
class Invitation:
    """A site's invitation to a session as a calendar reply may change it: the columns
    `meetings.planning.rsvp.take_answer` (its `Answering`) and `apply.calendar_reply`
    read and set."""

    id: int
    meeting_id: int
    site_id: int
    rsvp: Rsvp
    rsvp_source: str
    rsvp_sequence: int | None
    responded_at: datetime | None
    updated_at: datetime
    version: int
    expected_delegates: int | None
    rsvp_note: str
    #: The version read: the batch's statement adds what its answers added (each +1) to
    #: the version stored, so a writer holding the old one is refused.
    read_version: int


@dataclass(frozen=True, slots=True)
class _Invited:
    """A participation of an invited site, through one of its contacts' address."""

    participation: Invitation
    contact_id: int


@dataclass(slots=True)
class Sent:
    """An outbox message a bounce or a plain reply names."""

    id: int
    meeting_id: int | None
    site_id: int | None
    recipient: str
    status: MessageStatus
    last_error: str


class Addressee(NamedTuple):
    """A contact with the address a bounce or a plain reply names."""

    id: int
    site_id: int
    email: str


@dataclass
class Known:
    """Everything the batch's mails name, and what applying them changes and adds."""

    sessions: dict[str, _Session] = field(default_factory=dict)
    #: (session id, address lower-case) → the invited sites with a contact at it.
    invited: dict[tuple[int, str], list[_Invited]] = field(default_factory=dict)
    #: Every invitation read, by participation id (one object each, however many of its
    #: contacts' addresses name it).
    invitations: dict[int, Invitation] = field(default_factory=dict)
    #: Outbox messages by row id and by Message-ID header (one object per row).
    messages: dict[int, Sent] = field(default_factory=dict)
    by_header: dict[str, Sent] = field(default_factory=dict)
    #: A bounce's outbox row by the mail's key: the bounce's own, else decoded from the
    #: return path it was delivered to.
    outbox_ids: dict[str, int | None] = field(default_factory=dict)
    #: Address lower-case → its contacts (every site), in id order.
    contacts: dict[str, list[Addressee]] = field(default_factory=dict)
    #: Messages a bounce changed, by id.
    marked: dict[int, Sent] = field(default_factory=dict)
    #: Contacts a permanent bounce flagged: id → the reason.
    flagged: dict[int, str] = field(default_factory=dict)
    #: History rows to add (RsvpChange's columns).
    changes: list[dict[str, Any]] = field(default_factory=list)


def chunks(values: Iterable[Any], size: int = PER_QUERY) -> list[list[Any]]:
    """The distinct values, sorted, in lists short enough for one `IN (...)`."""
    ordered = sorted(set(values))
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]


async def stored(session: AsyncSession, keys: Sequence[str]) -> dict[str, InboundMail]:
    """The rows of the mails taken in (now or before), by key."""
    found: dict[str, InboundMail] = {}
    for chunk in chunks(keys):
        rows = await session.scalars(select(InboundMail).where(col(InboundMail.key).in_(chunk)))
        found.update((row.key, row) for row in rows)
    return found


async def taken(session: AsyncSession, keys: Sequence[str]) -> dict[str, Taken]:
    """What became of the mails already taken in, by key: they are not applied again."""
    found: dict[str, Taken] = {}
    key = col(InboundMail.key)
    for chunk in chunks(keys):
        rows = await session.execute(
            select(key, col(InboundMail.kind), col(InboundMail.outcome)).where(key.in_(chunk))
        )
        found.update(
            (k, Taken(k, InboundKind(kind), InboundOutcome(outcome))) for k, kind, outcome in rows
        )
    return found


async def load(
    session: AsyncSession, mails: dict[str, Mail], *, inbound_address: str, secret: str
) -> Known:
    """Everything these mails (by key) name; `inbound_address` and `secret` decode the
    VERP return path a bounce came back to. The contacts at every address named (the
    attendees', the senders', the failed recipients') are read in one query, as it reads
    the whole table (no index on the lower-case address)."""
    known = Known()
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
    headers = [bracketed(b.original_message_id) for b in bounces if b.original_message_id]
    headers += [bracketed(mid) for mail in plains for mid in mail.envelope.answers]
    await _load_messages(session, known, known.outbox_ids.values(), headers)
    attendees = {a.attendee for a in answers if a.uid in known.sessions}
    addresses = attendees | {mail.envelope.sender for mail in plains}
    addresses |= {b.recipient for b in bounces}
    addresses |= {m.recipient.lower() for m in known.messages.values()}
    await _load_contacts(session, known, addresses - {""})
    await _load_invitations(session, known, attendees)
    return known


async def _load_sessions(
    session: AsyncSession, known: Known, answers: list[CalendarAnswer]
) -> None:
    """The sessions the calendar answers name, by UID."""
    for chunk in chunks(a.uid for a in answers):
        rows = await session.execute(
            select(col(Meeting.uid), key_col(Meeting.id), col(Meeting.status)).where(
                col(Meeting.uid).in_(chunk)
            )
        )
        known.sessions.update((uid, _Session(id_, MeetingStatus(s))) for uid, id_, s in rows)


_INVITATION = (
    key_col(Participation.id),
    col(Participation.meeting_id),
    col(Participation.site_id),
    col(Participation.rsvp),
    col(Participation.rsvp_source),
    col(Participation.rsvp_sequence),
    col(Participation.responded_at),
    col(Participation.updated_at),
    col(Participation.version),
    col(Participation.expected_delegates),
    col(Participation.rsvp_note),
)


async def _load_invitations(session: AsyncSession, known: Known, attendees: set[str]) -> None:
    """The sessions' invitations of the sites whose contacts are the attendees (the
    contacts read already), as (session, attendee) → [(invitation, contact)], by site
    then contact."""
    sites: dict[int, list[Addressee]] = {}
    for address in attendees:
        for contact in known.contacts.get(address, []):
            sites.setdefault(contact.site_id, []).append(contact)
    invitations = known.invitations
    for meeting_ids in chunks((s.id for s in known.sessions.values()), PER_QUERY // 10):
        for chunk in chunks(sites, PER_QUERY - len(meeting_ids)):
            rows = await session.execute(
                select(*_INVITATION).where(
                    col(Participation.meeting_id).in_(meeting_ids),
                    col(Participation.site_id).in_(chunk),
                )
            )
            for id_, meeting_id, site_id, *answer, version, delegates, note in rows:
                rsvp, source, sequence, responded_at, updated_at = answer
                invitations[id_] = Invitation(
                    id_,
                    meeting_id,
                    site_id,
                    Rsvp(rsvp),
                    source,
                    sequence,
                    responded_at,
                    updated_at,
                    version,
                    delegates,
                    note,
                    version,
                )
    for row in sorted(invitations.values(), key=lambda row: row.site_id):
        for contact in sorted(sites[row.site_id]):
            invited = _Invited(row, contact.id)
            known.invited.setdefault((row.meeting_id, contact.email), []).append(invited)


_SENT = (
    key_col(Message.id),
    col(Message.meeting_id),
    col(Message.site_id),
    col(Message.recipient),
    col(Message.status),
    col(Message.last_error),
    col(Message.message_id),
)


async def _load_messages(
    session: AsyncSession, known: Known, ids: Iterable[int | None], headers: list[str]
) -> None:
    """By row id and by Message-ID header; a message named both ways is one object, so
    what a bounce changes in it is seen by the next."""

    def sent(values: Any) -> Sent:
        found = known.messages.get(values[0])
        if found is None:
            found = known.messages[values[0]] = Sent(*values[:-1])
            found.status = MessageStatus(found.status)
        return found

    for chunk in chunks(i for i in ids if i is not None):
        for values in await session.execute(select(*_SENT).where(col(Message.id).in_(chunk))):
            sent(values)
    for chunk in chunks(headers):
        for values in await session.execute(
            select(*_SENT).where(col(Message.message_id).in_(chunk))
        ):
            known.by_header[values[-1]] = sent(values)


async def _load_contacts(session: AsyncSession, known: Known, addresses: set[str]) -> None:
    """The contacts at these addresses (compared lower-case), by address, in id order."""
    address = func.lower(col(Contact.email))
    for chunk in chunks(addresses):
        rows = await session.execute(
            select(key_col(Contact.id), col(Contact.site_id), address)
            .where(address.in_(chunk))
            .order_by(col(Contact.id))
        )
        for id_, site_id, email in rows:
            known.contacts.setdefault(email, []).append(Addressee(id_, site_id, email))


def bracketed(message_id: str) -> str:
    """A Message-ID as our outbox stores it (notify.mail.compose: with its <>)."""
    message_id = message_id.strip()
    return message_id if message_id.startswith("<") else f"<{message_id}>"
