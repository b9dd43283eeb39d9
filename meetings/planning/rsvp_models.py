"""The history of a site's answers to a session: every answer as received, with where it
came from (meetings.planning.rsvp keeps the one in force on the participation)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from meetings.core.store import UTCDateTime, utcnow
from meetings.planning.models import RsvpSource


class RsvpChange(SQLModel, table=True):
    """One answer a site gave, in the order received, with where it came from; the
    participation holds the one in force. A calendar reply to an older version of the
    invitation is kept here with `applied` False."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False)
    )
    site_id: int = Field(
        sa_column=Column(Integer, ForeignKey("site.id", ondelete="CASCADE"), nullable=False)
    )
    response: str = Field(max_length=16)
    source: RsvpSource = Field(sa_type=String(16))
    #: Who answered: the address of a calendar reply, the user name of an organiser.
    source_detail: str = Field(default="", max_length=254)
    #: The invitation SEQUENCE answered (None: not known).
    sequence: int | None = Field(default=None)
    applied: bool = Field(default=True)
    #: The calendar reply delegated the invitation to this address (DELEGATED-TO).
    delegated_to: str = Field(default="", max_length=254)
    comment: str = Field(default="", max_length=1000)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    __table_args__ = (Index("ix_rsvpchange_meeting_site", "meeting_id", "site_id"),)


class RsvpChangePublic(SQLModel):
    """One answer in a site's history (meetings.planning.rsvp.history)."""

    #: accepted, declined, tentative; "delegated" for a calendar reply that handed the
    #: invitation on (the answer in force did not change).
    response: str
    source: RsvpSource
    source_detail: str
    sequence: int | None
    #: False: it answered an older version of the invitation than the answer in force.
    applied: bool
    delegated_to: str
    comment: str
    at: datetime
