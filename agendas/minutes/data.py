"""Everything the minutes show, as one plain structure.

Built from the record and the attendance by `agendas.minutes.minutes` (the database side);
worded once by `agendas.minutes.view` and rendered by each format's module (html, docx, pdf,
markdown; Vietnamese or English) without touching the database; stored as JSON when the
chair approves a version, so an approved version renders the same forever.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class MinutesOrganisation(BaseModel):
    name: str
    governing_body: str = ""
    short_name: str = ""
    document_code: str = ""
    city: str = ""
    hall: str = ""


class MinutesMeeting(BaseModel):
    id: int
    title: str
    kind: str
    #: Aware times; render them in `timezone`.
    starts_at: datetime
    ends_at: datetime
    timezone: str
    location: str
    #: The people (full names) and their positions.
    chair: str = ""
    chair_title: str = ""
    secretary: str = ""
    secretary_title: str = ""
    video_url: str = ""


class MinutesSite(BaseModel):
    code: str
    name: str
    cluster: str | None = None
    #: An AttendanceStatus value, or None when never seen.
    status: str | None = None
    present: bool = False
    delegates: int | None = None
    joined_at: datetime | None = None
    left_at: datetime | None = None
    officials: list[str] = []
    #: Why it is on the absent list (meetings.attendance.report.Absence), None if present.
    absence: str | None = None
    #: The reason given: the note of its latest "absent" mark, else its RSVP's comment.
    absence_reason: str = ""


class MinutesCluster(BaseModel):
    name: str | None
    invited: int
    connected: int
    delegates: int


class MinutesAttendance(BaseModel):
    """The same numbers as the attendance report (meetings.attendance.report)."""

    invited: int
    connected: int
    delegates_present: int
    clusters: list[MinutesCluster] = []
    #: Every invited site, in register order (the attached list).
    sites: list[MinutesSite] = []
    #: Invited sites not connected at the end, by name.
    absent: list[MinutesSite] = []


class MinutesAgendaItem(BaseModel):
    position: int
    title: str
    presenter: str = ""
    presenter_title: str = ""
    kind: str = "other"
    planned_start: datetime | None = None
    notes: str = ""


class MinutesFocusItem(BaseModel):
    number: int
    title: str
    status: str
    summary: str = ""


class MinutesRecommendation(BaseModel):
    site_name: str | None
    topic: str = ""
    text: str
    status: str
    answer: str = ""
    answered_by: str = ""
    #: The session it was raised in (for those carried from earlier sessions).
    raised_in: str = ""


class MinutesContribution(BaseModel):
    #: None: the central hall.
    site_name: str | None
    speaker_name: str = ""
    speaker_title: str = ""
    kind: str
    text: str
    agenda_position: int | None = None
    focus_number: int | None = None
    #: The recommendation this contribution raised, told where it was said (so it is
    #: written once; versions approved before this field list it apart as well).
    recommendation: MinutesRecommendation | None = None


class MinutesAction(BaseModel):
    text: str
    owner: str = ""
    due_on: date | None = None
    status: str = "open"


class MinutesCarried(BaseModel):
    """An item carried from an earlier session of the series, as it stood when the minutes
    were made: an action item or a recommendation."""

    kind: str = "action"  # or "recommendation"
    text: str
    #: The owner of an action item, the site that raised a recommendation.
    owner: str = ""
    due_on: date | None = None
    #: A key of agendas.record.labels.CARRIED_STATE_LABELS (done, in_progress, open,
    #: overdue; answered, closed, still_open).
    state: str
    raised_in: str = ""
    #: The latest progress reported on an action item.
    progress: str = ""


class MinutesData(BaseModel):
    organisation: MinutesOrganisation
    meeting: MinutesMeeting
    #: The date printed in the header ("Hà Nội, ngày … tháng … năm …"): the session's day.
    issued_on: date
    #: 1, 2, … ; the draft is the next number after the last approved one.
    version: int
    status: str  # "draft" or "approved"
    approved_by: str = ""
    approved_at: datetime | None = None
    attendance: MinutesAttendance
    agenda: list[MinutesAgendaItem] = []
    focus_items: list[MinutesFocusItem] = []
    contributions: list[MinutesContribution] = []
    #: Raised in this session and not told with a contribution (its contribution deleted).
    recommendations: list[MinutesRecommendation] = []
    #: Still open from earlier sessions of the series.
    open_earlier: list[MinutesRecommendation] = []
    conclusions: str = ""
    general_notes: str = ""
    actions: list[MinutesAction] = []
    #: What this session carried from earlier ones and how each stood (empty in versions
    #: approved before the minutes reported it).
    carried: list[MinutesCarried] = []
    #: "Biên bản được lập thành 02 bản" (configured; 0 leaves the sentence out).
    copies: int = 0
