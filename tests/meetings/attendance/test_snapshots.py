"""The board snapshot shared by every board of a session: read once per version of the
session's attendance, renewed by every change (the board shows it), never shared by two
sessions."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from meetings.accounts.models import Role
from meetings.attendance import tracking as attendance
from meetings.attendance.keys import hub_key
from meetings.attendance.models import AttendanceSummary
from meetings.attendance.snapshots import Snapshot, Snapshots
from meetings.core.app import create_app
from meetings.core.keys import settings_key
from meetings.core.settings import Settings
from notify.site import tokens
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import bearer, make_user
from tests.meetings.attendance.test_attendance import CONFIG, connected, live_session, next_event


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
async def two(client: TestClient, session_factory: Any) -> dict[str, Any]:
    """Two live sessions: A with two sites, B with one; an operator's bearer, A's link."""
    maker = session_factory
    meeting_a, (site_a, site_b) = await live_session(maker, 2)
    meeting_b, (site_c,) = await live_session(maker, 1)
    async with maker() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        token_a = await tokens.site_token(session, site_a, secret_key=TEST_SECRET)
    return {
        "a": meeting_a,
        "b": meeting_b,
        "sites_a": [site_a, site_b],
        "site_c": site_c,
        "headers": headers,
        "token_a": token_a,
        "maker": maker,
    }


def shared(client: TestClient, meeting_id: int) -> Snapshot | None:
    return client.server.app[hub_key].snapshots.peek(meeting_id)


async def board_page(client: TestClient, meeting_id: int, headers: Any) -> str:
    page = await client.get(f"/sessions/{meeting_id}/board", headers=headers)
    assert page.status == 200, await page.text()
    return await page.text()


async def test_a_cached_snapshot_follows_every_attendance_change(
    client: TestClient, two: dict[str, Any]
):
    site_a, site_b = two["sites_a"]
    first = await board_page(client, two["a"], two["headers"])
    assert f'id="site-{site_a}" class="tile st-none' in first
    kept = shared(client, two["a"])
    assert kept is not None
    # Another board of the session opening now gets the very same snapshot.
    await board_page(client, two["a"], two["headers"])
    async with client.get(f"/api/v1/meetings/{two['a']}/live", headers=two["headers"]) as live:
        name, data = await next_event(live)
    assert name == "snapshot" and data["summary"]["connected"] == 0
    assert shared(client, two["a"]) is kept
    # A site checks in: the next board shows it, from a new snapshot.
    checked = await client.post(
        f"/api/v1/site/{two['token_a']}/meetings/{two['a']}/check-in",
        json={"delegates_present": 7},
    )
    assert checked.status == 200, await checked.text()
    after = await board_page(client, two["a"], two["headers"])
    assert f'id="site-{site_a}" class="tile st-connected' in after
    assert shared(client, two["a"]) is not kept
    # A change the app's hub never heard of (another process, here a session made outside
    # the app) reaches the boards too: the snapshot is keyed by the rows' versions.
    async with two["maker"]() as session, session.begin():
        await attendance.record(session, two["a"], site_b, connected(3), CONFIG)
    async with client.get(f"/api/v1/meetings/{two['a']}/live", headers=two["headers"]) as live:
        name, data = await next_event(live)
    assert data["summary"]["connected"] == 2 and data["summary"]["delegates_present"] == 10
    board = await (
        await client.get(f"/api/v1/meetings/{two['a']}/attendance", headers=two["headers"])
    ).json()
    assert {s["site_id"]: s["delegates_present"] for s in board["sites"]} == {
        site_a: 7,
        site_b: 3,
    }


async def test_two_sessions_never_share_a_snapshot(client: TestClient, two: dict[str, Any]):
    pages = {m: await board_page(client, two[m], two["headers"]) for m in ("a", "b")}
    snapshot_a, snapshot_b = shared(client, two["a"]), shared(client, two["b"])
    assert snapshot_a is not None and snapshot_b is not None and snapshot_a is not snapshot_b
    assert [s.site_id for s in snapshot_a.sites] == two["sites_a"]
    assert [s.site_id for s in snapshot_b.sites] == [two["site_c"]]
    assert f'data-site="{two["site_c"]}"' not in pages["a"]
    assert all(f'data-site="{s}"' not in pages["b"] for s in two["sites_a"])
    # A change in A renews A's snapshot only.
    await client.post(
        f"/api/v1/site/{two['token_a']}/meetings/{two['a']}/check-in",
        json={"delegates_present": 2},
    )
    await board_page(client, two["a"], two["headers"])
    await board_page(client, two["b"], two["headers"])
    assert shared(client, two["b"]) is snapshot_b
    assert shared(client, two["a"]) is not snapshot_a
    assert snapshot_b.summary.connected == 0


def _summary(invited: int) -> AttendanceSummary:
    return AttendanceSummary(
        invited=invited,
        connected=0,
        present=0,
        absent=0,
        missing=invited,
        delegates_present=0,
        rehearsal_ok=0,
        rehearsal_problem=0,
    )


async def test_boards_opening_together_read_once_and_a_failed_read_is_not_kept():
    snapshots = Snapshots(kept=2)
    started, gate = asyncio.Event(), asyncio.Event()
    reads: list[int] = []

    async def read() -> Snapshot:
        reads.append(1)
        started.set()  # its task runs after every board's call below: all are waiting
        await gate.wait()
        return Snapshot(_summary(len(reads)))

    waiting = [asyncio.ensure_future(snapshots.get(1, (1,), read)) for _ in range(100)]
    await started.wait()
    waiting[0].cancel()  # a board that goes away does not take the read with it
    gate.set()
    got = await asyncio.gather(*waiting[1:])
    assert len(reads) == 1 and all(g is got[0] for g in got)
    assert (await snapshots.get(1, (2,), read)).summary.invited == 2  # a new version

    async def broken() -> Snapshot:
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        await snapshots.get(3, (1,), broken)
    assert snapshots.peek(3) is None
    # Only the most recently read sessions are kept.
    await snapshots.get(4, (1,), read)
    await snapshots.get(5, (1,), read)
    assert snapshots.peek(1) is None and snapshots.peek(5) is not None


def _rows(page: str, pattern: str) -> dict[str, str]:
    """Each site's row of `page` (its HTML), by the site's id; on the session page, those
    of the attendance panel, and the list of answers (which a check-in leaves as it was)
    as a whole under "sites"."""
    if 'id="sites"' in page:
        sites = page[page.index('id="sites"') :]
        page = page[page.index('id="attendance"') : page.index('id="sites"')]
        return {"sites": sites, **_rows(page, pattern)}
    return {found.group(1): found.group(0) for found in re.finditer(pattern, page, re.DOTALL)}


async def test_after_a_check_in_from_outside_only_that_sites_row_changes(
    client: TestClient, session_factory: Any
):
    # Rows are kept by what they show, across snapshots (views._tiles, panel, site list):
    # the next pages show the site's new state, and every other row as a fresh render does.
    meeting_id, site_ids = await live_session(session_factory, 4)
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
    pages = {
        "board": (f"/sessions/{meeting_id}/board", r'<li id="site-(\d+)".*?</li>'),
        "page": (f"/sessions/{meeting_id}", r'<tr data-site="(\d+)".*?</tr>'),
    }
    before = {
        name: _rows(await (await client.get(path, headers=headers)).text(), pattern)
        for name, (path, pattern) in pages.items()
    }
    assert len(before["board"]) == 4 and len(before["page"]) == 5
    async with session_factory() as session, session.begin():  # another connection
        await attendance.record(session, meeting_id, site_ids[1], connected(7), CONFIG)
    for name, (path, pattern) in pages.items():
        after = _rows(await (await client.get(path, headers=headers)).text(), pattern)
        changed = str(site_ids[1])
        assert after.keys() == before[name].keys()
        assert {k: v for k, v in after.items() if k != changed} == {
            k: v for k, v in before[name].items() if k != changed
        }
        assert after[changed] != before[name][changed]
    board = await (await client.get(pages["board"][0], headers=headers)).text()
    assert f'id="site-{site_ids[1]}" class="tile st-connected' in board
    assert "<span data-delegates>7</span>" in board
    # A fresh app (nothing kept) renders the very same page.
    fresh = TestClient(TestServer(create_app(client.server.app[settings_key])))
    await fresh.start_server()
    try:
        for path, _pattern in pages.values():
            kept = await (await client.get(path, headers=headers)).text()
            assert kept == await (await fresh.get(path, headers=headers)).text()
    finally:
        await fresh.close()


async def test_an_answer_reaches_the_open_boards(client: TestClient, two: dict[str, Any]):
    """The board shows each site's answer: one given while it is open goes out to it as
    a check-in does (issue #18: also from another instance, tests/.../test_instances.py)."""
    site_a = two["sites_a"][0]
    async with client.get(f"/api/v1/meetings/{two['a']}/live", headers=two["headers"]) as live:
        name, data = await next_event(live)
        assert name == "snapshot"
        assert {s["site_id"]: s["rsvp"] for s in data["sites"]}[site_a] == "needs_action"
        answered = await client.post(
            f"/api/v1/site/{two['token_a']}/meetings/{two['a']}/rsvp",
            json={"response": "declined"},
        )
        assert answered.status == 200, await answered.text()
        name, data = await asyncio.wait_for(next_event(live), 10)
    assert name == "update"
    assert [(s["site_id"], s["rsvp"]) for s in data["sites"]] == [(site_a, "declined")]
