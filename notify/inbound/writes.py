"""What a batch of inbound mail changed, written together: one executemany per table
changed (the answered invitations, the bounced messages, the flagged contacts), then one
`InboundMail` row per mail and the sites' answer history (notify.inbound.apply builds
them in memory)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from meetings.core import live_channel
from meetings.core.errors import Conflict
from meetings.core.labels import N_
from meetings.core.store import table_of
from meetings.planning.models import Participation
from meetings.planning.rsvp_models import RsvpChange
from meetings.register.models import Contact
from notify.inbound.executemany import Many
from notify.inbound.lookup import Invitation, Known, chunks
from notify.inbound.models import InboundMail
from notify.mail.models import Message, MessageStatus

#: Rows per executemany INSERT.
INSERTED = 1000


def defaults(model: type[SQLModel]) -> dict[str, Any]:
    """Every column but the key, with the default the model declares (None where it has
    none, or computes it): the start of each row, so that every row of a batch has the
    same columns and a chunk of them is one executemany."""
    return {
        name: None if info.is_required() or info.default_factory else info.default
        for name, info in model.model_fields.items()
        if name != "id"
    }


BLANK = defaults(InboundMail)
_INSERT_MAILS = Many(insert(table_of(InboundMail)))
_INSERT_CHANGES = Many(insert(table_of(RsvpChange)))


def _by_id(table: Table, *where: Any, **values: Any) -> Many:
    """`UPDATE table SET … WHERE id = :b_id`, for executemany (the parameters are named
    b_…: a column's own name is reserved for its SET clause)."""
    return Many(update(table).where(table.c.id == bindparam("b_id"), *where).values(**values))


_PARTICIPATIONS = table_of(Participation)
#: The answers taken, only where the version is still the one read: each +1 on it
#: (rsvp.take_answer), so a writer that read the old version is refused
#: (store.bump_version), and one that wrote since is not overwritten.
_ANSWERED = _by_id(
    _PARTICIPATIONS,
    _PARTICIPATIONS.c.version == bindparam("b_read"),
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


async def write(
    session: AsyncSession, known: Known, rows: list[dict[str, Any]], now: datetime
) -> None:
    """What the batch changed, one executemany per table (a message's status is written
    only where a permanent bounce set it), then its rows. `Conflict` when another writer
    changed one of the answered invitations since it was read: nothing is kept."""
    answered = [row for row in known.invitations.values() if row.version != row.read_version]
    await _answer(session, answered, now)
    bounced = [m for m in known.marked.values() if m.status == MessageStatus.bounced]
    delayed = [m for m in known.marked.values() if m.status != MessageStatus.bounced]
    if bounced:
        values = [{"b_id": m.id, "b_status": m.status, "b_error": m.last_error} for m in bounced]
        await _BOUNCED.run(session, values)
    if delayed:
        await _DELAYED.run(session, [{"b_id": m.id, "b_error": m.last_error} for m in delayed])
    if known.flagged:
        flags = [{"b_id": i, "b_at": now, "b_reason": r} for i, r in known.flagged.items()]
        await _FLAGGED.run(session, flags)
    for start in range(0, len(rows), INSERTED):
        await _INSERT_MAILS.run(session, rows[start : start + INSERTED])
    for start in range(0, len(known.changes), INSERTED):
        await _INSERT_CHANGES.run(session, known.changes[start : start + INSERTED])


async def _answer(session: AsyncSession, answered: list[Invitation], now: datetime) -> None:
    """The invitations' new answers, each at the version read; counted after (by the
    driver, else by a query), since a row changed meanwhile is simply not matched."""
    if not answered:
        return
    written = await _ANSWERED.run(
        session,
        [
            {
                "b_id": row.id,
                "b_read": row.read_version,
                "b_rsvp": row.rsvp,
                "b_source": row.rsvp_source,
                "b_sequence": row.rsvp_sequence,
                "b_responded_at": row.responded_at,
                "b_updated_at": row.updated_at,
                "b_delegates": row.expected_delegates,
                "b_note": row.rsvp_note,
                "b_bumps": row.version - row.read_version,
            }
            for row in answered
        ],
    )
    if written is None:
        written = 0
        table = _PARTICIPATIONS
        for chunk in chunks(row.id for row in answered):
            count = select(func.count()).where(table.c.id.in_(chunk), table.c.updated_at == now)
            written += await session.scalar(count) or 0
    if written != len(answered):
        raise Conflict.at("version", N_("a site's answer changed while the batch was applied"))
    by_meeting: dict[int, list[int]] = {}
    for row in answered:  # the boards show answers
        by_meeting.setdefault(row.meeting_id, []).append(row.site_id)
    for meeting_id, site_ids in by_meeting.items():
        await live_channel.announce(session, meeting_id, site_ids)
