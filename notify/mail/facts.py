"""What the outbox tells of a session's progress, for its phase on the session page
(meetings.planning.phases; wired through meetings.core.keys.session_facts_key)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from notify.mail.models import Message, MessageKind, MessageStatus


async def session_facts(session: AsyncSession, meeting_id: int) -> dict[str, bool]:
    """Invitations count as out once one is queued or sent (not skipped); the notice of
    conclusions once one reached a site (approval queues it at once, so "queued" would skip
    the approved phase the chair should see)."""
    invited = await _exists(session, meeting_id, MessageKind.invitation, skipped=True)
    noticed = await _exists(session, meeting_id, MessageKind.minutes, sent=True)
    return {"invitations_sent": invited, "conclusions_sent": noticed}


async def _exists(
    session: AsyncSession,
    meeting_id: int,
    kind: MessageKind,
    *,
    skipped: bool = False,
    sent: bool = False,
) -> bool:
    """A message of `kind` for the session: any but skipped ones, or only sent ones."""
    query = select(col(Message.id)).where(
        col(Message.meeting_id) == meeting_id, col(Message.kind) == kind
    )
    if skipped:
        query = query.where(col(Message.status) != MessageStatus.skipped)
    if sent:
        query = query.where(col(Message.status) == MessageStatus.sent)
    return await session.scalar(query.limit(1)) is not None
