"""The sessions a site may see through its link: one rule for its page, its calendar feed
and every download (letter, documents).

A draft is still being planned and stays private: a site sees it only once an invitation
for it went to the site (an organiser may invite before scheduling). Which invitations
went out is the outbox's knowledge (notify.site.sessions passes them in), so planning needs
no import of notify.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.planning.invited import NotInvited, invitation
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting, MeetingStatus, Participation

#: Ended sessions stay on a site's page this long (for the documents and, later, minutes).
RECENT = timedelta(days=60)


@dataclass(frozen=True)
class SiteSession:
    """One session as its invited site sees it."""

    meeting: Meeting
    participation: Participation

    @property
    def may_answer(self) -> bool:
        return self.meeting.status in (MeetingStatus.draft, MeetingStatus.scheduled)

    @property
    def is_over(self) -> bool:
        return self.meeting.status in (MeetingStatus.ended, MeetingStatus.cancelled)


def may_see(meeting: Meeting, *, invitations_sent: Collection[int]) -> bool:
    """An invited site sees a session unless it is a draft no invitation went out for."""
    return meeting.status != MeetingStatus.draft or meeting.id in invitations_sent


async def visible_sessions(
    session: AsyncSession,
    *,
    site_id: int,
    invitations_sent: Collection[int],
    ended_after: datetime | None = None,
) -> list[SiteSession]:
    """Every session the site may see, soonest first (only those ending after
    `ended_after`, when given)."""
    query = (
        select(Meeting, Participation)
        .join(Participation, col(Participation.meeting_id) == col(Meeting.id))
        .where(col(Participation.site_id) == site_id)
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    )
    if ended_after is not None:
        query = query.where(col(Meeting.ends_at) >= ended_after)
    return [
        SiteSession(meeting, participation)
        for meeting, participation in (await session.execute(query)).all()
        if may_see(meeting, invitations_sent=invitations_sent)
    ]


async def visible_session(
    session: AsyncSession, *, meeting_id: int, site_id: int, invitations_sent: Collection[int]
) -> SiteSession:
    """One session the site may see, else NotInvited: a draft looks like no session at all."""
    participation = await invitation(session, meeting_id=meeting_id, site_id=site_id)
    meeting = await get_meeting_row(session, meeting_id)
    if not may_see(meeting, invitations_sent=invitations_sent):
        raise NotInvited(meeting_id=meeting_id, site_id=site_id)
    return SiteSession(meeting, participation)


async def page_sessions(
    session: AsyncSession, *, site_id: int, now: datetime, invitations_sent: Collection[int]
) -> list[SiteSession]:
    """The site's page: upcoming and live sessions first (soonest first), then those ended
    or cancelled within `RECENT` (latest first)."""
    found = await visible_sessions(
        session, site_id=site_id, invitations_sent=invitations_sent, ended_after=now - RECENT
    )
    ahead = [s for s in found if not s.is_over]
    over = [s for s in found if s.is_over]
    return ahead + sorted(over, key=lambda s: s.meeting.starts_at, reverse=True)
