"""Delivery of the outbox: claim due rows, send over a few connections, mark each.

Nothing lost, nothing twice: a row is claimed (queued → sending) in one UPDATE, sent,
and marked sent in its own small transaction. A process killed mid-batch leaves its
claimed rows in `sending`; `release_stale` puts them back after `stale_after`, so they
are sent later (only a message the server had accepted in the instant before the kill
could go twice, which no SMTP client can rule out). Temporary failures (4xx, refused
connection, timeout) retry with exponential backoff and jitter; a 5xx reply marks the
row failed with the server's words.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Protocol

import aiosmtplib
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.settings import MailSettings
from meetings.store import SessionMaker, utcnow
from notify.models import Message, MessageStatus

log = logging.getLogger(__name__)
#: Renders the e-mail for a claimed row (notify.render.render_message in the service).
Renderer = Callable[[AsyncSession, Message], Awaitable[EmailMessage]]
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=2)


class TemporaryFailure(Exception):
    """Try again later (4xx, no connection, timeout)."""


class PermanentFailure(Exception):
    """The server refused for good (5xx); the text is its reply."""


class Connection(Protocol):
    async def send(self, message: EmailMessage) -> None: ...

    async def close(self) -> None: ...


class Transport(Protocol):
    async def connect(self) -> Connection: ...


@dataclass(frozen=True)
class SmtpTransport:
    settings: MailSettings
    timeout: float = 30.0

    async def connect(self) -> Connection:
        mail = self.settings
        client = aiosmtplib.SMTP(
            hostname=mail.smtp_host,
            port=mail.smtp_port,
            use_tls=mail.smtp_tls == "tls",
            start_tls=True if mail.smtp_tls == "starttls" else False,
            timeout=self.timeout,
            tls_context=ssl.create_default_context() if mail.smtp_tls != "none" else None,
        )
        try:
            await client.connect()
            if mail.smtp_user:
                await client.login(mail.smtp_user, mail.smtp_password)
        except aiosmtplib.SMTPResponseException as exc:
            raise _classify(exc) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryFailure(
                f"cannot connect to {mail.smtp_host}:{mail.smtp_port}: {exc}"
            ) from exc
        return _SmtpConnection(client)


def _classify(exc: aiosmtplib.SMTPResponseException) -> Exception:
    reply = f"{exc.code} {exc.message}"
    return PermanentFailure(reply) if exc.code >= 500 else TemporaryFailure(reply)


@dataclass
class _SmtpConnection:
    client: aiosmtplib.SMTP

    async def send(self, message: EmailMessage) -> None:
        try:
            await self.client.send_message(message)
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

    async def send(self, message: EmailMessage) -> None:
        data = message.as_bytes(policy=SMTP_POLICY)
        await asyncio.to_thread((self.folder / eml_name(message["Message-ID"])).write_bytes, data)

    async def close(self) -> None:
        return None


def transport_for(mail: MailSettings) -> Transport:
    return DropTransport(mail.drop_dir) if mail.mode == "drop" else SmtpTransport(mail)


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """30 s, 1 min, 2 min, … capped at 2 h, with ±25 % jitter so retries spread out."""
    base = min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_CAP)
    return base * (0.75 + 0.5 * (rng or random).random())


async def claim(maker: SessionMaker, *, limit: int, now: datetime) -> list[int]:
    """Take up to `limit` due messages for this worker (queued → sending), atomically."""
    async with maker() as session, session.begin():
        due = (
            select(Message.id)
            .where(Message.status == MessageStatus.queued, Message.send_after <= now)
            .order_by(Message.send_after, Message.id)
            .limit(limit)
        )
        if session.bind.dialect.name == "postgresql":
            # Lock exactly these rows; a LIMIT inside UPDATE … IN (…) may be re-run by the
            # planner and take more rows than asked, so select first, then update.
            due = due.with_for_update(skip_locked=True)
        ids = list((await session.scalars(due)).all())
        if not ids:
            return []
        claimed = await session.scalars(
            update(Message)
            .where(Message.id.in_(ids), Message.status == MessageStatus.queued)  # type: ignore[union-attr]
            .values(status=MessageStatus.sending, claimed_at=now, attempts=Message.attempts + 1)
            .returning(Message.id)
        )
        return sorted(claimed.all())


async def release_stale(maker: SessionMaker, *, now: datetime, stale_after: timedelta) -> int:
    """Rows a killed worker left in `sending` go back to the queue."""
    async with maker() as session, session.begin():
        result = await session.execute(
            update(Message)
            .where(
                Message.status == MessageStatus.sending,
                Message.claimed_at < now - stale_after,  # type: ignore[operator]
            )
            .values(status=MessageStatus.queued)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


async def _mark(
    maker: SessionMaker,
    message_id: int,
    *,
    status: MessageStatus,
    now: datetime,
    error: str = "",
    retry_at: datetime | None = None,
    header_id: str = "",
) -> None:
    async with maker() as session, session.begin():
        values: dict[str, object] = {"status": status, "last_error": error[:2000]}
        if status == MessageStatus.sent:
            values.update(sent_at=now, message_id=header_id[:200])
        if retry_at is not None:
            values["send_after"] = retry_at
        await session.execute(update(Message).where(Message.id == message_id).values(**values))


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


async def deliver_due(
    maker: SessionMaker,
    transport: Transport,
    render: Renderer,
    *,
    now: Callable[[], datetime] = utcnow,
    connections: int = 4,
    batch: int = 200,
    max_attempts: int = MAX_ATTEMPTS,
) -> DeliveryReport:
    """Send everything due now, `connections` SMTP sessions at a time; returns counts."""
    report = DeliveryReport()
    while ids := await claim(maker, limit=batch, now=now()):
        shares = [ids[i::connections] for i in range(min(connections, len(ids)))]
        await asyncio.gather(
            *(
                _send_share(maker, transport, render, share, report, now, max_attempts)
                for share in shares
            )
        )
    return report


async def _send_share(
    maker: SessionMaker,
    transport: Transport,
    render: Renderer,
    ids: Sequence[int],
    report: DeliveryReport,
    now: Callable[[], datetime],
    max_attempts: int,
) -> None:
    """One connection's share of a batch; a broken connection is reopened once per message."""
    connection: Connection | None = None
    try:
        for message_id in ids:
            async with maker() as session:
                row = await session.get(Message, message_id)
                if row is None:
                    continue
                attempts = row.attempts
                email = await render(session, row)
            try:
                if connection is None:
                    connection = await transport.connect()
                await connection.send(email)
            except TemporaryFailure as exc:
                if connection is not None:
                    await connection.close()
                    connection = None
                if attempts >= max_attempts:
                    report.failed += 1
                    await _mark(
                        maker,
                        message_id,
                        status=MessageStatus.failed,
                        now=now(),
                        error=f"gave up after {attempts} attempts: {exc}",
                    )
                else:
                    report.retried += 1
                    await _mark(
                        maker,
                        message_id,
                        status=MessageStatus.queued,
                        now=now(),
                        error=str(exc),
                        retry_at=now() + backoff(attempts),
                    )
                continue
            except PermanentFailure as exc:
                report.failed += 1
                await _mark(
                    maker, message_id, status=MessageStatus.failed, now=now(), error=str(exc)
                )
                continue
            report.sent += 1
            await _mark(
                maker,
                message_id,
                status=MessageStatus.sent,
                now=now(),
                header_id=str(email["Message-ID"]),
            )
    finally:
        if connection is not None:
            await connection.close()
