"""Tables and schemas of attendance: every change is an event; a site's state is derived.

The event log is the record (who said what, when: an operator, the site itself, or the
video platform). Each participation row carries the state derived from its events, kept
in step by `meetings.attendance.tracking` under a version check, so the board and the totals read
one row per site instead of replaying the log.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from meetings.core.store import UTCDateTime, utcnow
from meetings.core.types import MAX_INT, Id, Line, Moment, Text

#: An official present in a room, by name and title.
Official = Annotated[Line, Field(max_length=200)]


class AttendanceStatus(StrEnum):
    connected = "connected"
    present = "present"
    late = "late"
    left = "left"
    absent = "absent"
    technical_issue = "technical_issue"


#: Statuses that count as "connected" on the board (the room is in the session).
CONNECTED = frozenset({AttendanceStatus.connected, AttendanceStatus.present, AttendanceStatus.late})


class RehearsalStatus(StrEnum):
    tested = "tested"
    ok = "ok"
    problem = "problem"


class EventKind(StrEnum):
    attendance = "attendance"
    rehearsal = "rehearsal"


class Author(StrEnum):
    operator = "operator"
    site = "site"
    platform = "platform"


class AttendanceEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False)
    )
    site_id: int = Field(
        sa_column=Column(Integer, ForeignKey("site.id", ondelete="RESTRICT"), nullable=False)
    )
    kind: EventKind = Field(default=EventKind.attendance, sa_type=String(16))
    status: str = Field(max_length=20)
    delegates_present: int | None = Field(default=None)
    officials_present: list[str] | None = Field(default=None, sa_column=Column(JSON))
    note: str = Field(default="", max_length=1000)
    #: The moment the event describes (may be earlier than its recording).
    at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    author_kind: Author = Field(sa_type=String(16))
    #: The user name, the site's code, or the platform's name.
    author: str = Field(default="", max_length=100)

    __table_args__ = (Index("ix_attendanceevent_meeting_site", "meeting_id", "site_id", "id"),)


class AttendanceIn(SQLModel):
    """An operator's event for one site."""

    site_id: Id
    status: AttendanceStatus
    at: Moment | None = None
    delegates_present: int | None = Field(default=None, ge=0, le=MAX_INT)
    officials_present: list[Official] | None = Field(default=None, max_length=50)
    note: Text = Field(default="", max_length=1000)


class CheckIn(SQLModel):
    """The site's own check-in through its link."""

    delegates_present: int = Field(ge=0, le=MAX_INT)
    officials_present: list[Official] | None = Field(default=None, max_length=50)


class RehearsalIn(SQLModel):
    site_id: Id
    status: RehearsalStatus
    note: Text = Field(default="", max_length=1000)


class SiteAttendance(SQLModel):
    """One site's current state, as the board and the reports show it."""

    site_id: int
    site_code: str
    site_name: str
    cluster_id: int | None
    cluster_name: str | None
    rsvp: str
    #: Where the answer came from (planning.models.RsvpSource; "" for none yet).
    rsvp_source: str = ""
    expected_delegates: int | None
    attendance_status: AttendanceStatus | None
    joined_at: datetime | None
    left_at: datetime | None
    delegates_present: int | None
    officials_present: list[str]
    rehearsal_status: RehearsalStatus | None
    rehearsal_note: str
    changed_at: datetime | None
    #: The attendance's version (Participation.attendance_version): moved by every change
    #: of the attendance columns, not by an answer.
    version: int


class AttendanceSummary(SQLModel):
    invited: int
    connected: int
    present: int
    absent: int
    #: Invited sites not connected now (absent, left, issue or never seen).
    missing: int
    delegates_present: int
    rehearsal_ok: int
    rehearsal_problem: int


class EventPublic(SQLModel):
    id: int
    site_id: int
    kind: EventKind
    status: str
    delegates_present: int | None
    officials_present: list[str] | None
    note: str
    at: datetime
    recorded_at: datetime
    author_kind: Author
    author: str


class AttendanceBoard(SQLModel):
    summary: AttendanceSummary
    sites: list[SiteAttendance]
    events: list[EventPublic] = []
