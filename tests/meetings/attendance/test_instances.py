"""Two `giaoban serve` processes on one PostgreSQL database (issue #18): a board held open
on one follows the check-ins and answers made through the other, and, when its instance's
listening connection is cut, is sent a fresh snapshot and goes on following them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from yarl import URL

from meetings.accounts.models import Role
from meetings.core.settings import DatabaseSettings
from meetings.core.store import create_engine, session_maker
from notify.site import tokens
from tests.conftest import TEST_SECRET
from tests.factories import bearer, csrf_from, login, make_user
from tests.meetings.attendance.test_attendance import live_session
from tests.meetings.attendance.test_attendance import next_event as one_event
from tests.notify.mail.test_outbox import free_port

pytestmark = pytest.mark.postgres
#: Generous: what fails is a board that never hears, not a slow one (the bench times it).
WAIT = 20.0


class Instance:
    """One `giaoban serve` of the shared database, on a port of its own."""

    def __init__(self, tmp_path: Path, name: str, url: str, **settings: str) -> None:
        self.port = free_port()
        self.log = tmp_path / f"{name}.log"
        folder = tmp_path / name
        env = {
            **os.environ,
            "GIAOBAN_SECRET_KEY": TEST_SECRET,
            "GIAOBAN__DATABASE__URL": url,
            "GIAOBAN__SERVER__PORT": str(self.port),
            "GIAOBAN__SERVER__VAR_DIR": str(folder / "var"),
            "GIAOBAN__DOCUMENTS__DIR": str(folder / "documents"),
            "GIAOBAN__MAIL__DROP_DIR": str(folder / "maildrop"),
            "GIAOBAN__SCHEDULER__ENABLED": "false",
            **{f"GIAOBAN__{key.upper()}": value for key, value in settings.items()},
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "meetings.core.cli", "serve"],
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.base = f"http://127.0.0.1:{self.port}"

    def died(self) -> str:
        return f"{self.log.name}:\n{self.log.read_text(errors='replace')[-3000:]}"

    async def ready(self, client: aiohttp.ClientSession) -> None:
        deadline = asyncio.get_running_loop().time() + WAIT * 3
        while True:
            assert self.process.poll() is None, self.died()
            assert asyncio.get_running_loop().time() < deadline, self.died()
            try:
                # Ready: the database at head and, what these tests need, listening.
                async with client.get(f"{self.base}/readyz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def event_where(
    stream: aiohttp.ClientResponse, wanted: Callable[[str, dict[str, Any]], bool]
) -> tuple[str, dict[str, Any]]:
    """The first event that `wanted` takes (a board may hear a change in two events),
    within WAIT."""

    async def first() -> tuple[str, dict[str, Any]]:
        while True:
            name, data = await one_event(stream)
            if wanted(name, data):
                return name, data

    return await asyncio.wait_for(first(), WAIT)


async def next_event(stream: aiohttp.ClientResponse) -> tuple[str, dict[str, Any]]:
    return await event_where(stream, lambda _name, _data: True)


def site_in(data: dict[str, Any], site_id: int) -> dict[str, Any] | None:
    return next((s for s in data.get("sites", []) if s["site_id"] == site_id), None)


@pytest.fixture
async def world(postgres_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    engine = create_engine(DatabaseSettings(url=postgres_url, echo=False))
    maker = session_maker(engine)
    meeting_id, (site_a, site_b) = await live_session(maker, 2)
    async with maker() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        token_a = await tokens.site_token(session, site_a, secret_key=TEST_SECRET)
        token_b = await tokens.site_token(session, site_b, secret_key=TEST_SECRET)
    guard = {"security__site_link_max_failures_per_address": "3"}
    first = Instance(tmp_path, "a", postgres_url, **guard)
    second = Instance(tmp_path, "b", postgres_url, server__log_format="json", **guard)
    try:
        yield {
            "a": first,
            "b": second,
            "meeting": meeting_id,
            "sites": (site_a, site_b),
            "tokens": (token_a, token_b),
            "headers": headers,
            "engine": engine,
        }
    finally:
        first.stop()
        second.stop()
        await engine.dispose()


async def test_a_board_on_one_instance_follows_changes_made_on_another(world: dict[str, Any]):
    a, b, meeting = world["a"], world["b"], world["meeting"]
    site_a, site_b = world["sites"]
    token_a, token_b = world["tokens"]
    async with aiohttp.ClientSession() as client:
        await a.ready(client)
        await b.ready(client)
        for instance in (a, b):  # ready: the database at head, and listening
            async with client.get(f"{instance.base}/readyz") as ready:
                assert ready.status == 200, await ready.text()
                assert (await ready.json())["checks"] == {"database": "ok", "listener": "ok"}
        live = f"{b.base}/api/v1/meetings/{meeting}/live"
        async with client.get(live, headers=world["headers"]) as board:
            name, data = await next_event(board)
            assert name == "snapshot" and data["summary"]["connected"] == 0

            # A check-in through A reaches the board on B, with the totals.
            checked = await client.post(
                f"{a.base}/api/v1/site/{token_a}/meetings/{meeting}/check-in",
                json={"delegates_present": 7},
            )
            assert checked.status == 200, await checked.text()
            _, data = await event_where(board, lambda _n, d: site_in(d, site_a) is not None)
            assert site_in(data, site_a)["delegates_present"] == 7  # type: ignore[index]
            assert data["summary"]["connected"] == 1

            # So does an answer given through A (the board shows answers too).
            answered = await client.post(
                f"{a.base}/api/v1/site/{token_b}/meetings/{meeting}/rsvp",
                json={"response": "accepted", "expected_delegates": 12},
            )
            assert answered.status == 200, await answered.text()
            _, data = await event_where(board, lambda _n, d: site_in(d, site_b) is not None)
            assert site_in(data, site_b)["rsvp"] == "accepted"  # type: ignore[index]

            # B's listening connection is cut: once it listens again, the board is sent a
            # fresh snapshot (what was said meanwhile may be lost), then hears on.
            async with world["engine"].connect() as connection:
                cut = await connection.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE application_name = 'giaoban-listener'"
                        " AND datname = current_database()"
                    )
                )
            assert cut == 2  # one per instance
            name, data = await event_where(board, lambda n, _d: n == "snapshot")
            assert site_in(data, site_a)["delegates_present"] == 7  # type: ignore[index]
            checked = await client.post(
                f"{a.base}/api/v1/site/{token_b}/meetings/{meeting}/check-in",
                json={"delegates_present": 3},
            )
            assert checked.status == 200, await checked.text()
            _, data = await event_where(
                board, lambda n, d: n == "update" and site_in(d, site_b) is not None
            )
            assert site_in(data, site_b)["delegates_present"] == 3  # type: ignore[index]
            assert data["summary"]["connected"] == 2
    # B logs one JSON object a line (log_format = "json"), naming the instance.
    lines = [json.loads(line) for line in b.log.read_text().splitlines() if line.startswith("{")]
    listening = [line for line in lines if line["logger"] == "meetings.core.live_channel"]
    assert [line["message"] for line in listening] == [
        "live listener: listening (connection 1)",
        "live listener: listening (connection 2)",
    ]
    assert {line["level"] for line in listening} == {"INFO"} and listening[0]["instance"]


async def test_a_login_on_one_instance_holds_on_the_other_and_so_does_a_logout(
    world: dict[str, Any],
):
    """No sticky sessions: the cookie, its CSRF token and its end are the database's and
    the secret's, not one process's."""
    a, b = world["a"], world["b"]
    jar = aiohttp.CookieJar(unsafe=True)  # one browser: its cookies go to either instance
    async with (
        aiohttp.ClientSession(base_url=a.base, cookie_jar=jar) as on_a,
        aiohttp.ClientSession(base_url=b.base, cookie_jar=jar) as on_b,
    ):
        await a.ready(on_a)
        await b.ready(on_b)
        token = await login(on_a, "org")  # type: ignore[arg-type]
        home = await on_b.get("/", allow_redirects=False)
        assert home.status == 200 and csrf_from(await home.text()) == token
        # The logout on A ends the session everywhere: the cookie as it was before it,
        # sent again to B (a browser's other tab, a copied cookie), is refused there.
        cookie = "; ".join(f"{k}={m.value}" for k, m in jar.filter_cookies(URL(a.base)).items())
        out = await on_a.post("/logout", data={"_csrf": token}, allow_redirects=False)
        assert out.status == 303
        async with aiohttp.ClientSession(base_url=b.base) as replay:
            home = await replay.get("/", headers={"Cookie": cookie}, allow_redirects=False)
            assert home.status in (302, 303) and "/login" in home.headers["Location"]


async def test_an_address_guessing_site_links_on_one_instance_is_refused_on_the_other(
    world: dict[str, Any],
):
    a, b = world["a"], world["b"]
    token_a = world["tokens"][0]
    async with aiohttp.ClientSession() as client:
        await a.ready(client)
        await b.ready(client)
        for n in range(3):  # the limit: three unknown links from this address, on A
            async with client.get(f"{a.base}/s/not-a-link-{n}") as answer:
                assert answer.status == 404
        # B heard of them: an unknown link from the address is refused there within two
        # tries (the first may cross A's word on its way); alone, B would take three.
        statuses = []
        for n in range(2):
            async with client.get(f"{b.base}/s/not-a-link-b{n}") as answer:
                statuses.append(answer.status)
                if answer.status == 429:
                    assert int(answer.headers["Retry-After"]) > 0
                    break
        assert statuses[-1] == 429, statuses
        # A site's own link still opens, on either instance.
        for instance in (a, b):
            async with client.get(f"{instance.base}/s/{token_a}") as answer:
                assert answer.status == 200
