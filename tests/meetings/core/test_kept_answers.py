"""The API's lists and bearer callers are kept between commits (issue #17): what is kept is
byte for byte what the domain gives, a change committed by anyone (another connection, a
raw UPDATE that moves no version) shows at once, and a cluster leader never gets the
office's list. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import update

from meetings.accounts import accounts
from meetings.accounts.models import Role, UserCreate
from meetings.core.settings import Settings
from meetings.core.store import utcnow
from meetings.core.web import items_json
from meetings.planning.models import Meeting
from meetings.register import sites
from meetings.register.models import Contact
from tests.conftest import make_settings
from tests.factories import (
    PASSWORD,
    bearer,
    make_cluster,
    make_scheduled_meeting,
    make_site,
    make_user,
)

SITES = "/api/v1/sites?limit=100"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


async def _body(client: TestClient, path: str, headers: dict[str, str]) -> bytes:
    answer = await client.get(path, headers=headers)
    assert answer.status == 200, await answer.text()
    assert "Set-Cookie" not in answer.headers  # a script with a token gets no cookie
    return await answer.read()


async def test_kept_lists_are_the_domains_json_and_follow_every_commit(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        org = await bearer(session, "org")
        site = await make_site(session)
        start = utcnow() + timedelta(days=3)
        await make_scheduled_meeting(session, starts_at=start, site_ids=[site.id])
    first = await _body(client, SITES, org)
    async with session_factory() as session:
        page = await sites.list_sites(session, limit=100)
    assert first == items_json(page.items, page.total).encode()
    assert await _body(client, SITES, org) == first
    # The parameters are still checked before anything kept is served.
    wrong = await client.get("/api/v1/sites?limit=none", headers=org)
    assert (wrong.status, (await wrong.json())["error"]["code"]) == (400, "malformed")
    meetings = await _body(client, "/api/v1/meetings", org)
    # Raw writes through another connection, moving no version: seen at once all the same.
    async with session_factory() as session, session.begin():
        await session.execute(update(Contact).values(bounce_reason="550 unknown mailbox"))
        await session.execute(update(Meeting).values(title="Giao ban đổi tên"))
    contact = json.loads(await _body(client, SITES, org))["items"][0]["contacts"][0]
    assert contact["bounce_reason"] == "550 unknown mailbox"
    renamed = await _body(client, "/api/v1/meetings", org)
    assert renamed != meetings and "Giao ban đổi tên" in renamed.decode()
    # Through the API itself, too.
    renaming = {"version": site.version, "name": "Tên mới"}
    patched = await client.patch(f"/api/v1/sites/{site.id}", json=renaming, headers=org)
    assert patched.status == 200, await patched.text()
    assert "Tên mới" in (await _body(client, SITES, org)).decode()


async def test_a_cluster_leader_never_gets_the_offices_kept_list(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        south = await make_cluster(session)
        ours = await make_site(session, cluster_id=south.id)
        other = await make_site(session)
        start = utcnow() + timedelta(days=3)
        await make_scheduled_meeting(session, starts_at=start, site_ids=[other.id], title="VP")
        await make_scheduled_meeting(
            session, starts_at=start, site_ids=[ours.id], cluster_id=south.id, title="Cụm"
        )
        await make_user(session, username="org", role=Role.organiser)
        leader = UserCreate(
            username="lead",
            role=Role.cluster_leader,
            full_name="Cụm trưởng",
            password=PASSWORD,
            cluster_id=south.id,
        )
        await accounts.create_user(session, leader)
        org, lead = await bearer(session, "org"), await bearer(session, "lead")
    office = await (await client.get("/api/v1/meetings", headers=org)).json()
    assert {m["title"] for m in office["items"]} == {"VP", "Cụm"}
    own = await (await client.get("/api/v1/meetings", headers=lead)).json()
    assert [m["title"] for m in own["items"]] == ["Cụm"]
