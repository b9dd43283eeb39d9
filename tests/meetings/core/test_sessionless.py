"""The health check and static files skip the session and the caller (issue #17): the
same answer, no cookie read or set, whoever calls."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from tests.factories import login, make_user


async def test_health_answers_without_a_cookie_and_sets_none(client: TestClient):
    answer = await client.get("/healthz")
    assert answer.status == 200
    assert await answer.json() == {"status": "ok"}
    assert "Set-Cookie" not in answer.headers
    assert not client.session.cookie_jar.filter_cookies(client.make_url("/"))


async def test_health_and_static_leave_a_logged_in_session_as_it_was(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
    await login(client, "org")
    for path in ("/healthz", "/static/app.css"):
        answer = await client.get(path)
        assert answer.status == 200, path
        assert "Set-Cookie" not in answer.headers, path
    assert (await client.get("/api/v1/me")).status == 200  # still logged in
    garbled = await client.get("/healthz", headers={"Cookie": "giaoban_session=garbled"})
    assert await garbled.json() == {"status": "ok"}
    assert "Set-Cookie" not in garbled.headers
