"""Notice periods in Vietnamese working days, as printed on the session page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from meetings.planning.workdays import (
    conclusions_deadline,
    day_off_name,
    days_off_between,
    is_working_day,
    on_working_day,
    planning_deadlines,
    working_days_before,
    working_due_date,
)

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def test_the_reference_briefing_skips_the_hung_kings_holiday():
    # Friday 19/4/2024; Thursday 18/4 is Giỗ Tổ Hùng Vương: Wed, Tue, Mon → Monday 15/4.
    assert working_days_before(date(2024, 4, 19), 3) == date(2024, 4, 15)


def test_weekends_are_skipped():
    assert working_days_before(date(2024, 6, 4), 3) == date(2024, 5, 30)  # Tue → last Thu


def test_the_tet_break_is_skipped_whole():
    # Tết 2024: 8–14 February off. A meeting on Monday 19/2 counts back to Wed 7/2.
    assert not is_working_day(date(2024, 2, 12))
    assert working_days_before(date(2024, 2, 19), 3) == date(2024, 2, 7)


def test_national_day_and_the_day_beside_it():
    assert not is_working_day(date(2024, 9, 2)) and not is_working_day(date(2024, 9, 3))
    assert working_days_before(date(2024, 9, 5), 3) == date(2024, 8, 29)


def test_a_make_up_saturday_counts_and_a_year_boundary_is_crossed():
    assert is_working_day(date(2024, 5, 4))  # worked to make 29/4/2024 a day off
    assert working_days_before(date(2025, 1, 3), 3) == date(2024, 12, 30)


def test_deadline_missed_exempt_and_local_dates():
    start = datetime(2024, 4, 19, 8, 0, tzinfo=HANOI)
    in_time = datetime(2024, 4, 15, 23, 59, tzinfo=HANOI)
    late = datetime(2024, 4, 16, 0, 1, tzinfo=HANOI)
    (invitations, documents) = planning_deadlines(
        starts_at=start, timezone="Asia/Ho_Chi_Minh", now=in_time, is_urgent=False
    )
    assert (invitations.kind, invitations.due_on, invitations.is_missed) == (
        "invitations",
        date(2024, 4, 15),
        False,
    )
    assert documents.kind == "documents"
    missed = planning_deadlines(
        starts_at=start, timezone="Asia/Ho_Chi_Minh", now=late, is_urgent=False
    )
    assert all(d.is_missed for d in missed)
    urgent = planning_deadlines(
        starts_at=start, timezone="Asia/Ho_Chi_Minh", now=late, is_urgent=True
    )
    assert all(d.is_exempt and not d.is_missed for d in urgent)
    # 01:00 on Monday 22/4 in Hà Nội is still Sunday in UTC: the local Monday counts.
    early = datetime(2024, 4, 21, 18, 0, tzinfo=UTC)
    (first, _) = planning_deadlines(
        starts_at=early, timezone="Asia/Ho_Chi_Minh", now=early, is_urgent=False
    )
    assert first.due_on == date(2024, 4, 16)


def test_notice_of_conclusions_five_working_days_after():
    ends = datetime(2024, 4, 26, 11, 30, tzinfo=HANOI)  # before 30/4 and 1/5
    assert conclusions_deadline(ends_at=ends, timezone="Asia/Ho_Chi_Minh").due_on == date(
        2024, 5, 7
    )


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2027, 2030])
def test_the_days_off_are_the_holidays_packages_vietnam_calendar(year: int):
    """Every public holiday of the `holidays` package's Vietnam list is a day off, named
    as the calendar names it; weekdays outside it are working days."""
    calendar = holidays.country_holidays("VN", years=year, language="vi")
    assert calendar  # the package knows the year
    for day, name in calendar.items():
        assert not is_working_day(day)
        assert day_off_name(day) == name
    day = date(year, 1, 1)
    while day.year == year:
        if day.weekday() < 5 and day not in calendar:
            assert is_working_day(day) and day_off_name(day) is None
        day += timedelta(days=1)


def test_days_off_are_named_in_the_readers_language():
    assert day_off_name(date(2027, 1, 1)) == "Tết Dương lịch"
    assert day_off_name(date(2027, 1, 1), "en") == "New Year's Day"
    assert day_off_name(date(2026, 1, 3)) == "Thứ Bảy"
    assert day_off_name(date(2026, 1, 4), "en") == "Sunday"
    assert day_off_name(date(2026, 1, 2)) is None  # a Friday that is worked


def test_a_session_over_new_year_is_on_a_day_off():
    start = datetime(2027, 1, 1, 8, 0, tzinfo=HANOI)
    assert days_off_between(start, start + timedelta(hours=3), "Asia/Ho_Chi_Minh") == [
        date(2027, 1, 1)
    ]
    friday = datetime(2027, 1, 8, 8, 0, tzinfo=HANOI)
    assert days_off_between(friday, friday + timedelta(hours=3), "Asia/Ho_Chi_Minh") == []


MONDAY = datetime(2026, 1, 5, 8, 0, tzinfo=HANOI)


def moved(due: datetime, rule: str, start: datetime = MONDAY) -> datetime:
    return on_working_day(due, session_start=start, timezone="Asia/Ho_Chi_Minh", rule=rule)


def test_a_reminder_due_on_saturday_goes_out_on_friday_at_the_same_time():
    saturday = MONDAY - timedelta(days=2)
    assert moved(saturday, "previous") == datetime(2026, 1, 2, 8, 0, tzinfo=HANOI)
    assert moved(MONDAY - timedelta(days=1), "previous") == datetime(2026, 1, 2, 8, 0, tzinfo=HANOI)
    assert moved(saturday, "keep") == saturday
    # "next" would be Monday 08:00, the start itself: the message keeps its time.
    assert moved(saturday, "next") == saturday
    tuesday = MONDAY + timedelta(days=1)
    assert moved(tuesday - timedelta(days=3), "next", tuesday) == datetime(
        2026, 1, 5, 8, 0, tzinfo=HANOI
    )


def test_a_holiday_is_skipped_like_a_weekend_and_working_days_stay():
    # Friday 2/1/2026 08:00 minus 1 day: Thursday 1/1, Tết Dương lịch → Wednesday 31/12.
    friday = datetime(2026, 1, 2, 8, 0, tzinfo=HANOI)
    assert moved(friday - timedelta(days=1), "previous", friday) == datetime(
        2025, 12, 31, 8, 0, tzinfo=HANOI
    )
    assert moved(friday - timedelta(days=3), "previous", friday) == friday - timedelta(days=3)


def test_a_weekend_session_keeps_its_reminders_on_that_weekend():
    sunday = datetime(2026, 1, 4, 8, 0, tzinfo=HANOI)
    assert moved(sunday - timedelta(hours=1), "previous", sunday) == sunday - timedelta(hours=1)
    assert moved(sunday - timedelta(days=1), "previous", sunday) == sunday - timedelta(days=1)
    # Three days before is Thursday 1/1, Tết Dương lịch: Friday 2/1 is worked between it
    # and the session, so it moves to Wednesday 31/12.
    assert moved(sunday - timedelta(days=3), "previous", sunday) == datetime(
        2025, 12, 31, 8, 0, tzinfo=HANOI
    )


def test_a_due_date_on_a_day_off_moves_to_the_working_day_before():
    session_day = date(2024, 4, 19)
    assert working_due_date(date(2024, 6, 30), not_before=session_day) == date(2024, 6, 28)
    assert working_due_date(date(2024, 6, 28), not_before=session_day) == date(2024, 6, 28)
    assert working_due_date(date(2024, 4, 20), not_before=session_day) == session_day
    # Sunday after a Saturday session: Friday would precede the session, so Monday.
    saturday = date(2024, 4, 20)
    assert working_due_date(date(2024, 4, 21), not_before=saturday) == date(2024, 4, 22)
