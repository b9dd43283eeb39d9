"""Delivery of the outbox: claim due rows, send over a few connections, mark each.

Nothing lost, nothing twice: a row is claimed (queued → sending) in one UPDATE, sent,
and marked before its connection sends the next one. Marks of messages sent at about the
same moment on different connections share one transaction (a group commit), so a big
mailing does not pay one commit per message. A process killed mid-batch leaves its
claimed rows in `sending`; `release_stale` puts them back after `stale_after`, so they
are sent later (only a message the server had accepted in the instant before the kill
could go twice, which no SMTP client can rule out). Temporary failures (4xx, refused
connection, timeout) retry with exponential backoff and jitter; a 5xx reply to a message
marks its row failed with the server's words. When no session can be had at all (the
relay is down, refuses our TLS or our login), the pass stops at the first refusal and
the rows it claimed wait with the reason, their attempt not counted.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.core.settings import MailSettings
from meetings.core.store import SessionMaker, utcnow
from notify.mail.models import Message, MessageStatus

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=2)


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

    sender: str
    recipient: str
    message_id: str
    data: bytes


class Renderer(Protocol):
    """Turns claimed rows into e-mails (notify.mail.render.MessageRenderer in the service).

    `prepare` does the database work of a whole batch at once (the session, its sites,
    their links) and returns a function that renders one row of it with no more I/O, so
    a lane renders its next message while the others wait on the server.
    """

    async def prepare(
        self, session: AsyncSession, rows: Sequence[Message]
    ) -> Callable[[Message], Outgoing]: ...


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


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """30 s, 1 min, 2 min, … capped at 2 h, with ±25 % jitter so retries spread out."""
    base = min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_CAP)
    return base * (0.75 + 0.5 * (rng or random).random())


async def claim(maker: SessionMaker, *, limit: int, now: datetime) -> list[int]:
    """Take up to `limit` due messages for this worker (queued → sending), atomically."""
    due = (
        select(Message.id)
        .where(Message.status == MessageStatus.queued, Message.send_after <= now)
        .order_by(Message.send_after, Message.id)
        .limit(limit)
    )
    take = update(Message).values(
        status=MessageStatus.sending, claimed_at=now, attempts=Message.attempts + 1
    )
    async with maker() as session, session.begin():
        if session.bind.dialect.name == "postgresql":
            # Lock exactly these rows; a LIMIT inside UPDATE … IN (…) may be re-run by the
            # planner and take more rows than asked, so select first, then update.
            ids = list((await session.scalars(due.with_for_update(skip_locked=True))).all())
            if not ids:
                return []
            chosen = Message.id.in_(ids)  # type: ignore[union-attr]
        else:
            # SQLite runs one statement at a time under its write lock: choosing inside
            # the UPDATE lets a second worker that waited for the lock take the next rows
            # (a SELECT first would see the first worker's rows still queued, and get none).
            chosen = Message.id.in_(due.scalar_subquery())  # type: ignore[union-attr]
        claimed = await session.scalars(
            take.where(chosen, Message.status == MessageStatus.queued).returning(Message.id)
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


class _Ledger:
    """Writes outcomes in group commits: one transaction for all the marks waiting.

    A transaction per message costs a session, BEGIN/UPDATE/COMMIT round trips and, on
    PostgreSQL, a WAL flush. Each lane still awaits `record` before it sends anything
    else, so the window in which a kill can repeat a message stays one message per
    connection; only the commit is shared with the lanes that finished meanwhile.
    Entries keep their order: `_written` counts those committed, so an entry numbered at
    most that is in the database.
    """

    def __init__(self, maker: SessionMaker) -> None:
        self._maker = maker
        self._pending: list[dict[str, Any]] = []
        self._queued = 0
        self._written = 0
        self._lock = asyncio.Lock()

    async def record(self, values: dict[str, Any]) -> None:
        self._pending.append(values)
        self._queued += 1
        mine = self._queued
        async with self._lock:
            if self._written >= mine:
                return  # committed by the sender that held the lock
            entries, self._pending = self._pending, []
            try:
                async with self._maker() as session, session.begin():
                    for statement, parameters in _updates(entries):
                        await session.execute(statement, parameters)
            except BaseException:
                self._pending[:0] = entries  # the next sender tries them again, or fails too
                raise
            self._written += len(entries)


def _updates(entries: list[dict[str, Any]]) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    """One UPDATE by primary key per shape of entry, each run as one executemany.

    Core statements on the table: the ORM's bulk UPDATE costs more in Python per row
    than the database takes to write it.
    """
    table = Message.__table__  # type: ignore[attr-defined]
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for entry in entries:
        shapes.setdefault(tuple(sorted(entry)), []).append(entry)
    for keys, group in shapes.items():
        columns = [key for key in keys if key != "id"]
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({key: bindparam(f"new_{key}", type_=table.c[key].type) for key in columns})
        )
        parameters = [
            {"row_id": entry["id"], **{f"new_{key}": entry[key] for key in columns}}
            for entry in group
        ]
        yield statement, parameters


def _outcome(
    row: Message,
    status: MessageStatus,
    *,
    error: str = "",
    sent_at: datetime | None = None,
    header_id: str = "",
    retry_at: datetime | None = None,
) -> dict[str, Any]:
    """The columns a delivery changes (entries with the same keys share one statement)."""
    values: dict[str, Any] = {"id": row.id, "status": status, "last_error": error[:2000]}
    if status == MessageStatus.sent:
        values.update(sent_at=sent_at, message_id=header_id[:200])
    if retry_at is not None:
        values["send_after"] = retry_at
    return values


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


@dataclass
class _Lane:
    """One SMTP session, kept open from batch to batch and reopened after a failure."""

    transport: Transport
    connection: Connection | None = field(default=None)

    async def open(self) -> Connection:
        if self.connection is None:
            self.connection = await self.transport.connect()
        return self.connection

    async def send(self, email: Outgoing) -> None:
        try:
            await (await self.open()).send(email)
        except TemporaryFailure:
            await self.close()  # the session may be in any state: start a new one
            raise

    async def close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            await connection.close()


async def _prepare(
    maker: SessionMaker, renderer: Renderer, ids: list[int]
) -> tuple[list[Message], Callable[[Message], Outgoing]]:
    """The claimed rows in one query (read, never changed, through these objects) and
    the renderer's batch work on them, in one transaction (it may issue a missing link)."""
    async with maker() as session, session.begin():
        rows = list(
            (
                await session.scalars(
                    select(Message).where(Message.id.in_(ids)).order_by(Message.id)  # type: ignore[union-attr,arg-type]
                )
            ).all()
        )
        return rows, await renderer.prepare(session, rows)


async def deliver_due(
    maker: SessionMaker,
    transport: Transport,
    renderer: Renderer,
    *,
    now: Callable[[], datetime] = utcnow,
    connections: int = 4,
    batch: int = 200,
    max_attempts: int = MAX_ATTEMPTS,
) -> DeliveryReport:
    """Send everything due now, `connections` SMTP sessions at a time; returns counts.

    Claims a batch at a time (so rows wait in `sending` for a batch or two at most) and
    renders its messages a few ahead of the lanes, so the CPU works while every lane
    waits on the server or the database; the next batch is claimed while the lanes send
    the end of this one. Each lane takes the next message when it is free, so one slow
    message does not hold back the rest of a fixed share.
    """
    report = DeliveryReport()
    lanes = [_Lane(transport) for _ in range(max(1, connections))]
    context = _Delivery(report, _Ledger(maker), now, max_attempts)
    ready: asyncio.Queue[_Ready | None] = asyncio.Queue(maxsize=2 * len(lanes))
    producer = asyncio.ensure_future(
        _render_ahead(maker, renderer, ready, context, batch=batch, lanes=len(lanes))
    )
    try:
        results = await asyncio.gather(
            *(context.drain(lane, ready) for lane in lanes), return_exceptions=True
        )
    finally:
        # Every lane has stopped by now (none is left running on its own); rows a failed
        # lane did not mark stay `sending` until `release_stale`. If every lane failed,
        # the renderer may wait on a full queue: it stops here.
        producer.cancel()
        await asyncio.gather(*(lane.close() for lane in lanes))
    results += await asyncio.gather(producer, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise result
    return report


#: A claimed row and its e-mail, or why it has none.
_Ready = tuple[Message, Outgoing | Exception]


async def _render_ahead(
    maker: SessionMaker,
    renderer: Renderer,
    ready: asyncio.Queue[_Ready | None],
    context: _Delivery,
    *,
    batch: int,
    lanes: int,
) -> None:
    """Claim and render what is due into `ready` (bounded: a few ahead of the lanes),
    then tell each lane to stop."""
    cancelled = False
    try:
        while context.halted is None and (
            ids := await claim(maker, limit=batch, now=context.now())
        ):
            rows, render = await _prepare(maker, renderer, ids)
            for row in rows:
                try:
                    email: Outgoing | Exception = render(row)
                except (LookupError, ValueError) as exc:
                    email = exc  # its session or site is gone, or its address is not one
                await ready.put((row, email))
    except asyncio.CancelledError:
        cancelled = True  # every lane has stopped already: nobody to tell
        raise
    finally:
        if not cancelled:
            for _ in range(lanes):
                await ready.put(None)


@dataclass
class _Delivery:
    """What every lane of one `deliver_due` shares."""

    report: DeliveryReport
    ledger: _Ledger
    now: Callable[[], datetime]
    max_attempts: int
    #: Set when the server cannot be reached: the pass stops claiming, and the messages
    #: already claimed wait with the reason until then, their attempt not counted.
    halted: tuple[str, datetime] | None = None
    #: Lanes open their sessions one at a time, so a server that refuses is asked once.
    connecting: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def drain(self, lane: _Lane, ready: asyncio.Queue[_Ready | None]) -> None:
        while (entry := await ready.get()) is not None:
            row, email = entry
            if self.halted is not None:
                outcome = self._deferred(row, self.halted)
            elif isinstance(email, Exception):
                # No retry helps; the rest of the mailing goes on.
                log.warning("message %s cannot be rendered: %s", row.id, email)
                self.report.failed += 1
                outcome = _outcome(row, MessageStatus.failed, error=f"cannot render: {email}")
            else:
                outcome = await self._deliver(lane, row, email)
            await self.ledger.record(outcome)

    def _deferred(self, row: Message, halted: tuple[str, datetime]) -> dict[str, Any]:
        """Back to the queue until the server can be reached, the attempt not counted."""
        reason, retry_at = halted
        self.report.retried += 1
        outcome = _outcome(row, MessageStatus.queued, error=reason, retry_at=retry_at)
        outcome["attempts"] = row.attempts - 1  # claimed, never tried
        return outcome

    async def _deliver(self, lane: _Lane, row: Message, email: Outgoing) -> dict[str, Any]:
        try:
            if lane.connection is None:
                async with self.connecting:
                    if self.halted is not None:
                        return self._deferred(row, self.halted)
                    await lane.open()
            await lane.send(email)
        except TemporaryFailure as exc:
            retry_at = self.now() + backoff(row.attempts)
            if isinstance(exc, Unreachable) and self.halted is None:
                log.warning("outbox: delivery stops until %s: %s", retry_at, exc)
                self.halted = (str(exc), retry_at)
            if row.attempts >= self.max_attempts:
                self.report.failed += 1
                error = f"gave up after {row.attempts} attempts: {exc}"
                return _outcome(row, MessageStatus.failed, error=error)
            self.report.retried += 1
            return _outcome(row, MessageStatus.queued, error=str(exc), retry_at=retry_at)
        except PermanentFailure as exc:
            self.report.failed += 1
            return _outcome(row, MessageStatus.failed, error=str(exc))
        self.report.sent += 1
        return _outcome(row, MessageStatus.sent, sent_at=self.now(), header_id=email.message_id)
