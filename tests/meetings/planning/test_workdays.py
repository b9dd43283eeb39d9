"""Notice periods in Vietnamese working days, as printed on the session page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from meetings.planning.workdays import (
    conclusions_deadline,
    is_working_day,
    planning_deadlines,
    working_days_before,
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
