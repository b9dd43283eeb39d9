"""The next session starts from the last one: a follow-up carries exactly the action items
not done and the recommendations still open of the earlier sessions of its series, shows
them on its page, gives its agenda one part on them, names them in its giấy mời, and its
minutes report how each stood (frozen once approved)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import docx
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from agendas.minutes.data import MinutesData
from agendas.record.carried import Carried, CarriedAction, carried
from agendas.record.models import (
    ActionChange,
    ActionItem,
    ActionStatus,
    Recommendation,
    RecommendationStatus,
)
from meetings.accounts.models import Role
from meetings.core.settings import Settings
from meetings.core.store import utcnow
from meetings.planning.models import Meeting, MeetingStatus
from notify.mail import letter
from notify.mail.render import environment
from tests.agendas.minutes.test_minutes_render import docx_text, pdf_tool
from tests.conftest import make_settings
from tests.factories import bearer, login, make_site, make_user
from tests.notify.mail.test_letter import flat, pdf_text

TITLE_VI = "Kết quả thực hiện kết luận phiên trước"
AGENDA = [
    {"title": "Khai mạc", "kind": "opening", "duration_minutes": 10},
    {"title": "Báo cáo tình hình quý", "kind": "report", "duration_minutes": 30},
    {"title": "Kết luận", "kind": "conclusion", "duration_minutes": 15},
]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The app on SQLite and on PostgreSQL."""
    return make_settings(tmp_path, database_url)


async def _meeting(client: TestClient, h: dict[str, str], title: str, day: str, **extra: Any):
    created = await client.post(
        "/api/v1/meetings",
        headers=h,
        json={
            "title": title,
            "starts_at": f"{day}T08:00:00+07:00",
            "ends_at": f"{day}T11:00:00+07:00",
            **extra,
        },
    )
    assert created.status == 201, await created.text()
    return await created.json()


async def _next(client: TestClient, h: dict[str, str], meeting_id: int, day: str) -> dict:
    made = await client.post(
        f"/api/v1/meetings/{meeting_id}/next",
        headers=h,
        json={"starts_at": f"{day}T08:00:00+07:00", "ends_at": f"{day}T11:00:00+07:00"},
    )
    assert made.status == 201, await made.text()
    return await made.json()


def _action(meeting_id: int, text: str, **fields: Any) -> ActionItem:
    return ActionItem(meeting_id=meeting_id, text=text, **fields)


@pytest.fixture
async def series(client: TestClient, session_factory: Any) -> dict[str, Any]:
    """Quarter I with items of every kind, its follow-up quarter II, and decoys: another
    series, a cancelled session of the series, a later session."""
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        await make_user(session, username="chutri", role=Role.chair)
        h = await bearer(session, "org")
        chair = await bearer(session, "chutri")
        vp = await make_site(session, name="Liên hiệp Vĩnh Phúc")
    first = await _meeting(client, h, "Giao ban quý I", "2030-04-19", site_ids=[vp.id])
    put = await client.put(f"/api/v1/meetings/{first['id']}/agenda", headers=h, json=AGENDA)
    assert put.status == 200, await put.text()
    other = await _meeting(client, h, "Hội nghị khác", "2030-04-20")
    async with session_factory() as session, session.begin():
        row = await session.get(Meeting, first["id"])
        assert row is not None
        cancelled = Meeting(
            title="Giao ban bị hủy",
            starts_at=datetime(2030, 5, 2, 1, tzinfo=UTC),
            ends_at=datetime(2030, 5, 2, 4, tzinfo=UTC),
            series_id=None,
            status=MeetingStatus.cancelled,
        )
        session.add(cancelled)
        await session.flush()
        ids = {"other": other["id"], "cancelled": cancelled.id}
        session.add_all(
            [
                _action(
                    first["id"], "Tổng kết thi đua", owner_site_id=vp.id, due_on=date(2030, 9, 30)
                ),
                _action(
                    first["id"],
                    "Báo cáo nhân sự",
                    owner_text="Ban Tổ chức",
                    status=ActionStatus.in_progress,
                ),
                _action(
                    first["id"], "Nộp kinh phí", owner_text="Văn phòng", due_on=date(2020, 1, 10)
                ),
                _action(
                    first["id"],
                    "Việc đã xong",
                    status=ActionStatus.done,
                    done_at=datetime(2030, 4, 25, tzinfo=UTC),
                ),
                _action(other["id"], "Việc của chuỗi khác"),
                _action(cancelled.id or 0, "Việc của phiên đã hủy"),
                Recommendation(meeting_id=first["id"], site_id=vp.id, text="Đề nghị tập huấn"),
                Recommendation(
                    meeting_id=first["id"],
                    text="Đề nghị đã trả lời",
                    status=RecommendationStatus.answered,
                    answer="Đồng ý",
                    answered_at=datetime(2030, 4, 30, tzinfo=UTC),
                ),
                Recommendation(
                    meeting_id=first["id"],
                    text="Đề nghị đã đóng",
                    status=RecommendationStatus.closed,
                ),
                Recommendation(meeting_id=other["id"], text="Kiến nghị chuỗi khác"),
            ]
        )
        await session.flush()
        progress_of = await session.scalar(
            select(ActionItem.id).where(ActionItem.text == "Báo cáo nhân sự")
        )
        session.add(
            ActionChange(
                action_item_id=progress_of or 0,
                status=ActionStatus.in_progress,
                note="Đã trình 3/5 hồ sơ",
            )
        )
    second = await _next(client, h, first["id"], "2030-07-18")
    async with session_factory() as session, session.begin():
        # Cancelled, in the same series, before the follow-up: still not carried.
        row = await session.get(Meeting, ids["cancelled"])
        assert row is not None
        row.series_id = second["series_id"]
    return {"h": h, "chair": chair, "vp": vp, "first": first, "second": second, **ids}


EXPECTED_ACTIONS = {"Tổng kết thi đua", "Báo cáo nhân sự", "Nộp kinh phí"}


async def test_the_follow_up_carries_exactly_the_open_items_of_earlier_sessions(
    client: TestClient, session_factory: Any, series: dict[str, Any]
):
    h = series["h"]
    # A later session of the series with its own open item: not carried into the second.
    third = await _next(client, h, series["second"]["id"], "2030-10-17")
    async with session_factory() as session, session.begin():
        session.add(_action(third["id"], "Việc của phiên sau"))
    async with session_factory() as session:
        found = await carried(session, series["second"]["id"], now=utcnow())
        into_third = await carried(session, third["id"], now=utcnow())
        none = await carried(session, series["first"]["id"], now=utcnow())
    assert {a.text for a in found.actions} == EXPECTED_ACTIONS
    assert [r.text for r in found.recommendations] == ["Đề nghị tập huấn"]
    by_text = {a.text: a for a in found.actions}
    assert by_text["Nộp kinh phí"].state == "overdue"
    assert by_text["Báo cáo nhân sự"].state == "in_progress"
    assert by_text["Báo cáo nhân sự"].progress == "Đã trình 3/5 hồ sơ"
    assert by_text["Tổng kết thi đua"].owner == "Liên hiệp Vĩnh Phúc"
    assert by_text["Tổng kết thi đua"].state == "open"
    assert {a.meeting_title for a in found.actions} == {"Giao ban quý I"}
    assert found.recommendations[0].state == "still_open"
    assert {a.text for a in into_third.actions} == EXPECTED_ACTIONS
    assert not none

    # The session page shows them in their own panel.
    await login(client, "org")
    page = await (await client.get(f"/sessions/{series['second']['id']}")).text()
    assert 'data-testid="carried-panel"' in page
    assert "Nộp kinh phí" in page and "Đề nghị tập huấn" in page and "Quá hạn" in page
    assert "Việc đã xong" not in page and "Việc của chuỗi khác" not in page
    first_page = await (await client.get(f"/sessions/{series['first']['id']}")).text()
    assert 'data-testid="carried-panel"' not in first_page


async def test_carrying_takes_the_same_number_of_queries_whatever_the_count(
    client: TestClient, session_factory: Any, series: dict[str, Any], settings: Settings
):
    async def queries(session: AsyncSession) -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            await carried(session, series["second"]["id"], now=utcnow())
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    async with session_factory() as session:
        few = await queries(session)
    async with session_factory() as session, session.begin():
        session.add_all(
            _action(series["first"]["id"], f"Việc {n}", owner_text="Ban") for n in range(40)
        )
    async with session_factory() as session:
        many = await queries(session)
        assert len((await carried(session, series["second"]["id"], now=utcnow())).actions) == 43
    assert few == many <= 5


async def test_the_agenda_part_is_made_once_and_made_again_without_duplicates(
    client: TestClient, series: dict[str, Any]
):
    h, second = series["h"], series["second"]

    async def titles(meeting_id: int) -> list[str]:
        got = await client.get(f"/api/v1/meetings/{meeting_id}/agenda", headers=h)
        return [item["title"] for item in await got.json()]

    assert await titles(second["id"]) == ["Khai mạc", TITLE_VI, "Báo cáo tình hình quý", "Kết luận"]
    # The next one copies the agenda with its part: still one.
    third = await _next(client, h, second["id"], "2030-10-17")
    assert (await titles(third["id"])).count(TITLE_VI) == 1
    for _ in range(2):
        again = await client.put(f"/api/v1/meetings/{second['id']}/agenda/carried", headers=h)
        assert again.status == 200, await again.text()
        assert [i["title"] for i in await again.json()].count(TITLE_VI) == 1
    # Taken out by the organiser, the button puts it back, once.
    await client.put(f"/api/v1/meetings/{second['id']}/agenda", headers=h, json=AGENDA)
    assert TITLE_VI not in await titles(second["id"])
    csrf = await login(client, "org")
    page = await (await client.get(f"/sessions/{second['id']}")).text()
    assert "Thêm phần vào chương trình" in page
    version = (await (await client.get(f"/api/v1/meetings/{second['id']}", headers=h)).json())[
        "version"
    ]
    posted = await client.post(
        f"/sessions/{second['id']}/agenda/carried",
        data={"_csrf": csrf, "version": str(version)},
        allow_redirects=False,
    )
    assert posted.status == 303
    assert await titles(second["id"]) == ["Khai mạc", TITLE_VI, "Báo cáo tình hình quý", "Kết luận"]


async def test_a_session_created_in_the_series_gets_the_part_too(
    client: TestClient, series: dict[str, Any]
):
    h = series["h"]
    made = await _meeting(
        client, h, "Giao ban bổ sung", "2030-08-20", series_id=series["second"]["series_id"]
    )
    got = await client.get(f"/api/v1/meetings/{made['id']}/agenda", headers=h)
    assert [item["title"] for item in await got.json()] == [TITLE_VI]
    alone = await _meeting(client, h, "Phiên riêng", "2030-08-21")
    got = await client.get(f"/api/v1/meetings/{alone['id']}/agenda", headers=h)
    assert await got.json() == []


async def test_the_letter_names_the_carried_items(
    client: TestClient, series: dict[str, Any], tmp_path: Path
):
    got = await client.get(
        f"/api/v1/meetings/{series['second']['id']}/letter.pdf", headers=series["h"]
    )
    assert got.status == 200, await got.text()
    text = flat(pdf_text(await got.read(), tmp_path))
    assert f"{TITLE_VI}: số nội dung của các phiên trước chưa hoàn thành: 4." in text
    assert "Nộp kinh phí (Văn phòng, hạn 10/01/2020): Quá hạn." in text
    assert "Kiến nghị (Liên hiệp Vĩnh Phúc): Đề nghị tập huấn" in text
    assert "Việc đã xong" not in text


async def test_a_long_list_is_capped_in_the_letter(settings: Settings, tmp_path: Path):
    starts = datetime(2030, 4, 19, 1, tzinfo=UTC)
    meeting = Meeting(id=1, title="Giao ban", starts_at=starts, ends_at=starts.replace(hour=4))
    many = Carried(
        actions=[
            CarriedAction(
                id=n,
                text=f"Nhiệm vụ số {n}",
                owner="",
                due_on=None,
                state="open",
                meeting_id=0,
                meeting_title="",
            )
            for n in range(1, 13)
        ]
    )
    found = letter.Letter(meeting, [], [], date(2030, 4, 1), carried=many)
    document = letter.letter_document(
        environment(), found, organisation=settings.organisation, locale="en"
    )
    text = flat(pdf_text(await letter.pdf_bytes(document), tmp_path))
    assert "items of earlier sessions still open: 12." in text
    assert "Nhiệm vụ số 10: Not started." in text and "Nhiệm vụ số 11" not in text
    assert "and 2 more." in text


async def _minutes(client: TestClient, h: dict[str, str], meeting_id: int, fmt: str, **query):
    got = await client.get(f"/api/v1/meetings/{meeting_id}/minutes.{fmt}", headers=h, params=query)
    assert got.status == 200, await got.text()
    return await got.read()


def _text_of(body: bytes, fmt: str, folder: Path) -> str:
    if fmt == "pdf":  # in reading order: a cell's words stay together
        return flat(pdf_tool(body, folder, "pdftotext", "-raw"))
    if fmt == "docx":
        return flat(docx_text(docx.Document(io.BytesIO(body))))
    return flat(body.decode())


async def test_the_minutes_report_each_carried_item_with_its_state_frozen_once_approved(
    client: TestClient, session_factory: Any, series: dict[str, Any], tmp_path: Path
):
    h, second = series["h"], series["second"]
    async with session_factory() as session, session.begin():
        item = await session.scalar(select(ActionItem).where(ActionItem.text == "Tổng kết thi đua"))
        assert item is not None
        # Done during the session: its minutes say so.
        item.status, item.done_at = ActionStatus.done, datetime(2030, 7, 18, 2, tzinfo=UTC)
    words = {
        "vi": ("Hoàn thành", "Đang thực hiện", "Quá hạn", "Chưa trả lời", TITLE_VI),
        # The part's title is the agenda's, stored in the session's language.
        "en": ("Done", "In progress", "Overdue", "Still open", "how it stands", TITLE_VI),
    }
    for lang, expected in words.items():
        for fmt in ("html", "md", "docx", "pdf"):
            text = _text_of(await _minutes(client, h, second["id"], fmt, lang=lang), fmt, tmp_path)
            for word in expected:
                assert word in text, (lang, fmt, word)
            for carried_text in (*EXPECTED_ACTIONS, "Đề nghị tập huấn"):
                assert carried_text in text, (lang, fmt, carried_text)
            assert "Việc đã xong" not in text and "Việc của chuỗi khác" not in text

    async with session_factory() as session, session.begin():
        row = await session.get(Meeting, second["id"])
        assert row is not None
        row.status = MeetingStatus.ended
    approved = await client.post(
        f"/api/v1/meetings/{second['id']}/minutes/approve", headers=series["chair"]
    )
    assert approved.status == 201, await approved.text()
    async with session_factory() as session, session.begin():
        item = await session.scalar(select(ActionItem).where(ActionItem.text == "Nộp kinh phí"))
        assert item is not None
        item.status, item.done_at = ActionStatus.done, utcnow()
    frozen = _text_of(await _minutes(client, h, second["id"], "md", version=1), "md", tmp_path)
    assert "Nộp kinh phí" in frozen and "Quá hạn" in frozen


def test_minutes_approved_before_they_carried_items_still_read():
    content = {
        "organisation": {"name": "Liên hiệp"},
        "meeting": {
            "id": 1,
            "title": "Giao ban",
            "kind": "briefing",
            "starts_at": "2024-04-19T08:00:00+07:00",
            "ends_at": "2024-04-19T11:00:00+07:00",
            "timezone": "Asia/Ho_Chi_Minh",
            "location": "",
        },
        "issued_on": "2024-04-19",
        "version": 1,
        "status": "approved",
        "attendance": {"invited": 0, "connected": 0, "delegates_present": 0},
    }
    assert MinutesData.model_validate(content).carried == []
