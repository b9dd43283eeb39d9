"""What the outbox tells of a session's progress, for its phase on the session page
(meetings.planning.phases; wired through meetings.core.keys.session_facts_key)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from notify.mail.models import Message, MessageKind, MessageStatus


async def session_facts(session: AsyncSession, meeting_id: int) -> dict[str, bool]:
    """Invitations count as out once one is queued or sent (not skipped)."""
    found = await session.scalar(
        select(col(Message.id))
        .where(
            col(Message.meeting_id) == meeting_id,
            col(Message.kind) == MessageKind.invitation,
            col(Message.status) != MessageStatus.skipped,
        )
        .limit(1)
    )
    return {"invitations_sent": found is not None}
