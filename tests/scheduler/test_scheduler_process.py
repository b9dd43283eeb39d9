"""A real `giaoban serve` plans a reminder 5 s ahead and is killed before it fires; the
next process sends it, and the sink receives it exactly once."""

from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from meetings.accounts.models import Role
from meetings.core.settings import DatabaseSettings
from meetings.core.store import SessionMaker, create_engine, session_maker, utcnow
from meetings.register.models import ContactIn
from notify.mail.models import Message, MessageKind
from scheduler.service import stored_jobs
from tests.conftest import TEST_SECRET
from tests.factories import bearer, make_site, make_user
from tests.notify.mail.test_outbox import free_port

TIMEOUT = 120.0
LEAD = timedelta(seconds=5)


class Sink:
    """Counts reminders per recipient; the test waits on `arrived`."""

    def __init__(self) -> None:
        self.reminders: collections.Counter[str] = collections.Counter()
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        if str(message["Subject"]).startswith("[Nhắc lịch]"):
            for address in envelope.rcpt_tos:
                self.reminders[address.lower()] += 1
            self.arrived.set()
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[Sink, Controller]]:
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller
    controller.stop()


def serve(tmp_path: Path, name: str, url: str, port: int, smtp_port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "GIAOBAN_SECRET_KEY": TEST_SECRET,
        "GIAOBAN__DATABASE__URL": url,
        "GIAOBAN__SERVER__PORT": str(port),
        "GIAOBAN__SERVER__VAR_DIR": str(tmp_path / "var"),
        "GIAOBAN__DOCUMENTS__DIR": str(tmp_path / "documents"),
        "GIAOBAN__SECURITY__SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        "GIAOBAN__MAIL__MODE": "smtp",
        "GIAOBAN__MAIL__SMTP_HOST": "127.0.0.1",
        "GIAOBAN__MAIL__SMTP_PORT": str(smtp_port),
        "GIAOBAN__SCHEDULER__REMINDERS": f"1h{LEAD.seconds}s",
        "GIAOBAN__SCHEDULER__RSVP_CHASER": "",
        "GIAOBAN__SCHEDULER__REHEARSAL_MINUTES": "0",
    }
    with (tmp_path / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "meetings.core.cli", "serve"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def until(condition: Any, process: subprocess.Popen, log: Path) -> None:
    """Poll a cheap condition until it holds; fail at once if the process died."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not await condition():
        assert process.poll() is None, log.read_text()[-3000:]
        assert asyncio.get_running_loop().time() < deadline, log.read_text()[-3000:]
        await asyncio.sleep(0.05)


def call(port: int, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={**headers, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


async def organiser_and_site(maker: SessionMaker) -> tuple[dict[str, str], int]:
    """An organiser's bearer headers, and a site whose one contact gets the reminders."""
    async with maker() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        site = await make_site(session, contacts=[ContactIn(name="Lan", email="lan@example.org")])
    return headers, site.id or 0


async def schedule(port: int, headers: dict[str, str], site_id: int, starts: datetime) -> int:
    """An urgent session of one site, created and scheduled through the API: its id."""
    meeting = await asyncio.to_thread(
        call,
        port,
        "POST",
        "/api/v1/meetings",
        headers,
        {
            "title": "Giao ban đột xuất",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "site_ids": [site_id],
            "is_urgent": True,
        },
    )
    await asyncio.to_thread(
        call,
        port,
        "PATCH",
        f"/api/v1/meetings/{meeting['id']}",
        headers,
        {"version": meeting["version"], "status": "scheduled"},
    )
    return int(meeting["id"])


async def all_reminders_sent(maker: SessionMaker) -> bool:
    async with maker() as session:
        rows = (
            await session.scalars(
                select(Message.status).where(Message.kind == MessageKind.reminder)
            )
        ).all()
    return bool(rows) and set(rows) == {"sent"}


async def test_a_reminder_planned_by_a_killed_process_arrives_once(
    tmp_path: Path, sqlite_url: str, sink
) -> None:
    handler, controller = sink
    engine = create_engine(DatabaseSettings(url=sqlite_url, echo=False))
    maker = session_maker(engine)
    try:
        headers, site_id = await organiser_and_site(maker)

        port = free_port()
        first = serve(tmp_path, "first", sqlite_url, port, controller.port)
        log = tmp_path / "first.log"
        try:
            await until(lambda: _says(log, "serving on"), first, log)
            starts = utcnow() + timedelta(hours=1) + LEAD + timedelta(seconds=1)
            await schedule(port, headers, site_id, starts)

            store = f"sqlite:///{tmp_path / 'var' / 'scheduler-jobs.sqlite3'}"

            async def planned() -> bool:
                if not (tmp_path / "var" / "scheduler-jobs.sqlite3").exists():
                    return False
                rows = await asyncio.to_thread(stored_jobs, store)
                return any(":reminder:" in job_id for job_id, _, _ in rows)

            await until(planned, first, log)
        finally:
            first.send_signal(signal.SIGKILL)  # before the reminder fires
            first.wait(timeout=TIMEOUT)
        assert not handler.arrived.is_set()

        second = serve(tmp_path, "second", sqlite_url, free_port(), controller.port)
        log = tmp_path / "second.log"
        try:
            await until(lambda: _flag(handler.arrived), second, log)

            await until(lambda: all_reminders_sent(maker), second, log)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=TIMEOUT)
    finally:
        await engine.dispose()
    assert handler.reminders == {"lan@example.org": 1}


async def _says(log: Path, text: str) -> bool:
    return log.exists() and text in log.read_text(errors="replace")


async def _flag(event: threading.Event) -> bool:
    return event.is_set()
