"""The outbox against a real SMTP server (aiosmtpd): deliver, retry, fail, update, cancel."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import delete, select

from meetings.core.settings import Settings
from meetings.core.store import create_engine, session_maker
from meetings.planning import documents
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate, MeetingUpdate, Participation
from meetings.register import sites as sites_domain
from meetings.register.models import ContactIn
from notify.mail import claims, invitations, outbox, transports
from notify.mail.models import Message
from notify.mail.render import make_renderer
from tests.conftest import TEST_SECRET
from tests.factories import make_site

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
SECRET = TEST_SECRET


class Sink:
    """An SMTP server that keeps what it receives and refuses some addresses for good."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        #: The SMTP session of each message received (kept, so identities stay distinct).
        self.sessions: list[Any] = []

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address.startswith("bounce"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        self.sessions.append(session)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


@pytest.fixture
def smtp_settings(tmp_path, database_url: str, smtp_port: int) -> Settings:
    """On SQLite and on PostgreSQL: claiming rows differs between the two."""
    from tests.conftest import make_settings

    return make_settings(
        tmp_path,
        database_url,
        mail={"mode": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp_port},
    )


@pytest.fixture
async def maker(smtp_settings: Settings):
    """Sessions on the test database; the engine is disposed even when a test fails."""
    engine = create_engine(smtp_settings.database)
    yield session_maker(engine)
    await engine.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 4, 1, 8, 0, tzinfo=HANOI)

    def __call__(self) -> datetime:
        return self.now


async def plan(maker, *, sites: int = 2, contacts: tuple[str, ...] = ("chutich", "kythuat")):
    async with maker() as session, session.begin():
        made = []
        for n in range(sites):
            made.append(
                await make_site(
                    session,
                    contacts=[
                        ContactIn(name=f"{who.title()} {n}", email=f"{who}{n}@example.org")
                        for who in contacts
                    ],
                )
            )
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Hội nghị Giao ban trực tuyến quý II",
                starts_at=datetime(2030, 4, 19, 8, 0, tzinfo=HANOI),
                ends_at=datetime(2030, 4, 19, 11, 0, tzinfo=HANOI),
                site_ids=[s.id for s in made],
            ),
            organiser_id=None,
            default_location="Hội trường Liên hiệp",
        )
    return meeting, made


async def test_invitations_reach_every_contact_as_calendar_requests(smtp_settings, maker, sink):
    meeting, sites = await plan(maker)
    async with maker() as session, session.begin():
        queued = await invitations.queue_invitations(session, meeting.id, secret_key=SECRET)
    assert (queued.invitations, queued.updates, queued.cancellations) == (4, 0, 0)
    clock = Clock()
    report = await outbox.deliver_due(
        maker,
        transports.SmtpTransport(smtp_settings.mail),
        make_renderer(smtp_settings),
        now=clock,
        connections=2,
    )
    assert (report.sent, report.retried, report.failed) == (4, 0, 0)
    assert sorted(m["To"].addresses[0].addr_spec for m in sink.received) == [
        "chutich0@example.org",
        "chutich1@example.org",
        "kythuat0@example.org",
        "kythuat1@example.org",
    ]
    first = sink.received[0]
    assert "Hội nghị Giao ban trực tuyến quý II" in str(first["Subject"])
    calendar_part = next(p for p in first.walk() if p.get_content_type() == "text/calendar")
    event = Calendar.from_ical(calendar_part.get_payload(decode=True)).walk("VEVENT")[0]
    assert str(event["UID"]) == meeting.uid and event["SEQUENCE"] == 0
    assert str(event["ATTENDEE"]) == f"mailto:{first['To'].addresses[0].addr_spec}"
    assert "/s/" in str(event["URL"])  # the site's personal page
    body = next(p for p in first.walk() if p.get_content_type() == "text/plain").get_content()
    assert body.startswith("Kính gửi") and "Trân trọng kính mời" in body  # in Vietnamese
    assert str(first["Subject"]).startswith("[Giấy mời]")
    async with maker() as session:
        rows = (await session.scalars(select(Message))).all()
    assert {r.status for r in rows} == {"sent"} and all(r.sent_at for r in rows)

    # The session moves: the same people get an update, same UID, SEQUENCE 1.
    async with maker() as session, session.begin():
        moved = await planning.update_meeting(
            session,
            meeting.id,
            MeetingUpdate(
                version=meeting.version,
                starts_at=datetime(2030, 4, 19, 9, 0, tzinfo=HANOI),
                site_ids=[sites[0].id],
            ),
        )
        again = await invitations.queue_invitations(session, meeting.id, secret_key=SECRET)
    assert moved.sequence == 1
    assert (again.invitations, again.updates, again.cancellations) == (0, 2, 2)
    sink.received.clear()
    await outbox.deliver_due(
        maker, transports.SmtpTransport(smtp_settings.mail), make_renderer(smtp_settings), now=clock
    )
    methods = {}
    for message in sink.received:
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        parsed = Calendar.from_ical(part.get_payload(decode=True))
        methods[message["To"].addresses[0].addr_spec] = (
            str(parsed["METHOD"]),
            parsed.walk("VEVENT")[0]["SEQUENCE"],
            str(parsed.walk("VEVENT")[0]["UID"]),
        )
    assert methods == {
        "chutich0@example.org": ("REQUEST", 1, meeting.uid),
        "kythuat0@example.org": ("REQUEST", 1, meeting.uid),
        "chutich1@example.org": ("CANCEL", 1, meeting.uid),  # the removed site
        "kythuat1@example.org": ("CANCEL", 1, meeting.uid),
    }


async def test_server_down_is_retried_then_delivered(smtp_settings, maker, smtp_port):
    meeting, _ = await plan(maker, sites=3, contacts=("chutich",))
    async with maker() as session, session.begin():
        await invitations.queue_invitations(session, meeting.id, secret_key=SECRET)
    clock = Clock()
    transport = transports.SmtpTransport(smtp_settings.mail, timeout=5)
    render = make_renderer(smtp_settings)
    down = await outbox.deliver_due(maker, transport, render, now=clock)
    assert (down.sent, down.retried) == (0, 3)
    async with maker() as session:
        rows = (await session.scalars(select(Message))).all()
    for row in rows:
        assert row.status == "queued" and "cannot connect" in row.last_error
        assert row.send_after > clock.now  # backed off
    # The first refused connection stops the pass: the others were not tried.
    assert sorted(row.attempts for row in rows) == [0, 0, 1]

    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        early = await outbox.deliver_due(maker, transport, render, now=clock)
        assert early.sent == 0  # not before the back-off has passed
        clock.now += timedelta(hours=3)
        later = await outbox.deliver_due(maker, transport, render, now=clock)
    finally:
        controller.stop()
    assert later.sent == 3 and len(handler.received) == 3


async def test_a_permanent_refusal_is_failed_with_the_servers_reply(smtp_settings, maker, sink):
    meeting, _ = await plan(maker, sites=1, contacts=("chutich", "bounce"))
    async with maker() as session, session.begin():
        await invitations.queue_invitations(session, meeting.id, secret_key=SECRET)
    report = await outbox.deliver_due(
        maker,
        transports.SmtpTransport(smtp_settings.mail),
        make_renderer(smtp_settings),
        now=Clock(),
    )
    assert (report.sent, report.failed) == (1, 1)
    async with maker() as session:
        failed = (await session.scalars(select(Message).where(Message.status == "failed"))).one()
    assert failed.recipient.startswith("bounce") and "550" in failed.last_error
    assert "mailbox unavailable" in failed.last_error


async def test_a_killed_worker_loses_nothing_and_resends_nothing_marked(smtp_settings, maker, sink):
    meeting, _ = await plan(maker, sites=3, contacts=("chutich",))
    async with maker() as session, session.begin():
        await invitations.queue_invitations(session, meeting.id, secret_key=SECRET)
    clock = Clock()
    # A worker claims two rows and dies before sending them.
    assert len(await claims.claim(maker, limit=2, now=clock.now)) == 2
    first = await outbox.deliver_due(
        maker, transports.SmtpTransport(smtp_settings.mail), make_renderer(smtp_settings), now=clock
    )
    assert first.sent == 1  # only the unclaimed one
    clock.now += timedelta(minutes=11)
    assert await claims.release_stale(maker, now=clock.now, stale_after=timedelta(minutes=10)) == 2
    second = await outbox.deliver_due(
        maker, transports.SmtpTransport(smtp_settings.mail), make_renderer(smtp_settings), now=clock
    )
    assert second.sent == 2
    assert sorted(m["To"].addresses[0].addr_spec for m in sink.received) == [
        "chutich0@example.org",
        "chutich1@example.org",
        "chutich2@example.org",
    ]


async def test_the_mail_drop_writes_eml_files(settings, session_factory):
    maker = session_factory
    meeting, _ = await plan(maker, sites=1, contacts=("chutich",))
    async with maker() as session, session.begin():
        await invitations.queue_invitations(session, meeting.id, secret_key=SECRET)
    report = await outbox.deliver_due(
        maker, transports.transport_for(settings.mail), make_renderer(settings), now=Clock()
    )
    (eml,) = settings.mail.drop_dir.glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert report.sent == 1 and message["To"].addresses[0].addr_spec == "chutich0@example.org"


async def test_two_workers_never_claim_the_same_message(smtp_settings, maker):
    meeting, _ = await plan(maker, sites=5, contacts=("chutich",))
    async with maker() as session, session.begin():
        await invitations.queue_invitations(session, meeting.id, secret_key=SECRET)
    now = Clock().now
    first, second = await asyncio.gather(
        claims.claim(maker, limit=3, now=now), claims.claim(maker, limit=3, now=now)
    )
    assert not set(first) & set(second)
    assert len(first) + len(second) == 5


async def test_a_mailing_of_many_batches_keeps_to_max_connections_sessions(
    smtp_settings, maker, sink
):
    """Connections stay open from batch to batch: a relay that limits sessions per client
    sees `connections` of them, not one per share of every batch."""
    meeting, _ = await plan(maker, sites=7, contacts=("chutich",))
    async with maker() as session, session.begin():
        await invitations.queue_invitations(session, meeting.id, secret_key=SECRET)
    report = await outbox.deliver_due(
        maker,
        transports.SmtpTransport(smtp_settings.mail),
        make_renderer(smtp_settings),
        now=Clock(),
        connections=2,
        batch=3,
    )
    assert report.sent == 7 and len(sink.received) == 7
    assert len({id(s) for s in sink.sessions}) == 2
    async with maker() as session:
        rows = (await session.scalars(select(Message))).all()
    assert {r.status for r in rows} == {"sent"}
    assert {r.message_id for r in rows} == {str(m["Message-ID"]) for m in sink.received}


async def test_a_message_whose_site_is_gone_fails_with_the_reason_and_the_rest_go(
    smtp_settings, maker, sink
):
    meeting, sites = await plan(maker, sites=2, contacts=("chutich",))
    async with maker() as session, session.begin():
        await invitations.queue_invitations(session, meeting.id, secret_key=SECRET)
    async with maker() as session, session.begin():
        # Taken off the session and out of the register before the mail went out.
        await session.execute(delete(Participation).where(Participation.site_id == sites[1].id))
        await sites_domain.delete_site(session, sites[1].id)
    report = await outbox.deliver_due(
        maker,
        transports.SmtpTransport(smtp_settings.mail),
        make_renderer(smtp_settings),
        now=Clock(),
    )
    assert (report.sent, report.failed) == (1, 1)
    assert [m["To"].addresses[0].addr_spec for m in sink.received] == ["chutich0@example.org"]
    async with maker() as session:
        failed = (await session.scalars(select(Message).where(Message.status == "failed"))).one()
    assert failed.recipient == "chutich1@example.org"
    assert "no session or site" in failed.last_error


class BrokenTransport:
    """A transport failing in a way the outbox does not expect (a bug, not a reply)."""

    async def connect(self) -> transports.Connection:
        raise RuntimeError("transport bug")


async def test_a_delivery_whose_every_connection_breaks_stops_with_the_error(smtp_settings, maker):
    meeting, _ = await plan(maker, sites=12, contacts=("chutich",))
    async with maker() as session, session.begin():
        await invitations.queue_invitations(session, meeting.id, secret_key=SECRET)
    delivery = outbox.deliver_due(
        maker, BrokenTransport(), make_renderer(smtp_settings), now=Clock(), connections=2
    )
    # Both lanes fail at once while messages wait rendered: the delivery must end, not
    # wait forever on its renderer.
    with pytest.raises(RuntimeError, match="transport bug"):
        await asyncio.wait_for(delivery, timeout=30)
    async with maker() as session:
        statuses = set((await session.scalars(select(Message.status))).all())
    assert statuses == {"sending"}  # claimed, not sent: `release_stale` puts them back


async def test_a_document_added_after_a_mailing_is_in_the_next_message_and_letter(
    smtp_settings, maker, sink, tmp_path
):
    """Adding a document does not change the session's version: what a running
    renderer keeps between passes must not hide it from the next message."""
    meeting, _ = await plan(maker, sites=1, contacts=("chutich",))
    async with maker() as session, session.begin():
        await invitations.queue_invitations(session, meeting.id, secret_key=SECRET)
    transport = transports.SmtpTransport(smtp_settings.mail)
    render = make_renderer(smtp_settings)  # one renderer, as the worker keeps it
    await outbox.deliver_due(maker, transport, render, now=Clock())
    async with maker() as session, session.begin():
        await documents.add_document(
            session,
            meeting.id,
            filename="Báo cáo tổng kết.pdf",
            content=b"%PDF-1.4 report",
            folder=tmp_path / "documents",
            max_bytes=1_000_000,
            uploaded_by="test",
        )
        (sent,) = (await session.scalars(select(Message))).all()
        await invitations.resend(session, meeting.id, sent.id)
    await outbox.deliver_due(maker, transport, render, now=Clock())

    first, second = sink.received
    assert "Báo cáo tổng kết.pdf" not in first.get_body(("plain",)).get_content()
    assert "Báo cáo tổng kết.pdf" in second.get_body(("plain",)).get_content()
    letters = [
        next(p for p in m.iter_attachments() if p.get_content_type() == "application/pdf")
        for m in (first, second)
    ]
    assert letters[0].get_content() != letters[1].get_content()  # the letter lists it too
