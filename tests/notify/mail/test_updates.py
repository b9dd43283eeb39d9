"""Invitations that send only what is due: nothing when nothing a site sees changed, and
an update that says what did, with a calendar each client applies (SEQUENCE above the
last one the recipient got). Delivered to a real SMTP server (aiosmtpd) and read back with
the email and icalendar packages, as a mail client would."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar

from agendas.programme import programme
from agendas.programme.models import AgendaItemIn
from meetings.core.store import create_engine, session_maker
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate, MeetingUpdate
from meetings.register.models import ContactIn
from notify.mail import invitations, outbox, transports
from notify.mail.render import make_renderer
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import make_site

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
TITLE = "Hội nghị Giao ban trực tuyến với 52 Liên hiệp các tổ chức hữu nghị tỉnh, thành phố"


class Sink:
    """An SMTP server that keeps the bytes of every message it receives."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append(envelope.original_content or envelope.content)
        return "250 Message accepted"

    def take(self) -> list[bytes]:
        taken, self.received = self.received, []
        return taken


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def parsed(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def raw_subject(raw: bytes) -> str:
    """The Subject as RFC 2047 decoders (mail clients) read it from the raw header."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii") + "\r\n"
    match = re.search(r"^Subject: (.*?)\r\n(?![ \t])", head, re.M | re.S)
    assert match is not None
    return str(make_header(decode_header(match.group(1).replace("\r\n", ""))))


def calendar_of(message: EmailMessage) -> Any:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    calendar = Calendar.from_ical(part.get_payload(decode=True))
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]


async def test_only_what_changed_is_sent_and_the_update_says_what(tmp_path, database_url, sink):
    handler, port = sink
    settings = make_settings(
        tmp_path, database_url, mail={"mode": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port}
    )
    engine = create_engine(settings.database)
    maker = session_maker(engine)
    transport = transports.SmtpTransport(settings.mail)
    render = make_renderer(settings)

    async def change(**fields: Any) -> invitations.InvitationPlan:
        async with maker() as session, session.begin():
            row = await planning.get_meeting_row(session, meeting_id)
            await planning.update_meeting(
                session, meeting_id, MeetingUpdate(version=row.version, **fields)
            )
            return await invitations.invitation_plan(session, meeting_id)

    async def send() -> list[EmailMessage]:
        async with maker() as session, session.begin():
            await invitations.queue_invitations(session, meeting_id, secret_key=TEST_SECRET)
        await outbox.deliver_due(maker, transport, render)
        return [parsed(raw) for raw in handler.take()]

    try:
        async with maker() as session, session.begin():
            thanh_hoa = await make_site(
                session,
                name="Liên hiệp các tổ chức hữu nghị tỉnh Thanh Hóa",
                contacts=[
                    ContactIn(name="Chủ tịch", email="chutich@thanhhoa.example.org"),
                    ContactIn(name="Văn phòng", email="vanphong@thanhhoa.example.org"),
                ],
            )
            ca_mau = await make_site(session, name="Liên hiệp các tổ chức hữu nghị tỉnh Cà Mau")
            meeting = await planning.create_meeting(
                session,
                MeetingCreate(
                    title=TITLE,
                    starts_at=datetime(2030, 4, 19, 8, 0, tzinfo=HANOI),
                    ends_at=datetime(2030, 4, 19, 11, 0, tzinfo=HANOI),
                    site_ids=[thanh_hoa.id, ca_mau.id],
                ),
                organiser_id=None,
                default_location="Hội trường Liên hiệp",
            )
            meeting_id = meeting.id
            await programme.replace_agenda(
                session,
                meeting_id,
                [AgendaItemIn(title="Khai mạc", duration_minutes=15)],
                version=None,
            )
        first = await send()
        assert len(first) == 3
        assert {calendar_of(m)[1]["SEQUENCE"] for m in first} == {0}

        # Right after sending: every site has the latest version, nothing is due.
        async with maker() as session, session.begin():
            plan = await invitations.invitation_plan(session, meeting_id)
            assert (plan.planned, plan.current_sites, plan.outdated_sites) == ([], 2, 0)
            report = await invitations.queue_invitations(
                session, meeting_id, secret_key=TEST_SECRET
            )
        assert report.total == 0
        await outbox.deliver_due(maker, transport, render)
        assert handler.take() == []

        # The session moves an hour and gets a video link: the update says so.
        plan = await change(
            starts_at=datetime(2030, 4, 19, 9, 0, tzinfo=HANOI),
            video_url="https://meet.example.org/giaoban-quy-2",
        )
        assert [p.kind for p in plan.planned] == ["update"] * 3
        assert (plan.current_sites, plan.outdated_sites) == (0, 2)
        updates = await send()
        assert len(updates) == 3
        for message in updates:
            assert str(message["Subject"]).startswith("[Cập nhật] ")
            text = text_of(message)
            assert "Những điểm thay đổi:" in text
            assert (
                "- Thời gian: 08:00–11:00, Thứ Sáu, 19/04/2030 → 09:00–11:00, Thứ Sáu, 19/04/2030"
                in text
            )
            assert "- Đường dẫn họp trực tuyến: — → https://meet.example.org/giaoban-quy-2" in text
            html = html_of(message)
            assert "08:00–11:00, Thứ Sáu, 19/04/2030</s> → <strong>09:00–11:00" in html
            calendar, event = calendar_of(message)
            assert str(calendar["METHOD"]) == "REQUEST"
            assert event["SEQUENCE"] == 1  # above the invitation's 0: clients apply it
            assert event.decoded("DTSTART") == datetime(2030, 4, 19, 9, 0, tzinfo=HANOI)

        # Thanh Hóa's own room changes: only its two contacts are told, and the session's
        # SEQUENCE (time, place, link) did not rise: the update's is above theirs anyway.
        async with maker() as session, session.begin():
            from sqlalchemy import update

            from meetings.planning.models import Participation

            await session.execute(
                update(Participation)
                .where(Participation.site_id == thanh_hoa.id)
                .values(endpoint="Phòng họp tầng 3, 99 Trần Phú")
            )
        plan = await change(title=TITLE + " năm 2030")
        assert {p.email for p in plan.planned if p.site_id == thanh_hoa.id} == {
            "chutich@thanhhoa.example.org",
            "vanphong@thanhhoa.example.org",
        }
        room = await send()
        assert len(room) == 3
        by_site = {m["To"].addresses[0].domain: m for m in room}
        text = text_of(by_site["thanhhoa.example.org"])
        assert (
            "- Phòng họp / điểm kết nối của quý đơn vị: — → Phòng họp tầng 3, 99 Trần Phú" in text
        )
        assert f"- Tên phiên họp: {TITLE} → {TITLE} năm 2030" in text
        other = text_of(next(m for k, m in by_site.items() if "thanhhoa" not in k))
        assert "Phòng họp tầng 3" not in other and "Tên phiên họp" in other
        assert {calendar_of(m)[1]["SEQUENCE"] for m in room} == {2}

        # Cancelled: a CANCEL above everything sent, its subject whole as clients read it.
        async with maker() as session, session.begin():
            await planning.cancel_meeting(session, meeting_id, reason="Hoãn do bão")
            await invitations.queue_cancellations(session, meeting_id)
        await outbox.deliver_due(maker, transport, render)
        raws = handler.take()
        assert len(raws) == 3
        for raw in raws:
            expected = f"[Đã hủy] {TITLE} năm 2030 — 19/04/2030"
            assert str(parsed(raw)["Subject"]) == expected
            assert raw_subject(raw) == expected  # "hữu nghị", not "hữunghị"
            calendar, event = calendar_of(parsed(raw))
            assert (str(calendar["METHOD"]), event["SEQUENCE"]) == ("CANCEL", 3)
    finally:
        await engine.dispose()


def test_a_site_view_is_the_same_however_the_time_was_entered():
    from meetings.planning.models import Meeting
    from notify.mail import versions

    local = datetime(2030, 4, 19, 8, 0, tzinfo=HANOI)
    entered = Meeting(title="Giao ban", starts_at=local, ends_at=local.replace(hour=11))
    stored = Meeting(
        title="Giao ban",
        starts_at=local.astimezone(ZoneInfo("UTC")),
        ends_at=local.replace(hour=11).astimezone(ZoneInfo("UTC")),
    )
    assert versions.site_view(entered, endpoint="", agenda="a") == versions.site_view(
        stored, endpoint="", agenda="a"
    )
    moved = Meeting(title="Giao ban", starts_at=local, ends_at=local.replace(day=20, hour=11))
    before = versions.site_view(entered, endpoint="", agenda="a")
    after = versions.site_view(moved, endpoint="", agenda="b")
    assert [(c.label, c.before, c.after) for c in versions.changes(before, after, "en")] == [
        (
            "When",
            "08:00–11:00, Friday, 19/04/2030",
            "08:00 Friday, 19/04/2030 – 11:00 Saturday, 20/04/2030",
        ),
        ("Agenda", "", "changed (the new agenda is below)"),
    ]
