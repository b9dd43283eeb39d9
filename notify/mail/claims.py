"""The outbox's rows: claimed atomically, released when stale, marked in group commits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import col

from meetings.core.store import SessionMaker, key_col, table_of
from notify.mail.models import Message, MessageStatus


async def claim(maker: SessionMaker, *, limit: int, now: datetime) -> list[int]:
    """Take up to `limit` due messages for this worker (queued → sending), atomically."""
    due = (
        select(col(Message.id))
        .where(col(Message.status) == MessageStatus.queued, col(Message.send_after) <= now)
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
                return []
            chosen = col(Message.id).in_(ids)
        else:
            # SQLite runs one statement at a time under its write lock: choosing inside
            # the UPDATE lets a second worker that waited for the lock take the next rows
            # (a SELECT first would see the first worker's rows still queued, and get none).
            chosen = col(Message.id).in_(due.scalar_subquery())
        claimed = await session.scalars(
            take.where(chosen, col(Message.status) == MessageStatus.queued).returning(
                key_col(Message.id)
            )
        )
        return sorted(claimed.all())


async def release_stale(maker: SessionMaker, *, now: datetime, stale_after: timedelta) -> int:
    """Rows a killed worker left in `sending` go back to the queue."""
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
    most that is in the database.
    """

    def __init__(self, maker: SessionMaker) -> None:
        self._maker = maker
        self._pending: list[dict[str, Any]] = []
        self._queued = 0
        self._written = 0
        self._lock = asyncio.Lock()

    async def record(self, values: dict[str, Any]) -> None:
        self._pending.append(values)
        self._queued += 1
        mine = self._queued
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


def _updates(entries: list[dict[str, Any]]) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    """One UPDATE by primary key per shape of entry, each run as one executemany.

    Core statements on the table: the ORM's bulk UPDATE costs more in Python per row
    than the database takes to write it.
    """
    table = table_of(Message)
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for entry in entries:
        shapes.setdefault(tuple(sorted(entry)), []).append(entry)
    for keys, group in shapes.items():
        columns = [key for key in keys if key != "id"]
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({key: bindparam(f"new_{key}", type_=table.c[key].type) for key in columns})
        )
        parameters = [
            {"row_id": entry["id"], **{f"new_{key}": entry[key] for key in columns}}
            for entry in group
        ]
        yield statement, parameters
