"""What the organiser sees of the mail the sites send: the session page's panel, the
inbox of a session and of mail naming no session (pages and JSON), where each answer
came from (the RSVP grid, the site's page, the API), bounced contacts in the register,
and answers by calendar counted like any other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.attendance.report import Absence, build_report
from meetings.planning import rsvp
from meetings.planning.models import Participation, Rsvp, RsvpSource
from meetings.planning.rsvp_models import RsvpChange
from meetings.register.models import Contact
from notify.inbound import inbox
from notify.inbound.models import InboundKind, InboundOutcome
from notify.site import tokens
from tests.conftest import TEST_SECRET
from tests.factories import bearer, login, make_scheduled_meeting, make_site
from tests.notify.inbound.test_counters import STARTS, arrange, inbound


@pytest.fixture
async def data(session_factory: Any) -> dict[str, Any]:
    """The session of test_counters (two proposals waiting) and one e-mail of each other
    kind, the plain reply last; two e-mails naming no session."""
    found = await arrange(session_factory)
    meeting_id, (vp, kg) = found["id"], found["sites"]
    async with session_factory() as session, session.begin():
        session.add_all(
            [
                inbound(meeting_id, site_id=vp.id, response="accepted", sequence=0),
                inbound(
                    meeting_id,
                    outcome=InboundOutcome.stranger,
                    sender="la@gmail.example",
                    attendee="la@gmail.example",
                    response="declined",
                    subject="Declined: Giao ban quý II",
                ),
                inbound(
                    meeting_id,
                    kind=InboundKind.bounce,
                    site_id=kg.id,
                    sender="mailer-daemon@mx.example.org",
                    attendee="kt.kg@example.org",
                    subject="Undelivered Mail Returned to Sender",
                    bounce_status="5.1.1",
                    reason="550 5.1.1 <kt.kg@example.org>: User unknown",
                ),
                inbound(
                    meeting_id,
                    kind=InboundKind.plain,
                    site_id=kg.id,
                    sender="ct.kg@example.org",
                    subject="Re: Giấy mời giao ban quý II",
                    text="Chúng tôi sẽ cử 12 đại biểu, xin gửi trước tài liệu.",
                ),
                inbound(None, outcome=InboundOutcome.unmatched, subject="Accepted: Họp chi bộ"),
                inbound(
                    None,
                    kind=InboundKind.unreadable,
                    outcome=InboundOutcome.unreadable,
                    subject="???",
                    reason="no calendar part and no text",
                ),
            ]
        )
    return found


async def test_the_session_page_shows_the_mail_from_the_sites_in_vietnamese_and_english(
    client: TestClient, data: dict[str, Any]
):
    await login(client, "org")
    page = await (await client.get(f"/sessions/{data['id']}")).text()
    panel = page[page.index('id="inbox"') :]
    panel = panel[: panel.index("</section>")]
    assert "Thư từ các điểm cầu" in panel
    counts = panel[panel.index('data-testid="inbox-counts"') :]
    assert "Trả lời qua lịch: <strong>2</strong>" in counts
    assert "Đề nghị đổi thời gian: <strong>2</strong>" in counts
    assert "Từ địa chỉ lạ: <strong>1</strong>" in counts
    # The latest first: the plain reply, then the bounce with what was done.
    assert panel.index("Re: Giấy mời giao ban quý II") < panel.index("User unknown")
    assert "Đã đánh dấu thư không đến được; địa chỉ được gắn cờ" in panel
    assert "Từ địa chỉ chưa được mời — chưa áp dụng" in panel
    # Waiting proposals come first on the page.
    assert page.index('id="inbox"') < page.index('id="invitations"')

    await client.get("/lang/en")
    english = await (await client.get(f"/sessions/{data['id']}")).text()
    assert "Mail from sites" in english
    assert (
        "Liên hiệp Vĩnh Phúc proposes another time: 14:00–16:00 Friday, 19/04/2030 "
        "(instead of 08:00–11:00 Friday, 19/04/2030)" in english
    )
    assert "From an address that was not invited — not applied" in english
    assert "Accept: move the session" in english


async def test_the_inbox_lists_newest_first_filters_and_pages(
    client: TestClient, session_factory: Any, data: dict[str, Any]
):
    async with session_factory() as session, session.begin():
        session.add_all(
            inbound(
                data["id"],
                site_id=data["sites"][0].id,
                subject=f"Trả lời số {n}",
                created_at=datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
            )
            for n in range(60)
        )
    await login(client, "org")
    page = await (await client.get(f"/sessions/{data['id']}/inbox")).text()
    assert "Thư từ các điểm cầu" in page and "(66)" in page
    assert page.count("data-inbound=") == 50
    assert page.index("Re: Giấy mời giao ban quý II") < page.index("Trả lời số 59")
    assert "Trả lời số 9\n" not in page
    second = await (await client.get(f"/sessions/{data['id']}/inbox?page=2")).text()
    assert second.count("data-inbound=") == 16
    assert "Trả lời số 0\n" in second

    plain = await (await client.get(f"/sessions/{data['id']}/inbox?show=plain")).text()
    assert plain.count("data-inbound=") == 1
    assert "Chúng tôi sẽ cử 12 đại biểu, xin gửi trước tài liệu." in plain
    strangers = await (await client.get(f"/sessions/{data['id']}/inbox?show=stranger")).text()
    assert strangers.count("data-inbound=") == 1 and "la@gmail.example" in strangers

    # The service-wide inbox: only what names no session.
    service = await (await client.get("/inbox")).text()
    assert "Thư không khớp phiên họp nào" in service
    assert service.count("data-inbound=") == 2
    assert "no calendar part and no text" in service
    assert "Không khớp với phiên họp nào — chưa áp dụng" in service
    dashboard = await (await client.get("/")).text()
    assert "Giao ban quý II</a>: 2 đề nghị đổi thời gian đang chờ" in dashboard
    assert 'href="/inbox"' in dashboard


async def test_the_inbox_api_pages_filters_and_names_a_bad_filter(
    client: TestClient, session_factory: Any, data: dict[str, Any]
):
    async with session_factory() as session, session.begin():
        headers = await bearer(session, "org")
    base = f"/api/v1/meetings/{data['id']}/inbox"
    everything = await (await client.get(base, headers=headers)).json()
    assert everything["total"] == 6
    assert [i["kind"] for i in everything["items"]] == [
        "plain",
        "bounce",
        "reply",
        "reply",
        "counter",
        "counter",
    ]
    bounce = (await (await client.get(f"{base}?kind=bounce", headers=headers)).json())["items"]
    assert len(bounce) == 1
    assert {k: bounce[0][k] for k in ("site_name", "attendee", "bounce_status", "outcome")} == {
        "site_name": "Liên hiệp Kiên Giang",
        "attendee": "kt.kg@example.org",
        "bounce_status": "5.1.1",
        "outcome": "applied",
    }
    waiting = await (
        await client.get(f"{base}?kind=counter&outcome=pending&limit=1", headers=headers)
    ).json()
    assert waiting["total"] == 2 and len(waiting["items"]) == 1
    assert waiting["items"][0]["proposed_starts_at"] is not None
    bad = await client.get(f"{base}?kind=nope&outcome=maybe", headers=headers)
    assert bad.status == 422
    assert [d["field"] for d in (await bad.json())["error"]["details"]] == ["kind", "outcome"]
    assert (await client.get(f"{base}?limit=0", headers=headers)).status == 400

    service = await (await client.get("/api/v1/inbox", headers=headers)).json()
    assert service["total"] == 2
    assert {i["outcome"] for i in service["items"]} == {"unmatched", "unreadable"}
    assert all(i["meeting_id"] is None for i in service["items"])
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/meetings/{id}/counters/{inbound_id}/accept" in document["paths"]
    assert "InboundMailPublic" in document["components"]["schemas"]


@pytest.mark.parametrize("username", ["sec", "chair"])
async def test_only_organisers_read_the_inbox(
    client: TestClient, session_factory: Any, data: dict[str, Any], username: str
):
    async with session_factory() as session, session.begin():
        headers = await bearer(session, username)
    assert (await client.get(f"/api/v1/meetings/{data['id']}/inbox", headers=headers)).status == 403
    assert (await client.get("/api/v1/inbox", headers=headers)).status == 403
    await login(client, username)
    assert (await client.get(f"/sessions/{data['id']}/inbox")).status == 403
    assert (await client.get("/inbox")).status == 403
    assert "Thư từ các điểm cầu" not in await (await client.get("/")).text()


async def _answer_by_calendar(session_factory: Any, meeting_id: int, site_id: int) -> None:
    """What the inbound worker does with a calendar reply (notify.inbound.apply): the
    answer in force, and its history — here an older-version reply kept, not taken."""
    async with session_factory() as session, session.begin():
        now = datetime.now(UTC)
        await session.execute(
            update(Participation)
            .where(
                col(Participation.meeting_id) == meeting_id,
                col(Participation.site_id) == site_id,
            )
            .values(
                rsvp=Rsvp.accepted,
                rsvp_source=RsvpSource.calendar,
                rsvp_sequence=1,
                responded_at=now,
            )
        )
        session.add_all(
            [
                RsvpChange(
                    meeting_id=meeting_id,
                    site_id=site_id,
                    response="accepted",
                    source=RsvpSource.calendar,
                    source_detail="ct.vp@example.org",
                    sequence=1,
                    at=now - timedelta(minutes=5),
                ),
                RsvpChange(
                    meeting_id=meeting_id,
                    site_id=site_id,
                    response="declined",
                    source=RsvpSource.calendar,
                    source_detail="kt.vp@example.org",
                    sequence=0,
                    applied=False,
                    at=now,
                ),
            ]
        )


async def test_an_answer_by_calendar_shows_its_source_on_the_grid_the_site_page_and_the_api(
    client: TestClient, session_factory: Any, data: dict[str, Any]
):
    vp, kg = data["sites"]
    await _answer_by_calendar(session_factory, data["id"], vp.id)
    await login(client, "sec")  # every role reads the grid
    page = await (await client.get(f"/sessions/{data['id']}")).text()
    row = page[page.index(f'data-site="{vp.id}"') :]
    row = row[: row.index("</tr>")]
    assert "Nhận lời" in row
    assert "qua lịch · ct.vp@example.org" in row
    assert "Các lần trả lời" in row
    assert "Từ chối · qua lịch · kt.vp@example.org — <em>trả lời cho phiên bản cũ" in row
    # The board before the session: each tile says its site's answer and where it came from.
    board = await (await client.get(f"/sessions/{data['id']}/board")).text()
    tile = board[board.index(f'id="site-{vp.id}"') :]
    assert 'data-rsvp="accepted">Nhận lời · qua lịch</span>' in tile[: tile.index("</li>")]
    tile = board[board.index(f'id="site-{kg.id}"') :]
    assert 'data-rsvp="needs_action">' in tile[: tile.index("</li>")]

    async with session_factory() as session, session.begin():
        token = await tokens.site_token(session, vp.id, secret_key=TEST_SECRET)
        headers = await bearer(session, "sec")
    site_page = await (await client.get(f"/s/{token}")).text()
    assert "Bạn đã trả lời qua lịch: Nhận lời" in site_page

    invited = await (
        await client.get(f"/api/v1/meetings/{data['id']}/participations", headers=headers)
    ).json()
    sources = {p["site_id"]: p["rsvp_source"] for p in invited["items"]}
    assert sources == {vp.id: "calendar", kg.id: ""}
    answer = await (await client.get(f"/api/v1/site/{token}/meetings/{data['id']}/rsvp")).json()
    assert (answer["response"], answer["rsvp_source"]) == ("accepted", "calendar")


async def test_a_bounced_contact_is_flagged_in_the_register(
    client: TestClient, session_factory: Any, data: dict[str, Any]
):
    kg = data["sites"][1]
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Contact)
            .where(col(Contact.email) == "kt.kg@example.org")
            .values(
                bounced_at=datetime(2030, 4, 10, 3, 0, tzinfo=UTC),
                bounce_reason="550 5.1.1 User unknown",
            )
        )
        headers = await bearer(session, "org")
    await login(client, "org")
    page = await (await client.get(f"/sites/{kg.id}")).text()
    assert "Thư bị trả lại: 550 5.1.1 User unknown, 10:00 Thứ Tư, 10/04/2030" in page
    listing = await (await client.get("/sites")).text()
    assert listing.count('data-testid="bounced"') == 1
    assert "1 thư bị trả lại" in listing
    site = await (await client.get(f"/api/v1/sites/{kg.id}", headers=headers)).json()
    flags = {c["email"]: (c["bounced_at"], c["bounce_reason"]) for c in site["contacts"]}
    assert flags == {
        "ct.kg@example.org": (None, ""),
        "kt.kg@example.org": ("2030-04-10T03:00:00Z", "550 5.1.1 User unknown"),
    }


async def test_a_decline_by_calendar_counts_in_the_report_like_one_from_the_page(
    store_session: AsyncSession,
):
    async with store_session.begin():
        by_page, by_calendar = await make_site(store_session), await make_site(store_session)
        meeting_id = await make_scheduled_meeting(
            store_session, starts_at=STARTS, site_ids=[by_page.id, by_calendar.id]
        )
        await rsvp.answer(store_session, meeting_id, by_page.id, rsvp.RsvpIn(response="declined"))
        row = await store_session.scalar(
            select(Participation).where(col(Participation.site_id) == by_calendar.id)
        )
        assert row is not None
        rsvp.take_answer(
            row, Rsvp.declined, source=RsvpSource.calendar, sequence=0, now=datetime.now(UTC)
        )
        await store_session.flush()
        report = await build_report(store_session, meeting_id)
    absences = {r.site_id: r.absence for r in report.absent}
    assert absences == {by_page.id: Absence.declined, by_calendar.id: Absence.declined}


async def test_the_inbox_queries_on_every_store(store_session: AsyncSession):
    async with store_session.begin():
        site = await make_site(store_session)
        meeting_id = await make_scheduled_meeting(
            store_session, starts_at=STARTS, site_ids=[site.id]
        )
        store_session.add_all(
            [
                inbound(meeting_id, site_id=site.id),
                inbound(meeting_id, kind=InboundKind.counter, outcome=InboundOutcome.pending),
                inbound(None, outcome=InboundOutcome.unmatched),
                inbound(None, outcome=InboundOutcome.stranger),  # named no session, applied none
            ]
        )
        await store_session.flush()
        page = await inbox.inbox_page(store_session, meeting_id=meeting_id, limit=1)
        counts = await inbox.filter_counts(store_session, meeting_id=meeting_id)
        service = await inbox.inbox_page(store_session, meeting_id=None, limit=10)
        waiting = await inbox.pending_counter_sessions(store_session)
    assert page.total == 2 and len(page.items) == 1
    assert page.items[0].site_name is None  # the counter, newest, came from no known site
    assert (counts["all"], counts["reply"], counts["counter"], counts["bounce"]) == (2, 1, 1, 0)
    assert [i.outcome for i in service.items] == [InboundOutcome.unmatched]
    assert [(w.meeting_id, w.count) for w in waiting] == [(meeting_id, 1)]
