"""What the outbox tells of a session's progress, for its phase on the session page
(meetings.planning.phases; wired through meetings.core.keys.session_facts_key)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from notify.mail.models import Message, MessageKind, MessageStatus


async def session_facts(session: AsyncSession, meeting_id: int) -> dict[str, bool]:
    """Invitations count as out once one is queued or sent (not skipped); the notice of
    conclusions once one reached a site (approval queues it at once, so "queued" would skip
    the approved phase the chair should see)."""
    status = col(Message.status)
    invited = await _any(
        session, meeting_id, MessageKind.invitation, status != MessageStatus.skipped
    )
    noticed = await _any(session, meeting_id, MessageKind.minutes, status == MessageStatus.sent)
    return {"invitations_sent": invited, "conclusions_sent": noticed}


async def _any(session: AsyncSession, meeting_id: int, kind: MessageKind, condition: Any) -> bool:
    """Whether the session has a message of `kind` meeting `condition`."""
    found = await session.scalar(
        select(col(Message.id))
        .where(col(Message.meeting_id) == meeting_id, col(Message.kind) == kind, condition)
        .limit(1)
    )
    return found is not None
