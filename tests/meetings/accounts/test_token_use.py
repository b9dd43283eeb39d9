"""A bearer token's last use is kept to the minute without a write on every read, and a
revoked token is refused at once (issue #17), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import select, update

from meetings.accounts import accounts
from meetings.accounts.accounts import TOKEN_USE_EVERY
from meetings.accounts.models import ApiToken, Role, UserPublic, UserUpdate
from meetings.core.keys import engine_key, later_key, settings_key
from meetings.core.settings import Settings
from meetings.core.store import utcnow
from tests.conftest import make_settings
from tests.factories import bearer, make_user, statements_run


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The app on SQLite and on PostgreSQL."""
    return make_settings(tmp_path, database_url)


async def _last_used(session_factory: Any) -> Any:
    async with session_factory() as session:
        return await session.scalar(select(ApiToken.last_used_at))


async def _organiser_token(session_factory: Any) -> tuple[dict[str, str], UserPublic]:
    async with session_factory() as session, session.begin():
        user = await make_user(session, username="org", role=Role.organiser)
        return await bearer(session, "org"), user


async def test_the_last_use_is_kept_to_the_minute(client: TestClient, session_factory: Any):
    assert timedelta(minutes=1) >= TOKEN_USE_EVERY
    headers, _ = await _organiser_token(session_factory)
    assert await _last_used(session_factory) is None
    before = utcnow()
    assert (await client.get("/api/v1/sites", headers=headers)).status == 200
    await client.app[later_key].finish()
    first = await _last_used(session_factory)
    assert first is not None and before <= first <= utcnow()
    # Used again within the minute: nothing written.
    assert (await client.get("/api/v1/meetings", headers=headers)).status == 200
    await client.app[later_key].finish()
    assert await _last_used(session_factory) == first
    # Noted a minute ago: the next use is noted again, so the time shown is within it.
    earlier = first - TOKEN_USE_EVERY
    async with session_factory() as session, session.begin():
        await session.execute(update(ApiToken).values(last_used_at=earlier))
    again = utcnow()
    assert (await client.get("/api/v1/me", headers=headers)).status == 200
    await client.app[later_key].finish()
    latest = await _last_used(session_factory)
    assert latest is not None and again <= latest <= utcnow()


async def test_a_revoked_token_is_refused_at_once_even_within_the_minute(
    client: TestClient, session_factory: Any
):
    """The caller is kept between requests (accounts.callers), but only until a commit."""
    headers, _ = await _organiser_token(session_factory)
    assert (await client.get("/api/v1/meetings", headers=headers)).status == 200
    await client.app[later_key].finish()  # its use is noted: the next is within the minute
    async with session_factory() as session, session.begin():
        assert await accounts.revoke_tokens(session, username="org") == 1
    refused = await client.get("/api/v1/meetings", headers=headers)
    assert (refused.status, (await refused.json())["error"]["code"]) == (401, "unauthorized")


async def test_a_disabled_users_token_is_refused_at_once(client: TestClient, session_factory: Any):
    headers, user = await _organiser_token(session_factory)
    assert (await client.get("/api/v1/me", headers=headers)).status == 200
    async with session_factory() as session, session.begin():
        change = UserUpdate(version=user.version, is_active=False)
        await accounts.update_user(session, user.id, change)
    assert (await client.get("/api/v1/me", headers=headers)).status == 401


async def _burst(client: TestClient, headers: dict[str, str]) -> tuple[int, int]:
    """Fifty calls of a busy script arriving together: the token lookups and the notes of
    its use they made (each queued on the database behind the others, before)."""
    with statements_run(client.server.app[engine_key].sync_engine) as statements:
        answers = await asyncio.gather(
            *(client.get("/api/v1/meetings", headers=headers) for _ in range(50))
        )
        await client.app[later_key].finish()
    assert [a.status for a in answers] == [200] * 50
    lookups = [s for s in statements if "token_hash" in s and s.lstrip().startswith("SELECT")]
    notes = [s for s in statements if s.lstrip().startswith("UPDATE apitoken")]
    return len(lookups), len(notes)


async def test_a_burst_of_calls_looks_the_token_up_once(client: TestClient, session_factory: Any):
    """Its use noted within the minute, nothing is written meanwhile: one lookup per
    commit marker. SQLite's moves with this database only: one lookup. PostgreSQL's is
    the cluster's snapshot, which another database's writes move too (the other test
    worker's): a few at most, never one a call."""
    headers, _ = await _organiser_token(session_factory)
    async with session_factory() as session, session.begin():
        await session.execute(update(ApiToken).values(last_used_at=utcnow()))
    lookups, notes = await _burst(client, headers)
    on_sqlite = client.app[settings_key].database.url.startswith("sqlite")
    assert notes == 0
    assert lookups == 1 if on_sqlite else 1 <= lookups <= 5


async def test_a_burst_of_calls_notes_the_tokens_use_once(client: TestClient, session_factory: Any):
    """Its use is news: one note on SQLite. On PostgreSQL, whose marker other databases'
    writes move, a call that looked the token up before the note committed may note it
    again (its UPDATE finds the use noted and writes nothing): a few at most, never one a
    call. The lookups are not counted: the note's commit moves the marker."""
    headers, _ = await _organiser_token(session_factory)
    notes = (await _burst(client, headers))[1]
    on_sqlite = client.app[settings_key].database.url.startswith("sqlite")
    assert notes == 1 if on_sqlite else 1 <= notes <= 5
    assert await _last_used(session_factory) is not None
