"""Schema migrations (Alembic), driven from code so no alembic.ini has to be kept in sync."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from meetings.core.settings import DatabaseSettings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database: DatabaseSettings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


def ensure_sqlite_folder(database: DatabaseSettings) -> None:
    """SQLite creates the file but not its folder (var/ on a fresh checkout)."""
    prefix = "sqlite+aiosqlite:///"
    if database.url.startswith(prefix) and database.url != prefix + ":memory:":
        Path(database.url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)


def upgrade(database: DatabaseSettings, revision: str = "head") -> None:
    """Bring the schema up to `revision`; synchronous, so call it outside the event loop."""
    ensure_sqlite_folder(database)
    command.upgrade(alembic_config(database), revision)


def migration_heads(database: DatabaseSettings) -> frozenset[str]:
    """The revisions the code expects the schema at (read from the scripts, no database)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config(database)).get_heads())


def current_revision_is_head(database: DatabaseSettings) -> bool:
    import asyncio

    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.ext.asyncio import create_async_engine

    heads = set(migration_heads(database))

    async def read() -> set[str]:
        engine = create_async_engine(database.url)
        try:
            async with engine.connect() as connection:
                return set(
                    await connection.run_sync(
                        lambda c: MigrationContext.configure(c).get_current_heads()
                    )
                )
        finally:
            await engine.dispose()

    return asyncio.run(read()) == heads
