"""Two `giaoban serve` processes on one PostgreSQL database, both told to run the scheduler
(issue #18): one leads, and plans a session changed through the other; killed with -9
right before the session's reminder is due, the other takes over and sends it, once."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from meetings.core.config import sync_url
from meetings.core.settings import DatabaseSettings
from meetings.core.store import create_engine, session_maker, utcnow
from scheduler.service import stored_jobs
from tests.notify.mail.test_outbox import free_port
from tests.scheduler.test_scheduler_process import (
    LEAD,
    TIMEOUT,
    _flag,
    _says,
    all_reminders_sent,
    organiser_and_site,
    schedule,
    serve,
    sink,
    until,
)

pytestmark = pytest.mark.postgres
__all__ = ["sink"]  # the fixture, shared
LEADS = "this instance runs the scheduler"


async def test_the_other_instance_takes_over_and_reminds_once(
    tmp_path: Path, postgres_url: str, sink
) -> None:
    handler, controller = sink
    engine = create_engine(DatabaseSettings(url=postgres_url, echo=False))
    maker = session_maker(engine)
    try:
        headers, site_id = await organiser_and_site(maker)
        leader = serve(tmp_path, "leader", postgres_url, free_port(), controller.port)
        leader_log = tmp_path / "leader.log"
        port = free_port()
        other, other_log = leader, leader_log  # until it starts
        try:
            await until(lambda: _says(leader_log, LEADS), leader, leader_log)
            other = serve(tmp_path, "other", postgres_url, port, controller.port)
            other_log = tmp_path / "other.log"
            await until(lambda: _says(other_log, "serving on"), other, other_log)
            assert not await _says(other_log, LEADS)  # one leader

            # The session is planned through the instance that does not lead.
            # Its reminder is due some seconds after: time for the leader to plan it.
            starts = utcnow() + timedelta(hours=1) + LEAD + timedelta(seconds=8)
            meeting_id = await schedule(port, headers, site_id, starts)
            store = sync_url(postgres_url)  # on PostgreSQL, the leader's jobs are there

            async def planned() -> bool:
                rows = await asyncio.to_thread(stored_jobs, store)
                return any(f"{meeting_id}:reminder:" in job_id for job_id, _, _ in rows)

            # The leader heard of it and planned the reminder; it dies before it is due.
            await until(planned, leader, leader_log)
            leader.send_signal(signal.SIGKILL)
            leader.wait(timeout=TIMEOUT)
            assert not handler.arrived.is_set()

            await until(lambda: _says(other_log, LEADS), other, other_log)
            await until(lambda: _flag(handler.arrived), other, other_log)

            await until(lambda: all_reminders_sent(maker), other, other_log)
        finally:
            for process in (leader, other):
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=TIMEOUT)
    finally:
        await engine.dispose()
    assert handler.reminders == {"lan@example.org": 1}
