"""Tables and schemas of a session's programme: agenda items and focus items (trọng tâm)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from meetings.core.store import UTCDateTime
from meetings.core.types import Line, Moment, Text


class AgendaKind(StrEnum):
    opening = "opening"
    report = "report"
    discussion = "discussion"
    conclusion = "conclusion"
    other = "other"


class FocusStatus(StrEnum):
    new = "new"
    ongoing = "ongoing"
    done = "done"
    dropped = "dropped"


class AgendaItemIn(SQLModel):
    title: Line = Field(min_length=1, max_length=300)
    #: Who presents, and their position ("Phó Chủ tịch Liên hiệp").
    presenter: Line = Field(default="", max_length=200)
    presenter_title: Line = Field(default="", max_length=200)
    kind: AgendaKind = Field(default=AgendaKind.other, sa_type=String(16))
    #: A planned start (optional); otherwise the item follows the previous one.
    starts_at: Moment | None = None
    duration_minutes: int | None = Field(default=None, ge=0, le=24 * 60)


class AgendaItem(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    position: int
    title: str = Field(max_length=300)
    presenter: str = Field(default="", max_length=200)
    presenter_title: str = Field(default="", max_length=200)
    kind: AgendaKind = Field(default=AgendaKind.other, sa_type=String(16))
    starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_minutes: int | None = None


class AgendaItemPublic(AgendaItemIn):
    position: int
    #: Start and end as planned on the running timeline (previous item's end, or its own start).
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    overruns: bool = False


class FocusItemIn(SQLModel):
    number: int = Field(ge=1, le=999)
    title: Line = Field(min_length=1, max_length=500)
    detail: Text = Field(default="", max_length=20_000, sa_type=SAText)
    status: FocusStatus = Field(default=FocusStatus.new, sa_type=String(16))
    #: One-line outcome recorded during the session.
    summary: Line = Field(default="", max_length=500)


class FocusItem(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    number: int
    title: str = Field(max_length=500)
    detail: str = Field(default="", sa_type=SAText)
    status: FocusStatus = Field(default=FocusStatus.new, sa_type=String(16))
    summary: str = Field(default="", max_length=500)
    #: The same focus item in the previous session of the series: its history.
    carried_from_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("focusitem.id", ondelete="SET NULL"), nullable=True),
    )

    __table_args__ = (UniqueConstraint("meeting_id", "number", name="uq_focusitem_number"),)


class FocusHistoryEntry(SQLModel):
    meeting_id: int
    meeting_title: str
    starts_at: datetime
    status: FocusStatus
    summary: str


class FocusItemPublic(FocusItemIn):
    id: int
    carried_from_id: int | None = None
    history: list[FocusHistoryEntry] = []
