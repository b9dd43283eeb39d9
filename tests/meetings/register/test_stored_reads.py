"""Reading the register back validates nothing again (issue #17): the sites list built
from our own rows is the same JSON as the validated models gave, field for field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import col, select

from meetings.accounts.models import Role
from meetings.core.settings import Settings
from meetings.register.models import (
    Cluster,
    Contact,
    ContactIn,
    ContactPublic,
    ContactRole,
    Site,
    SitePublic,
)
from tests.conftest import make_settings
from tests.factories import bearer, make_cluster, make_site, make_user


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The app on SQLite and on PostgreSQL."""
    return make_settings(tmp_path, database_url)


async def _validated(session_factory: Any) -> list[dict[str, Any]]:
    """The list as the validating read built it, from the stored rows."""
    async with session_factory() as session:
        sites = (await session.scalars(select(Site).order_by(col(Site.name)))).all()
        contacts = (await session.scalars(select(Contact).order_by(col(Contact.position)))).all()
        clusters = {c.id: c for c in await session.scalars(select(Cluster))}
        published = []
        for site in sites:
            cluster = clusters.get(site.cluster_id)
            own = [ContactPublic.model_validate(c) for c in contacts if c.site_id == site.id]
            update = {
                "contacts": own,
                "cluster_code": cluster.code if cluster else None,
                "cluster_name": cluster.name if cluster else None,
            }
            published.append(SitePublic.model_validate(site, update=update))
        return [p.model_dump(mode="json") for p in published]


async def test_the_sites_list_is_the_same_json_as_the_validated_models(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        cluster = await make_cluster(session, code="CUM-1", name="Cụm 1")
        await make_site(
            session,
            name="Đà Nẵng",
            cluster_id=cluster.id,
            timezone="Asia/Ho_Chi_Minh",
            locale="en",
            address="1 Bạch Đằng\nHải Châu",
            endpoint="sip:danang@example.org",
            contacts=[
                ContactIn(name="Lê Văn C", title="Chủ tịch", email="C@Example.org", role="head"),
                ContactIn(name="Phạm D", email="d@example.org", phone="0236", role="technical"),
            ],
        )
        await make_site(session, name="Hà Nội", contacts=[])
        bounced = await session.scalar(select(Contact).where(col(Contact.name) == "Phạm D"))
        assert bounced is not None
        bounced.bounced_at = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)
        bounced.bounce_reason = "5.1.1 user unknown"
    answer = await client.get("/api/v1/sites?limit=100", headers=headers)
    assert answer.status == 200
    listed = (await answer.json())["items"]
    expected = await _validated(session_factory)
    assert listed == expected
    assert [list(item) for item in listed] == [list(item) for item in expected]  # same order
    danang = next(item for item in listed if item["name"] == "Đà Nẵng")
    assert [c["role"] for c in danang["contacts"]] == [ContactRole.head, ContactRole.technical]
    assert danang["contacts"][1]["bounced_at"] == "2026-03-01T02:30:00Z"
    one = await client.get(f"/api/v1/sites/{danang['id']}", headers=headers)
    assert await one.json() == danang
