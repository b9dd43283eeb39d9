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
from babel.dates import format_date

from meetings.planning.models import Meeting, MeetingStatus, Warning

NOTICE_WORKING_DAYS = 3
CONCLUSIONS_WORKING_DAYS = 5
#: The `holidays` package's language for each of ours.
_HOLIDAY_LANGUAGES = {"vi": "vi", "en": "en_US"}


@cache
def _calendar(year: int, language: str = "vi") -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year, language=language)


def is_working_day(day: date) -> bool:
    return bool(_calendar(day.year).is_working_day(day))


def day_off_name(day: date, locale: str = "vi") -> str | None:
    """Why `day` is not a working day, in `locale`: the holiday ("Tết Dương lịch"), or the
    weekday ("Thứ Bảy") for a weekend; None for a working day."""
    if is_working_day(day):
        return None
    holiday = _calendar(day.year, _HOLIDAY_LANGUAGES.get(locale, "en_US")).get(day)
    return str(holiday) if holiday else format_date(day, "EEEE", locale=locale)


def day_off_label(value: date | datetime, locale: str, tz: str | None = None) -> str:
    """The template filter `day_off`: `day_off_name` of a date, or of a moment's local
    date in `tz`; "" for a working day."""
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(tz)).date() if tz else value.date()
    return day_off_name(value, locale) or ""


def previous_working_day(day: date) -> date:
    """`day` itself when it is a working day, else the last working day before it."""
    return day if is_working_day(day) else working_days_before(day, 1)


def next_working_day(day: date) -> date:
    """`day` itself when it is a working day, else the first working day after it."""
    return day if is_working_day(day) else working_days_after(day, 1)


def working_due_date(day: date, *, not_before: date) -> date:
    """A due date on a working day: a day off moves to the working day before it (the
    task is then done in time), or after it when that would be before `not_before`."""
    earlier = previous_working_day(day)
    return earlier if earlier >= not_before else next_working_day(day)


def days_off_between(start: datetime, end: datetime, timezone: str) -> list[date]:
    """The local days from `start` to `end` (a session's) that are not working days."""
    zone = ZoneInfo(timezone)
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in days if not is_working_day(day)]


def day_off_warnings(meeting: Meeting) -> list[Warning]:
    """A session being planned on a weekend or public holiday: warned, not refused (some
    sessions are meant for that day). The message names the day off in English; pages
    name it in their language (`day_off` filter)."""
    if meeting.status not in (MeetingStatus.draft, MeetingStatus.scheduled):
        return []
    return [
        Warning(
            code="non_working_day",
            day=day,
            message=f"{day:%d/%m/%Y} is not a working day in Vietnam: {day_off_name(day, 'en')}",
        )
        for day in days_off_between(meeting.starts_at, meeting.ends_at, meeting.timezone)
    ]


def on_working_day(due: datetime, *, session_start: datetime, timezone: str, rule: str) -> datetime:
    """A message due at `due` for a session starting at `session_start`, moved by `rule`
    off a day off to the same local time on the working day before (or after) it.

    Kept as it is: a working day; the rule "keep"; a day off in the same run of days off
    as the session itself (those who attend a weekend session work that weekend); and a
    move that would reach the start ("next" the day before a holiday session)."""
    zone = ZoneInfo(timezone)
    local = due.astimezone(zone)
    session_day = session_start.astimezone(zone).date()
    if rule == "keep" or is_working_day(local.date()):
        return due
    if next_working_day(local.date()) > session_day:
        return due
    moved_day = (
        previous_working_day(local.date()) if rule == "previous" else next_working_day(local.date())
    )
    moved = datetime.combine(moved_day, local.timetz()).astimezone(due.tzinfo)
    return due if moved >= session_start else moved


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


def working_days_between(start: date, end: date) -> int:
    """How many working days after `start` `end` is (`end` counted, `start` not): the
    inverse of `working_days_after` for a working day `end`; 0 when `end` <= `start`."""
    days = (start + timedelta(days=n) for n in range(1, (end - start).days + 1))
    return sum(1 for day in days if is_working_day(day))


def working_day_at(now: datetime, zone: str, *, from_hour: int = 0) -> date | None:
    """The local date of `now` in `zone` when it is a working day and `from_hour` has
    passed there (the office's day has begun), else None: when chasers may mail."""
    local = now.astimezone(ZoneInfo(zone))
    if local.hour < from_hour or not is_working_day(local.date()):
        return None
    return local.date()


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
