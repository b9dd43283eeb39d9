"""Login limits: per account and per address, 429 with Retry-After, refused before any
Argon2 hash is computed, even when the guesses arrive all at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.core.app import create_app
from tests.conftest import make_settings
from tests.factories import PASSWORD, csrf_from, make_user


class CountingExecutor(ThreadPoolExecutor):
    """The loop's default executor, counting the password checks it runs (Argon2)."""

    def __init__(self) -> None:
        super().__init__(max_workers=8)
        self.password_checks = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if "_verify" in getattr(fn, "__qualname__", ""):
            self.password_checks += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def hashes() -> Iterator[CountingExecutor]:
    executor = CountingExecutor()
    asyncio.get_event_loop().set_default_executor(executor)
    yield executor


async def _csrf(client: TestClient) -> str:
    return csrf_from(await (await client.get("/login")).text())


async def _guess(client: TestClient, csrf: str, username: str, password: str = "nope") -> Any:
    return await client.post(
        "/login",
        data={"username": username, "password": password, "_csrf": csrf},
        allow_redirects=False,
    )


async def test_a_throttled_login_says_when_to_come_back(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
    csrf = await _csrf(client)
    for _ in range(5):
        assert (await _guess(client, csrf, "org")).status == 401
    blocked = await _guess(client, csrf, "org", PASSWORD)
    assert blocked.status == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    assert "Đăng nhập sai quá nhiều lần" in await blocked.text()  # the page's language


async def test_a_burst_of_guesses_at_one_account_costs_no_more_hashes_than_the_limit(
    client: TestClient, session_factory: Any, hashes: CountingExecutor
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
    csrf = await _csrf(client)
    answers = await asyncio.gather(*(_guess(client, csrf, "org") for _ in range(40)))
    statuses = [a.status for a in answers]
    assert statuses.count(401) <= 5 and statuses.count(429) >= 35
    assert all(a.headers["Retry-After"].isdigit() for a in answers if a.status == 429)
    assert hashes.password_checks <= 5
    # Once refused, a login computes no hash at all.
    checked = hashes.password_checks
    assert (await _guess(client, csrf, "org", PASSWORD)).status == 429
    assert hashes.password_checks == checked


async def test_a_burst_of_guesses_from_one_address_costs_no_more_hashes_than_the_limit(
    tmp_path: Path, sqlite_url: str, aiohttp_client: Any, hashes: CountingExecutor
):
    security = {"login_max_failures_per_address": 8}
    client = await aiohttp_client(
        create_app(make_settings(tmp_path, sqlite_url, security=security))
    )
    csrf = await _csrf(client)
    answers = await asyncio.gather(*(_guess(client, csrf, f"name{i}") for i in range(40)))
    statuses = [a.status for a in answers]
    assert statuses.count(401) <= 8 and statuses.count(429) >= 32
    assert hashes.password_checks <= 8
