"""Each role's dashboard: live sessions first for everyone, then what that role works on
(the chair: approvals, deadlines, recommendations; the secretary: sessions to record and
the "draft minutes ready" notices; the organiser: upcoming sessions with invitations and
answers; the administrator: that and the register's health), in bounded queries."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event

from agendas.record import record
from agendas.record.models import ActionItemIn, ContributionIn, ContributionKind
from meetings.accounts.models import Role
from meetings.attendance import tracking
from meetings.attendance.models import AttendanceStatus, Author, EventKind
from meetings.core.app import receivers
from meetings.core.keys import engine_key
from meetings.core.settings import AttendanceSettings, Settings
from meetings.core.store import create_engine, session_maker, utcnow
from meetings.planning import lifecycle as planning
from meetings.planning import rsvp
from meetings.planning.models import MeetingCreate, MeetingStatus, MeetingUpdate
from meetings.register.models import ContactIn, ContactRole
from notify.mail import invitations
from tests.conftest import TEST_SECRET
from tests.factories import login, make_site, make_user

CONFIG = AttendanceSettings(max_delegates_per_site=500, late_after_minutes=15, window_hours=24)
LIVE = "Giao ban đang diễn ra"
SENT = "Giao ban tháng sau đã mời"
DRAFT = "Giao ban chưa gửi giấy mời"
ENDED = "Giao ban tuần trước"
#: Every section a dashboard may show, by its test id.
SECTIONS = (
    "live",
    "awaiting",
    "deadlines",
    "open-recommendations",
    "to-record",
    "notices",
    "upcoming",
    "register-health",
)
EXPECTED = {
    Role.chair: {"live", "awaiting", "deadlines", "open-recommendations", "notices"},
    Role.secretary: {"live", "to-record", "notices"},
    Role.organiser: {"live", "upcoming", "deadlines"},
    Role.admin: {"live", "upcoming", "register-health", "deadlines"},
}


def _technical(name: str) -> list[ContactIn]:
    return [
        ContactIn(name=f"Chủ tịch {name}", email=f"ct.{name}@example.org"),
        ContactIn(
            name=f"Kỹ thuật {name}", email=f"kt.{name}@example.org", role=ContactRole.technical
        ),
    ]


async def _create(session: Any, title: str, starts_in: timedelta, site_ids: list[int]) -> int:
    start = utcnow().replace(microsecond=0) + starts_in
    meeting = await planning.create_meeting(
        session,
        MeetingCreate(
            title=title, starts_at=start, ends_at=start + timedelta(hours=3), site_ids=site_ids
        ),
        organiser_id=None,
        default_location="Hội trường",
    )
    return meeting.id


async def _sessions(session: Any, sites: list[int]) -> dict[str, int]:
    """A live session, an invited one moved since, a draft, an ended one with a record."""
    ids = {
        LIVE: await _create(session, LIVE, -timedelta(minutes=30), sites),
        SENT: await _create(session, SENT, timedelta(days=10), sites),
        DRAFT: await _create(session, DRAFT, timedelta(days=20), sites[:1]),
        ENDED: await _create(session, ENDED, -timedelta(days=2), sites),
    }
    for status in (MeetingStatus.scheduled, MeetingStatus.live):
        await planning.change_status(session, ids[LIVE], status)
    await tracking.record(
        session,
        ids[LIVE],
        sites[0],
        tracking.Change(
            kind=EventKind.attendance,
            status=AttendanceStatus.present,
            at=utcnow(),
            author_kind=Author.operator,
            author="op",
            delegates_present=11,
        ),
        CONFIG,
    )
    await planning.change_status(session, ids[SENT], MeetingStatus.scheduled)
    await invitations.queue_invitations(session, ids[SENT], secret_key=TEST_SECRET)
    answer = rsvp.RsvpIn(response="accepted", expected_delegates=9)
    await rsvp.answer(session, ids[SENT], sites[0], answer)
    row = await planning.get_meeting_row(session, ids[SENT])
    moved = row.starts_at + timedelta(hours=1)
    await planning.update_meeting(
        session,
        ids[SENT],
        MeetingUpdate(version=row.version, starts_at=moved, ends_at=moved + timedelta(hours=3)),
    )
    for status in (MeetingStatus.scheduled, MeetingStatus.live, MeetingStatus.ended):
        await planning.change_status(session, ids[ENDED], status)
    said = ContributionIn(
        kind=ContributionKind.recommendation, text="Đề nghị tập huấn", site_id=sites[1]
    )
    await record.add_contribution(session, ids[ENDED], said, source="secretary", author="tk")
    task = ActionItemIn(text="Gửi báo cáo quý", due_date=utcnow().date() + timedelta(days=3))
    await record.add_action(session, ids[ENDED], task)
    return ids


@pytest.fixture
async def world(settings: Settings) -> dict[str, int]:
    """One account per role; three sites (one with no technical contact or endpoint)."""
    engine = create_engine(settings.database)
    try:  # with the app's receivers: the ended session's notice is made as in the service
        async with session_maker(engine, signals=receivers())() as session, session.begin():
            for role in set(Role) - {Role.cluster_leader}:  # its home: test_cluster_leader
                await make_user(session, username=role.value, role=role)
            sites = [
                (await make_site(session, contacts=_technical(n), endpoint=f"sip:{n}")).id
                for n in ("vinhphuc", "kiengiang")
            ]
            sites.append((await make_site(session)).id)
            return await _sessions(session, sites)
    finally:
        await engine.dispose()


def _sections(html: str) -> list[str]:
    """The dashboard's sections in the order they appear."""
    return [s for s in re.findall(r'data-testid="([\w-]+)"', html) if s in SECTIONS]


def _section(html: str, name: str) -> str:
    start = html.index(f'data-testid="{name}"')
    return html[start : html.index("</section>", start)]


@pytest.mark.parametrize("role", list(EXPECTED))
async def test_each_role_sees_its_sections_with_live_sessions_first(
    client: TestClient, world: dict[str, int], role: Role
):
    await login(client, role.value)
    html = await (await client.get("/")).text()
    shown = _sections(html)
    assert set(shown) == EXPECTED[role]
    assert shown[0] == "live"
    live = _section(html, "live")
    assert LIVE in live and "1/3 điểm cầu đã kết nối" in live and "11 đại biểu" in live
    assert LIVE not in html[html.index("</section>") :]  # listed once, not as upcoming


async def test_the_organiser_sees_where_invitations_and_answers_stand(
    client: TestClient, world: dict[str, int]
):
    await login(client, "organiser")
    upcoming = _section(await (await client.get("/")).text(), "upcoming")
    states = dict(re.findall(r'data-meeting="(\d+)">.*?data-invitations="(\w+)"', upcoming, re.S))
    assert states == {str(world[SENT]): "update_due", str(world[DRAFT]): "not_sent"}
    assert "Cần gửi thông báo thay đổi" in upcoming and "Chưa gửi giấy mời" in upcoming
    row = upcoming[upcoming.index(f'data-meeting="{world[SENT]}"') :]
    assert "1/3 đã trả lời" in row and "Số đại biểu dự kiến 9" in row
    assert ENDED not in upcoming


async def test_the_chair_and_secretary_see_the_record_still_to_do(
    client: TestClient, world: dict[str, int]
):
    await login(client, "chair")
    html = await (await client.get("/")).text()
    assert ENDED in _section(html, "awaiting")
    deadlines = _section(html, "deadlines")
    assert "Gửi báo cáo quý" in deadlines and ENDED in deadlines
    assert "Đề nghị tập huấn" in _section(html, "open-recommendations")
    notices = _section(html, "notices")
    assert ENDED in notices and f'href="/sessions/{world[ENDED]}/minutes"' in notices

    await login(client, "secretary")
    html = await (await client.get("/")).text()
    to_record = _section(html, "to-record")
    assert ENDED in to_record and f'href="/sessions/{world[ENDED]}/record"' in to_record
    assert LIVE not in to_record and SENT not in to_record


async def test_the_administrator_sees_the_registers_gaps(client: TestClient, world: dict[str, int]):
    await login(client, "admin")
    health = _section(await (await client.get("/")).text(), "register-health")
    assert "1 điểm cầu chưa có cán bộ kỹ thuật" in health
    assert "1 điểm cầu chưa có điểm kết nối truyền hình" in health
    assert "3 điểm cầu chưa thuộc cụm nào" in health
    assert "không có địa chỉ e-mail" not in health  # every site has an e-mail contact


async def test_the_organisers_dashboard_takes_the_same_queries_for_more_sessions(
    client: TestClient, world: dict[str, int], session_factory: Any
):
    await login(client, "organiser")
    engine = client.server.app[engine_key].sync_engine
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    async def measure() -> int:
        # Warm: the first request after a commit looks its caller up again (accounts.callers).
        assert (await client.get("/")).status == 200
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert (await client.get("/")).status == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    before = await measure()
    async with session_factory() as session, session.begin():
        more = [(await make_site(session)).id for _ in range(5)]
        for n in range(4):
            await _create(session, f"Phiên bổ sung {n}", timedelta(days=30 + n), more)
    assert await measure() == before
