"""Where the outbox's e-mails go (an SMTP relay, or .eml files) and how a send can fail."""

from __future__ import annotations

import asyncio
import functools
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiosmtplib

from meetings.core.mail_settings import MailSettings


class TemporaryFailure(Exception):
    """Try again later (4xx, no connection, timeout)."""


class PermanentFailure(Exception):
    """The server refused for good (5xx); the text is its reply."""


class Unreachable(TemporaryFailure):
    """No session with the server: it does not answer, or refuses our TLS or our login.

    Nothing to do with any one message, so a delivery pass stops at the first: a wrong
    password tried once per message would fail thousands of logins in a minute (relays
    lock accounts for less), and a relay that is down need not be asked again at once.
    """


@dataclass(frozen=True)
class Outgoing:
    """An e-mail ready for the wire: its envelope and its bytes (CRLF line endings)."""

    #: The SMTP MAIL FROM: the From address, or with the inbound mailbox on, the
    #: message's VERP return path (bounces come back naming it).
    sender: str
    recipient: str
    message_id: str
    data: bytes


class Connection(Protocol):
    async def send(self, message: Outgoing) -> None: ...

    async def close(self) -> None: ...


class Transport(Protocol):
    async def connect(self) -> Connection: ...


@dataclass(frozen=True)
class SmtpTransport:
    settings: MailSettings
    timeout: float = 30.0

    @functools.cached_property
    def tls_context(self) -> ssl.SSLContext | None:
        """Built once per transport: loading the trust store costs more than a message.

        Certificates are always verified; `smtp_cafile` replaces the system's authorities
        with the given ones (a relay with a private CA), it never turns verification off.
        """
        mail = self.settings
        if mail.smtp_tls == "none":
            return None
        cafile = str(mail.smtp_cafile) if mail.smtp_cafile else None
        return ssl.create_default_context(cafile=cafile)

    async def connect(self) -> Connection:
        mail = self.settings
        client = aiosmtplib.SMTP(
            hostname=mail.smtp_host,
            port=mail.smtp_port,
            use_tls=mail.smtp_tls == "tls",
            start_tls=mail.smtp_tls == "starttls",
            timeout=self.timeout,
            tls_context=self.tls_context,
        )
        try:
            await client.connect()
            if mail.smtp_user:
                await client.login(mail.smtp_user, mail.smtp_password)
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            raise Unreachable(
                f"cannot log in to {mail.smtp_host}:{mail.smtp_port} as {mail.smtp_user}: "
                f"{exc.code} {exc.message}"
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            client.close()
            raise Unreachable(
                f"{mail.smtp_host}:{mail.smtp_port} refuses a session: {exc.code} {exc.message}"
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            client.close()
            raise Unreachable(
                f"cannot connect to {mail.smtp_host}:{mail.smtp_port}: {exc}"
            ) from exc
        return _SmtpConnection(client)


def _classify(exc: aiosmtplib.SMTPResponseException) -> Exception:
    reply = f"{exc.code} {exc.message}"
    return PermanentFailure(reply) if exc.code >= 500 else TemporaryFailure(reply)


@dataclass
class _SmtpConnection:
    client: aiosmtplib.SMTP

    async def send(self, message: Outgoing) -> None:
        try:
            await self.client.sendmail(message.sender, [message.recipient], message.data)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0]
            raise _classify(first) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _classify(exc) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryFailure(str(exc) or type(exc).__name__) from exc

    async def close(self) -> None:
        try:
            await self.client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            self.client.close()


def eml_name(message_id: str) -> str:
    """The mail drop's file for a Message-ID (the UI finds a sent message by it)."""
    return message_id.strip().strip("<>").replace("@", "_at_").replace("/", "_") + ".eml"


@dataclass(frozen=True)
class DropTransport:
    """The embedded default: each message becomes an .eml file the UI can show."""

    folder: Path

    async def connect(self) -> Connection:
        await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)
        return _DropConnection(self.folder)


@dataclass
class _DropConnection:
    folder: Path

    async def send(self, message: Outgoing) -> None:
        path = self.folder / eml_name(message.message_id)
        await asyncio.to_thread(path.write_bytes, message.data)

    async def close(self) -> None:
        return None


def transport_for(mail: MailSettings) -> Transport:
    return DropTransport(mail.drop_dir) if mail.mode == "drop" else SmtpTransport(mail)
