"""What the sites sent back, as /metrics shows it (meetings.core.observe): calendar
replies and bounces read from the mailbox, ever (their rates are Prometheus')."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select
from sqlmodel import col

from meetings.core.keys import sessions_key
from notify.inbound.models import InboundKind, InboundMail


async def _count(app: web.Application, kind: InboundKind) -> float:
    async with app[sessions_key]() as session:
        found = await session.scalar(
            select(func.count()).select_from(InboundMail).where(col(InboundMail.kind) == kind)
        )
    return float(found or 0)


async def replies(app: web.Application) -> float:
    return await _count(app, InboundKind.reply)


async def bounces(app: web.Application) -> float:
    return await _count(app, InboundKind.bounce)
