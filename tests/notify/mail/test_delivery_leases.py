"""Real `giaoban serve` processes and leases: a crash stalls nothing, a slow relay doubles nothing.

After kill -9 the restarted process takes the dead one's messages over as soon as their
lease runs out (a few seconds here, 20 by default), not after a fixed ten-minute window.
Two processes delivering through a relay slower than the lease never send a message
twice: the one holding it renews its claim while the message waits or is on the wire.
"""

from __future__ import annotations

import asyncio
import collections
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from meetings.core.settings import DatabaseSettings
from meetings.core.store import SessionMaker, create_engine, session_maker, utcnow
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate
from meetings.register.models import ContactIn
from notify.mail import invitations
from notify.mail.models import Message
from tests.conftest import TEST_SECRET
from tests.factories import make_site
from tests.notify.mail.test_delivery_process import (
    HANOI,
    TIMEOUT,
    GatedSink,
    serve,
    wait_for,
)
from tests.notify.mail.test_outbox import free_port

#: `[mail] lease_seconds` of every process in these tests.
LEASE = 2
#: What the brief allows from restart to the mailing going on again.
RESUME_WITHIN = timedelta(seconds=30)


async def queue_mailing(maker: SessionMaker, sites: int, contacts: tuple[str, ...]) -> set[str]:
    """One session inviting `sites` sites with `contacts` each; the addresses queued."""
    async with maker() as session, session.begin():
        made = [
            await make_site(
                session,
                contacts=[ContactIn(name=who, email=f"{who}{n}@example.org") for who in contacts],
            )
            for n in range(sites)
        ]
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Giao ban trực tuyến",
                starts_at=datetime(2030, 4, 19, 8, 0, tzinfo=HANOI),
                ends_at=datetime(2030, 4, 19, 11, 0, tzinfo=HANOI),
                site_ids=[s.id for s in made],
            ),
            organiser_id=None,
            default_location="Hội trường Liên hiệp",
        )
        await invitations.queue_invitations(session, meeting.id, secret_key=TEST_SECRET)
    return {f"{who}{n}@example.org" for n in range(sites) for who in contacts}


async def rows(maker: SessionMaker) -> list[Message]:
    async with maker() as session:
        return list((await session.scalars(select(Message).order_by(Message.id))).all())


async def until(test: Any, seconds: float = TIMEOUT) -> None:
    """Poll an async condition (the database's view) until it holds."""
    deadline = time.monotonic() + seconds
    while not await test():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


@pytest.fixture
async def maker(database_url: str) -> AsyncIterator[SessionMaker]:
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    yield session_maker(engine)
    await engine.dispose()


@pytest.fixture
def gated() -> Iterator[tuple[GatedSink, Controller]]:
    """Accepts 15 messages, then holds every further one until thawed."""
    handler = GatedSink(15, set())
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller
    controller.loop.call_soon_threadsafe(handler.thaw)
    controller.stop()


async def test_after_kill_9_the_restarted_process_resumes_the_mailing_one_lease_later(
    tmp_path: Path,
    database_url: str,
    maker: SessionMaker,
    gated,
) -> None:
    handler, controller = gated
    handler.expected = await queue_mailing(maker, 12, ("chutich", "thuky", "kythuat"))

    first = serve(tmp_path, "first", database_url, controller.port, lease_seconds=str(LEASE))
    try:
        await wait_for(handler.limit_reached, first, tmp_path / "first.log")

        # Every message the sink accepted is marked: what is left was never sent.
        async def accepted_are_marked() -> bool:
            return sum(r.status == "sent" for r in await rows(maker)) == handler.limit

        await until(accepted_are_marked)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=TIMEOUT)
    killed_at = utcnow()
    held = {r.id: r.claimed_at for r in await rows(maker) if r.status == "sending"}
    assert held, "the first process held nothing when it was killed"

    controller.loop.call_soon_threadsafe(handler.thaw)
    second = serve(tmp_path, "second", database_url, controller.port, lease_seconds=str(LEASE))
    try:
        await wait_for(handler.everyone_reached, second, tmp_path / "second.log")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=TIMEOUT)

    after = await rows(maker)
    assert collections.Counter(r.status for r in after) == {"sent": len(handler.expected)}
    assert handler.received == dict.fromkeys(handler.expected, 1)  # everyone, exactly once
    lease = timedelta(seconds=LEASE)
    for row in after:
        if row.id in held:
            claimed_at, sent_at = held[row.id], row.sent_at
            assert claimed_at is not None and sent_at is not None
            # Taken over when the dead process's lease ran out, never while it was live…
            assert sent_at >= claimed_at + lease
            # …and then at once: not after a fixed window (600 s before leases).
            assert sent_at - killed_at < RESUME_WITHIN


class SlowSink:
    """An SMTP relay that takes `delay` seconds over each message (longer than the lease).

    Counts each message when its data arrives, so a second copy on the wire when the
    test stops the processes is counted too.
    """

    def __init__(self, delay: float, expected: set[str], *, mark: int) -> None:
        self.delay = delay
        self.expected = expected
        self.received: collections.Counter[str] = collections.Counter()
        self.arrivals: list[float] = []
        #: Set when message number `mark` arrives.
        self.marked = threading.Event()
        self.mark = mark
        self.everyone_reached = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        for address in envelope.rcpt_tos:
            self.received[address.lower()] += 1
        self.arrivals.append(time.monotonic())
        if len(self.arrivals) >= self.mark:
            self.marked.set()
        await asyncio.sleep(self.delay)
        if self.expected <= set(self.received):
            self.everyone_reached.set()
        return "250 OK"


async def test_two_processes_behind_a_relay_slower_than_the_lease_never_send_a_message_twice(
    tmp_path: Path, database_url: str, maker: SessionMaker
) -> None:
    connections = 2
    expected = await queue_mailing(maker, 4 * connections, ("chutich",))
    # The first process claims all eight at once and sends two at a time, each taking
    # longer than the lease: when the second round starts, the rest have waited longer
    # than the lease in the first's claim. The second process starts then.
    handler = SlowSink(LEASE * 1.25, expected, mark=connections + 1)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    slow = {"lease_seconds": str(LEASE), "max_connections": str(connections)}
    names = ("one", "two")
    workers: list[Any] = []
    try:
        for name in names:
            (tmp_path / name).mkdir()
            workers.append(serve(tmp_path / name, name, database_url, controller.port, **slow))
            if name == "one":
                await wait_for(handler.marked, workers[0], tmp_path / name / f"{name}.log")
        await asyncio.gather(
            *(
                wait_for(handler.everyone_reached, worker, tmp_path / name / f"{name}.log")
                for worker, name in zip(workers, names, strict=True)
            )
        )
    finally:
        # A graceful stop lets each process finish what it has on the wire.
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=TIMEOUT)
        controller.stop()

    # Messages waited in a claim longer than the lease: the relay was slow enough.
    assert handler.arrivals[-1] - handler.arrivals[0] > 2 * LEASE
    assert handler.received == dict.fromkeys(expected, 1)
    assert {r.status for r in await rows(maker)} == {"sent"}
