"""A site's answer to an invitation (RSVP).

Sites answer through their personal link, not an account, or from their calendar (an
iMIP reply read by notify.inbound), so the answer is keyed by (session, site) alone and
the last answer wins — unless it answers an older version of the invitation than the
answer in force (`overturns`). The organiser's grid reads the same row, so an answer
shows there as soon as it is saved; every answer is also kept in the history
(`RsvpChange`) with where it came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from meetings.core import live_channel
from meetings.core.errors import FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.core.types import Line, Text
from meetings.planning.invited import invitation
from meetings.planning.models import Meeting, MeetingStatus, Participation, Rsvp, RsvpSource
from meetings.planning.rsvp_models import RsvpChange, RsvpChangePublic


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
    #: Where the answer in force came from (RsvpSource; "" before any answer).
    rsvp_source: str = ""


def _out(row: Participation) -> RsvpOut:
    return RsvpOut(
        meeting_id=row.meeting_id,
        site_id=row.site_id,
        response=row.rsvp,
        expected_delegates=row.expected_delegates,
        technical_contact=row.technical_contact,
        note=row.rsvp_note,
        responded_at=row.responded_at,
        rsvp_source=row.rsvp_source,
    )


async def get_answer(session: AsyncSession, meeting_id: int, site_id: int) -> RsvpOut:
    return _out(await invitation(session, meeting_id=meeting_id, site_id=site_id))


def answers_closed(status: MeetingStatus) -> bool:
    """Answers are taken until the session ends or is cancelled, from the site page, the
    API and calendar replies alike."""
    return status in (MeetingStatus.ended, MeetingStatus.cancelled)


def overturns(sequence: int | None, in_force: int | None) -> bool:
    """Whether an answer to version `sequence` of the invitation (its iCalendar SEQUENCE)
    replaces the answer in force, given to version `in_force`: the later answer wins,
    unless it answers an older version — a calendar reply to the first invitation that
    arrives after the site answered the moved session must not undo that answer.
    None: the version is not known, so the answer is taken as the latest."""
    return sequence is None or in_force is None or sequence >= in_force


class Answering(Protocol):
    """What `take_answer` reads and sets of a site's invitation: a `Participation`, or the
    plain row notify.inbound.apply loads for a batch of calendar replies (it writes them
    back in one statement, without the ORM's cost per row)."""

    rsvp: Rsvp
    rsvp_source: str
    rsvp_sequence: int | None
    responded_at: datetime | None
    updated_at: datetime
    version: int


def take_answer(
    row: Answering,
    response: Rsvp,
    *,
    source: RsvpSource,
    sequence: int | None,
    now: datetime,
) -> bool:
    """Make `response` the site's answer in force if it `overturns` the one there; False
    (nothing changed) when it answers an older version. The one place every path (the
    site page, the API, calendar replies) changes a site's RSVP."""
    if not overturns(sequence, row.rsvp_sequence):
        return False
    row.rsvp = response
    row.rsvp_source = source
    if sequence is not None:
        row.rsvp_sequence = sequence
    row.responded_at = row.updated_at = now
    row.version += 1
    return True


async def answer(
    session: AsyncSession,
    meeting_id: int,
    site_id: int,
    data: RsvpIn,
    *,
    source: RsvpSource = RsvpSource.site_page,
    by: str = "",
) -> RsvpOut:
    """Record the site's answer; refused once the session has ended or was cancelled.

    `source` says who answered: the site from its page (through its link, by the form or
    the API), or an organiser on its behalf (`by`: the user name)."""
    row = await invitation(session, meeting_id=meeting_id, site_id=site_id)
    meeting = await session.get_one(Meeting, meeting_id)  # the participation's foreign key
    if answers_closed(meeting.status):
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
    # The page shows the session as it is now, so its answer is to the latest version,
    # never older than a calendar reply to an update (whose SEQUENCE may be above the
    # session's: see notify.mail.invitations._next_sequence).
    sequence = max(meeting.sequence, row.rsvp_sequence or 0)
    now = utcnow()
    take_answer(row, Rsvp(data.response), source=source, sequence=sequence, now=now)
    row.expected_delegates = None if declined else data.expected_delegates
    row.technical_contact = data.technical_contact
    row.rsvp_note = data.note
    session.add(
        RsvpChange(
            meeting_id=meeting_id,
            site_id=site_id,
            response=data.response,
            source=source,
            source_detail=by[:254],
            sequence=sequence,
            comment=data.note,
            at=now,
        )
    )
    await session.flush()
    await live_channel.announce(session, meeting_id, [site_id])  # the boards show answers
    return _out(row)


async def history(session: AsyncSession, meeting_id: int, site_id: int) -> list[RsvpChangePublic]:
    """Every answer the site gave to the session, in the order received, with where it came from
    and whether it was taken (a calendar reply to an older version is kept, not taken)."""
    rows = await session.scalars(
        select(RsvpChange)
        .where(col(RsvpChange.meeting_id) == meeting_id, col(RsvpChange.site_id) == site_id)
        .order_by(col(RsvpChange.id))
    )
    return [RsvpChangePublic.model_validate(row) for row in rows]
