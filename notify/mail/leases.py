"""The claims a delivery holds, renewed while their messages wait or are sent (a heartbeat).

A claimed row is this worker's while its `claimed_at` is younger than the lease; every
quarter of the lease the worker writes the time again into the rows it still holds, so a
slow relay never lets another worker take (and send again) a message waiting here. A
worker killed with -9 stops renewing: its rows are free one lease later, not after a
fixed window. A message is sent only while its lease is fresh (renewed within half the
lease), so a worker that lost touch with the database stops before another takes over;
only a message already on the wire when that happens can go twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import tuple_, update
from sqlmodel import col

from meetings.core.store import SessionMaker, key_col
from notify.mail.models import Message, MessageStatus

log = logging.getLogger(__name__)


class Leases:
    """The rows one delivery holds: id → the attempt its claim holds, and when renewed."""

    def __init__(
        self, maker: SessionMaker, *, lease: timedelta, now: Callable[[], datetime]
    ) -> None:
        self._maker = maker
        self.lease = lease
        self._now = now
        self._held: dict[int, int] = {}
        self._renewed: dict[int, datetime] = {}

    def take(self, claimed: dict[int, int], *, at: datetime) -> None:
        """Rows just claimed (id → attempts), their lease starting `at`."""
        self._held.update(claimed)
        self._renewed.update(dict.fromkeys(claimed, at))

    def release(self, row_id: int | None) -> None:
        """The row's outcome is written (or it is no longer ours): stop renewing it."""
        if row_id is not None:
            self._held.pop(row_id, None)
            self._renewed.pop(row_id, None)

    def holds(self, row: Message) -> bool:
        """This claim of the row is still ours, renewed recently enough to start a send."""
        if row.id is None or self._held.get(row.id) != row.attempts:
            return False
        return self._now() - self._renewed[row.id] < self.lease / 2

    async def renew(self) -> None:
        """Write the time into every row still held; a row not renewed is no longer ours."""
        held = dict(self._held)
        if not held:
            return
        stamp = self._now()
        async with self._maker() as session, session.begin():
            result = await session.scalars(
                update(Message)
                .where(
                    tuple_(col(Message.id), col(Message.attempts)).in_(list(held.items())),
                    col(Message.status) == MessageStatus.sending,
                )
                .values(claimed_at=stamp)
                .returning(key_col(Message.id))
            )
            renewed = set(result.all())
        lost = 0
        for row_id, attempts in held.items():
            if self._held.get(row_id) != attempts:
                continue  # released meanwhile: its outcome is written
            if row_id in renewed:
                self._renewed[row_id] = stamp
            else:
                self.release(row_id)
                lost += 1
        if lost:
            log.warning("outbox: %s claimed messages are no longer held here", lost)

    async def keep(self, stopping: asyncio.Event) -> None:
        """Renew every quarter of the lease until `stopping` is set."""
        interval = self.lease.total_seconds() / 4
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=interval)
            if stopping.is_set():
                return
            try:
                await self.renew()
            except Exception:
                # The database may be back at the next beat; until then the leases age
                # and the lanes stop sending what they hold.
                log.exception("outbox: cannot renew the claims; trying again")
