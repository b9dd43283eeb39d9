"""A session's outbox as its organisers read it: the messages (failures first on the
session page, in the order queued in the API) and one message. (The invited sites nobody
can be mailed at: `notify.mail.recipients.unreachable_sites`.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.errors import NotFound
from meetings.core.labels import N_
from meetings.planning.lifecycle import get_meeting_row
from meetings.register.models import Site
from notify.mail.models import Message, MessagePublic, MessageStatus

#: Messages that did not reach their recipient: given up on, or returned by a bounce.
DID_NOT_ARRIVE = (MessageStatus.failed, MessageStatus.bounced)


@dataclass(frozen=True)
class Listed:
    """A message with the name of the site it went to (None: not to a site)."""

    row: Message
    site_name: str | None


async def get_message(session: AsyncSession, meeting_id: int, message_id: int) -> Message:
    """One message of the session; another session's is not found."""
    row = await session.get(Message, message_id)
    if row is None or row.meeting_id != meeting_id:
        raise NotFound.of(
            N_("no message {message_id} in session {meeting_id}"),
            message_id=message_id,
            meeting_id=meeting_id,
        )
    return row


async def problems_first(session: AsyncSession, meeting_id: int, *, limit: int) -> list[Listed]:
    """The session's messages, failed (or bounced) ones first, then the latest first."""
    failed_first = case((col(Message.status).in_(DID_NOT_ARRIVE), 0), else_=1)
    rows = await session.execute(
        select(Message, col(Site.name))
        .outerjoin(Site, col(Site.id) == col(Message.site_id))
        .where(col(Message.meeting_id) == meeting_id)
        .order_by(failed_first, col(Message.id).desc())
        .limit(limit)
    )
    return [Listed(row, name) for row, name in rows.all()]


async def messages_page(
    session: AsyncSession, meeting_id: int, *, limit: int, offset: int
) -> tuple[list[MessagePublic], int]:
    """One page of the session's messages in the order they were queued, and how many
    the session has in all."""
    await get_meeting_row(session, meeting_id)
    of_meeting = col(Message.meeting_id) == meeting_id
    total = await session.scalar(select(func.count()).where(of_meeting))
    rows = await session.scalars(
        select(Message).where(of_meeting).order_by(col(Message.id)).limit(limit).offset(offset)
    )
    return [MessagePublic.model_validate(m) for m in rows], total or 0


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
        failed=sum(counts.get(status, 0) for status in (*DID_NOT_ARRIVE, MessageStatus.skipped)),
        waiting=waiting,
    )
