"""The database: async engine and sessions, SQLite pragmas, UTC times, optimistic versions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, event, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from meetings.core.errors import Conflict
from meetings.core.settings import DatabaseSettings

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


def session_maker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def bump_version(session: AsyncSession, row: SQLModel, expected: int) -> None:
    """Claim the next version of `row` only if it is still at `expected`, else `Conflict`.

    The conditional UPDATE is what makes the check race-free: of two writers that read
    the same version, the database lets exactly one move it on.
    """
    model = type(row)
    table_id = row.id  # type: ignore[attr-defined]
    result = await session.execute(
        update(model)
        .where(model.id == table_id, model.version == expected)  # type: ignore[attr-defined]
        .values(
            version=expected + 1,
            **({"updated_at": utcnow()} if "updated_at" in model.model_fields else {}),  # type: ignore[attr-defined]
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        current = getattr(row, "version", "?")
        raise Conflict(
            f"this record was changed by someone else (your version {expected}, now {current}); "
            "reload and apply your change again",
            field="version",
        )
    row.version = expected + 1  # type: ignore[attr-defined]


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
