"""Two apps in one process share nothing: each has its own receivers and its own live
boards, so an event in one never reaches the other."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.accounts.models import Role
from meetings.attendance.keys import hub_key
from meetings.core.app import create_app
from meetings.core.keys import sessions_key, signals_key
from notify.site import tokens
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import bearer, make_user
from tests.meetings.attendance.test_attendance import live_session, next_event

Client = TestClient[Any, Any]
#: A started app, and what was arranged in its database.
App = tuple[Client, dict[str, Any]]


async def _start(
    tmp_path: Path, template: Path, name: str, aiohttp_client: Callable[..., Awaitable[Client]]
) -> App:
    """An app on its own SQLite file, with one live session, its site and its chair."""
    (tmp_path / name).mkdir()
    database = tmp_path / name / "giaoban.sqlite3"
    shutil.copy(template, database)
    settings = make_settings(tmp_path / name, f"sqlite+aiosqlite:///{database}")
    client = await aiohttp_client(create_app(settings))
    meeting_id, (site,) = await live_session(client.app[sessions_key], 1)
    async with client.app[sessions_key]() as session, session.begin():
        await make_user(session, username="chair", role=Role.chair)
        await make_user(session, username="org", role=Role.organiser)
        return client, {
            "meeting_id": meeting_id,
            "chair": await bearer(session, "chair"),
            "org": await bearer(session, "org"),
            "link": await tokens.site_token(session, site, secret_key=TEST_SECRET),
        }


@pytest.fixture
async def two_apps(
    tmp_path: Path, sqlite_template: Path, aiohttp_client: Callable[..., Awaitable[Client]]
) -> tuple[App, App]:
    first = await _start(tmp_path, sqlite_template, "a", aiohttp_client)
    second = await _start(tmp_path, sqlite_template, "b", aiohttp_client)
    return first, second


def test_each_app_holds_its_own_receivers_and_live_hub(tmp_path: Path, sqlite_url: str):
    one = create_app(make_settings(tmp_path, sqlite_url))
    two = create_app(make_settings(tmp_path, sqlite_url))
    assert one[signals_key] is not two[signals_key]
    assert one[signals_key].meeting_cancelled is not two[signals_key].meeting_cancelled
    assert one[hub_key] is not two[hub_key]
    # Building a second app adds nothing to the first: its board is fed once, by its hub.
    assert one[signals_key].attendance_changed == [one[hub_key].publish]


async def test_a_check_in_reaches_the_boards_of_its_own_app_only(two_apps: tuple[App, App]):
    (first, a), (second, b) = two_apps
    assert a["meeting_id"] == b["meeting_id"]  # the same session id, in two databases
    live = f"/api/v1/meetings/{a['meeting_id']}/live"
    async with (
        first.get(live, headers=a["chair"]) as board_a,
        second.get(live, headers=b["chair"]) as board_b,
    ):
        assert (await next_event(board_a))[0] == "snapshot"
        assert (await next_event(board_b))[0] == "snapshot"
        checked = await first.post(
            f"/api/v1/site/{a['link']}/meetings/{a['meeting_id']}/check-in",
            json={"delegates_present": 7},
        )
        assert checked.status == 200, await checked.text()
        name, data = await asyncio.wait_for(next_event(board_a), timeout=5)
        assert name == "update" and data["summary"]["delegates_present"] == 7
        with pytest.raises(TimeoutError):  # the other app's board of session 1 hears nothing
            await asyncio.wait_for(next_event(board_b), timeout=1)


async def test_a_cancellation_reaches_the_receivers_of_its_own_app_only(
    two_apps: tuple[App, App],
):
    (first, a), (second, _) = two_apps
    heard: dict[str, list[int]] = {"first": [], "second": []}

    def listening(name: str) -> Callable[[AsyncSession, int], Awaitable[None]]:
        async def receiver(session: AsyncSession, meeting_id: int) -> None:
            heard[name].append(meeting_id)

        return receiver

    first.app[signals_key].meeting_cancelled.connect(listening("first"))
    second.app[signals_key].meeting_cancelled.connect(listening("second"))
    cancelled = await first.post(
        f"/api/v1/meetings/{a['meeting_id']}/cancel",
        json={"reason": "Lùi lịch do bão"},
        headers=a["org"],
    )
    assert cancelled.status == 200, await cancelled.text()
    assert heard == {"first": [a["meeting_id"]], "second": []}
