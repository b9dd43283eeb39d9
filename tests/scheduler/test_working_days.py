"""Messages of the scheduler go out on working days: a reminder due on a weekend or a
public holiday moves by `[scheduler] non_working_day`, and the timeline says so."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from meetings.accounts.models import Role
from meetings.core.config import ConfigError
from meetings.planning import lifecycle as planning
from meetings.planning.models import Meeting, MeetingCreate, MeetingStatus
from meetings.planning.workdays import is_working_day
from scheduler.plan import MESSAGES, Action, plan
from tests.conftest import make_settings
from tests.factories import login, make_site, make_user

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
#: Monday 22/4/2030 08:00: one day before is a Sunday, three days before a Friday.
MONDAY = datetime(2030, 4, 22, 8, 0, tzinfo=HANOI)


def scheduled(start: datetime) -> Meeting:
    return Meeting(
        id=7,
        title="Giao ban",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        timezone="Asia/Ho_Chi_Minh",
        status=MeetingStatus.scheduled,
    )


def messages(meeting: Meeting, tmp_path: Path, sqlite_url: str, rule: str) -> list[Any]:
    settings = make_settings(tmp_path, sqlite_url, scheduler={"non_working_day": rule})
    return [d for d in plan(meeting, settings.scheduler) if d.action in MESSAGES]


def local(due: Any) -> datetime:
    return due.at.astimezone(HANOI)


def test_the_day_before_reminder_of_a_monday_session_goes_out_on_friday(
    tmp_path: Path, sqlite_url: str
):
    found = messages(scheduled(MONDAY), tmp_path, sqlite_url, "previous")
    day_before = next(d for d in found if d.action == Action.reminder and d.lead.days == 1)
    assert local(day_before) == datetime(2030, 4, 19, 8, 0, tzinfo=HANOI)  # Friday, 08:00
    assert day_before.moved_from == MONDAY - timedelta(days=1)
    assert all(is_working_day(local(d).date()) for d in found)
    # The hour-before reminder and the rehearsal are on the session's day: unchanged.
    assert {local(d) for d in found if d.moved_from is None} >= {
        MONDAY - timedelta(hours=1),
        MONDAY - timedelta(minutes=30),
    }


def test_two_reminders_moved_onto_the_same_friday_are_sent_once(tmp_path: Path, sqlite_url: str):
    settings = make_settings(tmp_path, sqlite_url, scheduler={"reminders": "2d, 1d, 1h"})
    found = [d for d in plan(scheduled(MONDAY), settings.scheduler) if d.action == Action.reminder]
    assert [local(d) for d in found] == [
        datetime(2030, 4, 19, 8, 0, tzinfo=HANOI),
        MONDAY - timedelta(hours=1),
    ]


def test_the_rule_may_keep_the_day_off_or_take_the_next_working_day(
    tmp_path: Path, sqlite_url: str
):
    # Thursday 2/5/2030 08:00: the chaser, 3 days before, falls on Labour Day (1/5 is a
    # Wednesday; 30/4 before it is Reunification Day).
    thursday = datetime(2030, 5, 2, 8, 0, tzinfo=HANOI)
    chaser = {
        rule: next(
            d
            for d in messages(scheduled(thursday + timedelta(days=1)), tmp_path, sqlite_url, rule)
            if d.action == Action.rsvp_chaser
        )
        for rule in ("previous", "next", "keep")
    }
    friday = thursday + timedelta(days=1)
    assert local(chaser["keep"]) == friday - timedelta(days=3)  # Tuesday 30/4, as configured
    assert local(chaser["previous"]) == datetime(2030, 4, 29, 8, 0, tzinfo=HANOI)
    assert local(chaser["next"]) == thursday


def test_a_wrong_rule_stops_start_up_naming_the_key(tmp_path: Path, sqlite_url: str):
    with pytest.raises(ConfigError, match=r"\[scheduler\] non_working_day"):
        make_settings(tmp_path, sqlite_url, scheduler={"non_working_day": "earlier"})


async def test_the_timeline_shows_a_reminder_moved_off_a_holiday(client: Any, session_factory: Any):
    # Thursday 2/5/2030: the day-before reminder would be Labour Day, after 30/4.
    start = datetime(2030, 5, 2, 8, 0, tzinfo=HANOI)
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        site = await make_site(session)
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Giao ban đầu năm",
                starts_at=start,
                ends_at=start + timedelta(hours=3),
                site_ids=[site.id],
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
        await planning.change_status(session, meeting.id, MeetingStatus.scheduled)
    await login(client, "org")
    page = await (await client.get(f"/sessions/{meeting.id}")).text()
    timeline = page[page.index('data-testid="timeline"') :]
    assert "08:00 Thứ Hai, 29/04/2030" in timeline
    assert "dời từ Thứ Tư, 01/05/2030, ngày nghỉ (Ngày Quốc tế Lao động)" in timeline
