"""A real `giaoban serve` killed with SIGKILL mid-mailing: nothing lost, nothing marked twice.

The first process delivers until the SMTP sink has accepted some of the messages; the sink
then holds every further message, so the kill lands in the middle of the mailing, not
after it. A second process takes back what the first had claimed once the first's lease
has run out (by the second's short `[mail] lease_seconds`), and finishes. Only a message
accepted in the instant before the kill, and not yet marked, may arrive twice; one
marked sent never does.
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from meetings.core.settings import DatabaseSettings
from meetings.core.store import SessionMaker, create_engine, session_maker
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate
from meetings.register.models import ContactIn
from notify.mail import invitations
from notify.mail.models import Message
from tests.conftest import TEST_SECRET
from tests.factories import make_site
from tests.notify.mail.test_outbox import free_port

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
SITES = 100
CONTACTS = ("chutich", "thuky", "kythuat")
RECIPIENTS = SITES * len(CONTACTS)
#: Messages the sink accepts from the first process before it holds the rest.
ACCEPTED_BEFORE_KILL = 100
#: Generous bounds for a loaded CI machine; the test waits on events, not on these.
TIMEOUT = 180.0


class GatedSink:
    """Counts each recipient's messages; after `limit` it holds every message until thawed.

    Runs on the controller's own loop and thread: `thaw` must be called through
    `controller.loop.call_soon_threadsafe`. The threading events are what the test waits on.
    """

    def __init__(self, limit: int, expected: set[str]) -> None:
        self.limit = limit
        self.expected = expected
        self.received: collections.Counter[str] = collections.Counter()
        self.frozen = True
        self.limit_reached = threading.Event()
        self.everyone_reached = threading.Event()
        self._thawed = asyncio.Event()

    def thaw(self) -> None:
        self.frozen = False
        self._thawed.set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.frozen and self.received.total() >= self.limit:
            self.limit_reached.set()
            # Held until the sender is killed: its connection drops, this is cancelled.
            await self._thawed.wait()
            return "421 4.3.0 try again later"
        for address in envelope.rcpt_tos:
            self.received[address.lower()] += 1
        if self.received.total() >= self.limit:
            self.limit_reached.set()
        if self.expected <= set(self.received):
            self.everyone_reached.set()
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[GatedSink, Controller]]:
    handler = GatedSink(
        ACCEPTED_BEFORE_KILL,
        {f"{who}{n}@example.org" for n in range(SITES) for who in CONTACTS},
    )
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller
    controller.loop.call_soon_threadsafe(handler.thaw)
    controller.stop()


@pytest.fixture
async def maker(database_url: str) -> AsyncIterator[SessionMaker]:
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    yield session_maker(engine)
    await engine.dispose()


async def queue_mailing(maker: SessionMaker) -> None:
    """100 sites with three contacts each, all invited to one session, 300 rows queued."""
    async with maker() as session, session.begin():
        sites = [
            await make_site(
                session,
                contacts=[
                    ContactIn(name=f"{who.title()} {n}", email=f"{who}{n}@example.org")
                    for who in CONTACTS
                ],
            )
            for n in range(SITES)
        ]
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Hội nghị giao ban trực tuyến toàn quốc",
                starts_at=datetime(2030, 4, 19, 8, 0, tzinfo=HANOI),
                ends_at=datetime(2030, 4, 19, 11, 0, tzinfo=HANOI),
                site_ids=[s.id for s in sites],
            ),
            organiser_id=None,
            default_location="Hội trường Liên hiệp",
        )
        queued = await invitations.queue_invitations(session, meeting.id, secret_key=TEST_SECRET)
    assert queued.invitations == RECIPIENTS


def serve(tmp_path: Path, name: str, database_url: str, smtp_port: int, **mail: str):
    """`giaoban serve` as its own process, configured only through the environment."""
    env = {
        **os.environ,
        "GIAOBAN_SECRET_KEY": TEST_SECRET,
        "GIAOBAN__DATABASE__URL": database_url,
        "GIAOBAN__SERVER__PORT": str(free_port()),
        "GIAOBAN__SERVER__VAR_DIR": str(tmp_path / "var"),
        "GIAOBAN__DOCUMENTS__DIR": str(tmp_path / "documents"),
        "GIAOBAN__SECURITY__SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        "GIAOBAN__MAIL__MODE": "smtp",
        "GIAOBAN__MAIL__SMTP_HOST": "127.0.0.1",
        "GIAOBAN__MAIL__SMTP_PORT": str(smtp_port),
        "GIAOBAN__MAIL__WORKER": "true",
        **{f"GIAOBAN__MAIL__{key.upper()}": value for key, value in mail.items()},
    }
    with (tmp_path / f"{name}.log").open("wb") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "meetings.core.cli", "serve"],
            cwd=tmp_path,  # no ./config.toml there: defaults and the environment only
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def wait_for(event: threading.Event, process: subprocess.Popen, log: Path) -> None:
    """Until the sink reports `event`; fails at once if the process ends first."""

    def watch() -> bool:
        while not event.wait(0.2):
            if process.poll() is not None:
                return False
        return True

    ok = await asyncio.wait_for(asyncio.to_thread(watch), TIMEOUT)
    assert ok, f"giaoban serve ended ({process.returncode}):\n{log.read_text()[-3000:]}"


async def statuses(maker: SessionMaker) -> list[tuple[str, str]]:
    """(recipient, status) of every outbox row."""
    async with maker() as session:
        rows = (await session.scalars(select(Message))).all()
    return [(r.recipient.lower(), r.status) for r in rows]


async def test_a_killed_delivery_process_loses_nothing_and_repeats_nothing_marked(
    tmp_path: Path, database_url: str, maker: SessionMaker, sink
) -> None:
    handler, controller = sink
    await queue_mailing(maker)

    first = serve(tmp_path, "first", database_url, controller.port)
    try:
        await wait_for(handler.limit_reached, first, tmp_path / "first.log")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=TIMEOUT)

    before = await statuses(maker)
    marked_sent = {recipient for recipient, status in before if status == "sent"}
    left = collections.Counter(status for _, status in before)
    # Killed in the middle: some marked sent, some claimed and never marked, some queued.
    assert 0 < len(marked_sent) <= ACCEPTED_BEFORE_KILL, left
    assert left["sending"] > 0, left
    assert handler.received.total() == ACCEPTED_BEFORE_KILL

    controller.loop.call_soon_threadsafe(handler.thaw)
    second = serve(tmp_path, "second", database_url, controller.port, lease_seconds="2")
    try:
        await wait_for(handler.everyone_reached, second, tmp_path / "second.log")
    finally:
        # A graceful stop lets the current pass mark what it sent, then the process ends.
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=TIMEOUT)

    after = await statuses(maker)
    assert collections.Counter(status for _, status in after) == {"sent": RECIPIENTS}
    assert set(handler.received) == handler.expected  # everyone received the invitation
    twice = {r for r in marked_sent if handler.received[r] != 1}
    assert not twice, f"marked sent before the kill, yet received again: {sorted(twice)}"


class SlowSink:
    """Counts each recipient's messages; every SLOW_EVERY-th one it holds longer than the
    senders' lease (a relay that is slow, not gone)."""

    SLOW_EVERY, SLOW_SECONDS = 100, 3.0

    def __init__(self, expected: set[str]) -> None:
        self.expected = expected
        self.received: collections.Counter[str] = collections.Counter()
        self.everyone_reached = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.received.total() % self.SLOW_EVERY == 0:
            await asyncio.sleep(self.SLOW_SECONDS)
        for address in envelope.rcpt_tos:
            self.received[address.lower()] += 1
        if self.expected <= set(self.received):
            self.everyone_reached.set()
        return "250 OK"


@pytest.mark.postgres
async def test_two_instances_deliver_one_mailing_once_through_a_slow_relay(
    tmp_path: Path, postgres_url: str
) -> None:
    """Issue #18: every instance delivers from the one outbox; a message held by a relay
    longer than the lease is still its sender's (renewed while it waits), never sent again
    by the other instance."""
    engine = create_engine(DatabaseSettings(url=postgres_url, echo=False))
    maker = session_maker(engine)
    handler = SlowSink({f"{who}{n}@example.org" for n in range(SITES) for who in CONTACTS})
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    processes = []
    try:
        await queue_mailing(maker)
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            processes.append(
                serve(tmp_path / name, name, postgres_url, controller.port, lease_seconds="2")
            )
        await wait_for(handler.everyone_reached, processes[0], tmp_path / "a" / "a.log")

        async def all_sent() -> bool:
            return {status for _, status in await statuses(maker)} == {"sent"}

        deadline = asyncio.get_running_loop().time() + TIMEOUT
        while not await all_sent():
            assert asyncio.get_running_loop().time() < deadline, await statuses(maker)
            await asyncio.sleep(0.1)
        logs = [(tmp_path / n / f"{n}.log").read_text() for n in ("a", "b")]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=TIMEOUT)
        controller.stop()
        await engine.dispose()
    assert handler.received.total() == RECIPIENTS
    assert set(handler.received.values()) == {1}
    # Both delivered a share of it.
    assert all(re.search(r"outbox: [1-9]\d* sent", log) for log in logs), logs
