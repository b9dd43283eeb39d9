"""One attendance change and its rules: what it does to a site's state, which are possible.

Pure functions of a participation row and a change, so a writer that lost a race can
re-read the row and apply the same change again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from meetings.attendance.models import (
    CONNECTED,
    AttendanceStatus,
    Author,
    EventKind,
    RehearsalStatus,
)
from meetings.core.errors import FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.core.settings import AttendanceSettings
from meetings.core.store import utcnow
from meetings.planning import golive
from meetings.planning.models import Meeting, MeetingStatus


class Derived(Protocol):
    """What a change reads of a site's state: a participation row, or its copy in memory."""

    attendance_status: str | None
    joined_at: datetime | None
    delegates_present: int | None
    officials_present: list[str] | None
    rehearsal_status: str | None
    rehearsal_note: str


@dataclass(frozen=True)
class Change:
    """One event to apply to one site."""

    kind: EventKind
    status: str
    at: datetime
    author_kind: Author
    author: str
    delegates_present: int | None = None
    officials_present: list[str] | None = None
    note: str = ""


def apply(row: Derived, change: Change) -> dict[str, object]:
    """The participation columns after `change` (pure, so a retry re-applies it)."""
    values: dict[str, object] = {"attendance_changed_at": change.at}
    if change.kind == EventKind.rehearsal:
        values["rehearsal_status"] = change.status
        values["rehearsal_note"] = change.note
        return values
    status = AttendanceStatus(change.status)
    values["attendance_status"] = status
    if status in CONNECTED:
        values["joined_at"] = row.joined_at or change.at
        values["left_at"] = None
    elif status == AttendanceStatus.left:
        values["left_at"] = change.at
    if change.delegates_present is not None:
        values["delegates_present"] = change.delegates_present
    elif status in (AttendanceStatus.absent,):
        values["delegates_present"] = 0
    if change.officials_present is not None:
        values["officials_present"] = change.officials_present
    return values


def is_repeat(row: Derived, change: Change) -> bool:
    """A check-in that changes nothing (the site pressed the button twice)."""
    if change.kind == EventKind.rehearsal:
        return row.rehearsal_status == change.status and row.rehearsal_note == change.note
    return (
        row.attendance_status == change.status
        and (change.delegates_present is None or row.delegates_present == change.delegates_present)
        and (
            change.officials_present is None
            or list(row.officials_present or []) == change.officials_present
        )
        and not change.note
    )


def check_values(meeting: Meeting, change: Change, config: AttendanceSettings) -> None:
    problems = []
    if (
        change.delegates_present is not None
        and change.delegates_present > config.max_delegates_per_site
    ):
        problems.append(
            FieldProblem(
                "delegates_present",
                N_("More delegates than one bridge point can hold"),
            )
        )
    if meeting.status == MeetingStatus.cancelled:
        problems.append(FieldProblem("status", N_("The session was cancelled")))
    else:
        problems.extend(_timing(meeting, change, config))
    if problems:
        raise Invalid("impossible attendance", problems)


#: Why a change comes at the wrong moment of the session's life (shown on the board).
NOT_LIVE_YET = N_("The session is not live yet: attendance is recorded from its day on")
LONG_OVER = N_("The session ended too long ago to change its attendance")
REHEARSAL_OVER = N_("The rehearsal is over: the session has ended")


def _timing(meeting: Meeting, change: Change, config: AttendanceSettings) -> list[FieldProblem]:
    """The session's status decides first: a live session takes every mark whatever the
    clock says (it may have started early, or run late); the rehearsal is open until the
    end. Otherwise the mark falls on the session's day (when it could go live) and within
    the window around the planned times."""
    status = MeetingStatus(meeting.status)
    if change.kind == EventKind.rehearsal:
        if status == MeetingStatus.ended:
            return [FieldProblem("status", REHEARSAL_OVER)]
        return []
    if status == MeetingStatus.live:
        return []
    window = timedelta(hours=config.window_hours)
    if change.at < max(meeting.starts_at - window, golive.live_opens_at(meeting)):
        return [FieldProblem("at", NOT_LIVE_YET)]
    if change.at > meeting.ends_at + window:
        return [FieldProblem("at", LONG_OVER)]
    return []


def check_in_change(
    meeting: Meeting,
    *,
    delegates: int,
    officials: list[str] | None,
    site_code: str,
    now: datetime,
    config: AttendanceSettings,
) -> Change:
    """A site's own check-in: connected, or late well after the start."""
    late = now > meeting.starts_at + timedelta(minutes=config.late_after_minutes)
    return Change(
        kind=EventKind.attendance,
        status=AttendanceStatus.late if late else AttendanceStatus.connected,
        at=now,
        author_kind=Author.site,
        author=site_code,
        delegates_present=delegates,
        officials_present=officials,
    )


def rehearsal_change(status: RehearsalStatus, note: str, *, author: str) -> Change:
    return Change(
        kind=EventKind.rehearsal,
        status=status,
        at=utcnow(),
        author_kind=Author.operator,
        author=author,
        note=note,
    )
