"""Delivery of the outbox: claim due rows, send over a few connections, mark each.

Nothing lost, nothing twice: a row is claimed (queued → sending) in one UPDATE, sent,
and marked before its connection sends the one after the next. Marks of messages sent
at about the same moment on every connection share one transaction (a group commit), so
a big mailing does not pay one commit per message. A claim is a lease the delivery renews
while it holds the row (notify.mail.leases), however slow the relay; a process killed
mid-batch stops renewing, and its rows are claimed again by the next worker one lease
later (only the last two messages of a connection that the server had accepted before
the kill could go twice; no SMTP client can rule out the last one). Temporary failures
(4xx, refused connection, timeout) retry with exponential backoff and jitter; a 5xx
reply to a message marks its row failed with the server's words. When no session can be
had at all (the relay is down, refuses our TLS or our login), the pass stops at the
first refusal and the rows it claimed wait with the reason, their attempt not counted.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.store import SessionMaker, utcnow
from notify.mail.claims import LEASE, Ledger, claim
from notify.mail.leases import Leases
from notify.mail.models import Message, MessageStatus
from notify.mail.transports import (
    Connection,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
    Transport,
    Unreachable,
)

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=2)


class Renderer(Protocol):
    """Turns claimed rows into e-mails (notify.mail.render.MessageRenderer in the service).

    `prepare` does the database work of a whole batch at once (the session, its sites,
    their links) and returns a function that renders one row of it with no more I/O, so
    a lane renders its next message while the others wait on the server.
    """

    async def prepare(
        self, session: AsyncSession, rows: Sequence[Message]
    ) -> Callable[[Message], Outgoing]: ...


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """30 s, 1 min, 2 min, … capped at 2 h, with ±25 % jitter so retries spread out."""
    base = min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_CAP)
    return base * (0.75 + 0.5 * (rng or random).random())


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
    values: dict[str, Any] = {
        "id": row.id,
        "held": row.attempts,  # the claim this outcome belongs to
        "status": status,
        "last_error": error[:2000],
    }
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
    maker: SessionMaker, renderer: Renderer, leases: Leases, ids: list[int]
) -> tuple[list[Message], Callable[[Message], Outgoing]]:
    """The claimed rows still ours, in one query (read, never changed, through these
    objects) and the renderer's batch work on them, in one transaction (it may issue a
    missing link)."""
    async with maker() as session, session.begin():
        found = await session.scalars(
            select(Message).where(col(Message.id).in_(ids)).order_by(col(Message.id))
        )
        rows = [row for row in found.all() if leases.holds(row)]
        for gone in set(ids) - {row.id for row in rows}:
            leases.release(gone)  # deleted, or claimed by another worker meanwhile
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
    lease: timedelta = LEASE,
) -> DeliveryReport:
    """Send everything due now, `connections` SMTP sessions at a time; returns counts.

    Claims a batch at a time (so rows wait in `sending` for a batch or two at most) and
    renders its messages a few ahead of the lanes, so the CPU works while every lane
    waits on the server or the database; the next batch is claimed while the lanes send
    the end of this one. Each lane takes the next message when it is free, so one slow
    message does not hold back the rest of a fixed share. Meanwhile the rows it holds
    are renewed every quarter of `lease`.
    """
    report = DeliveryReport()
    lanes = [_Lane(transport) for _ in range(max(1, connections))]
    leases = Leases(maker, lease=lease, now=now)
    context = _Delivery(report, Ledger(maker, written=leases.release), leases, now, max_attempts)
    ready: asyncio.Queue[_Ready | None] = asyncio.Queue(maxsize=2 * len(lanes))
    stopping = asyncio.Event()
    heartbeat = asyncio.ensure_future(leases.keep(stopping))
    producer = asyncio.ensure_future(
        _render_ahead(maker, renderer, ready, context, batch=batch, lanes=len(lanes))
    )
    try:
        results = await asyncio.gather(
            *(context.drain(lane, ready) for lane in lanes), return_exceptions=True
        )
    finally:
        # Every lane has stopped by now (none is left running on its own); rows a failed
        # lane did not mark stay `sending` until their lease runs out. If every lane
        # failed, the renderer may wait on a full queue: it stops here.
        producer.cancel()
        stopping.set()
        await asyncio.gather(*(lane.close() for lane in lanes))
    results += await asyncio.gather(producer, heartbeat, return_exceptions=True)
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
        while context.halted is None:
            at = context.now()
            claimed = await claim(maker, limit=batch, now=at, lease=context.leases.lease)
            if not claimed:
                break
            context.leases.take(claimed, at=at)
            rows, render = await _prepare(maker, renderer, context.leases, list(claimed))
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
    ledger: Ledger
    leases: Leases
    now: Callable[[], datetime]
    max_attempts: int
    #: Set when the server cannot be reached: the pass stops claiming, and the messages
    #: already claimed wait with the reason until then, their attempt not counted.
    halted: tuple[str, datetime] | None = None
    #: Lanes open their sessions one at a time, so a server that refuses is asked once.
    connecting: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def drain(self, lane: _Lane, ready: asyncio.Queue[_Ready | None]) -> None:
        """Send what is ready, one message at a time. The mark of a message is written
        at the latest before the lane sends the message after the next, in one commit
        with every mark waiting then (the other lanes' too): a commit per message cost
        more than its message (issue #17: 10,000 invitations 33.8 s, against about 20 s so),
        and a kill repeats at most the two messages of each connection that the server had
        accepted and no commit recorded yet."""
        older = newer = 0  # the numbers of the lane's last two marks in the ledger
        try:
            while (entry := await ready.get()) is not None:
                await self.ledger.flush(older)
                outcome = await self._outcome_of(lane, *entry)
                if outcome is not None:
                    older, newer = newer, self.ledger.add(outcome)
        finally:
            await self.ledger.flush(newer)

    async def _outcome_of(
        self, lane: _Lane, row: Message, email: Outgoing | Exception
    ) -> dict[str, Any] | None:
        if self.halted is not None:
            return self._deferred(row, self.halted)
        if isinstance(email, Exception):
            # No retry helps; the rest of the mailing goes on.
            log.warning("message %s cannot be rendered: %s", row.id, email)
            self.report.failed += 1
            return _outcome(row, MessageStatus.failed, error=f"cannot render: {email}")
        return await self._deliver(lane, row, email)

    def _deferred(self, row: Message, halted: tuple[str, datetime]) -> dict[str, Any]:
        """Back to the queue until the server can be reached, the attempt not counted."""
        reason, retry_at = halted
        self.report.retried += 1
        outcome = _outcome(row, MessageStatus.queued, error=reason, retry_at=retry_at)
        outcome["attempts"] = row.attempts - 1  # claimed, never tried
        return outcome

    async def _deliver(self, lane: _Lane, row: Message, email: Outgoing) -> dict[str, Any] | None:
        """The outcome of sending the row's e-mail (None: not sent, the row is not ours)."""
        try:
            if lane.connection is None:
                async with self.connecting:
                    if self.halted is not None:
                        return self._deferred(row, self.halted)
                    await lane.open()
            if not self.leases.holds(row):
                log.warning("message %s not sent: its claim ran out before its turn", row.id)
                self.leases.release(row.id)
                return None  # another worker may have it now; its lease says so
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
