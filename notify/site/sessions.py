"""The sessions a site sees through its link: planning's rule (meetings.planning.visible),
given the invitations the outbox sent the site. Every path a site's link opens — its page,
its calendar feed, its letter and documents — asks here, so a draft reaches none of them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.planning import visible
from meetings.planning.visible import SiteSession
from notify.mail.models import Message


async def invitations_sent(session: AsyncSession, *, site_id: int) -> set[int]:
    """The sessions a message went to the site for: a draft among them was shown to it."""
    sent = await session.scalars(
        select(col(Message.meeting_id)).where(col(Message.site_id) == site_id).distinct()
    )
    return {meeting_id for meeting_id in sent if meeting_id is not None}


async def page_sessions(session: AsyncSession, *, site_id: int, now: datetime) -> list[SiteSession]:
    """What the site's page lists."""
    sent = await invitations_sent(session, site_id=site_id)
    return await visible.page_sessions(session, site_id=site_id, now=now, invitations_sent=sent)


async def feed_sessions(session: AsyncSession, *, site_id: int) -> list[SiteSession]:
    """What the site's calendar feed holds: every session it may see, cancelled ones too."""
    sent = await invitations_sent(session, site_id=site_id)
    return await visible.visible_sessions(session, site_id=site_id, invitations_sent=sent)


async def site_session(session: AsyncSession, *, meeting_id: int, site_id: int) -> SiteSession:
    """One session the site may see (its letter, its documents); else NotInvited (404)."""
    sent = await invitations_sent(session, site_id=site_id)
    return await visible.visible_session(
        session, meeting_id=meeting_id, site_id=site_id, invitations_sent=sent
    )
