"""The end of a session starts the record's work: its chair and secretary are told, once,
by e-mail (a real SMTP server receives it) and on their dashboards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from agendas.minutes.links import minutes_page_url
from meetings.accounts import accounts
from meetings.accounts.models import Role, UserCreate
from meetings.core.app import create_app, receivers
from meetings.core.settings import Settings
from meetings.core.store import create_engine, session_maker, utcnow
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate, MeetingStatus
from notify.mail import notices, outbox, transports
from notify.mail.models import Message, MessageKind, Notice
from notify.mail.render import make_renderer
from scheduler.service import SchedulerService
from tests.conftest import make_settings
from tests.factories import PASSWORD, bearer, login, make_site
from tests.notify.mail.test_outbox import Sink, free_port  # the SMTP sink of the outbox tests

TITLE = "Hội nghị Giao ban trực tuyến quý II"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> Any:
        return self.now


@pytest.fixture
def sink() -> Any:
    from aiosmtpd.controller import Controller

    handler, port = Sink(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port  # type: ignore[attr-defined]
    yield handler
    controller.stop()


@pytest.fixture
def notice_settings(tmp_path: Path, database_url: str, sink: Any) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        mail={"mode": "smtp", "smtp_host": "127.0.0.1", "smtp_port": sink.port},
        scheduler={"enabled": True},
        server={"public_url": "https://giaoban.example.org"},
    )


@pytest.fixture
async def maker(notice_settings: Settings) -> AsyncIterator[Any]:
    """Sessions carrying an app's receivers, as the service's own would."""
    engine = create_engine(notice_settings.database)
    yield session_maker(engine, signals=receivers())
    await engine.dispose()


async def _people_and_session(maker: Any, *, starts_in: timedelta) -> int:
    """Two chairs (the session names one), a secretary, an organiser; a session soon."""
    async with maker() as session, session.begin():
        for username, role, name in (
            ("chutich", Role.chair, "Nguyễn Văn An"),
            ("phochutich", Role.chair, "Trần Thị Bình"),
            ("thuky", Role.secretary, "Lê Thu Hà"),
            ("tochuc", Role.organiser, "Phạm Tổ Chức"),
        ):
            await accounts.create_user(
                session,
                UserCreate(
                    username=username,
                    role=role,
                    full_name=name,
                    email=f"{username}@example.org",
                    password=PASSWORD,
                ),
            )
        site = await make_site(session)
        start = utcnow() + starts_in
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title=TITLE,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                site_ids=[site.id],
                chair="Nguyễn Văn An",
                rehearsal_minutes=30,
            ),
            organiser_id=None,
            default_location="Hội trường Liên hiệp",
        )
        await planning.change_status(session, meeting.id, MeetingStatus.scheduled)
        return meeting.id


async def _minutes_ready(maker: Any) -> list[Message]:
    async with maker() as session:
        rows = await session.scalars(
            select(Message).where(Message.kind == MessageKind.minutes_ready)
        )
        return sorted(rows, key=lambda m: m.recipient)


async def test_the_end_of_a_session_tells_its_chair_and_secretary_once(
    notice_settings: Settings,
    maker: Any,
    sink: Any,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
):
    meeting_id = await _people_and_session(maker, starts_in=timedelta(minutes=5))
    clock = Clock()
    clock.now = utcnow() + timedelta(hours=2)  # the session's end has passed
    # Started after the end, then again (a restart): the end is done once.
    for _ in range(2):
        service = SchedulerService(maker, notice_settings, clock=clock)
        await service.start()
        await service.stop()
    async with maker() as session:
        assert (await planning.get_meeting_row(session, meeting_id)).status == "ended"
        assert len((await session.scalars(select(Notice))).all()) == 1

    renderer = make_renderer(notice_settings)
    transport = transports.SmtpTransport(notice_settings.mail)
    report = await outbox.deliver_due(maker, transport, renderer)
    assert (report.sent, report.failed) == (2, 0)
    again = await outbox.deliver_due(maker, transport, renderer)
    assert again.sent == 0
    # The chair the session names and the secretary; not the other chair, not the organiser.
    assert sorted(m["To"].addresses[0].addr_spec for m in sink.received) == [
        "chutich@example.org",
        "thuky@example.org",
    ]
    mail = sink.received[0]
    assert str(mail["Subject"]).startswith(f"[Biên bản dự thảo đã sẵn sàng] {TITLE} — ")
    body = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_content()
    link = minutes_page_url("https://giaoban.example.org", meeting_id)
    assert body.startswith("Kính gửi") and link in body
    assert not any(p.get_content_type() == "text/calendar" for p in mail.walk())

    # The secretary's dashboard says so, with the way to the minutes page.
    client = await aiohttp_client(create_app(notice_settings))
    await login(client, "thuky")
    html = await (await client.get("/")).text()
    notices_html = html[html.index('data-testid="notices"') :]
    assert TITLE in notices_html.split("</section>")[0]
    assert f'href="/sessions/{meeting_id}/minutes"' in notices_html.split("</section>")[0]


async def test_a_session_ended_by_hand_is_announced_once_too(
    notice_settings: Settings,
    maker: Any,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
):
    meeting_id = await _people_and_session(maker, starts_in=timedelta(minutes=5))
    client = await aiohttp_client(create_app(notice_settings))
    async with maker() as session, session.begin():
        headers = await bearer(session, "tochuc")
    for status in ("live", "ended"):
        current = await (await client.get(f"/api/v1/meetings/{meeting_id}", headers=headers)).json()
        answer = await client.patch(
            f"/api/v1/meetings/{meeting_id}",
            json={"version": current["version"], "status": status},
            headers=headers,
        )
        assert answer.status == 200, await answer.text()
    assert [m.recipient for m in await _minutes_ready(maker)] == [
        "chutich@example.org",
        "thuky@example.org",
    ]
    # The scheduler's end job arriving afterwards (or a second look) tells no one again.
    async with maker() as session, session.begin():
        assert await notices.announce_minutes_ready(session, meeting_id) == 0
        await receivers().minutes_due.send(session, meeting_id)
    assert len(await _minutes_ready(maker)) == 2


def test_the_link_in_the_notice_is_the_minutes_page_route(settings: Settings):
    app = create_app(settings)
    path = app.router["session_minutes"].url_for(id="42")
    assert (
        minutes_page_url("https://giaoban.example.org", 42) == f"https://giaoban.example.org{path}"
    )
