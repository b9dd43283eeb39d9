"""Working days in Vietnam, for the notice periods of Decision 45/2018/QĐ-TTg.

Invitations and documents go out at least 3 working days before a meeting (urgent ones
excepted); the notice of conclusions follows within 5 working days. Working days are
those of the `holidays` package's Vietnam calendar: weekends and public holidays (Tết,
Hùng Kings, 30/4, 1/5, 2/9 and the days beside them) are off, and the make-up Saturdays
and substituted days off it knows are honoured. One-off swaps decided after the package
was released are not known until the package is upgraded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

NOTICE_WORKING_DAYS = 3
CONCLUSIONS_WORKING_DAYS = 5


@cache
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year)


def is_working_day(day: date) -> bool:
    return bool(_calendar(day.year).is_working_day(day))


def working_days_before(day: date, count: int) -> date:
    """The date `count` working days before `day` (counting back from the day before)."""
    current = day
    remaining = count
    while remaining:
        current -= timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_after(day: date, count: int) -> date:
    """The `count`-th working day after `day`."""
    current = day
    remaining = count
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


@dataclass(frozen=True)
class Deadline:
    """A notice-period deadline: the last day, and whether it is missed or waived."""

    kind: str
    due_on: date
    due_at: datetime
    is_missed: bool
    is_exempt: bool
    #: Done in time (e.g. documents uploaded before the deadline).
    is_met: bool = False

    def met_by(self, done_at: datetime | None) -> Deadline:
        """This deadline judged by when the thing was done (None: not done yet)."""
        if done_at is None or done_at > self.due_at:
            return self
        return replace(self, is_met=True, is_missed=False)


def _end_of_day(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(zone)).astimezone(
        ZoneInfo("UTC")
    )


def planning_deadlines(
    *,
    starts_at: datetime,
    timezone: str,
    now: datetime,
    is_urgent: bool,
    lead_days: int = NOTICE_WORKING_DAYS,
) -> list[Deadline]:
    """When invitations and documents must be out: `lead_days` working days before the
    meeting's local date, by the end of that day in the meeting's time zone."""
    meeting_day = starts_at.astimezone(ZoneInfo(timezone)).date()
    due_on = working_days_before(meeting_day, lead_days)
    due_at = _end_of_day(due_on, timezone)
    return [
        Deadline(
            kind, due_on, due_at, is_missed=not is_urgent and now > due_at, is_exempt=is_urgent
        )
        for kind in ("invitations", "documents")
    ]


def conclusions_deadline(
    *,
    ends_at: datetime,
    timezone: str,
    now: datetime | None = None,
    days: int = CONCLUSIONS_WORKING_DAYS,
) -> Deadline:
    """When the notice of conclusions is due: `days` working days after the meeting."""
    due_on = working_days_after(ends_at.astimezone(ZoneInfo(timezone)).date(), days)
    due_at = _end_of_day(due_on, timezone)
    return Deadline(
        "conclusions",
        due_on,
        due_at,
        is_missed=now is not None and now > due_at,
        is_exempt=False,
    )
