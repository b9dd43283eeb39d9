"""Attendance: events from operators and sites, exact totals under concurrency, the rules
of who may write what, and the live stream a board reads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from meetings.accounts.models import Role
from meetings.attendance import tracking as attendance
from meetings.attendance.models import AttendanceEvent, AttendanceStatus, Author, EventKind
from meetings.core.errors import Forbidden, Invalid, NotFound
from meetings.core.settings import AttendanceSettings, DatabaseSettings
from meetings.core.store import SessionMaker, create_engine, session_maker, utcnow
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate, MeetingStatus
from notify.site import tokens
from tests.conftest import TEST_SECRET
from tests.factories import bearer, make_site, make_user

CONFIG = AttendanceSettings(max_delegates_per_site=500, late_after_minutes=15, window_hours=24)


@pytest.fixture
async def maker(database_url: str) -> AsyncIterator[SessionMaker]:
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    yield session_maker(engine)
    await engine.dispose()


async def live_session(
    maker: SessionMaker, site_count: int, **fields: Any
) -> tuple[int, list[int]]:
    """A live session starting now with `site_count` invited sites."""
    start = fields.pop("starts_at", utcnow() - timedelta(minutes=5))
    async with maker() as session, session.begin():
        ids = [(await make_site(session)).id for _ in range(site_count)]
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Giao ban trực tuyến",
                starts_at=start,
                ends_at=start + timedelta(hours=3),
                site_ids=ids,
                **fields,
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
        await planning.change_status(session, meeting.id, MeetingStatus.scheduled)
    return meeting.id, ids


def connected(delegates: int, *, author: str = "op") -> attendance.Change:
    return attendance.Change(
        kind=EventKind.attendance,
        status=AttendanceStatus.connected,
        at=utcnow(),
        author_kind=Author.operator,
        author=author,
        delegates_present=delegates,
    )


async def test_52_concurrent_check_ins_give_exact_totals(maker: SessionMaker):
    meeting_id, ids = await live_session(maker, 52)

    async def check_in(site_id: int, delegates: int) -> None:
        async with maker() as session, session.begin():
            await attendance.record(session, meeting_id, site_id, connected(delegates), CONFIG)

    await asyncio.gather(*(check_in(site, 5 + n % 7) for n, site in enumerate(ids)))
    # Ten writers on one site at once: each change is applied, none lost.
    await asyncio.gather(*(check_in(ids[0], 100 + n) for n in range(10)))
    async with maker() as session:
        totals = await attendance.summary(session, meeting_id)
        first = await attendance.site_state(session, meeting_id, ids[0])
        events = await session.scalar(select(func.count()).select_from(AttendanceEvent))
    expected = sum(5 + n % 7 for n in range(1, 52)) + first.delegates_present
    assert (totals.invited, totals.connected, totals.missing) == (52, 52, 0)
    assert totals.delegates_present == expected
    assert first.delegates_present in range(100, 110)
    assert events == 52 + 10  # every distinct change is in the log
    assert first.version == 1 + 1 + 10


async def test_a_repeated_check_in_changes_nothing(maker: SessionMaker):
    meeting_id, (site,) = await live_session(maker, 1)
    for _ in range(3):
        async with maker() as session, session.begin():
            state = await attendance.record(session, meeting_id, site, connected(12), CONFIG)
    async with maker() as session:
        events = await session.scalar(select(func.count()).select_from(AttendanceEvent))
    assert (state.attendance_status, state.delegates_present, events) == ("connected", 12, 1)


async def test_impossible_values_are_refused_and_nothing_is_written(maker: SessionMaker):
    meeting_id, (site,) = await live_session(maker, 1)
    far = attendance.Change(
        kind=EventKind.attendance,
        status=AttendanceStatus.present,
        at=utcnow() + timedelta(days=3),
        author_kind=Author.operator,
        author="op",
    )
    for change, field in ((connected(501), "delegates_present"), (far, "at")):
        with pytest.raises(Invalid) as refused:
            async with maker() as session, session.begin():
                await attendance.record(session, meeting_id, site, change, CONFIG)
        assert refused.value.problems[0].field == field
    _, (other,) = await live_session(maker, 1)
    with pytest.raises(Forbidden):  # not invited to this session
        async with maker() as session, session.begin():
            await attendance.record(session, meeting_id, other, connected(3), CONFIG)
    async with maker() as session:
        assert await session.scalar(select(func.count()).select_from(AttendanceEvent)) == 0


@pytest.fixture
async def api(client: TestClient, session_factory: Any) -> dict[str, Any]:
    maker = session_factory
    meeting_id, (site_a, site_b) = await live_session(maker, 2)
    _, (outsider,) = await live_session(maker, 1)
    async with maker() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        await make_user(session, username="chair", role=Role.chair)
        headers = await bearer(session, "org")
        chair = await bearer(session, "chair")
        token_a = await tokens.site_token(session, site_a, secret_key=TEST_SECRET)
        token_out = await tokens.site_token(session, outsider, secret_key=TEST_SECRET)
    return {
        "id": meeting_id,
        "a": site_a,
        "b": site_b,
        "headers": headers,
        "chair": chair,
        "token_a": token_a,
        "token_out": token_out,
    }


async def test_who_may_write_what(client: TestClient, api: dict[str, Any]):
    url = f"/api/v1/meetings/{api['id']}"
    checked = await client.post(
        f"/api/v1/site/{api['token_a']}/meetings/{api['id']}/check-in",
        json={"delegates_present": 9, "officials_present": ["Nguyễn Văn An, Phó Chủ tịch"]},
    )
    assert checked.status == 200, await checked.text()
    state = await checked.json()
    assert (state["site_id"], state["attendance_status"], state["delegates_present"]) == (
        api["a"],
        "connected",
        9,
    )
    assert state["officials_present"] == ["Nguyễn Văn An, Phó Chủ tịch"]
    # A site's link acts for that site only: one not invited here is refused, with the
    # answer every site-facing route gives a site not invited (404: nothing is revealed).
    refused = await client.post(
        f"/api/v1/site/{api['token_out']}/meetings/{api['id']}/check-in",
        json={"delegates_present": 4},
    )
    assert refused.status == 404
    negative = await client.post(
        f"/api/v1/site/{api['token_a']}/meetings/{api['id']}/check-in",
        json={"delegates_present": -1},
    )
    assert negative.status == 422
    assert (await negative.json())["error"]["details"][0]["field"] == "delegates_present"
    # The operator records for any invited site; the chair only reads.
    body = {"site_id": api["b"], "status": "absent", "note": "Mất điện"}
    assert (await client.post(f"{url}/attendance", json=body, headers=api["chair"])).status == 403
    marked = await client.post(f"{url}/attendance", json=body, headers=api["headers"])
    assert marked.status == 200
    board = await (await client.get(f"{url}/attendance", headers=api["chair"])).json()
    assert board["summary"] == {
        "invited": 2,
        "connected": 1,
        "present": 0,
        "absent": 1,
        "missing": 1,
        "delegates_present": 9,
        "rehearsal_ok": 0,
        "rehearsal_problem": 0,
    }
    authors = [(e["author_kind"], e["status"]) for e in board["events"]]
    assert authors == [("operator", "absent"), ("site", "connected")]


async def test_the_live_stream_carries_a_check_in(client: TestClient, api: dict[str, Any]):
    url = f"/api/v1/meetings/{api['id']}/live"
    async with client.get(url, headers=api["chair"]) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        snapshot = await next_event(stream)
        assert snapshot[0] == "snapshot" and snapshot[1]["summary"]["connected"] == 0
        await client.post(
            f"/api/v1/site/{api['token_a']}/meetings/{api['id']}/check-in",
            json={"delegates_present": 11},
        )
        name, data = await asyncio.wait_for(next_event(stream), timeout=5)
    assert name == "update"
    assert data["summary"]["connected"] == 1 and data["summary"]["delegates_present"] == 11
    assert [(s["site_id"], s["delegates_present"]) for s in data["sites"]] == [(api["a"], 11)]


async def next_event(stream: Any) -> tuple[str, dict[str, Any]]:
    """Read one Server-Sent Event (skipping comments and the retry line)."""
    name, data = "message", ""
    while True:
        line = (await stream.content.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data += line[6:]
        elif line == "" and data:
            return name, json.loads(data)


async def test_a_late_check_in_is_marked_late(maker: SessionMaker):
    meeting_id, (site,) = await live_session(
        maker, 1, starts_at=datetime.now(UTC) - timedelta(minutes=40)
    )
    async with maker() as session, session.begin():
        meeting = await planning.get_meeting_row(session, meeting_id)
        change = attendance.check_in_change(
            meeting, delegates=6, officials=None, site_code="x", now=utcnow(), config=CONFIG
        )
        state = await attendance.record(session, meeting_id, site, change, CONFIG)
    assert state.attendance_status == "late"


async def test_the_rehearsal_is_recorded_per_site(client: TestClient, api: dict[str, Any]):
    url = f"/api/v1/meetings/{api['id']}"
    for site, status, note in ((api["a"], "ok", ""), (api["b"], "problem", "Mất tiếng")):
        done = await client.post(
            f"{url}/rehearsal",
            headers=api["headers"],
            json={"site_id": site, "status": status, "note": note},
        )
        assert done.status == 200, await done.text()
    board = await (await client.get(f"{url}/attendance", headers=api["chair"])).json()
    assert (board["summary"]["rehearsal_ok"], board["summary"]["rehearsal_problem"]) == (1, 1)
    states = {s["site_id"]: (s["rehearsal_status"], s["rehearsal_note"]) for s in board["sites"]}
    assert states == {api["a"]: ("ok", ""), api["b"]: ("problem", "Mất tiếng")}
    assert board["summary"]["connected"] == 0  # a rehearsal is not attendance
    page = await (await client.get(f"/sessions/{api['id']}/board", headers=api["chair"])).text()
    assert "rh-problem" in page


async def test_a_burst_of_check_ins_is_committed_in_groups_with_exact_totals(
    maker: SessionMaker,
):
    from meetings.attendance.checkin import CheckInBatcher
    from meetings.attendance.models import CheckIn

    meeting_id, ids = await live_session(maker, 52)
    _, (outsider,) = await live_session(maker, 1)
    async with maker() as session, session.begin():
        links = [await tokens.site_token(session, s, secret_key=TEST_SECRET) for s in ids]
        outside = await tokens.site_token(session, outsider, secret_key=TEST_SECRET)
    batcher = CheckInBatcher(maker, CONFIG, sites_for_links=tokens.site_keys_for_tokens, size=20)
    now = utcnow()
    results = await asyncio.gather(
        *(
            batcher.submit(meeting_id, link, CheckIn(delegates_present=3 + n % 5), at=now)
            for n, link in enumerate(links)
        ),
        batcher.submit(meeting_id, links[0], CheckIn(delegates_present=3), at=now),  # repeat
        batcher.submit(meeting_id, outside, CheckIn(delegates_present=3), at=now),
        batcher.submit(meeting_id, links[1], CheckIn(delegates_present=900), at=now),
        batcher.submit(meeting_id, "x" * 43, CheckIn(delegates_present=3), at=now),
        return_exceptions=True,
    )
    assert isinstance(results[-3], Forbidden)  # a site not invited
    assert isinstance(results[-2], Invalid) and results[-2].problems[0].field == "delegates_present"
    assert isinstance(results[-1], NotFound)  # a wrong link
    states = results[:52]
    assert [s.delegates_present for s in states] == [3 + n % 5 for n in range(52)]
    async with maker() as session:
        totals = await attendance.summary(session, meeting_id)
        events = await session.scalar(select(func.count()).select_from(AttendanceEvent))
        versions = {s.version for s in await attendance.sites(session, meeting_id)}
    assert (totals.connected, totals.delegates_present) == (52, sum(3 + n % 5 for n in range(52)))
    assert events == 52 and versions == {2}
