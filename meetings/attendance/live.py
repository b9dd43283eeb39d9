"""The live board's stream: Server-Sent Events fed by committed attendance changes.

One hub per app (`keys.hub_key`). Each open board has a queue; a change puts the site's
new state and the session's totals on every queue of that session. A board's writer
drains its whole queue before it writes, so a burst of 5,000 check-ins reaches a board
as a few messages (latest state per site), not 5,000. A slow board only ever holds the
latest state per site. EventSource reconnects by itself; each connection starts with a
full snapshot, so a board that was away misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web

from meetings.attendance.models import AttendanceSummary, SiteAttendance
from meetings.attendance.snapshots import Snapshots

HEARTBEAT_SECONDS = 15.0


class Board:
    """One open board: the latest state per site since its last write, as JSON text
    (serialised once per change by the hub, shared by every board)."""

    def __init__(self) -> None:
        self.sites: dict[int, str] = {}
        self.summary = "null"
        self.changed = asyncio.Event()
        self.closing = False

    def put(self, site_id: int, state: str, summary: str) -> None:
        self.sites[site_id] = state
        self.summary = summary
        self.changed.set()

    def take(self) -> str:
        message = f'{{"summary": {self.summary}, "sites": [{", ".join(self.sites.values())}]}}'
        self.sites = {}
        self.changed.clear()
        return message


class Hub:
    def __init__(self) -> None:
        self.boards: dict[int, set[Board]] = defaultdict(set)
        #: Each session's board snapshot, shared by its boards, pages and streams.
        self.snapshots = Snapshots()

    def close_all(self) -> None:
        """The service is stopping: every stream ends, so shutdown does not wait on them."""
        for boards in self.boards.values():
            for board in boards:
                board.closing = True
                board.changed.set()

    async def on_shutdown(self, _app: web.Application) -> None:
        self.close_all()

    def publish(self, meeting_id: int, state: SiteAttendance, summary: AttendanceSummary) -> None:
        self.snapshots.forget(meeting_id)
        boards = self.boards.get(meeting_id)
        if not boards:
            return
        state_json, summary_json = state.model_dump_json(), summary.model_dump_json()
        for board in boards:
            board.put(state.site_id, state_json, summary_json)

    @contextlib.contextmanager
    def open(self, meeting_id: int) -> Iterator[Board]:
        board = Board()
        self.boards[meeting_id].add(board)
        try:
            yield board
        finally:
            self.boards[meeting_id].discard(board)
            if not self.boards[meeting_id]:
                del self.boards[meeting_id]


def _event(name: str, data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"event: {name}\ndata: {text}\n\n".encode()


async def stream(
    request: web.Request,
    hub: Hub,
    meeting_id: int,
    snapshot: Callable[[], Awaitable[dict[str, Any] | str]],
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
        await response.write(b"retry: 1000\n" + _event("snapshot", await snapshot()))
        try:
            while True:
                try:
                    await asyncio.wait_for(board.changed.wait(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if board.closing:
                    break
                await response.write(_event("update", board.take()))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
    return response
