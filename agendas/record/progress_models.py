"""Tables and schemas of an action item's progress: the reports its owning site sends
through its page, and the office's decision on each.

An item's status history is its own table (agendas.record.models.ActionChange, written by
agendas.record.changes): an accepted report that moves the item on (in progress, done)
writes a line there naming the report, beside the secretary's edits and the scheduler's
reminders. `overdue` is never stored: it is derived from the due date and the
session's zone (agendas.record.progress.is_overdue).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from agendas.record.models import MAX_TEXT, ActionStatus
from meetings.core.store import UTCDateTime, utcnow
from meetings.core.types import Text


class ReportStatus(StrEnum):
    submitted = "submitted"
    accepted = "accepted"
    returned = "returned"


class ActionReport(SQLModel, table=True):
    """What the owning site says it has done on an action item, with an optional file."""

    id: int | None = Field(default=None, primary_key=True)
    action_item_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("actionitem.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    site_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("site.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    text: str = Field(sa_type=SAText)
    #: The site says the item is done (accepting the report then marks it done).
    done: bool = False
    #: The attached file, checked like a session document ("" when none).
    filename: str = Field(default="", max_length=255)
    stored_name: str = Field(default="", max_length=255)
    content_type: str = Field(default="", max_length=120)
    size: int = 0
    status: ReportStatus = Field(default=ReportStatus.submitted, sa_type=String(16))
    #: The office's comment when accepting or returning it.
    comment: str = Field(default="", sa_type=SAText)
    decided_by: str = Field(default="", max_length=200)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- API schemas -----------------------------------------------------------------------


class ActionReportIn(SQLModel):
    """A site's report (JSON, or the page's multipart form with an optional `file`)."""

    text: Text = Field(min_length=1, max_length=MAX_TEXT)
    done: bool = False


class ReportDecisionIn(SQLModel):
    comment: Text = Field(default="", max_length=MAX_TEXT)


class ActionReportPublic(SQLModel):
    id: int
    action_item_id: int
    site_id: int
    site_name: str | None = None
    text: str
    done: bool
    filename: str
    content_type: str
    size: int
    status: ReportStatus
    comment: str
    decided_by: str
    decided_at: datetime | None
    created_at: datetime


class SiteActionPublic(SQLModel):
    """An open action item of the site, as its page and API show it."""

    id: int
    meeting_id: int
    meeting_title: str
    #: The session's zone: the due date and overdue are read in it.
    timezone: str
    text: str
    due_date: date | None
    status: ActionStatus
    overdue: bool
    reports: list[ActionReportPublic] = Field(default_factory=list)
