"""The database: async engine and sessions, SQLite pragmas, UTC times, optimistic versions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import sqlalchemy
from sqlalchemy import DateTime, Table, event, update
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Mapped, Session
from sqlalchemy.types import TypeDecorator
from sqlmodel import col

from meetings.core.errors import Conflict
from meetings.core.labels import N_
from meetings.core.settings import DatabaseSettings
from meetings.core.signals import INFO_KEY, Signals

SessionMaker = async_sessionmaker[AsyncSession]


def utcnow() -> datetime:
    """The current time, aware, in UTC: the only form in which times are stored."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (SQLite has no zones) and always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def create_engine(database: DatabaseSettings) -> AsyncEngine:
    """One engine per process; SQLite gets WAL, foreign keys and a busy timeout."""
    kwargs: dict[str, Any] = {"echo": database.echo}
    if not database.is_sqlite:
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(database.url, **kwargs)
    if database.is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_maker(engine: AsyncEngine, *, signals: Signals | None = None) -> SessionMaker:
    """Sessions on `engine`; each carries `signals` (its app's receivers) in its `info`."""
    info = {INFO_KEY: signals} if signals is not None else None
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, info=info)


def table_of(model: type[Any]) -> Table:
    """The table a model maps to (SQLModel's `__table__`, which type checkers cannot see)."""
    table = sqlalchemy.inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


def key_col(column: int | None) -> Mapped[int]:
    """A primary key to select, typed as read back: never NULL (SQLModel types it optional)."""
    return cast("Mapped[int]", col(column))


class Stored(Protocol):
    """A row with a primary key, which it has once it is flushed."""

    @property
    def id(self) -> int | None: ...


def id_of(row: Stored) -> int:
    """The key of a stored row; a row never flushed has none, which is a bug in the caller."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush it first")
    return row.id


class Versioned(Stored, Protocol):
    """A row written under optimistic locking: its key and the version writers compare."""

    version: int


async def bump_version(session: AsyncSession, row: Versioned, expected: int) -> None:
    """Claim the next version of `row` only if it is still at `expected`, else `Conflict`.

    The conditional UPDATE is what makes the check race-free: of two writers that read
    the same version, the database lets exactly one move it on.
    """
    model = type(row)
    columns = table_of(model).c
    result = await session.execute(
        update(model)
        .where(columns.id == row.id, columns.version == expected)
        .values(
            version=expected + 1,
            **({"updated_at": utcnow()} if "updated_at" in columns else {}),
        )
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        current = getattr(row, "version", "?")
        raise Conflict.at(
            "version",
            N_(
                "this record was changed by someone else (your version {expected}, now "
                "{current}); reload and apply your change again"
            ),
            expected=expected,
            current=current,
        )
    row.version = expected + 1


async def transaction(maker: SessionMaker) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction: committed on success, rolled back on any error."""
    async with maker() as session, session.begin():
        yield session


_AFTER_COMMIT = "giaoban_after_commit"


def after_commit(session: AsyncSession, callback: Callable[[], object]) -> None:
    """Run `callback` once this session's transaction has committed; never on rollback.

    For work outside the transaction that must see its result (re-planning a session's
    jobs): done before the commit, it would read the old data or hold SQLite's lock.
    """
    session.sync_session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(sync_session: Session) -> None:
    for callback in sync_session.info.pop(_AFTER_COMMIT, []):
        callback()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(sync_session: Session) -> None:
    sync_session.info.pop(_AFTER_COMMIT, None)
