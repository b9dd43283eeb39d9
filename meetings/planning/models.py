"""Tables and schemas of sessions: meetings, their series, invited sites and their answers
(the shared documents' are in `document_models`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo, field_validator
from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from meetings.core.store import UTCDateTime, utcnow
from meetings.core.types import Count, Id, Line, Moment, Patch, Text, TimeZoneName, search_key


class MeetingKind(StrEnum):
    briefing = "briefing"
    seminar = "seminar"
    cluster_meeting = "cluster_meeting"
    conference = "conference"


class MeetingStatus(StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    live = "live"
    ended = "ended"
    cancelled = "cancelled"


class Rsvp(StrEnum):
    needs_action = "needs_action"
    accepted = "accepted"
    declined = "declined"
    tentative = "tentative"


def _url_or_empty(value: str) -> str:
    if value and not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) link")
    return value


#: One line like every name (no control character: it goes into pages, e-mails and the .ics).
VideoUrl = Annotated[Line, AfterValidator(_url_or_empty)]


# --- series ----------------------------------------------------------------------------


class Series(SQLModel, table=True):
    """Sessions that follow one another (the quarterly briefings of a year)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SeriesPublic(SQLModel):
    id: int
    name: str


# --- meetings --------------------------------------------------------------------------


class MeetingBase(SQLModel):
    title: Line = Field(min_length=1, max_length=300)
    kind: MeetingKind = Field(default=MeetingKind.briefing, sa_type=String(20))
    description: Text = Field(default="", max_length=20_000, sa_type=SAText)
    #: The host hall (điểm cầu Trung ương); defaults to the organisation's hall.
    location: Line = Field(default="", max_length=300)
    #: The people who preside and keep the minutes (full name), with their positions: the
    #: minutes name and sign them (form 1.9).
    chair: Line = Field(default="", max_length=200)
    chair_title: Line = Field(default="", max_length=200)
    secretary: Line = Field(default="", max_length=200)
    secretary_title: Line = Field(default="", max_length=200)
    video_url: VideoUrl = Field(default="", max_length=1000)
    timezone: TimeZoneName = Field(default="Asia/Ho_Chi_Minh", max_length=64)
    #: Urgent sessions are exempt from the 3-working-day notice rule.
    is_urgent: bool = Field(default=False)
    #: Minutes before the start for the technical rehearsal; None: the configured default,
    #: 0: no rehearsal.
    rehearsal_minutes: int | None = Field(default=None, ge=0, le=1440)


class Meeting(MeetingBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    #: iCalendar UID: never changes, so calendars recognise updates of this session.
    uid: str = Field(default_factory=lambda: f"{uuid.uuid4()}@giaoban", max_length=100, unique=True)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime, index=True)
    status: MeetingStatus = Field(default=MeetingStatus.draft, sa_type=String(16), index=True)
    cancel_reason: str = Field(default="", max_length=1000)
    #: iCalendar SEQUENCE: rises with every change of time, place or link, and on cancel.
    sequence: int = Field(default=0)
    host_site_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("site.id", ondelete="SET NULL"), nullable=True),
    )
    series_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("series.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    #: The session this one was created from (its series predecessor).
    previous_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="SET NULL"), nullable=True),
    )
    organiser_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("user.id", ondelete="SET NULL"), nullable=True),
    )
    #: A cluster's own meeting (planned by its leader): only that cluster's sites are
    #: invited, and only its leader and the office see it. None: a session of the office.
    cluster_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("cluster.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    version: int = Field(default=1)
    #: Diacritic-free lower-case title and place, for search ("giao ban" finds "Giao ban").
    search_text: str = Field(default="", max_length=700)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def refresh_search_text(self) -> None:
        self.search_text = search_key(self.title, self.location)[:700]


def ends_after_start(cls: type, ends_at: datetime, info: ValidationInfo) -> datetime:
    """On the `ends_at` field, so the error names it (starts_at is validated first)."""
    check_times(info.data.get("starts_at"), ends_at)
    return ends_at


def check_times(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")


class SiteSelection(SQLModel):
    """Which sites to invite: all, whole clusters and single sites, minus some."""

    all_sites: bool = False
    cluster_ids: list[Id] = Field(default_factory=list, max_length=1000)
    site_ids: list[Id] = Field(default_factory=list, max_length=100_000)
    exclude_site_ids: list[Id] = Field(default_factory=list, max_length=100_000)

    def is_empty(self) -> bool:
        return not (self.all_sites or self.cluster_ids or self.site_ids)


class MeetingCreate(MeetingBase, SiteSelection):
    starts_at: Moment
    ends_at: Moment
    host_site_id: Id | None = None
    series_id: Id | None = None
    #: Create a new series of this name for the session (instead of series_id).
    series_name: Line | None = Field(default=None, max_length=200)

    _ends_after_start = field_validator("ends_at")(ends_after_start)


class MeetingUpdate(Patch):
    """PATCH body. Sending any selection field replaces the invited sites."""

    nullable = frozenset({"rehearsal_minutes", "host_site_id", "series_id"})

    version: Count
    title: Line | None = Field(default=None, min_length=1, max_length=300)
    kind: MeetingKind | None = None
    description: Text | None = Field(default=None, max_length=20_000)
    location: Line | None = Field(default=None, max_length=300)
    chair: Line | None = Field(default=None, max_length=200)
    chair_title: Line | None = Field(default=None, max_length=200)
    secretary: Line | None = Field(default=None, max_length=200)
    secretary_title: Line | None = Field(default=None, max_length=200)
    video_url: VideoUrl | None = Field(default=None, max_length=1000)
    timezone: TimeZoneName | None = Field(default=None, max_length=64)
    is_urgent: bool | None = None
    rehearsal_minutes: int | None = Field(default=None, ge=0, le=1440)
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    status: MeetingStatus | None = None
    host_site_id: Id | None = None
    series_id: Id | None = None
    all_sites: bool | None = None
    cluster_ids: list[Id] | None = Field(default=None, max_length=1000)
    site_ids: list[Id] | None = Field(default=None, max_length=100_000)
    exclude_site_ids: list[Id] | None = Field(default=None, max_length=100_000)
    #: With `status: live` before the session's day: why it starts early (logged).
    early_start_reason: Line | None = Field(default=None, min_length=1, max_length=1000)


class MeetingCancel(SQLModel):
    reason: Line = Field(min_length=1, max_length=1000)


class MeetingFollowUp(SQLModel):
    """The next session of a series, made from this one."""

    starts_at: Moment
    ends_at: Moment
    title: Line | None = Field(default=None, min_length=1, max_length=300)

    _ends_after_start = field_validator("ends_at")(ends_after_start)


class Warning(SQLModel):  # noqa: A001 (a domain word, not the builtin)
    code: str
    message: str
    site_id: int | None = None
    meeting_id: int | None = None
    #: The day concerned (`non_working_day`: the weekend day or public holiday).
    day: date | None = None
    #: `overlap`: how many invited sites the other session shares, and its title.
    site_count: int | None = None
    meeting_title: str | None = None


class MeetingPublic(MeetingBase):
    id: int
    uid: str
    starts_at: datetime
    ends_at: datetime
    status: MeetingStatus
    cancel_reason: str
    sequence: int
    host_site_id: int | None
    series_id: int | None
    series_name: str | None = None
    previous_id: int | None
    cluster_id: int | None = None  # a cluster's own meeting (see Meeting.cluster_id)
    version: int
    site_count: int = 0
    cluster_count: int = 0
    created_at: datetime
    updated_at: datetime
    warnings: list[Warning] = []


class StatusChange(SQLModel, table=True):
    """One change of a session's status by a person: who, when, and why when it matters
    (a cancellation, a start before the session's day)."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    from_status: MeetingStatus = Field(sa_type=String(16))
    to_status: MeetingStatus = Field(sa_type=String(16))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: The user name of who made the change.
    by: str = Field(default="", max_length=100)
    reason: str = Field(default="", max_length=1000)
    #: Started before its day, by an explicit override.
    is_early: bool = Field(default=False)


class StatusChangePublic(SQLModel):
    from_status: MeetingStatus
    to_status: MeetingStatus
    at: datetime
    by: str
    reason: str
    is_early: bool


# --- invited sites ---------------------------------------------------------------------


class Participation(SQLModel, table=True):
    """One invited site in one meeting: its answer, and later its attendance."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False)
    )
    #: RESTRICT: a site with a session history is kept (the record must stay whole).
    site_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("site.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    rsvp: Rsvp = Field(default=Rsvp.needs_action, sa_type=String(16))
    expected_delegates: int | None = Field(default=None, ge=0)
    #: This site's own dial-in or room link for this session, when it differs from its
    #: register endpoint.
    endpoint: str = Field(default="", max_length=500)
    #: Who to call when the picture or sound fails (name and phone), from the RSVP.
    technical_contact: str = Field(default="", max_length=200)
    rsvp_note: str = Field(default="", max_length=1000)
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Where the answer in force came from (RsvpSource) and the invitation SEQUENCE it
    #: answered: a calendar reply to an older version does not overturn it.
    rsvp_source: str = Field(default="", max_length=16)
    rsvp_sequence: int | None = Field(default=None)
    # Attendance, derived from its events by meetings.attendance.tracking (never set directly).
    attendance_status: str | None = Field(default=None, max_length=20)
    joined_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    left_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delegates_present: int | None = Field(default=None)
    officials_present: list[str] | None = Field(default=None, sa_column=Column(JSON))
    rehearsal_status: str | None = Field(default=None, max_length=20)
    rehearsal_note: str = Field(default="", max_length=1000)
    attendance_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The attendance columns' own version (tracking writes them under it), apart from
    #: `version` (the invitation and the answer): a check-in leaves every view of the
    #: answers alone (the session page's list, the invitations panel).
    attendance_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    __table_args__ = (
        UniqueConstraint("meeting_id", "site_id", name="uq_participation_meeting_site"),
        Index("ix_participation_meeting", "meeting_id"),
    )


class RsvpSource(StrEnum):
    #: The site's page (its personal link).
    site_page = "site_page"
    #: A calendar client's reply (iMIP METHOD:REPLY) read from the inbound mailbox.
    calendar = "calendar"
    #: An organiser, on the session page or through the API.
    organiser = "organiser"


class ParticipationPublic(SQLModel):
    site_id: int
    site_code: str
    site_name: str
    cluster_id: int | None
    cluster_name: str | None
    is_host: bool
    is_cluster_leader: bool
    rsvp: Rsvp
    expected_delegates: int | None
    technical_contact: str = ""
    rsvp_note: str = ""
    responded_at: datetime | None = None
    #: Where the answer in force came from (RsvpSource; "" before any answer).
    rsvp_source: str = ""
    endpoint: str
    #: The session's start in the site's own time zone (sites abroad).
    timezone: str
    local_starts_at: str
    local_ends_at: str
    attendance_status: str | None = None
    joined_at: datetime | None = None
    left_at: datetime | None = None
    delegates_present: int | None = None
    officials_present: list[str] = []
