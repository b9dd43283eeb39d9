"""What the approved minutes tell of a session's progress, for its phase on the session
page (meetings.planning.phases; wired through meetings.core.keys.session_facts_key)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.record.models import Minutes, MinutesStatus


async def session_facts(session: AsyncSession, meeting_id: int) -> dict[str, bool]:
    """Approved: a version was approved (whether its notice of conclusions reached the sites
    is the outbox's to say: notify.mail.facts)."""
    approved = await session.scalar(
        select(func.count()).where(
            col(Minutes.meeting_id) == meeting_id,
            col(Minutes.status) == MinutesStatus.approved,
        )
    )
    return {"minutes_approved": bool(approved)}
