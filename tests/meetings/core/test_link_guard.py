"""Guessing at sites' links: past the limit, one address's unknown links answer 429 with
Retry-After (pages in the page's language, the API with its error body), while a valid
link keeps working, from that address too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from meetings.core.app import create_app
from meetings.core.limits import FailureWindow
from notify.site import tokens
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import make_site

LIMIT = 5


async def _client(tmp_path: Path, sqlite_url: str, aiohttp_client: Any) -> TestClient:
    security = {"site_link_max_failures_per_address": LIMIT, "site_link_window_minutes": 10}
    settings = make_settings(tmp_path, sqlite_url, security=security)
    return await aiohttp_client(create_app(settings))


async def _link(session_factory: Any) -> str:
    async with session_factory() as session, session.begin():
        site = await make_site(session, name="Liên hiệp Vĩnh Phúc")
        return await tokens.site_token(session, site.id, secret_key=TEST_SECRET)


def _unknown(i: int) -> str:
    return f"{i:043d}"


async def test_unknown_links_from_one_address_are_refused_past_the_limit(
    tmp_path: Path, sqlite_url: str, aiohttp_client: Any, session_factory: Any
):
    client = await _client(tmp_path, sqlite_url, aiohttp_client)
    link = await _link(session_factory)
    for i in range(LIMIT):
        assert (await client.get(f"/s/{_unknown(i)}")).status == 404
    page = await client.get(f"/s/{_unknown(99)}")
    assert page.status == 429
    assert 0 < int(page.headers["Retry-After"]) <= 10 * 60
    assert "đường liên kết không tồn tại" in await page.text()
    api = await client.get(f"/api/v1/site/{_unknown(98)}/calendar.ics")
    assert api.status == 429 and "Retry-After" in api.headers
    assert (await api.json())["error"]["code"] == "too_many_attempts"
    check_in = await client.post(
        f"/api/v1/site/{_unknown(97)}/meetings/1/check-in", json={"delegates_present": 3}
    )
    assert check_in.status == 429
    # The valid link keeps working, from the same address.
    assert (await client.get(f"/s/{link}")).status == 200
    feed = await client.get(f"/api/v1/site/{link}/calendar.ics")
    assert feed.status == 200


async def test_a_valid_link_at_a_missing_session_does_not_count_as_guessing(
    tmp_path: Path, sqlite_url: str, aiohttp_client: Any, session_factory: Any
):
    client = await _client(tmp_path, sqlite_url, aiohttp_client)
    link = await _link(session_factory)
    for meeting_id in range(1, LIMIT + 3):
        letter = await client.get(f"/s/{link}/meetings/{meeting_id}/letter.pdf")
        assert letter.status == 404
    assert (await client.get(f"/s/{_unknown(1)}")).status == 404  # not refused yet


def test_failures_are_forgotten_once_the_window_has_passed():
    now = [1000.0]
    window = FailureWindow(limit=3, window_seconds=60, clock=lambda: now[0])
    for _ in range(3):
        window.add("10.0.0.1")
        now[0] += 10
    assert window.wait("10.0.0.1") == 30  # the first failure leaves the window at 1060
    assert window.wait("10.0.0.2") == 0
    now[0] = 1061
    assert window.wait("10.0.0.1") == 0


def test_the_count_keeps_a_bounded_number_of_addresses():
    window = FailureWindow(limit=1, window_seconds=60, keys=100)
    for i in range(1000):
        window.add(f"10.0.{i // 256}.{i % 256}")
    assert window.wait("10.0.3.231") > 0  # the latest are kept
    assert window.wait("10.0.0.0") == 0  # the oldest forgotten
