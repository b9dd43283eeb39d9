"""The register's store on SQLite and PostgreSQL: versions, races, constraints, schema."""

from __future__ import annotations

import asyncio
import unicodedata
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, text
from sqlmodel import SQLModel

from meetings.core.errors import Conflict, Invalid
from meetings.core.settings import DatabaseSettings
from meetings.core.store import create_engine, session_maker
from meetings.register import sites
from meetings.register.models import ClusterUpdate, SiteUpdate
from tests.factories import make_cluster, make_site


async def test_the_migrated_schema_matches_the_models(database_url: str):
    """Expression indexes (lower(email)) are not reflected, so not compared: their names
    are checked to exist instead."""
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    async with engine.connect() as connection:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expr")
            diff = await connection.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), SQLModel.metadata)
            )
        listed = (
            "SELECT indexname FROM pg_indexes"
            if database_url.startswith("postgresql")
            else "SELECT name FROM sqlite_master WHERE type = 'index'"
        )
        indexes = set((await connection.execute(text(listed))).scalars())
    await engine.dispose()
    assert diff == []
    expressions = {
        index.name
        for table in SQLModel.metadata.tables.values()
        for index in table.indexes
        if any(not isinstance(part, Column) for part in index.expressions)
    }
    assert expressions == {"ix_contact_email_lower"}
    assert expressions <= indexes


async def test_update_bumps_the_version(store_session):
    async with store_session.begin():
        site = await make_site(store_session, name="Hà Nội")
    async with store_session.begin():
        changed = await sites.update_site(
            store_session, site.id, SiteUpdate(version=1, province="Thủ đô")
        )
    assert changed.version == 2
    assert changed.province == "Thủ đô"
    assert changed.name == "Hà Nội"


async def test_a_stale_writer_gets_conflict(store_session):
    async with store_session.begin():
        site = await make_site(store_session)
    async with store_session.begin():
        await sites.update_site(store_session, site.id, SiteUpdate(version=1, name="First"))
    with pytest.raises(Conflict):
        async with store_session.begin():
            await sites.update_site(store_session, site.id, SiteUpdate(version=1, name="Second"))
    async with store_session.begin():
        assert (await sites.get_site(store_session, site.id)).name == "First"


async def test_concurrent_writers_of_one_version_exactly_one_wins(database_url: str):
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    maker = session_maker(engine)
    async with maker() as session, session.begin():
        site = await make_site(session)

    async def write(n: int) -> bool:
        try:
            async with maker() as session, session.begin():
                await sites.update_site(session, site.id, SiteUpdate(version=1, name=f"W{n}"))
        except Conflict:
            return False
        return True

    outcomes = await asyncio.gather(*(write(n) for n in range(8)))
    async with maker() as session:
        final = await sites.get_site(session, site.id)
    await engine.dispose()
    assert outcomes.count(True) == 1
    assert final.version == 2
    assert final.name == f"W{outcomes.index(True)}"


async def test_vietnamese_text_is_stored_composed(store_session):
    decomposed = unicodedata.normalize("NFD", "Liên hiệp hữu nghị Thừa Thiên Huế")
    async with store_session.begin():
        site = await make_site(store_session, name=decomposed)
    async with store_session.begin():
        stored = await sites.get_site(store_session, site.id)
    assert stored.name == "Liên hiệp hữu nghị Thừa Thiên Huế"
    assert unicodedata.is_normalized("NFC", stored.name)


async def test_deleting_a_leader_site_clears_the_leadership(store_session):
    async with store_session.begin():
        cluster = await make_cluster(store_session)
        leader = await make_site(store_session, cluster_id=cluster.id)
        await sites.update_cluster(
            store_session,
            cluster.id,
            ClusterUpdate(version=1, leader_site_id=leader.id, leader_year=2024),
        )
    async with store_session.begin():
        await sites.delete_site(store_session, leader.id)
    store_session.expunge_all()
    async with store_session.begin():
        (reloaded,) = await sites.list_clusters(store_session)
    assert reloaded.leader_site_id is None


async def test_a_cluster_with_sites_cannot_be_deleted(store_session):
    async with store_session.begin():
        cluster = await make_cluster(store_session)
        await make_site(store_session, cluster_id=cluster.id)
    with pytest.raises(Conflict):
        async with store_session.begin():
            await sites.delete_cluster(store_session, cluster.id)


async def test_unknown_cluster_is_refused_by_field(store_session):
    with pytest.raises(Invalid) as caught:
        async with store_session.begin():
            await make_site(store_session, cluster_id=999)
    assert caught.value.problems[0].field == "cluster_id"


async def test_register_order_and_counts(store_session):
    async with store_session.begin():
        one = await make_cluster(store_session, code="CUM-1")
        two = await make_cluster(store_session, code="CUM-2")
        await make_site(store_session, name="Vĩnh Phúc", cluster_id=one.id)
        await make_site(store_session, name="Bắc Giang", cluster_id=one.id)
        await make_site(store_session, name="An Giang", cluster_id=two.id)
    async with store_session.begin():
        page = await sites.list_sites(store_session)
        clusters = await sites.list_clusters(store_session)
    assert [s.name for s in page.items] == ["Bắc Giang", "Vĩnh Phúc", "An Giang"]
    assert {c.code: c.site_count for c in clusters} == {"CUM-1": 2, "CUM-2": 1}
