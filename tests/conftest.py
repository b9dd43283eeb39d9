"""Shared fixtures: real SQLite files and the real PostgreSQL, the real app, test data."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlmodel import SQLModel

import meetings.core.tables  # noqa: F401
from meetings.core.app import create_app
from meetings.core.migrate import upgrade
from meetings.core.settings import DatabaseSettings, Settings, load_settings
from meetings.core.store import create_engine, session_maker

BASE_POSTGRES_URL = os.environ.get(
    "GIAOBAN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
#: pytest-xdist's worker ("gw0", "gw1", …) when the suite runs in parallel (-n): each worker
#: gets a database of its own beside the named one (test_gw0, …), so that one worker's
#: wipe or truncate never empties the tables under another's test.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
POSTGRES_URL = f"{BASE_POSTGRES_URL}_{XDIST_WORKER}" if XDIST_WORKER else BASE_POSTGRES_URL
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


async def _create_worker_database() -> None:
    """The worker's own database, created from the named one's server when missing."""
    engine = create_async_engine(BASE_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = POSTGRES_URL.rsplit("/", 1)[1]
    try:
        async with engine.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


def _postgres_reachable() -> bool:
    async def probe() -> None:
        if XDIST_WORKER:
            await _create_worker_database()
        engine = create_engine(DatabaseSettings(url=POSTGRES_URL, echo=False))
        try:
            async with engine.connect() as connection:
                await connection.execute(text("select 1"))
        finally:
            await engine.dispose()

    try:
        asyncio.run(probe())
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test run; each test gets a copy (fast, isolated)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(DatabaseSettings(url=f"sqlite+aiosqlite:///{path}", echo=False))
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    """The test database, wiped and migrated once per run."""
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {POSTGRES_URL}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")

    async def wipe() -> None:
        engine = create_engine(DatabaseSettings(url=POSTGRES_URL, echo=False))
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(wipe())
    upgrade(DatabaseSettings(url=POSTGRES_URL, echo=False))
    return POSTGRES_URL


async def _truncate_postgres(url: str) -> None:
    engine = create_engine(DatabaseSettings(url=url, echo=False))
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database: a SQLite file, or the emptied PostgreSQL test database."""
    if request.param == "sqlite":
        path = tmp_path / "giaoban.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated")
    asyncio.run(_truncate_postgres(url))
    return url


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    """The emptied PostgreSQL test database only (several processes share it)."""
    url: str = request.getfixturevalue("postgres_migrated")
    asyncio.run(_truncate_postgres(url))
    return url


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh SQLite database only, for tests whose subject is not the store."""
    path = tmp_path / "giaoban.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


def make_settings(
    tmp_path: Path,
    database_url: str,
    *,
    environ: dict[str, str] | None = None,
    **overrides: dict[str, Any],
) -> Settings:
    """Test settings; `environ` adds variables (e.g. the IMAP password) to the secret key."""
    sections: dict[str, dict[str, Any]] = {
        "server": {"var_dir": str(tmp_path / "var")},
        "database": {"url": database_url},
        # No background delivery: tests deliver when they choose (one test turns it on).
        "mail": {"mode": "drop", "drop_dir": str(tmp_path / "maildrop"), "worker": False},
        "documents": {"dir": str(tmp_path / "documents")},
        "security": {"secret_key_file": str(tmp_path / "secret_key")},
        # No scheduler either: the scheduler's tests start one with a clock they control.
        "scheduler": {"enabled": False},
    }
    for section, values in overrides.items():
        sections.setdefault(section, {}).update(values)
    variables = {"GIAOBAN_SECRET_KEY": TEST_SECRET} | (environ or {})
    return load_settings(None, environ=variables, overrides=sections)


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    return make_settings(tmp_path, sqlite_url)


@pytest.fixture
def config_file(tmp_path: Path, sqlite_url: str) -> Path:
    """A config file for the `giaoban` command, on a fresh SQLite database."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{sqlite_url}"\n'
        f'[mail]\ndrop_dir = "{tmp_path / "mail"}"\n'
        f'[security]\nsecret_key_file = "{tmp_path / "secret"}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
async def session_factory(settings: Settings) -> AsyncIterator[Callable[[], Any]]:
    """Open transactions on the test database outside the app (to arrange and to check)."""
    engine = create_engine(settings.database)
    maker = session_maker(engine)
    yield maker
    await engine.dispose()


@pytest.fixture
async def client(
    settings: Settings, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> TestClient:
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def store_session(database_url: str) -> AsyncIterator[AsyncSession]:
    """A session on each real store (SQLite and PostgreSQL) for domain tests."""
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    async with session_maker(engine)() as session:
        yield session
    await engine.dispose()


@pytest.fixture
def smtp_sink() -> Iterator[Any]:
    """A real SMTP server on a free port that keeps what it receives (`.received`, `.port`):
    the sink of the outbox tests (tests.notify.mail.test_outbox.Sink)."""
    from aiosmtpd.controller import Controller

    from tests.notify.mail.test_outbox import Sink, free_port

    handler, port = Sink(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port  # type: ignore[attr-defined]
    yield handler
    controller.stop()
