"""What operators watch (issue #18): /readyz refuses traffic until the schema is at the
code's migrations (and, on PostgreSQL, the live listener listens); /metrics counts what
they follow: check-ins, open boards, the outbox, the scheduler's leader."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from meetings.accounts.models import Role
from meetings.core.keys import engine_key
from meetings.core.settings import Settings
from notify.site import tokens
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import bearer, make_user
from tests.meetings.attendance.test_attendance import live_session, next_event


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


def reading(metrics: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", metrics, re.M)
    assert found is not None, f"{name} not in /metrics"
    return float(found.group(1))


async def ready(client: TestClient) -> tuple[int, dict[str, Any]]:
    answer = await client.get("/readyz")
    return answer.status, await answer.json()


async def test_ready_only_with_the_schema_at_the_code(client: TestClient, database_url: str):
    status, body = await ready(client)
    for _ in range(100):  # PostgreSQL: the listener connects just after start-up
        if status == 200:
            break
        await asyncio.sleep(0.05)
        status, body = await ready(client)
    assert status == 200 and body["status"] == "ready", body
    expected = {"database"} | ({"listener"} if database_url.startswith("postgresql") else set())
    assert set(body["checks"]) == expected
    # An instance whose database is behind the code (no `giaoban db upgrade` yet) is not.
    engine = client.server.app[engine_key]
    async with engine.begin() as connection:
        head = await connection.scalar(text("SELECT version_num FROM alembic_version"))
        await connection.execute(text("UPDATE alembic_version SET version_num = '0023'"))
    try:
        status, body = await ready(client)
        assert status == 503 and body["status"] == "not ready"
        assert body["checks"]["database"] == f"schema at ['0023'], code at ['{head}']"
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head}
            )


async def test_metrics_count_check_ins_and_open_boards(client: TestClient, session_factory: Any):
    meeting_id, (site,) = await live_session(session_factory, 1)
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        token = await tokens.site_token(session, site, secret_key=TEST_SECRET)
    before = await (await client.get("/metrics")).text()
    assert reading(before, "giaoban_checkin_seconds_count") == 0
    assert reading(before, "giaoban_board_clients") == 0
    assert reading(before, "giaoban_outbox_depth") == 0
    assert reading(before, "giaoban_messages_sent_total") == 0  # a counter: rates from it
    assert "# TYPE giaoban_messages_sent_total counter" in before
    assert reading(before, "giaoban_scheduler_leader") == 0  # tests run no scheduler
    async with client.get(f"/api/v1/meetings/{meeting_id}/live", headers=headers) as live:
        await next_event(live)  # open: its snapshot came
        checked = await client.post(
            f"/api/v1/site/{token}/meetings/{meeting_id}/check-in", json={"delegates_present": 4}
        )
        assert checked.status == 200, await checked.text()
        after = await (await client.get("/metrics")).text()
    assert reading(after, "giaoban_checkin_seconds_count") == 1
    assert reading(after, "giaoban_board_clients") == 1
