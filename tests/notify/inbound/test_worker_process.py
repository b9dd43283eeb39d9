"""A real `giaoban serve` reading the mailbox, killed with SIGKILL in the middle of 2,000
answers: after a restart every answer is applied exactly once and the folder is empty.

The first process is killed as soon as its first chunks are committed, while most of
the mail is still in the folder (and perhaps between a commit and its move). The second
process finds the committed rows by the messages' keys, only moves those messages, and
applies the rest.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from meetings.core.settings import DatabaseSettings
from meetings.core.store import SessionMaker, create_engine, session_maker
from meetings.planning.rsvp_models import RsvpChange
from notify.inbound.models import InboundMail
from tests.conftest import TEST_SECRET
from tests.notify.inbound.dovecot import Mailbox
from tests.notify.inbound.test_worker import PROCESSED, make_world, reply
from tests.notify.mail.test_outbox import free_port

SITES = 40
ANSWERS_EACH = 50
TOTAL = SITES * ANSWERS_EACH
CLIENTS = ("outlook_accept", "google_decline", "apple_tentative", "thunderbird_accept")
#: Generous bounds for a loaded CI machine; the test polls and goes on at once.
TIMEOUT = 240.0


@pytest.fixture
async def maker(database_url: str) -> AsyncIterator[SessionMaker]:
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    yield session_maker(engine)
    await engine.dispose()


def serve(tmp_path: Path, name: str, database_url: str, box: Mailbox) -> subprocess.Popen[bytes]:
    """`giaoban serve` as its own process, configured only through the environment."""
    inbound = box.inbound(batch_size=100)
    env = {
        **os.environ,
        "GIAOBAN_SECRET_KEY": TEST_SECRET,
        "GIAOBAN__DATABASE__URL": database_url,
        "GIAOBAN__SERVER__PORT": str(free_port()),
        "GIAOBAN__SERVER__VAR_DIR": str(tmp_path / "var"),
        "GIAOBAN__DOCUMENTS__DIR": str(tmp_path / "documents"),
        "GIAOBAN__SECURITY__SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        "GIAOBAN__MAIL__MODE": "drop",
        "GIAOBAN__MAIL__DROP_DIR": str(tmp_path / "maildrop"),
        "GIAOBAN__MAIL__WORKER": "true",
        **{f"GIAOBAN__INBOUND__{key.upper()}": str(value) for key, value in inbound.items()},
        **box.environ(),
    }
    with (tmp_path / f"{name}.log").open("wb") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "meetings.core.cli", "serve"],
            cwd=tmp_path,  # no ./config.toml there: defaults and the environment only
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def count(maker: SessionMaker, model: type) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def until(
    maker: SessionMaker, process: subprocess.Popen[bytes], log: Path, done: int, box: Mailbox
) -> int:
    """Polls until `done` rows are stored (and, for all of them, the folder is empty);
    fails at once if the process ends first."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while True:
        rows = await count(maker, InboundMail)
        if rows >= done and (done < TOTAL or box.folder_count("INBOX") == 0):
            return rows
        assert process.poll() is None, f"serve ended ({process.returncode}):\n{log.read_text()}"
        assert asyncio.get_running_loop().time() < deadline, log.read_text()[-3000:]
        await asyncio.sleep(0.02)


async def test_a_killed_worker_applies_every_answer_once_after_a_restart(
    tmp_path: Path, database_url: str, maker: SessionMaker, dovecot: Mailbox
) -> None:
    world = await make_world(maker, SITES)
    raws = [
        reply(world, n, CLIENTS[k % len(CLIENTS)], message_id=f"a{n}-{k}@client.example.net")
        for k in range(ANSWERS_EACH)
        for n in range(SITES)
    ]
    dovecot.deliver_many(raws)

    first = serve(tmp_path, "first", database_url, dovecot)
    try:
        await until(maker, first, tmp_path / "first.log", 1, dovecot)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=TIMEOUT)
    at_kill = await count(maker, InboundMail)
    assert 0 < at_kill < TOTAL
    assert dovecot.folder_count("INBOX") > 0

    second = serve(tmp_path, "second", database_url, dovecot)
    try:
        await until(maker, second, tmp_path / "second.log", TOTAL, dovecot)
    finally:
        second.send_signal(signal.SIGTERM)  # a graceful stop: IDLE ended, logged out
        assert second.wait(timeout=TIMEOUT) == 0, (tmp_path / "second.log").read_text()

    assert await count(maker, InboundMail) == TOTAL
    assert await count(maker, RsvpChange) == TOTAL
    assert dovecot.folder_count("INBOX") == 0
    assert sorted(dovecot.messages(PROCESSED)) == sorted(raws)
    assert "inbound: " in (tmp_path / "second.log").read_text()
