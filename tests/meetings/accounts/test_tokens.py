"""Readers never fail because of writers: a bearer-token read writes nothing (the token's
last use is noted coarsely, beside the request), so it answers while a long write runs."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.core.keys import later_key
from meetings.core.settings import Settings
from tests.factories import bearer, make_site, make_user


def _path(settings: Settings) -> str:
    return settings.database.url.removeprefix("sqlite+aiosqlite:///")


def _last_used(settings: Settings) -> list[str | None]:
    with sqlite3.connect(_path(settings)) as connection:
        return [row[0] for row in connection.execute("SELECT last_used_at FROM apitoken")]


@contextmanager
def _writer_holding_the_database(settings: Settings) -> Iterator[sqlite3.Connection]:
    """Another process's long write (an import): SQLite's write lock, held until the end."""
    connection = sqlite3.connect(_path(settings), isolation_level=None, timeout=0.1)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("UPDATE site SET name = name || ''")
    try:
        yield connection
    finally:
        connection.execute("ROLLBACK")
        connection.close()


async def _token(session_factory: Any) -> dict[str, str]:
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        await make_site(session, code="hn", name="Hà Nội")
        return await bearer(session, "org")


async def test_bearer_reads_write_nothing_once_the_use_is_noted(
    client: TestClient, settings: Settings, session_factory: Any
):
    headers = await _token(session_factory)
    assert _last_used(settings) == [None]
    assert (await client.get("/api/v1/sites", headers=headers)).status == 200
    await client.app[later_key].finish()
    noted = _last_used(settings)
    assert noted != [None]
    watcher = sqlite3.connect(_path(settings))
    version = watcher.execute("PRAGMA data_version").fetchone()
    for path in ("/api/v1/sites", "/api/v1/me", "/api/v1/meetings"):
        assert (await client.get(path, headers=headers)).status == 200
    await client.app[later_key].finish()
    # data_version moves when another connection commits: no request wrote anything.
    assert watcher.execute("PRAGMA data_version").fetchone() == version
    watcher.close()
    assert _last_used(settings) == noted


async def test_bearer_reads_answer_while_a_long_write_holds_the_database(
    client: TestClient, settings: Settings, session_factory: Any
):
    headers = await _token(session_factory)
    assert (await client.get("/api/v1/sites", headers=headers)).status == 200
    await client.app[later_key].finish()
    with _writer_holding_the_database(settings):
        started = time.monotonic()
        answers = [
            await client.get(path, headers=headers)
            for path in ("/api/v1/sites", "/api/v1/me", "/api/v1/sites?q=H", "/api/v1/meetings")
        ]
        elapsed = time.monotonic() - started
    assert [a.status for a in answers] == [200, 200, 200, 200]
    assert [s["code"] for s in (await answers[0].json())["items"]] == ["hn"]
    assert elapsed < 2  # no waiting out SQLite's busy timeout (5 s) either


async def test_a_tokens_first_use_is_noted_once_the_writer_is_done(
    client: TestClient, settings: Settings, session_factory: Any
):
    headers = await _token(session_factory)
    with _writer_holding_the_database(settings):
        assert (await client.get("/api/v1/sites", headers=headers)).status == 200
        await asyncio.sleep(0.3)
    await client.app[later_key].finish()  # the note waited for the lock, then was written
    assert _last_used(settings) != [None]
