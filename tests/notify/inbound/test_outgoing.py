"""What our mail carries so the sites' answers come back to the inbound mailbox: the
calendar's ORGANIZER and Reply-To are that mailbox, the SMTP envelope sender a signed
VERP return path; and the DECLINECOUNTER that answers a proposal of another time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select
from sqlmodel import col

from meetings.core.settings import Settings
from meetings.core.store import create_engine, session_maker
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate
from meetings.register.models import ContactIn
from notify.inbound.addresses import outbox_id_of
from notify.inbound.parse import understand
from notify.inbound.parsed import CalendarAnswer
from notify.mail import invitations, outbox, transports
from notify.mail.ical import CalendarEvent, Person, declining
from notify.mail.models import Message, MessageKind
from notify.mail.render import make_renderer
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import make_site
from tests.notify.mail.test_ical import ical_js
from tests.notify.mail.test_outbox import free_port

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
INBOX = "giaoban@inbound.example.gov.vn"
INBOUND_ON = {
    "enabled": True,
    "address": INBOX,
    "imap_host": "127.0.0.1",
    "imap_user": "giaoban",
    "imap_password_env": "S1_IMAP_PASSWORD",
}


class Sink:
    """An SMTP server that keeps each message with its envelope (MAIL FROM)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((envelope.mail_from, message))
        return "250 Message accepted"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def sink(smtp_port: int) -> Iterator[Sink]:
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()


def settings_for(tmp_path: Path, database_url: str, smtp_port: int, *, inbound: bool) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        environ={"S1_IMAP_PASSWORD": "imap-secret"},
        mail={"mode": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp_port},
        **({"inbound": INBOUND_ON} if inbound else {}),
    )


class Clock:
    def __call__(self) -> datetime:
        return datetime(2030, 4, 1, 8, 0, tzinfo=HANOI)


async def invite(settings: Settings) -> tuple[Any, int, Any]:
    """A session with two sites of one contact each, invited; the engine's maker."""
    engine = create_engine(settings.database)
    maker = session_maker(engine)
    async with maker() as session, session.begin():
        sites = [
            await make_site(
                session, contacts=[ContactIn(name=f"Văn phòng {n}", email=f"vp{n}@example.org")]
            )
            for n in range(2)
        ]
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Hội nghị Giao ban trực tuyến quý II",
                starts_at=datetime(2030, 4, 19, 8, 0, tzinfo=HANOI),
                ends_at=datetime(2030, 4, 19, 11, 0, tzinfo=HANOI),
                site_ids=[s.id for s in sites],
            ),
            organiser_id=None,
            default_location="Hội trường Liên hiệp",
        )
        await invitations.queue_invitations(session, meeting.id, secret_key=TEST_SECRET)
    return maker, meeting.id, engine


async def deliver(settings: Settings, maker: Any) -> None:
    await outbox.deliver_due(
        maker, transports.SmtpTransport(settings.mail), make_renderer(settings), now=Clock()
    )


def calendar_of(message: EmailMessage) -> Calendar:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return Calendar.from_ical(payload)


async def test_with_the_mailbox_on_answers_and_bounces_come_back_to_it(
    tmp_path: Path, database_url: str, smtp_port: int, sink: Sink
) -> None:
    settings = settings_for(tmp_path, database_url, smtp_port, inbound=True)
    maker, meeting_id, engine = await invite(settings)
    try:
        await deliver(settings, maker)
        async with maker() as session:
            ids = {
                row.recipient: row.id
                for row in (
                    await session.scalars(select(Message).where(Message.meeting_id == meeting_id))
                ).all()
            }
    finally:
        await engine.dispose()
    assert sorted(mail["To"].addresses[0].addr_spec for _, mail in sink.received) == sorted(ids)
    for mail_from, mail in sink.received:
        recipient = mail["To"].addresses[0].addr_spec
        # The envelope names the outbox row, signed; From is still the office.
        assert mail_from.startswith("giaoban+b") and mail_from.endswith("@inbound.example.gov.vn")
        assert outbox_id_of(mail_from, inbound_address=INBOX, secret=TEST_SECRET) == ids[recipient]
        assert mail["From"].addresses[0].addr_spec == settings.mail.from_address
        assert mail["Reply-To"].addresses[0].addr_spec == INBOX
        (event,) = calendar_of(mail).walk("VEVENT")
        assert str(event["ORGANIZER"]) == f"mailto:{INBOX}"
        assert event["ORGANIZER"].params["CN"] == settings.mail.from_name
        assert [str(a) for a in [event["ATTENDEE"]]] == [f"mailto:{recipient}"]


async def test_with_the_mailbox_off_nothing_changes(
    tmp_path: Path, database_url: str, smtp_port: int, sink: Sink
) -> None:
    settings = settings_for(tmp_path, database_url, smtp_port, inbound=False)
    maker, _, engine = await invite(settings)
    try:
        await deliver(settings, maker)
    finally:
        await engine.dispose()
    assert len(sink.received) == 2
    for mail_from, mail in sink.received:
        assert mail_from == settings.mail.from_address
        assert mail["Reply-To"] is None
        (event,) = calendar_of(mail).walk("VEVENT")
        assert str(event["ORGANIZER"]) == f"mailto:{settings.mail.from_address}"


async def test_a_site_accepting_in_its_client_answers_what_was_sent(
    tmp_path: Path, database_url: str, smtp_port: int, sink: Sink
) -> None:
    """Round trip: the invitation's UID and SEQUENCE, answered from Outlook, read back."""
    settings = settings_for(tmp_path, database_url, smtp_port, inbound=True)
    maker, _, engine = await invite(settings)
    try:
        await deliver(settings, maker)
    finally:
        await engine.dispose()
    from tests.notify.inbound.samples import sample

    _, mail = sink.received[0]
    (event,) = calendar_of(mail).walk("VEVENT")
    recipient = mail["To"].addresses[0].addr_spec
    answer = understand(
        sample(
            "outlook_accept",
            uid=str(event["UID"]),
            sequence=str(event["SEQUENCE"]),
            attendee=recipient,
            organizer=INBOX,
            in_reply_to=mail["Message-ID"].strip("<>"),
        )
    )
    assert isinstance(answer.meaning, CalendarAnswer)
    assert (answer.meaning.uid, answer.meaning.sequence) == (
        str(event["UID"]),
        int(event["SEQUENCE"]),
    )
    assert answer.meaning.attendee == recipient
    assert answer.envelope.answers == (mail["Message-ID"],)


async def test_a_declined_proposal_is_a_declinecounter_to_the_one_contact(
    tmp_path: Path, database_url: str, smtp_port: int, sink: Sink
) -> None:
    settings = settings_for(tmp_path, database_url, smtp_port, inbound=True)
    maker, meeting_id, engine = await invite(settings)
    try:
        async with maker() as session, session.begin():
            invitation = (
                await session.scalars(
                    select(Message)
                    .where(Message.meeting_id == meeting_id)
                    .order_by(col(Message.id))
                )
            ).first()
            assert invitation is not None
            meeting = await planning.get_meeting_row(session, meeting_id)
            declined = Message(
                meeting_id=meeting_id,
                site_id=invitation.site_id,
                recipient=invitation.recipient,
                recipient_name=invitation.recipient_name,
                kind=MessageKind.declinecounter,
                sequence=meeting.sequence,
            )
            session.add(declined)
            await session.flush()
            outgoing = await make_renderer(settings).render_one(session, declined)
            uid, sequence, declined_id = meeting.uid, meeting.sequence, declined.id
    finally:
        await engine.dispose()
    assert outbox_id_of(outgoing.sender, inbound_address=INBOX, secret=TEST_SECRET) == declined_id
    mail = message_from_bytes(outgoing.data, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert str(mail["Subject"]).startswith("[Giữ nguyên thời gian] Hội nghị Giao ban")
    assert mail["Reply-To"].addresses[0].addr_spec == INBOX
    part = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "DECLINECOUNTER"
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_content()
    assert "giữ nguyên" in text.lower()
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    calendar = Calendar.from_ical(data)
    assert calendar["METHOD"] == "DECLINECOUNTER"
    (event,) = calendar.walk("VEVENT")
    assert (str(event["UID"]), event["SEQUENCE"]) == (uid, sequence)
    assert str(event["ATTENDEE"]) == f"mailto:{invitation.recipient}"
    assert str(event["ORGANIZER"]) == f"mailto:{INBOX}"
    assert event["DTSTART"].dt == datetime(2030, 4, 19, 8, 0, tzinfo=HANOI)


EVENT = CalendarEvent(
    uid="0b9c@giaoban",
    sequence=3,
    summary="Hội nghị Giao ban trực tuyến quý II",
    starts_at=datetime(2030, 4, 19, 8, 0, tzinfo=HANOI),
    ends_at=datetime(2030, 4, 19, 11, 30, tzinfo=HANOI),
    timezone="Asia/Ho_Chi_Minh",
    organizer=Person("Văn phòng Liên hiệp", INBOX),
)


def test_declining_is_read_by_icalendar_and_ical_js() -> None:
    now = datetime(2030, 4, 16, 3, 0, tzinfo=UTC)
    data = declining(
        EVENT, Person("Văn phòng xã", "vp@example.org"), now=now, comment="Giữ giờ cũ;\nxin lỗi"
    )
    calendar = Calendar.from_ical(data)
    assert calendar["METHOD"] == "DECLINECOUNTER"
    (event,) = calendar.walk("VEVENT")
    assert (str(event["UID"]), event["SEQUENCE"]) == ("0b9c@giaoban", 3)
    assert event["DTSTAMP"].dt == now
    assert str(event["ATTENDEE"]) == "mailto:vp@example.org"
    assert str(event["COMMENT"]) == "Giữ giờ cũ; xin lỗi"
    assert "SUMMARY" not in event and not event.walk("VALARM")
    for line in data.split(b"\r\n"):
        assert len(line) <= 75
    seen = ical_js(data)
    assert seen["method"] == "DECLINECOUNTER"
    (parsed,) = seen["events"]
    assert (parsed["uid"], parsed["sequence"]) == ("0b9c@giaoban", 3)
    assert parsed["start"] == "2030-04-19T01:00:00.000Z"
    assert [a["address"] for a in parsed["attendees"]] == ["mailto:vp@example.org"]
