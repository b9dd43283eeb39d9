"""Best-effort work beside a request (noting a token's last use): it never delays the
answer nor turns it into an error, and the app waits for it when it shuts down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


class Later:
    """The app's best-effort tasks, kept until done (a task nobody holds may vanish)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], *, what: str) -> None:
        task = asyncio.create_task(self._quietly(work, what), name=what)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _quietly(work: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await work
        except Exception:  # best effort: e.g. SQLite busy under a long import
            log.warning("skipped %s", what, exc_info=True)

    async def finish(self, _app: web.Application | None = None) -> None:
        """Wait for what is under way (the app's on_shutdown, before the engine goes)."""
        while self._tasks:
            await asyncio.gather(*self._tasks)
