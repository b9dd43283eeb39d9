"""Tables and schemas of the record: notes, contributions, recommendations, action items,
and the minutes' approved versions.

Every editable row has a `version`: a secretary's save names the version it started from,
and a stale one is refused (409) with the current text, so two secretaries never
overwrite each other silently.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from meetings.core.store import UTCDateTime, utcnow
from meetings.core.types import Count, Id, Line, Text

#: The longest text of one part of the record (a note, a contribution, an answer).
MAX_TEXT = 20_000

#: One section's notes.
NoteText = Annotated[Text, Field(max_length=MAX_TEXT)]


class ContributionKind(StrEnum):
    report = "report"
    opinion = "opinion"
    recommendation = "recommendation"
    question = "question"


class RecommendationStatus(StrEnum):
    open = "open"
    answered = "answered"
    #: Settled without an answer of its own (withdrawn, merged into another).
    closed = "closed"


class ActionStatus(StrEnum):
    """Stored states; "overdue" is never stored: it is derived from the due date
    (agendas.record.progress.is_overdue)."""

    open = "open"
    in_progress = "in_progress"
    done = "done"


class MinutesStatus(StrEnum):
    approved = "approved"


def _meeting_fk() -> Any:
    return Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False, index=True)


def _site_fk() -> Any:
    return Column(Integer, ForeignKey("site.id", ondelete="SET NULL"), nullable=True)


class RecordNote(SQLModel, table=True):
    """Free text of one part of the record: `agenda:<position>`, `conclusions`, `general`."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(sa_column=_meeting_fk())
    section: str = Field(max_length=40)
    text: str = Field(default="", sa_type=SAText)
    version: int = Field(default=1)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str = Field(default="", max_length=100)

    __table_args__ = (UniqueConstraint("meeting_id", "section", name="uq_recordnote_section"),)


class Contribution(SQLModel, table=True):
    """What a site (or the hall) said or asked: a speaker, a kind, the text."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(sa_column=_meeting_fk())
    #: None: the central hall (điểm cầu Trung ương).
    site_id: int | None = Field(default=None, sa_column=_site_fk())
    speaker_name: str = Field(default="", max_length=200)
    speaker_title: str = Field(default="", max_length=200)
    kind: ContributionKind = Field(sa_type=String(20))
    text: str = Field(sa_type=SAText)
    agenda_position: int | None = None
    focus_number: int | None = None
    #: "secretary" or "site" (sent through the site's page).
    source: str = Field(default="secretary", max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(default="", max_length=100)
    version: int = Field(default=1)


class Recommendation(SQLModel, table=True):
    """A kiến nghị: open across sessions until someone answers it."""

    id: int | None = Field(default=None, primary_key=True)
    #: The session it was raised in.
    meeting_id: int = Field(sa_column=_meeting_fk())
    contribution_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("contribution.id", ondelete="SET NULL"), nullable=True
        ),
    )
    site_id: int | None = Field(default=None, sa_column=_site_fk())
    topic: str = Field(default="", max_length=200)
    text: str = Field(sa_type=SAText)
    status: RecommendationStatus = Field(default=RecommendationStatus.open, sa_type=String(16))
    #: The unit of the central office that owes the answer ("Ban Tổ chức"): the register
    #: is filtered by it, so each unit sees what it must answer.
    assigned_unit: str = Field(default="", max_length=200)
    answer: str = Field(default="", sa_type=SAText)
    answered_by: str = Field(default="", max_length=200)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The session in which it was answered (a later one of the series, often).
    answered_in_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="SET NULL"), nullable=True),
    )
    #: The answer's document (checked like a session document, kept under var/), if any.
    answer_filename: str = Field(default="", max_length=255)
    answer_stored_name: str = Field(default="", max_length=100)
    answer_content_type: str = Field(default="", max_length=100)
    answer_size: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)

    __table_args__ = (Index("ix_recommendation_status", "status", "site_id"),)


class ActionItem(SQLModel, table=True):
    """A conclusion that someone must act on by a date."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(sa_column=_meeting_fk())
    text: str = Field(sa_type=SAText)
    owner_site_id: int | None = Field(default=None, sa_column=_site_fk())
    #: A cluster owns the task (its leading union answers for it).
    owner_cluster_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("cluster.id", ondelete="SET NULL"), nullable=True),
    )
    #: A unit of the central office or a person when the owner is not a site or a
    #: cluster ("Văn phòng Liên hiệp").
    owner_text: str = Field(default="", max_length=200)
    due_on: date | None = None
    status: ActionStatus = Field(default=ActionStatus.open, sa_type=String(16))
    #: When it was marked done: "done on time" compares this with `due_on`.
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The last day (in the session's zone) the owner was chased for it being overdue:
    #: chased at most once a day, on working days only.
    chased_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)


class ActionChange(SQLModel, table=True):
    """One change of an action item's status, with who made it and why: its history."""

    id: int | None = Field(default=None, primary_key=True)
    action_item_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("actionitem.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    status: ActionStatus = Field(sa_type=String(16))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: A user name, "site:<id>" for the site's own page, or "scheduler".
    by: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=1000)


class Minutes(SQLModel, table=True):
    """An approved version of a session's minutes: the record as it was, frozen."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(sa_column=_meeting_fk())
    number: int
    status: MinutesStatus = Field(default=MinutesStatus.approved, sa_type=String(16))
    #: The MinutesData of this version (agendas.minutes.data), as JSON.
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    approved_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    approved_by: str = Field(max_length=200)
    #: When the notice of conclusions with these minutes was queued to the sites.
    notice_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (UniqueConstraint("meeting_id", "number", name="uq_minutes_number"),)


# --- API schemas -----------------------------------------------------------------------


class NotesIn(SQLModel):
    """PUT /notes: any of the sections; `versions` names what each editor started from
    (section → version, 0 for a note not saved before); a stale one is refused (409)."""

    agenda: dict[Annotated[int, Field(ge=1, le=999)], NoteText] = Field(
        default_factory=dict, max_length=999
    )
    conclusions: NoteText | None = None
    general: NoteText | None = None
    versions: dict[Annotated[str, Field(max_length=40)], Count] = Field(
        default_factory=dict, max_length=1001
    )


class NotePublic(SQLModel):
    section: str
    text: str
    version: int
    updated_at: datetime | None
    updated_by: str


class ContributionIn(SQLModel):
    site_id: Id | None = None
    speaker: Line = Field(default="", max_length=200)
    speaker_title: Line = Field(default="", max_length=200)
    kind: ContributionKind
    text: Text = Field(min_length=1, max_length=MAX_TEXT)
    #: The agenda item's position (1, 2, …) and the focus item's number it speaks to.
    agenda_item: int | None = Field(default=None, ge=1, le=999)
    focus_item: int | None = Field(default=None, ge=1, le=999)
    #: For a recommendation: its topic, for the register's filter.
    topic: Line = Field(default="", max_length=200)


class SiteContributionIn(SQLModel):
    """A site's own submission through its page (its site is the link's)."""

    speaker: Line = Field(default="", max_length=200)
    speaker_title: Line = Field(default="", max_length=200)
    kind: ContributionKind = ContributionKind.recommendation
    text: Text = Field(min_length=1, max_length=MAX_TEXT)
    topic: Line = Field(default="", max_length=200)


class ContributionPublic(SQLModel):
    id: int
    site_id: int | None
    site_name: str | None = None
    speaker: str
    speaker_title: str
    kind: ContributionKind
    text: str
    agenda_item: int | None
    focus_item: int | None
    source: str
    created_at: datetime
    version: int


class RecommendationPublic(SQLModel):
    id: int
    meeting_id: int
    meeting_title: str = ""
    site_id: int | None
    site_name: str | None = None
    cluster_name: str | None = None
    topic: str
    text: str
    status: RecommendationStatus
    assigned_unit: str = ""
    answer: str
    answered_by: str
    answered_at: datetime | None
    #: The session in which it was answered, when the answer names one.
    answered_in_id: int | None = None
    #: The contribution that raised it (None once that was deleted).
    contribution_id: int | None = None
    #: The answer's document ("" when it has none) and its size in bytes.
    answer_filename: str = ""
    answer_size: int = 0
    created_at: datetime
    version: int


class RecommendationUpdate(SQLModel):
    """PATCH /recommendations/{id}: answer or close it, or open it again."""

    status: RecommendationStatus
    response: Text = Field(default="", max_length=MAX_TEXT)
    answered_by: Line = Field(default="", max_length=200)
    #: The session it was answered in (the one whose record shows the answer).
    meeting_id: Id | None = None
    #: The unit that owes the answer; None leaves it as it is.
    assigned_unit: Line | None = Field(default=None, max_length=200)
    version: Count | None = None


#: "N working days" after the session: at most about a year of them.
WorkingDays = Annotated[int, Field(ge=1, le=250)]


class ActionItemIn(SQLModel):
    text: Text = Field(min_length=1, max_length=5000)
    #: A department or person ("Văn phòng Liên hiệp"); or name a site by `owner_site_id`,
    #: or a cluster by `owner_cluster_id` (its leading site answers for it).
    owner: Line = Field(default="", max_length=200)
    owner_site_id: Id | None = None
    owner_cluster_id: Id | None = None
    due_date: date | None = None
    #: Instead of `due_date`: due this many working days after the session's day
    #: (weekends and public holidays not counted).
    due_working_days: WorkingDays | None = None
    status: ActionStatus = ActionStatus.open


class ActionItemUpdate(SQLModel):
    """PATCH an action item: only the fields sent change (null clears an owner or the due
    date, and leaves the others as they are); a change of status is written to its
    history with `note`. `version` names the version the editor started from: a stale
    one is refused (409)."""

    text: Text | None = Field(default=None, min_length=1, max_length=5000)
    owner: Line | None = Field(default=None, max_length=200)
    owner_site_id: Id | None = None
    owner_cluster_id: Id | None = None
    due_date: date | None = None
    due_working_days: WorkingDays | None = None
    status: ActionStatus | None = None
    note: Line = Field(default="", max_length=1000)
    version: Count | None = None


class ActionItemPublic(ActionItemIn):
    id: int
    owner_site_name: str | None = None
    owner_cluster_name: str | None = None
    version: int
    #: Past its due date and not done (in the session's zone); never stored.
    overdue: bool = False
    done_at: datetime | None = None
    #: The last day its owner was mailed for it being overdue.
    chased_on: date | None = None
    #: In the answer to adding it: the due date asked for, when that was a weekend or
    #: public holiday and `due_date` is the working day it moved to (not stored).
    due_date_moved_from: date | None = None


class ActionChangePublic(SQLModel):
    id: int
    status: ActionStatus
    at: datetime
    by: str
    note: str


class MinutesVersion(SQLModel):
    number: int
    status: str
    approved_at: datetime | None
    approved_by: str
    notice_sent_at: datetime | None
