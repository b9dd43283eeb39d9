"""The live board's stream: Server-Sent Events fed by committed attendance changes.

One hub per app (`keys.hub_key`). A committed change puts the site's new state (as JSON,
serialised once) in its session's pending changes; COALESCE_SECONDS later (and no sooner
than SPACING_SECONDS after the session's previous event) the hub reads the session's
totals once (an aggregate of the committed rows, so they never drift, and one per event
rather than one per committed batch: a burst commits hundreds of batches a second and only
the last totals of each event were ever shown), turns what is pending
into one `update` event, encoded once, and hands the same bytes to every open board of the
session. So a burst of 5,000 check-ins costs a few events, each made once however many
boards watch, not 5,000 × boards serialisations. A board that cannot keep up (its unsent
events outgrow a snapshot's worth) drops them and is sent a fresh snapshot instead.
EventSource reconnects by itself; each connection starts with a full snapshot, so a board
that was away misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web

from meetings.attendance.models import AttendanceSummary, SiteAttendance
from meetings.attendance.snapshots import Snapshots
from meetings.attendance.states import some_sites, summary
from meetings.core.store import SessionMaker

log = logging.getLogger(__name__)
#: A session's committed totals, read when its pending changes go out.
Totals = Callable[[int], Awaitable[AttendanceSummary]]
#: Some sites' committed states (a session, its sites), for changes heard, not made here.
States = Callable[[int, list[int]], Awaitable[list[SiteAttendance]]]

HEARTBEAT_SECONDS = 15.0
#: How long changes gather before they go out as one event (a lone change's lag)...
COALESCE_SECONDS = 0.05
#: ...and the least time between two events of a session: in a burst, four events a
#: second (a board's lag at most this), not one per COALESCE_SECONDS. Each event wakes and
#: writes to every board: 20 a second to 100 boards was a sixth of a check-in burst's CPU.
SPACING_SECONDS = 0.25
#: Unsent bytes past which a board is sent a snapshot instead of its backlog.
BEHIND_BYTES = 4 * 1024 * 1024


class Board:
    """One open board: the events (shared bytes) it has not written yet."""

    def __init__(self, behind_bytes: int = BEHIND_BYTES) -> None:
        self.behind_bytes = behind_bytes
        self.outbox: list[bytes] = []
        self.unsent = 0
        #: Too far behind: its backlog was dropped, a snapshot goes out instead.
        self.behind = False
        self.changed = asyncio.Event()
        self.closing = False

    def put(self, event: bytes) -> None:
        if not self.behind:
            self.outbox.append(event)
            self.unsent += len(event)
            if self.unsent > self.behind_bytes:
                self.outbox, self.unsent, self.behind = [], 0, True
        self.changed.set()

    def resync(self) -> None:
        """An update could not be made: this board is sent a fresh snapshot instead."""
        self.outbox, self.unsent, self.behind = [], 0, True
        self.changed.set()

    def take(self) -> tuple[bytes, bool]:
        """What to write now, and whether a snapshot must go out first."""
        events, behind = b"".join(self.outbox), self.behind
        self.outbox, self.unsent, self.behind = [], 0, False
        self.changed.clear()
        return events, behind


class _Pending:
    """A session's changes not yet sent: the latest state per site."""

    def __init__(self) -> None:
        self.sites: dict[int, str] = {}

    def event(self, totals: AttendanceSummary) -> bytes:
        sites = ", ".join(self.sites.values())
        return _event("update", f'{{"summary": {totals.model_dump_json()}, "sites": [{sites}]}}')


async def committed_totals(maker: SessionMaker, meeting_id: int) -> AttendanceSummary:
    """The session's totals as committed (the hub's `totals`, given the app's sessions)."""
    async with maker() as session:
        return await summary(session, meeting_id)


async def board_clients(app: web.Application) -> float:
    """The live boards open on this instance (a gauge of meetings.core.observe)."""
    from meetings.attendance.keys import hub_key  # the keys name the hub's class

    return float(sum(len(boards) for boards in app[hub_key].boards.values()))


async def committed_states(
    maker: SessionMaker, meeting_id: int, site_ids: list[int]
) -> list[SiteAttendance]:
    """Some sites' states as committed (the hub's `states`, given the app's sessions)."""
    async with maker() as session:
        return await some_sites(session, meeting_id, site_ids)


class Hub:
    def __init__(
        self,
        totals: Totals,
        coalesce_seconds: float = COALESCE_SECONDS,
        behind_bytes: int = BEHIND_BYTES,
        spacing_seconds: float = SPACING_SECONDS,
        states: States | None = None,
    ) -> None:
        self.totals = totals
        self.states = states
        #: Per session, the sites heard changed (`heard`) whose states are still to read.
        self._heard: dict[int, set[int]] = {}
        self.boards: dict[int, set[Board]] = defaultdict(set)
        #: Each session's board snapshot, shared by its boards, pages and streams.
        self.snapshots = Snapshots()
        self.coalesce_seconds = coalesce_seconds
        self.spacing_seconds = spacing_seconds
        #: Per session, when (loop time) its last event was started.
        self._last_sent: dict[int, float] = {}
        self.behind_bytes = behind_bytes
        self._pending: dict[int, _Pending] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        #: Per session, one event made at a time, in the order its changes were taken.
        self._sending: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[None]] = set()
        #: Per session, the last snapshot's data and its event bytes, encoded once for
        #: every board that opens on it.
        self._snapshot_events: dict[int, tuple[str, bytes]] = {}

    def close_all(self) -> None:
        """The service is stopping: every stream ends, so shutdown does not wait on them."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()
        for boards in self.boards.values():
            for board in boards:
                board.closing = True
                board.changed.set()

    async def on_shutdown(self, _app: web.Application) -> None:
        self.close_all()

    def publish(self, meeting_id: int, state: SiteAttendance) -> None:
        self.snapshots.forget(meeting_id)
        if not self.boards.get(meeting_id):
            return
        pending = self._pending.get(meeting_id)
        if pending is None:
            pending = self._pending[meeting_id] = _Pending()
            loop = asyncio.get_running_loop()
            last = self._last_sent.get(meeting_id)
            wait = self.coalesce_seconds
            if last is not None:
                wait = max(wait, last + self.spacing_seconds - loop.time())
            self._timers[meeting_id] = loop.call_later(wait, self._start_send, meeting_id)
        pending.sites[state.site_id] = state.model_dump_json()

    def heard(self, meeting_id: int, site_ids: list[int]) -> None:
        """Sites of the session changed, told by another process (an RSVP, another
        instance's check-ins: meetings.core.live_channel): their states are read from the
        database and go out as this process's own changes do. No sites named: any may
        have changed, so every board of the session reloads its snapshot."""
        self.snapshots.forget(meeting_id)
        boards = self.boards.get(meeting_id)
        if not boards:
            return
        if not site_ids or self.states is None:
            for board in boards:
                board.resync()
            return
        waiting = self._heard.get(meeting_id)
        self._heard.setdefault(meeting_id, set()).update(site_ids)
        if waiting is None:  # no read under way for the session: start one
            task = asyncio.get_running_loop().create_task(self._read_heard(meeting_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _read_heard(self, meeting_id: int) -> None:
        """Read the heard sites' states, and those heard meanwhile, until none is left."""
        states = self.states
        try:
            while states is not None and (site_ids := self._heard.get(meeting_id)):
                self._heard[meeting_id] = set()
                for state in await states(meeting_id, sorted(site_ids)):
                    self.publish(meeting_id, state)
        except Exception:  # the database is away: each board reloads its snapshot
            log.exception("live update heard for session %s", meeting_id)
            for board in self.boards.get(meeting_id, ()):
                board.resync()
        finally:
            self._heard.pop(meeting_id, None)

    def resync_all(self) -> None:
        """Every board reloads its snapshot (changes may have gone unheard meanwhile)."""
        for meeting_id, boards in self.boards.items():
            self.snapshots.forget(meeting_id)
            for board in boards:
                board.resync()

    def _start_send(self, meeting_id: int) -> None:
        self._timers.pop(meeting_id, None)
        loop = asyncio.get_running_loop()
        self._last_sent[meeting_id] = loop.time()
        task = loop.create_task(self._send(meeting_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, meeting_id: int) -> None:
        """The session's pending changes as one event, the same bytes to each board. The
        changes are taken under the session's lock, so events go out in commit order; the
        totals are read after they are taken, so they count every change sent (and perhaps
        a few committed since, whose sites follow in the next event)."""
        async with self._sending[meeting_id]:
            pending = self._pending.pop(meeting_id, None)
            if pending is None or not self.boards.get(meeting_id):
                return
            try:
                event = pending.event(await self.totals(meeting_id))
            except Exception:  # the database is away: each board reloads its snapshot
                log.exception("live update of session %s", meeting_id)
                for board in self.boards.get(meeting_id, ()):
                    board.resync()
                return
            for board in self.boards.get(meeting_id, ()):
                board.put(event)

    def snapshot_event(self, meeting_id: int, data: str) -> bytes:
        """The `snapshot` event of `data`, encoded once while the snapshot is the same."""
        kept = self._snapshot_events.get(meeting_id)
        if kept is None or kept[0] is not data:
            kept = self._snapshot_events[meeting_id] = (data, _event("snapshot", data))
        return kept[1]

    @contextlib.contextmanager
    def open(self, meeting_id: int) -> Iterator[Board]:
        board = Board(self.behind_bytes)
        self.boards[meeting_id].add(board)
        try:
            yield board
        finally:
            self.boards[meeting_id].discard(board)
            if not self.boards[meeting_id]:
                del self.boards[meeting_id]
                self._snapshot_events.pop(meeting_id, None)
                self._last_sent.pop(meeting_id, None)
                if not self._sending[meeting_id].locked():
                    del self._sending[meeting_id]


def _event(name: str, data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"event: {name}\ndata: {text}\n\n".encode()


async def stream(
    request: web.Request,
    hub: Hub,
    meeting_id: int,
    snapshot: Callable[[], Awaitable[str]],
) -> web.StreamResponse:
    """Serve one board until the client goes away. The board listens before the snapshot
    is read, so a change in between arrives (at worst twice), never not at all."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache, no-store",
            "X-Accel-Buffering": "no",  # a proxy must not hold the events back
        }
    )
    await response.prepare(request)
    with hub.open(meeting_id) as board:
        await response.write(b"retry: 1000\n" + hub.snapshot_event(meeting_id, await snapshot()))
        try:
            while True:
                try:
                    await asyncio.wait_for(board.changed.wait(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if board.closing:
                    break
                events, behind = board.take()
                if behind:  # listening still, so nothing after this read is lost
                    events = hub.snapshot_event(meeting_id, await snapshot()) + events
                await response.write(events)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
    return response
