"""When the board takes marks: the session's status decides (a live session takes every
mark whatever the clock says), and an absent site's reason is kept with its mark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.attendance import tracking as attendance
from meetings.attendance.models import AttendanceStatus, Author, EventKind, RehearsalStatus
from meetings.core.errors import Invalid
from meetings.core.settings import AttendanceSettings, DatabaseSettings
from meetings.core.store import SessionMaker, create_engine, session_maker, utcnow
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingStatus
from tests.factories import login, make_scheduled_meeting, make_site, make_user

CONFIG = AttendanceSettings(max_delegates_per_site=500, late_after_minutes=15, window_hours=24)


@pytest.fixture
async def maker(database_url: str) -> AsyncIterator[SessionMaker]:
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    yield session_maker(engine)
    await engine.dispose()


async def in_three_days(maker: Any, *, live: bool) -> tuple[int, int]:
    """A session three days away (far outside the clock's window), started early or not."""
    async with maker() as session, session.begin():
        site = await make_site(session)
        meeting_id = await make_scheduled_meeting(
            session, starts_at=utcnow() + timedelta(days=3), site_ids=[site.id]
        )
        if live:
            await planning.change_status(
                session, meeting_id, MeetingStatus.live, by="op", reason="họp sớm"
            )
    return meeting_id, site.id


def mark(status: AttendanceStatus, note: str = "") -> attendance.Change:
    return attendance.Change(
        kind=EventKind.attendance,
        status=status,
        at=utcnow(),
        author_kind=Author.operator,
        author="op",
        note=note,
    )


async def test_a_live_session_takes_marks_whatever_the_clock_says(maker: SessionMaker):
    meeting_id, site = await in_three_days(maker, live=True)
    async with maker() as session, session.begin():
        state = await attendance.record(
            session, meeting_id, site, mark(AttendanceStatus.connected), CONFIG
        )
        totals = await attendance.summary(session, meeting_id)
    assert state.attendance_status == "connected"
    assert totals.connected == 1


async def test_before_it_is_live_a_mark_is_refused_as_not_live_yet(maker: SessionMaker):
    meeting_id, site = await in_three_days(maker, live=False)
    with pytest.raises(Invalid) as refused:
        async with maker() as session, session.begin():
            await attendance.record(
                session, meeting_id, site, mark(AttendanceStatus.connected), CONFIG
            )
    (problem,) = refused.value.problems
    assert problem.message.startswith("The session is not live yet")
    # The rehearsal, though, is open before the day: it is what the days before are for.
    async with maker() as session, session.begin():
        rehearsed = await attendance.record(
            session,
            meeting_id,
            site,
            attendance.rehearsal_change(RehearsalStatus.ok, "", author="op"),
            CONFIG,
        )
    assert rehearsed.rehearsal_status == "ok"


async def test_the_board_refusal_reaches_the_page_in_vietnamese(
    client: TestClient, session_factory: Any
):
    meeting_id, site = await in_three_days(session_factory, live=False)
    async with session_factory() as session, session.begin():
        await make_user(session, username="vanphong", role=Role.organiser)
    csrf = await login(client, "vanphong")
    refused = await client.post(
        f"/api/v1/meetings/{meeting_id}/attendance",
        json={"site_id": site, "status": "connected"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status == 422
    (detail,) = (await refused.json())["error"]["details"]
    assert detail["message"].startswith("Phiên họp chưa bắt đầu trực tuyến")


async def test_an_absent_mark_keeps_its_reason(client: TestClient, session_factory: Any):
    meeting_id, site = await in_three_days(session_factory, live=True)
    async with session_factory() as session, session.begin():
        await make_user(session, username="vanphong", role=Role.organiser)
    csrf = await login(client, "vanphong")
    url = f"/api/v1/meetings/{meeting_id}/attendance"
    headers = {"X-CSRF-Token": csrf}
    first = {"site_id": site, "status": "absent"}
    assert (await client.post(url, json=first, headers=headers)).status == 200
    # Marked absent by a key first, then the reason given in the dialog: both are kept.
    reason = {**first, "note": "Mất điện toàn tỉnh"}
    assert (await client.post(url, json=reason, headers=headers)).status == 200
    board = await (await client.get(url)).json()
    assert [(e["status"], e["note"]) for e in board["events"]] == [
        ("absent", "Mất điện toàn tỉnh"),
        ("absent", ""),
    ]
    (state,) = board["sites"]
    assert (state["attendance_status"], state["delegates_present"]) == ("absent", 0)
