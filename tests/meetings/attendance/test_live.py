"""The live stream under a burst: boards open before it end with what the database holds,
every board gets the same events, and a board that falls behind is sent a snapshot."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.attendance import live
from meetings.attendance import tracking as attendance
from meetings.attendance.keys import hub_key
from meetings.attendance.models import AttendanceSummary, SiteAttendance
from notify.site import tokens
from tests.conftest import TEST_SECRET
from tests.factories import bearer, make_user
from tests.meetings.attendance.test_attendance import live_session, next_event


class Folded:
    """What a board shows: its snapshot with every update after it applied in order."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.summary: dict[str, Any] = {}
        self.sites: dict[int, dict[str, Any]] = {}
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def read(self) -> None:
        name, data = await next_event(self.stream)
        self.events.append((name, data))
        if name == "snapshot":
            self.sites = {}
        self.summary = data["summary"]
        self.sites.update({s["site_id"]: s for s in data["sites"]})

    async def until_all_checked_in(self) -> None:
        while not all(s["attendance_status"] for s in self.sites.values()):
            await self.read()


async def burst(client: TestClient, session_factory: Any, boards: int) -> list[Folded]:
    """`boards` boards open on a live session of 30 sites, then every site checks in at
    once through its link; returns the boards once each shows every check-in."""
    meeting_id, ids = await live_session(session_factory, 30)
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        links = await tokens.site_tokens(session, set(ids), secret_key=TEST_SECRET)
    url = f"/api/v1/meetings/{meeting_id}/live"
    streams = [await client.get(url, headers=headers) for _ in range(boards)]
    folded = [Folded(stream) for stream in streams]
    for board in folded:
        await board.read()  # the snapshot: this board is listening
    answers = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/site/{links[site]}/meetings/{meeting_id}/check-in",
                json={"delegates_present": 3 + n % 4},
            )
            for n, site in enumerate(ids)
        )
    )
    assert [a.status for a in answers] == [200] * len(ids)
    for board in folded:
        await asyncio.wait_for(board.until_all_checked_in(), timeout=30)
        board.stream.close()
    async with session_factory() as session:
        stored = {
            s.site_id: s.model_dump(mode="json")
            for s in await attendance.sites(session, meeting_id)
        }
        totals = (await attendance.summary(session, meeting_id)).model_dump(mode="json")
    for board in folded:
        assert board.sites == stored
        assert board.summary == totals
    return folded


async def test_boards_open_before_a_burst_show_what_the_database_holds_and_the_same_events(
    client: TestClient, session_factory: Any
):
    one, two = await burst(client, session_factory, boards=2)
    updates = [e for e in one.events if e[0] == "update"]
    assert updates and updates == [e for e in two.events if e[0] == "update"]


async def test_a_board_that_falls_behind_is_sent_a_snapshot_and_ends_current(
    client: TestClient, session_factory: Any
):
    client.app[hub_key].behind_bytes = 1  # any unsent event is too much: a snapshot instead
    (board,) = await burst(client, session_factory, boards=1)
    assert [name for name, _ in board.events[1:]] == ["snapshot"] * (len(board.events) - 1)


def _state(site_id: int) -> SiteAttendance:
    return SiteAttendance(
        site_id=site_id,
        site_code=f"S{site_id}",
        site_name=f"Site {site_id}",
        cluster_id=None,
        cluster_name=None,
        rsvp="accepted",
        expected_delegates=3,
        attendance_status=None,
        joined_at=None,
        left_at=None,
        delegates_present=None,
        officials_present=[],
        rehearsal_status=None,
        rehearsal_note="",
        changed_at=None,
        version=1,
    )


async def test_changes_during_a_burst_go_out_together_once_per_spacing():
    """A lone change goes out at once (after the short gathering); the changes that follow
    it within the spacing go out as one event, not one each, and no sooner."""
    totals = AttendanceSummary(
        invited=3,
        connected=0,
        present=0,
        absent=0,
        missing=3,
        delegates_present=0,
        rehearsal_ok=0,
        rehearsal_problem=0,
    )

    async def read_totals(_meeting_id: int) -> AttendanceSummary:
        return totals

    hub = live.Hub(read_totals, coalesce_seconds=0.001, spacing_seconds=0.3)
    loop = asyncio.get_running_loop()
    with hub.open(7) as board:
        hub.publish(7, _state(1))
        await board.changed.wait()
        first, _ = board.take()
        first_at = loop.time()
        hub.publish(7, _state(2))
        hub.publish(7, _state(3))
        await board.changed.wait()
        second, _ = board.take()
        second_at = loop.time()
    sites = [
        [s["site_id"] for s in json.loads(e.split(b"data: ")[1])["sites"]] for e in (first, second)
    ]
    assert sites == [[1], [2, 3]]
    assert second_at - first_at >= 0.25  # the spacing, less the first event's own making
