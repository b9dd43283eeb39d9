"""Chasing the sites that have not sent a requested report (issue #16): in one click (one
reminder per missing site, none to those that sent, a double click refused) and by the
request's schedule (once, on the first working day after the deadline). Delivered through
a real SMTP server; on SQLite and PostgreSQL, through the real app."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlmodel import col

from meetings.accounts.models import Role
from meetings.core.app import receivers
from meetings.core.i18n import format_moment
from meetings.core.settings import Settings
from meetings.core.store import create_engine, session_maker, utcnow
from meetings.planning.report_chases import chase_late_reports, scheduled_times
from meetings.planning.request_models import ReportChase, ReportRequest
from meetings.register.models import Contact, ContactIn
from notify.mail import outbox, transports
from notify.mail.models import Message, MessageKind
from notify.mail.render import make_renderer
from notify.site import tokens
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import bearer, login, make_scheduled_meeting, make_site, make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PUBLIC = "https://giaoban.example.org"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_sink: Any) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        mail={"mode": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp_sink.port},
        server={"public_url": PUBLIC},
    )


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[Any]:
    """Sessions wired as the app's: a chase reaches notify through its signal."""
    engine = create_engine(settings.database)
    yield session_maker(engine, signals=receivers())
    await engine.dispose()


@pytest.fixture
async def world(client: TestClient, maker: Any) -> dict[str, Any]:
    """A session inviting three sites: one sends its report, two do not (one of them has
    a contact that bounced, who is not written to)."""
    async with maker() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        sites = [
            await make_site(
                session,
                code=f"dc{n}",
                name=f"Điểm cầu xã {n}",
                locale="vi",
                contacts=[
                    ContactIn(name=f"Cán bộ {n}", email=f"cb{n}@xa.vn"),
                    *([ContactIn(name="Trả về", email="bounced@xa.vn")] if n == 3 else []),
                ],
            )
            for n in (1, 2, 3)
        ]
        await session.execute(
            update(Contact)
            .where(col(Contact.email) == "bounced@xa.vn")
            .values(bounced_at=utcnow(), bounce_reason="5.1.1 user unknown")
        )
        meeting_id = await make_scheduled_meeting(
            session,
            starts_at=utcnow() + timedelta(days=20),
            site_ids=[s.id for s in sites],
            title="Giao ban quý III",
        )
        links = [await tokens.site_token(session, s.id, secret_key=TEST_SECRET) for s in sites]
    created = await client.post(
        f"/api/v1/meetings/{meeting_id}/report-requests",
        json={"title": "Báo cáo quý III", "due_at": (utcnow() + timedelta(days=5)).isoformat()},
        headers=headers,
    )
    assert created.status == 201
    request_id = (await created.json())["id"]
    data = FormData()
    data.add_field("file", io.BytesIO(PDF), filename="bao cao.pdf")
    sent = await client.post(f"/s/{links[0]}/meetings/{meeting_id}/reports/{request_id}", data=data)
    assert sent.status == 200
    return {
        "headers": headers,
        "meeting": meeting_id,
        "request": request_id,
        "sites": sites,
        "links": links,
    }


async def _chasers(maker: Any) -> list[Message]:
    async with maker() as session:
        rows = await session.scalars(
            select(Message).where(col(Message.kind) == MessageKind.report_chaser)
        )
        return sorted(rows.all(), key=lambda m: m.recipient)


async def test_one_click_reminds_each_missing_site_once(
    client: TestClient, world: dict[str, Any], maker: Any, settings: Settings, smtp_sink: Any
) -> None:
    mid, rid = world["meeting"], world["request"]
    csrf = await login(client, "org")
    page = await (await client.get(f"/sessions/{mid}/report-requests/{rid}")).text()
    assert "Nhắc các điểm cầu chưa gửi (2)" in page and "Chưa nhắc lần nào." in page

    done = await client.post(f"/sessions/{mid}/report-requests/{rid}/chase", data={"_csrf": csrf})
    page = await done.text()
    assert done.status == 200 and "Đã xếp thư nhắc cho 2 điểm cầu." in page
    # The second click (a double click) is refused, and queues nothing more.
    again = await client.post(
        f"/api/v1/meetings/{mid}/report-requests/{rid}/chase", headers=world["headers"]
    )
    assert again.status == 409 and "5" in (await again.json())["error"]["message"]

    chasers = await _chasers(maker)
    assert [m.recipient for m in chasers] == ["cb2@xa.vn", "cb3@xa.vn"]  # not dc1, nor bounced
    assert {m.report_request_id for m in chasers} == {rid}
    followed = await (
        await client.get(
            f"/api/v1/meetings/{mid}/report-requests/{rid}/sites", headers=world["headers"]
        )
    ).json()
    chased = {s["site_code"]: s["last_chased_at"] for s in followed["items"]}
    assert chased["dc1"] is None and chased["dc2"] and chased["dc3"]
    listed = await (
        await client.get(f"/api/v1/meetings/{mid}/report-requests", headers=world["headers"])
    ).json()
    assert listed["items"][0]["chases"] == 1 and listed["items"][0]["last_chased_at"]

    report = await outbox.deliver_due(
        maker, transports.SmtpTransport(settings.mail), make_renderer(settings)
    )
    assert (report.sent, report.failed) == (2, 0)
    mail = next(m for m in smtp_sink.received if m["To"].addresses[0].addr_spec == "cb2@xa.vn")
    assert str(mail["Subject"]) == "[Nhắc gửi báo cáo] Báo cáo quý III"
    body = mail.get_body(("plain",)).get_content()
    link = f"{PUBLIC}/s/{world['links'][1]}"
    assert "Báo cáo quý III" in body and "Giao ban quý III" in body and link in body
    async with maker() as session:
        row = await session.get(ReportRequest, rid)
        assert row is not None
    assert format_moment(row.due_at, "vi", "Asia/Ho_Chi_Minh") in body


async def test_once_every_site_sent_no_one_is_chased(
    client: TestClient, world: dict[str, Any], maker: Any
) -> None:
    mid, rid, links = world["meeting"], world["request"], world["links"]
    for link in links[1:]:
        data = FormData()
        data.add_field("file", io.BytesIO(PDF), filename="bc.pdf")
        assert (
            await client.post(f"/s/{link}/meetings/{mid}/reports/{rid}", data=data)
        ).status == 200
    refused = await client.post(
        f"/api/v1/meetings/{mid}/report-requests/{rid}/chase", headers=world["headers"]
    )
    assert refused.status == 409
    assert await _chasers(maker) == []


async def test_the_scheduled_chase_runs_once_after_the_deadline(
    client: TestClient, world: dict[str, Any], maker: Any, settings: Settings
) -> None:
    mid = world["meeting"]
    # Due on Friday 2 Oct 2026 (Asia/Ho_Chi_Minh): chased on Monday 5 Oct at 08:00, and
    # reminded two working days before (Wednesday 30 Sep at 08:00).
    due = datetime(2026, 10, 2, 16, 59, 59, tzinfo=UTC)
    created = await client.post(
        f"/api/v1/meetings/{mid}/report-requests",
        json={
            "title": "Báo cáo chuyên đề",
            "due_at": due.isoformat(),
            "auto_chase": True,
            "remind_days_before": 2,
        },
        headers=world["headers"],
    )
    assert created.status == 201
    rid = (await created.json())["id"]
    async with maker() as session:
        row = await session.get(ReportRequest, rid)
        assert row is not None
        before, after = scheduled_times(row, "Asia/Ho_Chi_Minh")
    assert before == datetime(2026, 9, 30, 1, 0, tzinfo=UTC)
    assert after == datetime(2026, 10, 5, 1, 0, tzinfo=UTC)

    async def run(now: datetime) -> int:
        async with maker() as session, session.begin():
            return await chase_late_reports(session, now)

    # The first request (deadline in 5 days, no schedule) is never chased by the scheduler.
    assert await run(before - timedelta(minutes=1)) == 0
    assert await run(before) == 3  # the three sites have not sent this one
    assert await run(before + timedelta(hours=1)) == 0  # once
    assert await run(due) == 0
    # Two scheduler processes at the chase time: one chases, the other finds it done
    # (at once on PostgreSQL; SQLite lets one writer in at a time).
    if settings.database.is_sqlite:
        counts = [await run(after), await run(after + timedelta(seconds=1))]
    else:
        counts = list(await asyncio.gather(run(after), run(after + timedelta(seconds=1))))
    assert sorted(counts) == [0, 3]
    assert await run(after + timedelta(days=3)) == 0
    async with maker() as session:
        rounds = (
            await session.scalars(
                select(col(ReportChase.round)).where(col(ReportChase.request_id) == rid)
            )
        ).all()
    assert sorted(rounds) == [1, 1, 1, 2, 2, 2]
    chasers = [m for m in await _chasers(maker) if m.report_request_id == rid]
    assert len(chasers) == 6  # one contact reachable per site, two rounds


async def test_the_schedule_is_chosen_on_the_session_page(
    client: TestClient, world: dict[str, Any]
) -> None:
    mid = world["meeting"]
    csrf = await login(client, "org")
    session_page = await (await client.get(f"/sessions/{mid}")).text()
    assert "Tự động nhắc các điểm cầu trễ hạn" in session_page
    done = await client.post(
        f"/sessions/{mid}/report-requests",
        data={
            "_csrf": csrf,
            "title": "Báo cáo sơ kết",
            "due_at": "",
            "remind_days_before": "3",
            "auto_chase": "1",
        },
    )
    assert done.status == 200
    listed = await (
        await client.get(f"/api/v1/meetings/{mid}/report-requests", headers=world["headers"])
    ).json()
    made = next(r for r in listed["items"] if r["title"] == "Báo cáo sơ kết")
    assert (made["auto_chase"], made["remind_days_before"], made["chases"]) == (True, 3, 0)
    page = await (await client.get(f"/sessions/{mid}/report-requests/{made['id']}")).text()
    assert "nhắc tự động vào ngày làm việc đầu tiên sau hạn" in page
    assert "nhắc tự động 3 ngày làm việc trước hạn" in page
