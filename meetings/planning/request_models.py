"""Tables and schemas of the reports a session asks its sites for (issue #16): the
request, and each site's file (the bytes live under var/, like a session document)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from meetings.core.store import UTCDateTime, utcnow
from meetings.core.types import Line, Moment


class ReportRequest(SQLModel, table=True):
    """A report every invited site of a session is asked to send by `due_at`."""

    __tablename__ = "report_request"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    title: str = Field(max_length=200)
    due_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(default="", max_length=64)
    #: Chase the sites still missing on the first working day after the deadline.
    auto_chase: bool = Field(default=False)
    #: Remind the sites not yet sent this many working days before the deadline (0: no).
    remind_days_before: int = Field(default=0)
    #: How many chases so far (one click or the schedule); each site chased keeps its round.
    chases: int = Field(default=0)
    last_chased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The scheduled chases done (the marks that make each one happen once).
    auto_chased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReportChase(SQLModel, table=True):
    """A site reminded of a request it had not answered: one row per site and chase."""

    __tablename__ = "report_chase"
    __table_args__ = (Index("ix_report_chase_request_round", "request_id", "round"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("report_request.id", ondelete="CASCADE"), nullable=False
        )
    )
    site_id: int = Field(
        sa_column=Column(Integer, ForeignKey("site.id", ondelete="CASCADE"), nullable=False)
    )
    #: The request's `chases` when this site was chased.
    round: int
    chased_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Who clicked ("" for the scheduler).
    by: str = Field(default="", max_length=64)


class SiteReport(SQLModel, table=True):
    """One site's answer to a request: its latest upload (a new one replaces it)."""

    __tablename__ = "site_report"
    __table_args__ = (UniqueConstraint("request_id", "site_id", name="uq_site_report_site"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("report_request.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    site_id: int = Field(
        sa_column=Column(Integer, ForeignKey("site.id", ondelete="CASCADE"), nullable=False)
    )
    filename: str = Field(max_length=255)
    stored_name: str = Field(max_length=100, unique=True)
    content_type: str = Field(max_length=100)
    size: int
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReportRequestCreate(SQLModel):
    title: Line = Field(min_length=1, max_length=200)
    #: Default: the session's documents deadline (3 working days before, Decision 45).
    due_at: Moment | None = None
    #: Chase the sites still missing on the first working day after the deadline.
    auto_chase: bool = False
    #: Remind the sites not yet sent this many working days before the deadline (0: no).
    remind_days_before: int = Field(default=0, ge=0, le=10)


class ReportRequestPublic(SQLModel):
    id: int
    meeting_id: int
    title: str
    due_at: datetime
    created_at: datetime
    created_by: str
    auto_chase: bool
    remind_days_before: int
    chases: int
    last_chased_at: datetime | None


class ChasePublic(SQLModel):
    """What one chase did: how many sites were reminded, and when."""

    chased: int
    at: datetime
    chases: int


class SiteReportPublic(SQLModel):
    """A site of the session and where its report stands."""

    site_id: int
    site_code: str
    site_name: str
    #: sent (in time), late or missing.
    state: str
    filename: str | None = None
    size: int | None = None
    uploaded_at: datetime | None = None
    #: When the site was last reminded of this request.
    last_chased_at: datetime | None = None


class RequestCounts(SQLModel):
    sent: int
    late: int
    missing: int


class RequestSitesPublic(SQLModel):
    """The organiser's follow-up of one request: the counts, and a page of the sites."""

    counts: RequestCounts
    items: list[SiteReportPublic]
    total: int
