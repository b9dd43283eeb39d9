"""The demo's dates fall on working days whatever day it is loaded: its next session,
the reference session's action items, and the messages planned for the next session."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from agendas.record import record
from meetings.core import demo, demo_sessions
from meetings.core.settings import Settings
from meetings.planning.models import Meeting
from meetings.planning.workdays import day_off_name, is_working_day
from scheduler.plan import MESSAGES, plan

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def test_the_next_session_is_a_working_friday_four_to_ten_weeks_ahead_on_any_day():
    """Every day of eight years, Tết and the year ends included."""
    today = date(2024, 1, 1)
    while today.year < 2032:
        now = datetime.combine(today, datetime.min.time(), tzinfo=HANOI)
        start = demo_sessions.next_same_weekday(demo_sessions.REFERENCE_START, now)
        assert is_working_day(start.date()), (today, start, day_off_name(start.date()))
        assert (start.weekday(), start.hour) == (4, 8)
        assert timedelta(days=28) <= start - now < timedelta(days=70)
        today += timedelta(days=1)


@pytest.mark.parametrize(
    "today",
    [
        date(2026, 12, 2),  # the day: the next session fell on 1/1/2027
        date(2026, 12, 28),
        date(2027, 1, 8),  # four weeks on is the Tết break of 2027
        date(2029, 12, 31),
        date(2024, 4, 1),
    ],
)
async def test_the_demo_loaded_on_any_day_keeps_its_dates_on_working_days(
    today: date, session_factory: Any, settings: Settings
):
    now = datetime.combine(today, datetime.min.time(), tzinfo=HANOI).astimezone(UTC)
    async with session_factory() as session, session.begin():
        await demo.load_demo(session)
        await demo_sessions.load_reference_sessions(
            session, hall=settings.organisation.hall, now=now
        )
        reference = await session.scalar(
            select(Meeting).where(Meeting.uid == demo_sessions.REFERENCE_UID)
        )
        upcoming = await session.scalar(
            select(Meeting).where(Meeting.uid == demo_sessions.NEXT_UID)
        )
        assert reference is not None and upcoming is not None
        actions = await record.actions(session, reference.id or 0)
    starts = upcoming.starts_at.astimezone(HANOI)
    assert is_working_day(starts.date()), day_off_name(starts.date())
    assert starts.date() > today
    due_dates = [a.due_date for a in actions]
    assert len(due_dates) == 3 and all(d is not None and is_working_day(d) for d in due_dates)
    messages = [d for d in plan(upcoming, settings.scheduler) if d.action in MESSAGES]
    assert messages, "the next session plans its reminders"
    for due in messages:
        day = due.at.astimezone(HANOI).date()
        assert is_working_day(day), (due.action, day, day_off_name(day))
