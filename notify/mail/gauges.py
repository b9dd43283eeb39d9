"""The outbox as /metrics shows it (meetings.core.observe): read from the database, so
the same on every instance: what waits to be sent, and how many were sent (its rate is
the cluster's send rate)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select
from sqlmodel import col

from meetings.core.keys import sessions_key
from notify.mail.models import Message, MessageStatus


async def _count(app: web.Application, *statuses: MessageStatus) -> float:
    async with app[sessions_key]() as session:
        found = await session.scalar(
            select(func.count()).select_from(Message).where(col(Message.status).in_(statuses))
        )
    return float(found or 0)


async def outbox_depth(app: web.Application) -> float:
    """Messages queued or being sent."""
    return await _count(app, MessageStatus.queued, MessageStatus.sending)


async def messages_sent(app: web.Application) -> float:
    """Messages sent, ever (bounced ones included: they left)."""
    return await _count(app, MessageStatus.sent, MessageStatus.bounced)
