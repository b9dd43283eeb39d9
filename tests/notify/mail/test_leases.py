"""Claims are leases: taken over only once they run out, renewed while held, fenced by attempt."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from meetings.core.settings import Settings
from meetings.core.store import SessionMaker, create_engine, session_maker
from notify.mail import claims, outbox, transports
from notify.mail.leases import Leases
from notify.mail.models import Message, MessageStatus
from notify.mail.render import make_renderer
from tests.conftest import make_settings
from tests.notify.mail.test_delivery_leases import queue_mailing, rows
from tests.notify.mail.test_outbox import HANOI, free_port

LEASE = timedelta(seconds=20)
T0 = datetime(2030, 4, 1, 8, 0, tzinfo=HANOI)


class SlowRelay:
    """Takes `delay` seconds over each message; counts what each recipient received."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received: collections.Counter[str] = collections.Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        for address in envelope.rcpt_tos:
            self.received[address.lower()] += 1
        await asyncio.sleep(self.delay)
        return "250 OK"


@pytest.fixture
def relay() -> Iterator[tuple[SlowRelay, int]]:
    handler = SlowRelay(0.4)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def settings(tmp_path, database_url: str, relay: tuple[SlowRelay, int]) -> Settings:
    mail = {"mode": "smtp", "smtp_host": "127.0.0.1", "smtp_port": relay[1]}
    return make_settings(tmp_path, database_url, mail=mail)


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[SessionMaker]:
    engine = create_engine(settings.database)
    yield session_maker(engine)
    await engine.dispose()


async def test_a_claim_is_taken_over_only_once_its_lease_has_run_out(maker: SessionMaker):
    await queue_mailing(maker, 3, ("chutich",))
    first = await claims.claim(maker, limit=2, now=T0, lease=LEASE)
    assert list(first.values()) == [1, 1]
    # A worker restarting within the lease takes what is queued, nothing held.
    others = await claims.claim(maker, limit=10, now=T0 + LEASE - timedelta(seconds=1), lease=LEASE)
    assert others.keys().isdisjoint(first) and len(others) == 1
    later = await claims.claim(maker, limit=10, now=T0 + LEASE + timedelta(seconds=1), lease=LEASE)
    assert later == dict.fromkeys(first, 2)  # a new claim: the next attempt


async def test_a_renewed_claim_is_not_taken_over(maker: SessionMaker):
    await queue_mailing(maker, 2, ("chutich",))
    clock = [T0]
    leases = Leases(maker, lease=LEASE, now=lambda: clock[0])
    leases.take(await claims.claim(maker, limit=10, now=T0, lease=LEASE), at=T0)
    clock[0] = T0 + timedelta(seconds=15)
    await leases.renew()
    assert await claims.claim(maker, limit=10, now=T0 + timedelta(seconds=25), lease=LEASE) == {}
    held = await rows(maker)
    assert all(leases.holds(row) for row in held)
    assert await claims.next_expiry(maker, now=clock[0], lease=LEASE) == LEASE


async def test_a_worker_whose_claim_was_taken_over_writes_nothing_to_it(maker: SessionMaker):
    await queue_mailing(maker, 1, ("chutich",))
    mine = Leases(maker, lease=LEASE, now=lambda: T0 + LEASE * 2)
    ((row_id, attempt),) = (await claims.claim(maker, limit=1, now=T0, lease=LEASE)).items()
    mine.take({row_id: attempt}, at=T0)
    # Its worker stalled past the lease: another took the message over.
    theirs = await claims.claim(maker, limit=1, now=T0 + LEASE * 2, lease=LEASE)
    assert theirs == {row_id: attempt + 1}
    late = {"id": row_id, "held": attempt, "status": MessageStatus.queued, "last_error": "4xx"}
    await claims.Ledger(maker).record(late)
    await mine.renew()
    (row,) = await rows(maker)
    assert (row.status, row.attempts, row.last_error) == ("sending", attempt + 1, "")
    assert not mine.holds(row)


async def test_a_delivery_renews_its_claims_so_a_second_worker_behind_a_slow_relay_sends_nothing(
    settings: Settings, maker: SessionMaker, relay: tuple[SlowRelay, int]
):
    expected = await queue_mailing(maker, 6, ("chutich",))
    handler, _ = relay
    transport = transports.SmtpTransport(settings.mail)
    render = make_renderer(settings)
    lease = timedelta(seconds=1)  # six messages at 0.4 s on one connection: 2.4 s
    first = asyncio.ensure_future(
        outbox.deliver_due(maker, transport, render, connections=1, lease=lease)
    )
    other = make_renderer(settings)  # the second worker's own
    while not handler.received:  # the first has claimed all six and is sending
        await asyncio.sleep(0.05)
    second_sent = 0
    while not first.done():
        report = await outbox.deliver_due(maker, transport, other, connections=1, lease=lease)
        second_sent += report.sent
        await asyncio.sleep(0.2)
    assert (await first).sent == len(expected) and second_sent == 0
    assert handler.received == dict.fromkeys(expected, 1)


class StallingTransport:
    """Connects after the clock has passed half the lease, as a worker cut off would."""

    def __init__(self, inner: transports.Transport, clock: list[datetime]) -> None:
        self.inner = inner
        self.clock = clock

    async def connect(self) -> transports.Connection:
        self.clock[0] += LEASE / 2
        return await self.inner.connect()


async def test_a_message_whose_claim_was_not_renewed_in_time_is_not_sent(
    settings: Settings, maker: SessionMaker, relay: tuple[SlowRelay, int]
):
    await queue_mailing(maker, 1, ("chutich",))
    handler, _ = relay
    clock = [T0]
    stalled = StallingTransport(transports.SmtpTransport(settings.mail), clock)
    render = make_renderer(settings)
    report = await outbox.deliver_due(maker, stalled, render, now=lambda: clock[0], lease=LEASE)
    assert report.sent == 0 and not handler.received
    # Left claimed: another worker takes it once the lease has run out, and sends it.
    async with maker() as session:
        assert (await session.scalars(select(Message.status))).all() == ["sending"]
    clock[0] = T0 + LEASE + timedelta(seconds=1)
    transport = transports.SmtpTransport(settings.mail)
    report = await outbox.deliver_due(maker, transport, render, now=lambda: clock[0], lease=LEASE)
    assert report.sent == 1 and handler.received.total() == 1
