"""The outbox's rows: claimed atomically under a lease, marked in group commits.

A claim is a lease: the claiming worker renews `claimed_at` while it holds the row (see
notify.mail.leases), and a row whose lease ran out (its worker died or lost touch with
the database) may be claimed by any worker. A claim counts an attempt, so `attempts` is
the claim's fence: a worker writes to a row only while it still holds that attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import col

from meetings.core.store import SessionMaker, key_col, table_of
from notify.mail.models import Message, MessageStatus

#: How long a claim holds without news from its worker (`[mail] lease_seconds`).
LEASE = timedelta(seconds=20)


def claimable(now: datetime, lease: timedelta) -> ColumnElement[bool]:
    """Queued and due, or claimed by a worker whose lease ran out."""
    return or_(
        and_(col(Message.status) == MessageStatus.queued, col(Message.send_after) <= now),
        and_(col(Message.status) == MessageStatus.sending, col(Message.claimed_at) < now - lease),
    )


async def claim(
    maker: SessionMaker, *, limit: int, now: datetime, lease: timedelta = LEASE
) -> dict[int, int]:
    """Take up to `limit` messages for this worker (→ sending), atomically: id → attempts."""
    due = (
        select(col(Message.id))
        .where(claimable(now, lease))
        .order_by(col(Message.send_after), col(Message.id))
        .limit(limit)
    )
    take = update(Message).values(
        status=MessageStatus.sending, claimed_at=now, attempts=col(Message.attempts) + 1
    )
    async with maker() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # Lock exactly these rows; a LIMIT inside UPDATE … IN (…) may be re-run by the
            # planner and take more rows than asked, so select first, then update.
            ids = list((await session.scalars(due.with_for_update(skip_locked=True))).all())
            if not ids:
                return {}
            chosen = col(Message.id).in_(ids)
        else:
            # SQLite runs one statement at a time under its write lock: choosing inside
            # the UPDATE lets a second worker that waited for the lock take the next rows
            # (a SELECT first would see the first worker's rows still claimable, and get none).
            chosen = col(Message.id).in_(due.scalar_subquery())
        claimed = await session.execute(
            take.where(chosen, claimable(now, lease)).returning(
                key_col(Message.id), col(Message.attempts)
            )
        )
        return dict(sorted(claimed.all()))


async def next_expiry(maker: SessionMaker, *, now: datetime, lease: timedelta) -> timedelta | None:
    """How long until the oldest claim held anywhere runs out (None: nothing is claimed)."""
    async with maker() as session:
        oldest = await session.scalar(
            select(func.min(col(Message.claimed_at))).where(
                col(Message.status) == MessageStatus.sending
            )
        )
    return None if oldest is None else oldest + lease - now


async def release_stale(maker: SessionMaker, *, now: datetime, stale_after: timedelta) -> int:
    """Rows whose claim is older than `stale_after` (a lease that ran out) are queued again."""
    async with maker() as session, session.begin():
        result = await session.execute(
            update(Message)
            .where(
                col(Message.status) == MessageStatus.sending,
                col(Message.claimed_at) < now - stale_after,
            )
            .values(status=MessageStatus.queued)
        )
        return cast(CursorResult[Any], result).rowcount


class Ledger:
    """Writes outcomes in group commits: one transaction for all the marks waiting.

    A transaction per message costs a session, BEGIN/UPDATE/COMMIT round trips and, on
    PostgreSQL, a WAL flush. Each lane still awaits `record` before it sends anything
    else, so the window in which a kill can repeat a message stays one message per
    connection; only the commit is shared with the lanes that finished meanwhile.
    Entries keep their order: `_written` counts those committed, so an entry numbered at
    most that is in the database. An entry is a row's `id`, the attempt its claim holds
    (`held`) and the columns to write; a row another worker has claimed since is left as
    it is. `written` hears of each row once its outcome is committed.
    """

    def __init__(
        self, maker: SessionMaker, *, written: Callable[[int], None] | None = None
    ) -> None:
        self._maker = maker
        self._on_written = written
        self._pending: list[dict[str, Any]] = []
        self._queued = 0
        self._written = 0
        self._lock = asyncio.Lock()

    async def record(self, values: dict[str, Any]) -> None:
        """Write this entry (with every one waiting): it is committed when this returns."""
        await self.flush(self.add(values))

    def add(self, values: dict[str, Any]) -> int:
        """Queue an entry for the next commit; returns its number, for `flush`."""
        self._pending.append(values)
        self._queued += 1
        return self._queued

    async def flush(self, mine: int) -> None:
        """Make sure the entries up to number `mine` are committed (all those waiting
        go in the same transaction)."""
        if self._written >= mine:
            return
        async with self._lock:
            if self._written >= mine:
                return  # committed by the sender that held the lock
            entries, self._pending = self._pending, []
            try:
                async with self._maker() as session, session.begin():
                    for statement, parameters in _updates(entries):
                        await session.execute(statement, parameters)
            except BaseException:
                self._pending[:0] = entries  # the next sender tries them again, or fails too
                raise
            self._written += len(entries)
            if self._on_written is not None:
                for entry in entries:
                    self._on_written(entry["id"])


def _updates(entries: list[dict[str, Any]]) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    """One UPDATE by primary key and held claim per shape of entry, each one executemany.

    Core statements on the table: the ORM's bulk UPDATE costs more in Python per row
    than the database takes to write it.
    """
    table = table_of(Message)
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for entry in entries:
        shapes.setdefault(tuple(sorted(entry)), []).append(entry)
    for keys, group in shapes.items():
        columns = [key for key in keys if key not in ("id", "held")]
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("row_id"),
                table.c.status == MessageStatus.sending,
                table.c.attempts == bindparam("held_attempts"),
            )
            .values({key: bindparam(f"new_{key}", type_=table.c[key].type) for key in columns})
        )
        parameters = [
            {
                "row_id": entry["id"],
                "held_attempts": entry["held"],
                **{f"new_{key}": entry[key] for key in columns},
            }
            for entry in group
        ]
        yield statement, parameters
