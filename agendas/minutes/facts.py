"""What the approved minutes tell of a session's progress, for its phase on the session
page (meetings.planning.phases; wired through meetings.core.keys.session_facts_key)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.record.models import Minutes, MinutesStatus


async def session_facts(session: AsyncSession, meeting_id: int) -> dict[str, bool]:
    """Approved: a version was approved; conclusions sent: its notice went out."""
    approved, noticed = (
        await session.execute(
            select(func.count(), func.count(col(Minutes.notice_sent_at))).where(
                col(Minutes.meeting_id) == meeting_id,
                col(Minutes.status) == MinutesStatus.approved,
            )
        )
    ).one()
    return {"minutes_approved": bool(approved), "conclusions_sent": bool(noticed)}
