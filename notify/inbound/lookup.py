"""Everything a batch of inbound mails names, looked up before any is applied.

Sessions by UID, invited contacts by address, outbox messages by row id and by
Message-ID, contacts by address, and the keys already taken in: a fixed number of
queries per batch (chunked `IN (...)` lists), however many mails it holds, so
`notify.inbound.apply` can apply the mails in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.store import id_of, key_col
from meetings.planning.models import Meeting, MeetingStatus, Participation, RsvpChange
from meetings.register.models import Contact
from notify.inbound.addresses import outbox_id_of
from notify.inbound.models import InboundMail
from notify.inbound.parsed import Bounce, CalendarAnswer, Mail, PlainReply
from notify.mail.models import Message

#: Values per `IN (...)` list; two lists in one query stay under SQLite's old limit of
#: 999 parameters.
CHUNK = 450


class _Session(NamedTuple):
    id: int
    status: MeetingStatus


@dataclass(frozen=True)
class _Invited:
    """A participation of an invited site, through one of its contacts' address."""

    participation: Participation
    contact_id: int


@dataclass
class Known:
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


def chunks(values: Iterable[Any]) -> list[list[Any]]:
    """The distinct values, sorted, in lists short enough for one `IN (...)`."""
    ordered = sorted(set(values))
    return [ordered[start : start + CHUNK] for start in range(0, len(ordered), CHUNK)]


async def stored(session: AsyncSession, keys: Sequence[str]) -> dict[str, InboundMail]:
    """The rows of the mails already taken in, by key: they are not applied again."""
    found: dict[str, InboundMail] = {}
    for chunk in chunks(keys):
        rows = await session.scalars(select(InboundMail).where(col(InboundMail.key).in_(chunk)))
        found.update((row.key, row) for row in rows)
    return found


async def load(
    session: AsyncSession, mails: dict[str, Mail], *, inbound_address: str, secret: str
) -> Known:
    """Everything these mails (by key) name; `inbound_address` and `secret` decode the
    VERP return path a bounce came back to."""
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
    addresses = {mail.envelope.sender for mail in plains}
    addresses |= {b.recipient for b in bounces}
    addresses |= {m.recipient.lower() for m in known.messages.values()}
    addresses |= {m.recipient.lower() for m in known.by_header.values()}
    await _load_contacts(session, known, addresses - {""})
    return known


async def _load_sessions(
    session: AsyncSession, known: Known, answers: list[CalendarAnswer]
) -> None:
    """The sessions the calendar answers name, and their invited sites' contacts at the
    attendees' addresses."""
    for chunk in chunks(a.uid for a in answers):
        rows = await session.execute(
            select(col(Meeting.uid), key_col(Meeting.id), col(Meeting.status)).where(
                col(Meeting.uid).in_(chunk)
            )
        )
        known.sessions.update((uid, _Session(id_, MeetingStatus(s))) for uid, id_, s in rows)
    attendees = {a.attendee for a in answers if a.uid in known.sessions} - {""}
    address = func.lower(col(Contact.email))
    for meeting_ids in chunks(s.id for s in known.sessions.values()):
        for chunk in chunks(attendees):
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
    session: AsyncSession, known: Known, ids: Iterable[int | None], headers: list[str]
) -> None:
    for chunk in chunks(i for i in ids if i is not None):
        rows = await session.scalars(select(Message).where(col(Message.id).in_(chunk)))
        known.messages.update((id_of(row), row) for row in rows)
    for chunk in chunks(headers):
        rows = await session.scalars(select(Message).where(col(Message.message_id).in_(chunk)))
        known.by_header.update((row.message_id, row) for row in rows)


async def _load_contacts(session: AsyncSession, known: Known, addresses: set[str]) -> None:
    address = func.lower(col(Contact.email))
    for chunk in chunks(addresses):
        rows = await session.scalars(
            select(Contact).where(address.in_(chunk)).order_by(col(Contact.id))
        )
        for contact in rows:
            known.contacts.setdefault(contact.email.lower(), []).append(contact)


def bracketed(message_id: str) -> str:
    """A Message-ID as our outbox stores it (notify.mail.compose: with its <>)."""
    message_id = message_id.strip()
    return message_id if message_id.startswith("<") else f"<{message_id}>"
