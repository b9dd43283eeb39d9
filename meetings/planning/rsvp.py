"""A site's answer to an invitation (RSVP) and the sessions a site sees on its own page.

Sites answer through their personal link, not an account, so the answer is keyed by
(session, site) alone and the last answer wins; the organiser's grid reads the same row,
so an answer shows there as soon as it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from meetings.core.errors import FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.core.types import Line, Text
from meetings.planning.models import Meeting, MeetingStatus, Participation, Rsvp

#: Ended sessions stay on a site's page this long (for the documents and, later, minutes).
RECENT = timedelta(days=60)


class RsvpIn(SQLModel):
    response: Literal["accepted", "declined", "tentative"]
    #: How many delegates will sit in the site's room (ignored when declining).
    expected_delegates: int | None = Field(default=None, ge=0, le=10_000)
    technical_contact: Line = Field(default="", max_length=200)
    note: Text = Field(default="", max_length=1000)


class RsvpOut(SQLModel):
    meeting_id: int
    site_id: int
    response: Rsvp
    expected_delegates: int | None
    technical_contact: str
    note: str
    responded_at: datetime | None


def _out(row: Participation) -> RsvpOut:
    return RsvpOut(
        meeting_id=row.meeting_id,
        site_id=row.site_id,
        response=row.rsvp,
        expected_delegates=row.expected_delegates,
        technical_contact=row.technical_contact,
        note=row.rsvp_note,
        responded_at=row.responded_at,
    )


async def _participation(session: AsyncSession, meeting_id: int, site_id: int) -> Participation:
    row = await session.scalar(
        select(Participation).where(
            Participation.meeting_id == meeting_id, Participation.site_id == site_id
        )
    )
    if row is None:
        # Not invited and not existing look the same: a link must not reveal other sessions.
        raise NotFound(f"no session {meeting_id} for this site")
    return row


async def get_answer(session: AsyncSession, meeting_id: int, site_id: int) -> RsvpOut:
    return _out(await _participation(session, meeting_id, site_id))


async def answer(session: AsyncSession, meeting_id: int, site_id: int, data: RsvpIn) -> RsvpOut:
    """Record the site's answer; refused once the session has ended or was cancelled."""
    row = await _participation(session, meeting_id, site_id)
    meeting = await session.get(Meeting, meeting_id)
    assert meeting is not None  # the participation's foreign key
    if meeting.status in (MeetingStatus.ended, MeetingStatus.cancelled):
        raise Invalid(
            "closed session",
            [FieldProblem("response", N_("Answers are closed: the session is over or cancelled"))],
        )
    declined = data.response == "declined"
    if data.response == "accepted" and not data.expected_delegates:
        raise Invalid(
            "delegates missing",
            [FieldProblem("expected_delegates", N_("Say how many delegates will attend"))],
        )
    row.rsvp = Rsvp(data.response)
    row.expected_delegates = None if declined else data.expected_delegates
    row.technical_contact = data.technical_contact
    row.rsvp_note = data.note
    row.responded_at = row.updated_at = utcnow()
    row.version += 1
    await session.flush()
    return _out(row)


@dataclass(frozen=True)
class SiteSession:
    """One session as its invited site sees it."""

    meeting: Meeting
    participation: Participation

    @property
    def may_answer(self) -> bool:
        return self.meeting.status in (MeetingStatus.draft, MeetingStatus.scheduled)


async def site_sessions(
    session: AsyncSession, site_id: int, *, now: datetime, invited_ids: set[int]
) -> list[SiteSession]:
    """The site's sessions: upcoming and live first (soonest first), then recently ended
    or cancelled ones. Drafts appear only once an invitation went to the site
    (`invited_ids`), so a session still being planned stays private."""
    rows = (
        await session.execute(
            select(Meeting, Participation)
            .join(Participation, Participation.meeting_id == Meeting.id)  # type: ignore[arg-type]
            .where(
                Participation.site_id == site_id,
                Meeting.ends_at >= now - RECENT,
                or_(
                    Meeting.status != MeetingStatus.draft,
                    Meeting.id.in_(invited_ids or {-1}),  # type: ignore[union-attr]
                ),
            )
            .order_by(Meeting.starts_at, Meeting.id)
        )
    ).all()
    found = [SiteSession(meeting, participation) for meeting, participation in rows]
    open_ = [s for s in found if s.meeting.status not in ("ended", "cancelled")]
    closed = [s for s in found if s.meeting.status in ("ended", "cancelled")]
    return open_ + sorted(closed, key=lambda s: s.meeting.starts_at, reverse=True)
