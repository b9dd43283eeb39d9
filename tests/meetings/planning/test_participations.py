"""The invited sites of an ended session carry their attendance as the API contract says
(`attendance_status, joined_at, left_at, delegates_present, officials_present`), in the
same number of queries for 3 sites as for 60."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.attendance import tracking
from meetings.attendance.models import AttendanceStatus, Author, EventKind
from meetings.core.keys import engine_key
from meetings.core.settings import AttendanceSettings
from meetings.core.store import utcnow
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate, MeetingStatus
from tests.factories import bearer, make_site, make_user, statements_run

CONFIG = AttendanceSettings(max_delegates_per_site=500, late_after_minutes=15, window_hours=24)
START = utcnow().replace(microsecond=0) - timedelta(hours=4)


def change(status: AttendanceStatus, minutes: int, **fields: Any) -> tracking.Change:
    return tracking.Change(
        kind=EventKind.attendance,
        status=status,
        at=START + timedelta(minutes=minutes),
        author_kind=Author.operator,
        author="op",
        **fields,
    )


async def ended_session(session_factory: Any, site_count: int) -> tuple[int, list[int]]:
    """A session of `site_count` sites that was held this morning: the first site stayed,
    the second left early, the third was absent, the rest were never seen."""
    async with session_factory() as session, session.begin():
        ids = [(await make_site(session)).id for _ in range(site_count)]
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Giao ban trực tuyến",
                starts_at=START,
                ends_at=START + timedelta(hours=3),
                site_ids=ids,
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
        for status in (MeetingStatus.scheduled, MeetingStatus.live):
            await planning.change_status(session, meeting.id, status)
        officials = ["Nguyễn Văn Hùng — Chủ tịch Liên hiệp"]
        for site_id, item in (
            (ids[0], change(AttendanceStatus.present, 0, delegates_present=12)),
            (ids[0], change(AttendanceStatus.present, 5, officials_present=officials)),
            (ids[1], change(AttendanceStatus.connected, 2, delegates_present=7)),
            (ids[1], change(AttendanceStatus.left, 90)),
            (ids[2], change(AttendanceStatus.absent, 0, note="Mất điện")),
        ):
            await tracking.record(session, meeting.id, site_id, item, CONFIG)
        await planning.change_status(session, meeting.id, MeetingStatus.ended)
    return meeting.id, ids


@pytest.fixture
async def headers(session_factory: Any) -> dict[str, str]:
    """An organiser's API headers."""
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        return await bearer(session, "org")


async def test_participations_of_an_ended_session_carry_its_attendance(
    client: TestClient, session_factory: Any, headers: dict[str, str]
):
    meeting_id, ids = await ended_session(session_factory, 4)
    answer = await client.get(f"/api/v1/meetings/{meeting_id}/participations", headers=headers)
    assert answer.status == 200
    body = await answer.json()
    by_site = {item["site_id"]: item for item in body["items"]}
    stayed, left, absent, unseen = (by_site[i] for i in ids)
    assert stayed["attendance_status"] == "present"
    assert stayed["delegates_present"] == 12
    assert stayed["officials_present"] == ["Nguyễn Văn Hùng — Chủ tịch Liên hiệp"]
    assert stayed["joined_at"] == START.isoformat().replace("+00:00", "Z")
    assert stayed["left_at"] is None
    assert left["attendance_status"] == "left" and left["left_at"] is not None
    assert left["joined_at"] is not None
    assert absent["attendance_status"] == "absent" and absent["joined_at"] is None
    assert unseen["attendance_status"] is None and unseen["officials_present"] == []
    # The same figures as the attendance endpoint's.
    board = await (
        await client.get(f"/api/v1/meetings/{meeting_id}/attendance", headers=headers)
    ).json()
    connected = [i for i in body["items"] if i["attendance_status"] in ("present", "connected")]
    assert board["summary"]["connected"] == len(connected) == 1
    assert board["summary"]["delegates_present"] == sum(i["delegates_present"] for i in connected)


async def test_participations_take_as_many_queries_for_60_sites_as_for_3(
    client: TestClient, session_factory: Any, headers: dict[str, str]
):
    small, _ = await ended_session(session_factory, 3)
    large, _ = await ended_session(session_factory, 60)
    with statements_run(client.server.app[engine_key].sync_engine) as statements:
        figures = []
        for meeting_id, sites in ((small, 3), (large, 60), (small, 3)):
            statements.clear()
            answer = await client.get(
                f"/api/v1/meetings/{meeting_id}/participations", headers=headers
            )
            assert len((await answer.json())["items"]) == sites
            # Not the token's best-effort "last used" write, which runs beside requests.
            figures.append(len([s for s in statements if "apitoken" not in s]))
    assert figures[0] == figures[1] == figures[2], statements
