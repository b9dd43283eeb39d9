"""The minutes of the demo's 19/4/2024 briefing as the office reads them, built from its
record in the database, and approval that stays approved until the record changes.

Every point of form 1.9 (MINUTES.md) is checked in the text a reader gets from each file
the minutes page offers: the PDF (pdftotext), the Word file, the HTML and the Markdown.
"""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import docx
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from agendas.record import record
from agendas.record.models import ContributionIn, ContributionKind, Recommendation
from meetings.accounts.models import Role
from meetings.attendance import tracking as attendance
from meetings.attendance.models import AttendanceStatus, Author, EventKind
from meetings.core import demo, demo_sessions
from meetings.core.keys import sessions_key
from meetings.core.settings import Settings
from meetings.planning.models import Meeting, Participation, Rsvp
from meetings.register.models import Site
from tests.agendas.minutes.test_minutes_render import HANOI, docx_text, flat, pdf_tool
from tests.factories import bearer, make_user

UNION = "Liên hiệp các tổ chức hữu nghị"
THANH_HOA = "Đề nghị Trung ương hỗ trợ kinh phí tổ chức hoạt động giao lưu hữu nghị biên giới."
HA_NAM_REASON = "trùng lịch tiếp đoàn công tác của tỉnh"
CHAIR = demo_sessions.REFERENCE_CHAIR
SECRETARY = demo_sessions.REFERENCE_SECRETARY


@pytest.fixture
async def briefing(session_factory: Any, settings: Settings) -> dict[str, Any]:
    """The demo's ended briefing, with Thanh Hóa's recommendation raised in the discussion
    and Hà Nam marked absent without a note, having declined with a comment."""
    async with session_factory() as session, session.begin():
        await demo.load_demo(session)
        await demo_sessions.load_reference_sessions(
            session, hall=settings.organisation.hall, now=datetime(2024, 4, 1, tzinfo=HANOI)
        )
        ids = {
            uid: await session.scalar(select(Meeting.id).where(Meeting.uid == uid))
            for uid in (demo_sessions.REFERENCE_UID, demo_sessions.NEXT_UID)
        }
        meeting_id = ids[demo_sessions.REFERENCE_UID]
        sites = dict((await session.execute(select(Site.province, Site.id))).all())
        await record.add_contribution(
            session,
            meeting_id,
            ContributionIn(
                site_id=sites["Thanh Hóa"],
                speaker="Lê Văn Tâm",
                speaker_title="Chủ tịch Liên hiệp",
                kind=ContributionKind.recommendation,
                text=THANH_HOA,
                agenda_item=3,
                topic="Kinh phí",
            ),
            source="secretary",
            author="thuky",
        )
        await attendance.record(
            session,
            meeting_id,
            sites["Hà Nam"],
            attendance.Change(
                kind=EventKind.attendance,
                status=AttendanceStatus.absent,
                at=demo_sessions.REFERENCE_START + timedelta(minutes=30),
                author_kind=Author.operator,
                author="thuky",
            ),
            settings.attendance,
        )
        await session.execute(
            update(Participation)
            .where(Participation.meeting_id == meeting_id, Participation.site_id == sites["Hà Nam"])
            .values(rsvp=Rsvp.declined, rsvp_note=HA_NAM_REASON)
        )
        for name, role in (("chutri", Role.chair), ("thuky", Role.secretary)):
            await make_user(session, username=name, role=role)
        headers = {name: await bearer(session, name) for name in ("chutri", "thuky")}
    return {"id": meeting_id, "next": ids[demo_sessions.NEXT_UID], "h": headers}


async def _file(client: TestClient, briefing: dict[str, Any], fmt: str, **query: str) -> Any:
    answer = await client.get(
        f"/api/v1/meetings/{briefing['id']}/minutes.{fmt}",
        params={"lang": "vi", **query},
        headers=briefing["h"]["chutri"],
    )
    assert answer.status == 200, await answer.text()
    return answer


async def _texts(client: TestClient, briefing: dict[str, Any], folder: Path) -> dict[str, str]:
    """What a reader finds in each file, as one line of text."""
    pdf = await (await _file(client, briefing, "pdf")).read()
    word = docx.Document(io.BytesIO(await (await _file(client, briefing, "docx")).read()))
    page = await (await _file(client, briefing, "html")).text()
    markdown = await (await _file(client, briefing, "md")).text()
    return {
        "pdf": flat(pdf_tool(pdf, folder, "pdftotext", "-raw")),
        "docx": flat(docx_text(word)),
        "html": flat(html.unescape(re.sub(r"<[^>]+>", " ", page.split("<body>", 1)[1]))),
        "md": flat(re.sub(r"[*\\]", "", markdown)),
    }


async def test_the_minutes_read_as_the_office_writes_them_in_every_format(
    client: TestClient, briefing: dict[str, Any], tmp_path: Path
):
    texts = await _texts(client, briefing, tmp_path)
    for fmt, text in texts.items():
        for phrase in (
            # Dated on the session's day, not on the day they were made.
            "Hà Nội, ngày 19 tháng 4 năm 2024",
            # The chair and the secretary: people, by full name and position.
            f"Chủ trì (chủ tọa): {CHAIR[0]}, {CHAIR[1]}",
            f"Thư ký (người ghi biên bản): {SECRETARY[0]}, {SECRETARY[1]}",
            # The absent with their reasons: the note of the mark, else the RSVP's comment.
            f"{UNION} Bắc Kạn (Vắng mặt, lý do: lãnh đạo Liên hiệp đi công tác)",
            f"{UNION} Hà Nam (Vắng mặt, lý do: {HA_NAM_REASON})",
            # The closing lines.
            "Biên bản được lập thành 02 bản.",
            "Cuộc họp kết thúc vào 11 giờ 30 phút, ngày 19 tháng 4 năm 2024/.",
        ):
            assert phrase in text, (fmt, phrase)
        # One part of conclusions; each recommendation once, where it was said.
        assert text.count("Kết luận của đồng chí Chủ trì") == 1, fmt
        assert "Kết luận của Đoàn Chủ tịch" not in text, fmt
        assert text.count(THANH_HOA.rstrip(".")) == 1, fmt
        kien_giang = demo_sessions.DEMO_CONTRIBUTIONS[1][4].rstrip(".")
        assert text.count(kien_giang) == 1, fmt
        assert "Chưa trả lời" not in text, fmt  # no RSVP or register state leaks in
        # The proceedings in agenda order, numbered as the agenda.
        titles = [title for title, *_rest in demo_sessions.REFERENCE_AGENDA]
        headings = [f"{n}. {title}" for n, title in enumerate(titles[:3], start=1)]
        headings.append("4. Kết luận của đồng chí Chủ trì")
        places = [text.index(heading) for heading in headings]
        assert places == sorted(places), fmt
        assert text.index("Các trọng tâm công tác:") < places[2], fmt  # with the reports


async def test_the_word_file_has_the_agenda_s_parts_and_properties_set_by_us(
    client: TestClient, briefing: dict[str, Any]
):
    before = datetime.now(UTC).replace(microsecond=0)
    body = await (await _file(client, briefing, "docx")).read()
    word = docx.Document(io.BytesIO(body))
    headings = [p.text for p in word.paragraphs if p.style.name == "Heading 2"]
    assert [h.split(". ", 1)[0] for h in headings] == ["1", "2", "3", "4"]
    assert headings[3] == "4. Kết luận của đồng chí Chủ trì"
    signatures = word.tables[-2]
    assert flat(signatures.cell(0, 0).text) == f"THƯ KÝ {SECRETARY[0]}"
    assert flat(signatures.cell(0, 1).text) == f"CHỦ TRÌ {CHAIR[0]}"
    properties = word.core_properties
    assert properties.title == f"Biên bản — {demo_sessions.REFERENCE_TITLE}"
    assert properties.author == properties.last_modified_by == f"{UNION} Việt Nam"
    assert properties.language == "vi-VN"
    assert before <= properties.created <= datetime.now(UTC)
    assert properties.modified == properties.created


async def _state(client: TestClient, briefing: dict[str, Any]) -> dict[str, Any]:
    built = await client.post(
        f"/api/v1/meetings/{briefing['id']}/minutes", headers=briefing["h"]["thuky"]
    )
    assert built.status == 200, await built.text()
    return dict(await built.json())


async def _page(client: TestClient, briefing: dict[str, Any], path: str) -> str:
    answer = await client.get(path, headers=briefing["h"]["chutri"])
    assert answer.status == 200, await answer.text()
    return flat(html.unescape(re.sub(r"<[^>]+>", " ", await answer.text())))


def _filename(answer: Any) -> str:
    return str(answer.headers["Content-Disposition"]).split('filename="', 1)[1].rstrip('"')


async def test_approved_minutes_stay_approved_until_the_record_changes(
    client: TestClient, briefing: dict[str, Any]
):
    meeting_id, chair = briefing["id"], briefing["h"]["chutri"]
    minutes_page, base = f"/sessions/{meeting_id}/minutes", f"/api/v1/meetings/{meeting_id}"
    assert "Không có biên bản chờ duyệt." not in await _page(client, briefing, "/chair")
    approved = await client.post(f"{base}/minutes/approve", headers=chair)
    assert approved.status == 201, await approved.text()

    # Approved, nothing changed: the page, the chair's page and the files say version 1.
    assert await _state(client, briefing) == {
        "version": 1,
        "status": "approved",
        "approved_by": "Chutri",  # the full name of the account
        "changes": [],
    }
    page = await _page(client, briefing, minutes_page)
    assert "Đã duyệt — phiên bản 1" in page
    assert "Dự thảo" not in page and "Duyệt phiên bản" not in page
    assert "Không có biên bản chờ duyệt." in await _page(client, briefing, "/chair")
    for fmt in ("pdf", "docx"):
        answer = await _file(client, briefing, fmt)
        assert _filename(answer) == f"bien-ban-{meeting_id}-v1-da-duyet.{fmt}"
    again = await client.post(f"{base}/minutes/approve", headers=chair)
    assert again.status == 422  # nothing new to approve

    # An answer given at the next session is that session's business: still version 1.
    async with client.app[sessions_key]() as session:
        raised = await session.scalar(select(Recommendation.id).limit(1))
    answered = await client.patch(
        f"/api/v1/recommendations/{raised}",
        headers=chair,
        json={
            "status": "answered",
            "response": "Đã trả lời tại phiên sau.",
            "answered_by": CHAIR[0],
            "meeting_id": briefing["next"],
        },
    )
    assert answered.status == 200, await answered.text()
    assert (await _state(client, briefing))["status"] == "approved"

    # The record changes: a draft 2 saying what changed, awaiting the chair again.
    said = await client.post(
        f"{base}/contributions",
        headers=briefing["h"]["thuky"],
        json={
            "speaker": "Hoàng Minh",
            "kind": "opinion",
            "text": "Ý kiến bổ sung.",
            "agenda_item": 3,
        },
    )
    assert said.status == 201, await said.text()
    notes = await client.put(
        f"{base}/notes", headers=briefing["h"]["thuky"], json={"conclusions": "Kết luận đã sửa."}
    )
    assert notes.status == 200, await notes.text()
    state = await _state(client, briefing)
    assert (state["version"], state["status"]) == (2, "draft")
    assert state["changes"] == ["contributions", "conclusions"]
    page = await _page(client, briefing, minutes_page)
    assert "Dự thảo — phiên bản 2" in page and "Duyệt phiên bản 2" in page
    assert "kể từ khi phiên bản 1 được duyệt: Ý kiến, tham luận: thêm 1" in page
    assert "Kết luận của đồng chí Chủ trì: đã sửa" in page
    chair_page = await _page(client, briefing, "/chair")
    assert "Không có biên bản chờ duyệt." not in chair_page
    assert "thay đổi so với phiên bản 1: Ý kiến, tham luận, Kết luận của đồng chí Chủ trì" in (
        chair_page
    )
    answer = await _file(client, briefing, "docx")
    assert _filename(answer) == f"bien-ban-{meeting_id}-v2-du-thao.docx"
    assert "Kết luận đã sửa." in flat(docx_text(docx.Document(io.BytesIO(await answer.read()))))
    version_1 = await _file(client, briefing, "md", version="1")
    assert "Kết luận đã sửa." not in await version_1.text()

    # Approving it makes version 2 the one shown, and nothing awaits.
    assert (await client.post(f"{base}/minutes/approve", headers=chair)).status == 201
    assert (await _state(client, briefing))["status"] == "approved"
    assert "Đã duyệt — phiên bản 2" in await _page(client, briefing, minutes_page)
