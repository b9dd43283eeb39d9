"""SmtpTransport against aiosmtpd with TLS and AUTH: STARTTLS, implicit TLS, plain, passwords.

The server's certificate comes from a CA made for the test, trusted through
`[mail] smtp_cafile`; verification is never switched off, and a certificate the client
does not trust stops the delivery instead of being accepted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from meetings.core.config import ConfigError
from meetings.core.settings import DatabaseSettings, Settings, load_settings
from meetings.core.store import SessionMaker, create_engine, session_maker
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate
from meetings.register.models import ContactIn
from notify.mail import invitations, outbox, transports
from notify.mail.models import Message
from notify.mail.render import make_renderer
from tests.conftest import TEST_SECRET
from tests.factories import make_site
from tests.notify.mail.test_outbox import free_port
from tests.tls import Certificates, make_certificates

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
USER = "giaoban"
PASSWORD = "mật-khẩu-đúng"  # non-ASCII on purpose: AUTH PLAIN/LOGIN carry UTF-8


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A CA and a server certificate for 127.0.0.1 it signed, as strict clients want them."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


class Sink:
    """Accepts mail and notes, per message, whether it came over TLS and from whom."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.logins: list[tuple[str, bool]] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = (user, password) == (USER, PASSWORD)
        self.logins.append((user, ok))
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append(
            {
                "to": envelope.rcpt_tos,
                "tls": server.transport.get_extra_info("ssl_object") is not None,
                "authenticated": bool(session.authenticated),
            }
        )
        return "250 OK"


@pytest.fixture
def sink() -> Sink:
    return Sink()


def start(sink: Sink, **options: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=sink.authenticate, **options
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def starttls_port(sink: Sink, certificates: Certificates) -> Iterator[int]:
    """Offers STARTTLS, refuses mail before it, and wants a login (only after TLS)."""
    yield from start(
        sink,
        tls_context=certificates.server_context(),
        require_starttls=True,
        auth_required=True,
    )


@pytest.fixture
def implicit_tls_port(sink: Sink, certificates: Certificates) -> Iterator[int]:
    """TLS from the first byte (port 465 style). aiosmtpd only knows TLS it negotiated
    with STARTTLS, so it is told not to ask again before AUTH."""
    yield from start(sink, ssl_context=certificates.server_context(), auth_require_tls=False)


@pytest.fixture
def plain_port(sink: Sink) -> Iterator[int]:
    """No TLS at all (a relay on the same host); AUTH still offered."""
    yield from start(sink, auth_require_tls=False)


def mail_settings(tmp_path: Path, sqlite_url: str, port: int, **mail: Any) -> Settings:
    password = mail.pop("password", "")
    return load_settings(
        None,
        environ={"GIAOBAN_SECRET_KEY": TEST_SECRET, "GIAOBAN_SMTP_PASSWORD": password},
        overrides={
            "server": {"var_dir": str(tmp_path / "var")},
            "database": {"url": sqlite_url},
            "mail": {
                "mode": "smtp",
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "worker": False,
                **mail,
            },
            "documents": {"dir": str(tmp_path / "documents")},
            "security": {"secret_key_file": str(tmp_path / "secret_key")},
        },
    )


@pytest.fixture
async def maker(sqlite_url: str) -> AsyncIterator[SessionMaker]:
    engine = create_engine(DatabaseSettings(url=sqlite_url, echo=False))
    yield session_maker(engine)
    await engine.dispose()


async def queue(maker: SessionMaker, emails: tuple[str, ...] = ("chutich@example.org",)) -> None:
    """Invitations to one site per address."""
    async with maker() as session, session.begin():
        sites = [
            await make_site(session, contacts=[ContactIn(name="Chủ tịch", email=email)])
            for email in emails
        ]
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Hội nghị giao ban trực tuyến",
                starts_at=datetime(2030, 4, 19, 8, 0, tzinfo=HANOI),
                ends_at=datetime(2030, 4, 19, 11, 0, tzinfo=HANOI),
                site_ids=[site.id for site in sites],
            ),
            organiser_id=None,
            default_location="Hội trường Liên hiệp",
        )
        await invitations.queue_invitations(session, meeting.id, secret_key=TEST_SECRET)


async def deliver(
    maker: SessionMaker, settings: Settings, **options: Any
) -> tuple[list[Message], outbox.DeliveryReport]:
    """One delivery pass with the real transport and renderer; the rows after it."""
    report = await outbox.deliver_due(
        maker,
        transports.SmtpTransport(settings.mail, timeout=10),
        make_renderer(settings),
        connections=1,
        **options,
    )
    async with maker() as session:
        rows = list((await session.scalars(select(Message).order_by(Message.id))).all())
    return rows, report


async def deliver_one(
    maker: SessionMaker, settings: Settings
) -> tuple[Message, outbox.DeliveryReport]:
    """Queue one invitation and run one delivery pass."""
    await queue(maker)
    (row,), report = await deliver(maker, settings)
    return row, report


async def test_starttls_with_the_right_password_delivers_encrypted_and_logged_in(
    tmp_path, sqlite_url, maker, sink, starttls_port, certificates
):
    settings = mail_settings(
        tmp_path,
        sqlite_url,
        starttls_port,
        smtp_tls="starttls",
        smtp_cafile=str(certificates.ca),
        smtp_user=USER,
        password=PASSWORD,
    )
    row, report = await deliver_one(maker, settings)
    assert (report.sent, row.status) == (1, "sent")
    assert sink.received == [{"to": ["chutich@example.org"], "tls": True, "authenticated": True}]
    assert sink.logins == [(USER, True)]


async def test_implicit_tls_with_the_right_password_delivers(
    tmp_path, sqlite_url, maker, sink, implicit_tls_port, certificates
):
    settings = mail_settings(
        tmp_path,
        sqlite_url,
        implicit_tls_port,
        smtp_tls="tls",
        smtp_cafile=str(certificates.ca),
        smtp_user=USER,
        password=PASSWORD,
    )
    row, report = await deliver_one(maker, settings)
    assert (report.sent, row.status) == (1, "sent")
    assert sink.received == [{"to": ["chutich@example.org"], "tls": True, "authenticated": True}]


async def test_plain_smtp_delivers_without_tls(tmp_path, sqlite_url, maker, sink, plain_port):
    settings = mail_settings(
        tmp_path, sqlite_url, plain_port, smtp_tls="none", smtp_user=USER, password=PASSWORD
    )
    row, report = await deliver_one(maker, settings)
    assert (report.sent, row.status) == (1, "sent")
    assert sink.received == [{"to": ["chutich@example.org"], "tls": False, "authenticated": True}]


async def test_a_wrong_password_stops_delivery_until_it_is_put_right(
    tmp_path, sqlite_url, maker, sink, starttls_port, certificates
):
    """A refused login is the relay's answer to our settings, not to a message: the
    messages wait with the server's reply, and one pass tries to log in once, not once
    per message (relays lock an account after a few failures)."""
    mail = {
        "smtp_tls": "starttls",
        "smtp_cafile": str(certificates.ca),
        "smtp_user": USER,
    }
    wrong = mail_settings(tmp_path, sqlite_url, starttls_port, password="mật-khẩu-sai", **mail)
    await queue(maker, ("a@example.org", "b@example.org", "c@example.org"))
    now = datetime(2030, 4, 1, 8, 0, tzinfo=UTC)
    rows, report = await deliver(maker, wrong, now=lambda: now)
    assert (report.sent, report.failed, report.retried) == (0, 0, 3)
    assert {row.status for row in rows} == {"queued"}
    for row in rows:
        assert row.last_error.startswith(f"cannot log in to 127.0.0.1:{starttls_port} as {USER}")
        assert "535" in row.last_error and "Authentication credentials invalid" in row.last_error
        assert row.send_after > now  # backed off
    assert sorted(row.attempts for row in rows) == [0, 0, 1]  # only one was tried
    # aiosmtplib tries each mechanism the server offers (PLAIN, LOGIN) in the one session.
    assert sink.received == [] and len(sink.logins) == 2
    assert not any(ok for _, ok in sink.logins)

    right = mail_settings(tmp_path, sqlite_url, starttls_port, password=PASSWORD, **mail)
    later = now + timedelta(hours=1)
    rows, report = await deliver(maker, right, now=lambda: later)
    assert report.sent == 3 and {row.status for row in rows} == {"sent"}
    assert sorted(m["to"][0] for m in sink.received) == [
        "a@example.org",
        "b@example.org",
        "c@example.org",
    ]


async def test_a_certificate_from_an_unknown_authority_stops_delivery(
    tmp_path, sqlite_url, maker, sink, starttls_port
):
    """Without smtp_cafile the system's authorities do not know the test CA: no mail goes
    out, the row waits for a retry with the reason (verification is not switched off)."""
    settings = mail_settings(
        tmp_path,
        sqlite_url,
        starttls_port,
        smtp_tls="starttls",
        smtp_user=USER,
        password=PASSWORD,
    )
    row, report = await deliver_one(maker, settings)
    assert (report.sent, report.retried, row.status) == (0, 1, "queued")
    assert "cannot connect" in row.last_error and "CERTIFICATE_VERIFY_FAILED" in row.last_error
    assert sink.received == [] and sink.logins == []


async def test_starttls_is_never_skipped_when_the_server_does_not_offer_it(
    tmp_path, sqlite_url, maker, sink, plain_port, certificates
):
    """A server (or a man in the middle) that hides STARTTLS gets no plaintext password."""
    settings = mail_settings(
        tmp_path,
        sqlite_url,
        plain_port,
        smtp_tls="starttls",
        smtp_cafile=str(certificates.ca),
        smtp_user=USER,
        password=PASSWORD,
    )
    row, report = await deliver_one(maker, settings)
    assert (report.sent, report.retried, row.status) == (0, 1, "queued")
    assert "STARTTLS" in row.last_error
    assert sink.received == [] and sink.logins == []


def test_a_missing_cafile_stops_start_up(tmp_path, sqlite_url):
    with pytest.raises(ConfigError, match=r"\[mail\] smtp_cafile: no such file"):
        mail_settings(tmp_path, sqlite_url, 25, smtp_cafile=str(tmp_path / "missing.pem"))
