"""The session pages through the real app: plan, check deadlines, shape the programme."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from agendas.programme import programme
from meetings.accounts.models import Role
from meetings.core.store import utcnow
from meetings.planning import lifecycle as planning
from meetings.planning import listing
from tests.factories import login, make_cluster, make_site, make_user


async def organiser(client: TestClient, session_factory: Any, role: Role = Role.organiser) -> str:
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=role)
    return await login(client, "org")


def form(csrf: str, **fields: Any) -> list[tuple[str, str]]:
    pairs = [("_csrf", csrf)]
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, str(item)))
    return pairs


def session_fields(**fields: Any) -> dict[str, Any]:
    return {
        "title": "Giao ban quý III",
        "kind": "briefing",
        "timezone": "Asia/Ho_Chi_Minh",
        "starts_at": "2030-09-20T08:00",
        "ends_at": "2030-09-20T11:00",
        **fields,
    }


async def count_meetings(session_factory: Any) -> int:
    async with session_factory() as session:
        return (await listing.list_meetings(session)).total


async def test_plan_a_session_through_the_form(client: TestClient, session_factory: Any):
    csrf = await organiser(client, session_factory)
    async with session_factory() as session, session.begin():
        cluster = await make_cluster(session, name="Cụm 1")
        sites = [await make_site(session, cluster_id=cluster.id) for _ in range(2)]
    response = await client.post(
        "/sessions/new",
        allow_redirects=False,
        data=form(csrf, **session_fields(site_ids=[s.id for s in sites])),
    )
    assert response.status == 303
    page = await (await client.get(response.headers["Location"])).text()
    assert "Đã lưu phiên họp." in page
    assert "2 điểm cầu, 1 cụm" in page
    # Friday 20/9/2030: invitations and documents by Tuesday 17/9 (3 working days).
    assert page.count("Thứ Ba, 17/09/2030") == 2
    assert "08:00 Thứ Sáu, 20/09/2030" in page


async def test_bad_form_input_is_shown_at_its_field_and_nothing_is_created(
    client: TestClient, session_factory: Any
):
    csrf = await organiser(client, session_factory)
    early = await client.post(
        "/sessions/new", data=form(csrf, **session_fields(ends_at="2030-09-20T07:00"))
    )
    assert early.status == 422
    html = await early.text()
    assert re.search(r'id="e-ends_at">[^<]*Thời gian kết thúc phải sau thời gian bắt đầu', html)
    assert 'value="Giao ban quý III"' in html  # what was typed stays
    zone = await client.post(
        "/sessions/new", data=form(csrf, **session_fields(timezone="Mars/Olympus"))
    )
    assert zone.status == 422 and "Múi giờ không hợp lệ" in await zone.text()
    assert await count_meetings(session_factory) == 0


async def test_a_late_session_warns_and_an_urgent_one_is_exempt(
    client: TestClient, session_factory: Any
):
    csrf = await organiser(client, session_factory)
    tomorrow = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    start = tomorrow.strftime("%Y-%m-%dT08:00")
    end = tomorrow.strftime("%Y-%m-%dT10:00")
    late = await client.post(
        "/sessions/new", data=form(csrf, **session_fields(starts_at=start, ends_at=end))
    )
    assert "đã quá hạn" in await late.text()  # the deadline has passed
    urgent = await client.post(
        "/sessions/new",
        data=form(csrf, **session_fields(starts_at=start, ends_at=end, is_urgent="on")),
    )
    html = await urgent.text()
    assert "họp đột xuất, không áp dụng thời hạn báo trước" in html and "đã quá hạn" not in html


async def test_schedule_cancel_and_the_next_session(client: TestClient, session_factory: Any):
    csrf = await organiser(client, session_factory)
    response = await client.post(
        "/sessions/new", allow_redirects=False, data=form(csrf, **session_fields())
    )
    url = response.headers["Location"]
    refused = await client.post(f"{url}/status", data=form(csrf, status="scheduled", version=1))
    assert "mời ít nhất" in await refused.text() or "invite at least one site" in (
        await refused.text()
    )
    async with session_factory() as session, session.begin():
        site = await make_site(session)
        meeting_id = int(url.rsplit("/", 1)[1])
        meeting = await planning.get_meeting_row(session, meeting_id)
        await planning.update_meeting(
            session, meeting_id, planning.MeetingUpdate(version=meeting.version, site_ids=[site.id])
        )
    scheduled = await (
        await client.post(f"{url}/status", data=form(csrf, status="scheduled", version=2))
    ).text()
    assert "Đã đổi trạng thái." in scheduled and "Đã lên lịch" in scheduled
    follow = await client.post(
        f"{url}/next",
        allow_redirects=False,
        data=form(
            csrf, title="Giao ban quý IV", starts_at="2030-12-20T08:00", ends_at="2030-12-20T11:00"
        ),
    )
    assert follow.status == 303
    assert "Giao ban quý IV" in await (await client.get(follow.headers["Location"])).text()
    no_reason = await (await client.post(f"{url}/cancel", data=form(csrf, reason=""))).text()
    assert "Hãy nêu lý do hủy phiên họp." in no_reason
    cancelled = await (await client.post(f"{url}/cancel", data=form(csrf, reason="Bão"))).text()
    assert "Đã hủy phiên họp." in cancelled and "Đã hủy: Bão" in cancelled


async def test_agenda_and_focus_items_from_the_page(client: TestClient, session_factory: Any):
    csrf = await organiser(client, session_factory, role=Role.secretary)
    async with session_factory() as session, session.begin():
        meeting = await planning.create_meeting(
            session,
            planning.MeetingCreate(
                **session_fields(
                    starts_at="2030-09-20T08:00:00+07:00", ends_at="2030-09-20T09:00:00+07:00"
                )
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
    url = f"/sessions/{meeting.id}"
    page = await (
        await client.post(
            f"{url}/agenda",
            data=form(
                csrf,
                agenda_title=["Khai mạc", "Báo cáo", ""],
                agenda_presenter=["", "", ""],
                agenda_kind=["opening", "report", "other"],
                agenda_duration=["15", "60", ""],
            ),
        )
    ).text()
    assert "Đã lưu chương trình." in page
    assert "Chương trình kéo dài quá giờ kết thúc phiên họp." in page  # 08:15 + 60 > 09:00
    negative = await (
        await client.post(
            f"{url}/agenda",
            data=form(
                csrf,
                agenda_title=["x"],
                agenda_presenter=[""],
                agenda_kind=["other"],
                agenda_duration=["-5"],
            ),
        )
    ).text()
    assert "Chưa lưu" in negative
    duplicate = await (
        await client.post(
            f"{url}/focus-items",
            data=form(
                csrf,
                focus_number=["1", "1"],
                focus_title=["A", "B"],
                focus_status=["new", "new"],
                focus_detail=["", ""],
            ),
        )
    ).text()
    assert "Chưa lưu" in duplicate
    async with session_factory() as session:
        assert [a.title for a in await programme.get_agenda(session, meeting.id)] == [
            "Khai mạc",
            "Báo cáo",
        ]
        assert await programme.get_focus_items(session, meeting.id) == []
    # A secretary shapes the programme but does not plan sessions.
    assert (await client.get("/sessions/new")).status == 403


async def test_documents_from_the_page(client: TestClient, session_factory: Any):
    csrf = await organiser(client, session_factory)
    response = await client.post(
        "/sessions/new", allow_redirects=False, data=form(csrf, **session_fields())
    )
    url = response.headers["Location"]

    def upload(content: bytes, name: str) -> FormData:
        data = FormData()
        data.add_field("_csrf", csrf)
        data.add_field("file", io.BytesIO(content), filename=name)
        return data

    good = await (
        await client.post(
            f"{url}/documents", data=upload(b"%PDF-1.4\n%%EOF\n", "Tài liệu hội nghị.pdf")
        )
    ).text()
    assert "Đã tải tài liệu lên." in good and "Tài liệu hội nghị.pdf" in good
    assert "Tài liệu: đã gửi đúng hạn" in good  # uploaded before the documents deadline
    bad = await (await client.post(f"{url}/documents", data=upload(b"MZ", "x.exe"))).text()
    assert "Chưa lưu" in bad and "x.exe" not in bad.split("Chưa lưu", 1)[1].split("</p>")[1]


async def test_session_list_tabs_and_filters(client: TestClient, session_factory: Any):
    await organiser(client, session_factory)
    async with session_factory() as session, session.begin():
        cluster = await make_cluster(session)
        site = await make_site(session, cluster_id=cluster.id)
        for title, kind, sites in (
            ("Giao ban quý III", "briefing", []),
            ("Tọa đàm mô hình tổ chức", "seminar", [site.id]),
        ):
            await planning.create_meeting(
                session,
                planning.MeetingCreate(
                    **session_fields(
                        title=title,
                        kind=kind,
                        site_ids=sites,
                        starts_at="2030-09-20T08:00:00+07:00",
                        ends_at="2030-09-20T11:00:00+07:00",
                    )
                ),
                organiser_id=None,
                default_location="Hội trường",
            )
    everything = await (await client.get("/sessions")).text()
    assert "Giao ban quý III" in everything and "Tọa đàm mô hình tổ chức" in everything
    seminars = await (await client.get("/sessions?kind=seminar")).text()
    assert "Tọa đàm mô hình" in seminars and "Giao ban quý III" not in seminars
    by_cluster = await (await client.get(f"/sessions?cluster={cluster.id}")).text()
    assert "Tọa đàm mô hình" in by_cluster and "Giao ban quý III" not in by_cluster
    by_text = await (await client.get("/sessions?q=toa+dam")).text()
    assert "Tọa đàm mô hình" in by_text and "Giao ban quý III" not in by_text
    assert "Không có phiên họp nào." in await (await client.get("/sessions?period=past")).text()
