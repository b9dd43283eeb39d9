"""A session page per phase: the phase decided from status, times and what other parts
know; what each phase puts first; what can no longer change, refused with its reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from agendas.minutes import facts as minutes_facts
from agendas.record.models import Minutes
from meetings.accounts.models import Role
from meetings.attendance import tracking as attendance
from meetings.attendance.models import AttendanceStatus, Author, EventKind
from meetings.core.settings import AttendanceSettings
from meetings.core.store import utcnow
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate, MeetingStatus
from meetings.planning.phases import Phase, PhaseFacts, arrange, phase_of, ranks, steps
from notify.mail import facts as mail_facts
from notify.mail.models import Message, MessageKind, MessageStatus
from tests.factories import bearer, login, make_cluster, make_site, make_user

CONFIG = AttendanceSettings(max_delegates_per_site=500, late_after_minutes=15, window_hours=24)
NOW = datetime(2030, 4, 19, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội


@dataclass
class _Session:
    status: str
    starts_at: datetime
    timezone: str = "Asia/Ho_Chi_Minh"


def _phase(status: str, starts_in: timedelta, **facts: bool) -> Phase:
    return phase_of(_Session(status, NOW + starts_in), PhaseFacts(now=NOW, **facts))


def test_the_phase_follows_status_times_and_what_other_parts_know():
    month = timedelta(days=30)
    assert _phase("draft", month) == Phase.planning
    assert _phase("scheduled", month) == Phase.planning
    assert _phase("scheduled", month, invitations_sent=True) == Phase.invitations
    # The session's day in its own zone: from local midnight (17:00 UTC the day before).
    assert _phase("scheduled", timedelta(hours=5), invitations_sent=True) == Phase.rehearsal
    assert _phase("scheduled", timedelta(hours=14), invitations_sent=True) == Phase.invitations
    assert _phase("live", timedelta(0)) == Phase.live
    assert _phase("ended", -month) == Phase.ended
    assert _phase("ended", -month, minutes_approved=True) == Phase.approved
    assert _phase("ended", -month, minutes_approved=True, conclusions_sent=True) == (
        Phase.follow_up
    )
    assert _phase("cancelled", month, invitations_sent=True) == Phase.cancelled


def test_the_step_indicator_ticks_what_is_done_and_marks_the_current_step():
    shown = steps(Phase.ended)
    assert [s.phase for s in shown if s.is_done] == [
        Phase.planning,
        Phase.invitations,
        Phase.rehearsal,
        Phase.live,
    ]
    assert [s.phase for s in shown if s.is_current] == [Phase.ended]
    assert not any(s.is_done or s.is_current for s in steps(Phase.cancelled))


# --- the pages ---------------------------------------------------------------------------


async def _plan(session_factory: Any, *, starts_at: datetime, sites: int = 3) -> tuple[int, list]:
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        cluster = await make_cluster(session, name="Cụm 1")
        ids = [(await make_site(session, cluster_id=cluster.id)).id for _ in range(sites)]
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Giao ban trực tuyến",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=3),
                site_ids=ids,
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
        await planning.change_status(session, meeting.id, MeetingStatus.scheduled)
    return meeting.id, ids


async def _ended(session_factory: Any) -> tuple[int, list]:
    """A session that went live on its day, where two of three sites connected, then ended."""
    meeting_id, ids = await _plan(session_factory, starts_at=utcnow() - timedelta(minutes=5))
    async with session_factory() as session, session.begin():
        await planning.change_status(session, meeting_id, MeetingStatus.live)
        for site_id, delegates in zip(ids[:2], (12, 9), strict=True):
            change = attendance.Change(
                kind=EventKind.attendance,
                status=AttendanceStatus.connected,
                at=utcnow(),
                author_kind=Author.operator,
                author="op",
                delegates_present=delegates,
            )
            await attendance.record(session, meeting_id, site_id, change, CONFIG)
        await planning.change_status(session, meeting_id, MeetingStatus.ended)
    return meeting_id, ids


def _current_step(html: str) -> str:
    found = re.search(r'data-phase="(\w+)" aria-current="step"', html)
    assert found, "no current step"
    return found.group(1)


def _order(html: str, *ids: str) -> list[str]:
    """The sections among `ids` in the order the page shows them."""
    return sorted(ids, key=lambda i: html.index(f'id="{i}"'))


async def test_a_planned_session_puts_its_details_and_agenda_first(
    client: TestClient, session_factory: Any
):
    meeting_id, _ = await _plan(session_factory, starts_at=utcnow() + timedelta(days=30))
    await login(client, "org")
    html = await (await client.get(f"/sessions/{meeting_id}")).text()
    assert _current_step(html) == "planning"
    assert 'data-testid="phase-lead" data-phase="planning"' in html
    assert _order(html, "details", "agenda", "sites", "invitations") == [
        "details",
        "agenda",
        "sites",
        "invitations",
    ]
    assert 'id="attendance"' not in html and 'id="minutes"' not in html
    assert "Lưu chương trình" in html  # the agenda is editable


async def test_once_invitations_are_out_the_answers_come_first(
    client: TestClient, session_factory: Any
):
    meeting_id, ids = await _plan(session_factory, starts_at=utcnow() + timedelta(days=30))
    async with session_factory() as session, session.begin():
        session.add(
            Message(
                meeting_id=meeting_id,
                site_id=ids[0],
                recipient="a@example.org",
                kind=MessageKind.invitation,
                status=MessageStatus.sent,
            )
        )
    await login(client, "org")
    html = await (await client.get(f"/sessions/{meeting_id}")).text()
    assert _current_step(html) == "invitations"
    assert re.search(r'class="step done" data-phase="planning">\s*<span aria-hidden="true">✓', html)
    assert _order(html, "sites", "invitations", "details")[0] == "sites"


async def test_a_live_session_puts_the_board_and_its_totals_first(
    client: TestClient, session_factory: Any
):
    meeting_id, _ = await _plan(session_factory, starts_at=utcnow() - timedelta(minutes=5))
    async with session_factory() as session, session.begin():
        await planning.change_status(session, meeting_id, MeetingStatus.live)
    await login(client, "org")
    html = await (await client.get(f"/sessions/{meeting_id}")).text()
    assert _current_step(html) == "live"
    assert _order(html, "attendance", "timeline", "agenda", "details", "sites")[0] == "attendance"
    panel = html.split('id="attendance"')[1].split("</section>")[0]
    assert "Điểm danh hiện tại" in panel and f"/sessions/{meeting_id}/board" in panel
    assert "Lưu chương trình" in html  # the agenda may still change while live


async def test_an_ended_session_shows_attendance_as_it_happened_and_is_read_only(
    client: TestClient, session_factory: Any
):
    meeting_id, _ = await _ended(session_factory)
    await login(client, "org")
    html = await (await client.get(f"/sessions/{meeting_id}")).text()
    assert _current_step(html) == "ended"
    # Attendance first, with what happened: 2 of 3 connected, 21 delegates, 1 absent.
    assert _order(html, "attendance", "minutes", "sites", "details")[:2] == [
        "attendance",
        "minutes",
    ]
    totals = re.sub(r"<[^>]+>|\s+", " ", html.split('data-testid="attendance-totals">')[1])
    assert "Điểm danh thực tế" in html
    assert "Đã kết nối: 2 /3 · Vắng mặt: 1 · Số đại biểu có mặt: 21" in re.sub(r" +", " ", totals)
    # The answers before the session are secondary, under their own heading.
    assert "Trả lời giấy mời" in html
    # What can no longer change says why, and offers no editor.
    assert "Phiên họp đã kết thúc: chương trình chỉ đọc" in html
    assert "Phiên họp đã kết thúc: điểm cầu và thời gian chỉ đọc" in html
    assert "Lưu chương trình" not in html and "Thêm trọng tâm" not in html
    # The timeline advises the record and the minutes, not scheduling.
    assert "hoàn thiện ghi chép và trình duyệt biên bản" in html
    assert "hãy lên lịch" not in html.lower()


async def test_approved_minutes_come_first_then_the_follow_up(
    client: TestClient, session_factory: Any
):
    meeting_id, _ = await _ended(session_factory)
    async with session_factory() as session, session.begin():
        session.add(Minutes(meeting_id=meeting_id, number=1, content={}, approved_by="chair"))
    await login(client, "org")
    html = await (await client.get(f"/sessions/{meeting_id}")).text()
    assert _current_step(html) == "approved"
    assert _order(html, "minutes", "attendance", "sites")[0] == "minutes"
    files = html.split('data-testid="approved-files">')[1].split("</p>")[0]
    assert "minutes.pdf?version=1" in files and "minutes.docx?version=1" in files
    assert "Thông báo kết luận" in html
    async with session_factory() as session, session.begin():
        row = await session.get(Minutes, 1)
        row.notice_sent_at = utcnow()
        queued = {"meeting_id": meeting_id, "kind": MessageKind.minutes}
        session.add(Message(**queued, recipient="a@example.org", status=MessageStatus.queued))
    html = await (await client.get(f"/sessions/{meeting_id}")).text()
    assert _current_step(html) == "approved"  # queued: the sites have not had it yet
    async with session_factory() as session, session.begin():
        session.add(Message(**queued, recipient="b@example.org", status=MessageStatus.sent))
    html = await (await client.get(f"/sessions/{meeting_id}")).text()
    assert _current_step(html) == "follow_up"
    assert "Đã gửi thông báo kết luận" in html
    assert _order(html, "minutes", "agenda", "attendance") == ["minutes", "agenda", "attendance"]
    assert 'id="next-session" open' in html  # the next session, one click away


async def test_the_api_refuses_changes_an_ended_session_no_longer_allows(
    client: TestClient, session_factory: Any
):
    meeting_id, ids = await _ended(session_factory)
    async with session_factory() as session, session.begin():
        headers = await bearer(session, "org")
    agenda = await client.put(
        f"/api/v1/meetings/{meeting_id}/agenda",
        json=[{"title": "Khai mạc", "duration_minutes": 10}],
        headers=headers,
    )
    assert agenda.status == 422
    body = await agenda.json()
    assert body["error"]["details"] == [
        {"field": "status", "message": "The session has ended: the programme is read-only"}
    ]
    focus = await client.put(
        f"/api/v1/meetings/{meeting_id}/focus-items",
        json=[{"number": 1, "title": "Công tác đối ngoại nhân dân"}],
        headers=headers,
    )
    assert focus.status == 422
    for change in ({"starts_at": "2030-01-01T08:00:00+07:00"}, {"site_ids": ids[:1]}):
        moved = await client.patch(
            f"/api/v1/meetings/{meeting_id}", json={**change, "version": 99}, headers=headers
        )
        assert moved.status == 422
        assert (await moved.json())["error"]["details"][0]["message"] == (
            "The session has ended: its sites and times are read-only"
        )


async def test_the_page_form_refuses_an_ended_session_agenda_in_the_users_language(
    client: TestClient, session_factory: Any
):
    meeting_id, _ = await _ended(session_factory)
    csrf = await login(client, "org")
    page = await client.post(
        f"/sessions/{meeting_id}/agenda",
        data={"_csrf": csrf, "agenda_title": "Khai mạc", "agenda_duration": "10"},
    )
    assert "Phiên họp đã kết thúc: chương trình chỉ đọc" in await page.text()


async def test_the_outbox_and_the_minutes_say_how_far_a_session_has_got(store_session: Any):
    session = store_session
    site = await make_site(session)
    meeting = await planning.create_meeting(
        session,
        MeetingCreate(
            title="Giao ban", starts_at=NOW, ends_at=NOW + timedelta(hours=3), site_ids=[site.id]
        ),
        organiser_id=None,
        default_location="Hội trường",
    )
    nothing = {"invitations_sent": False, "conclusions_sent": False}
    assert await mail_facts.session_facts(session, meeting.id) == nothing
    skipped = {"meeting_id": meeting.id, "recipient": "a@example.org", "site_id": site.id}
    session.add(Message(**skipped, kind=MessageKind.invitation, status=MessageStatus.skipped))
    session.add(Message(**skipped, kind=MessageKind.reminder, status=MessageStatus.sent))
    session.add(Message(**skipped, kind=MessageKind.minutes, status=MessageStatus.queued))
    await session.flush()
    assert await mail_facts.session_facts(session, meeting.id) == nothing
    session.add(Message(**skipped, kind=MessageKind.invitation, status=MessageStatus.queued))
    session.add(Message(**skipped, kind=MessageKind.minutes, status=MessageStatus.sent))
    await session.flush()
    assert await mail_facts.session_facts(session, meeting.id) == {
        "invitations_sent": True,
        "conclusions_sent": True,
    }

    assert await minutes_facts.session_facts(session, meeting.id) == {"minutes_approved": False}
    session.add(Minutes(meeting_id=meeting.id, number=1, content={}, approved_by="chair"))
    await session.flush()
    assert await minutes_facts.session_facts(session, meeting.id) == {"minutes_approved": True}


def test_panels_stand_where_they_say_in_each_phase():
    agenda = {"template": "agenda", "ranks": ranks(20, 40, 50, 50, 40, 60, 30)}
    board = {"template": "board", "ranks": ranks(None, None, 10, 10, 10, 40, 60, cancelled=None)}
    other = {"template": "other"}  # says nothing: the default rank everywhere
    sections = [other, agenda, board]
    assert [s["template"] for s in arrange(sections, Phase.planning)] == ["agenda", "other"]
    assert [s["template"] for s in arrange(sections, Phase.live)] == ["board", "other", "agenda"]
    assert [s["template"] for s in arrange(sections, Phase.cancelled)] == ["other", "agenda"]
