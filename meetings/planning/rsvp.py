"""A site's answer to an invitation (RSVP).

Sites answer through their personal link, not an account, so the answer is keyed by
(session, site) alone and the last answer wins; the organiser's grid reads the same row,
so an answer shows there as soon as it is saved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from meetings.core.errors import FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.core.types import Line, Text
from meetings.planning.invited import invitation
from meetings.planning.models import Meeting, MeetingStatus, Participation, Rsvp


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


async def get_answer(session: AsyncSession, meeting_id: int, site_id: int) -> RsvpOut:
    return _out(await invitation(session, meeting_id=meeting_id, site_id=site_id))


async def answer(session: AsyncSession, meeting_id: int, site_id: int, data: RsvpIn) -> RsvpOut:
    """Record the site's answer; refused once the session has ended or was cancelled."""
    row = await invitation(session, meeting_id=meeting_id, site_id=site_id)
    meeting = await session.get_one(Meeting, meeting_id)  # the participation's foreign key
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
