"""A cluster leader plans and runs its cluster's meetings with its own sites, follows its
sites' action items (the office's sessions' too), and its account needs its cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.core.cli import main
from meetings.core.settings import Settings
from tests.agendas.record.test_record import _status
from tests.conftest import make_settings
from tests.factories import bearer, login, make_cluster, make_user
from tests.meetings.core.cluster_world import SECRET, cluster_world

BODY = {
    "title": "Hội nghị giao ban Cụm Nam quý II",
    "starts_at": "2030-07-10T08:00:00+07:00",
    "ends_at": "2030-07-10T11:00:00+07:00",
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


async def _refused_field(response: Any) -> str:
    assert response.status == 422, await response.text()
    return str((await response.json())["error"]["details"][0]["field"])


async def test_a_leader_plans_its_cluster_meeting_with_its_own_sites_only(
    client: TestClient, session_factory: Any
):
    world = await cluster_world(client, session_factory)
    async with session_factory() as session, session.begin():
        lead = await bearer(session, "lead_a")
    a1, a2, b1 = world["a1"].id, world["a2"].id, world["b1"].id
    post = "/api/v1/meetings"
    created = await client.post(post, json={**BODY, "site_ids": [a1, a2]}, headers=lead)
    assert created.status == 201, await created.text()
    meeting = await created.json()
    assert (meeting["kind"], meeting["cluster_id"], meeting["site_count"]) == (
        "cluster_meeting",
        world["a"].id,
        2,
    )
    other_site = await client.post(post, json={**BODY, "site_ids": [a1, b1]}, headers=lead)
    assert await _refused_field(other_site) == "site_ids"
    assert SECRET not in await other_site.text()
    other_cluster = {**BODY, "cluster_ids": [world["b"].id]}
    assert await _refused_field(await client.post(post, json=other_cluster, headers=lead)) == (
        "cluster_ids"
    )
    briefing = {**BODY, "kind": "briefing", "all_sites": True}
    assert await _refused_field(await client.post(post, json=briefing, headers=lead)) == "kind"
    seminar = await client.post(
        post, json={**BODY, "kind": "seminar", "all_sites": True}, headers=lead
    )
    assert (await seminar.json())["site_count"] == 2  # "all" is all of its cluster's sites
    widen = {"version": meeting["version"], "site_ids": [a1, b1]}
    mid = meeting["id"]
    patched = await client.patch(f"{post}/{mid}", json=widen, headers=lead)
    assert await _refused_field(patched) == "site_ids"

    listed = await (await client.get(post, headers=lead)).json()
    assert {m["id"] for m in listed["items"]} == {mid, world["ma"], (await seminar.json())["id"]}
    everything = await (await client.get(post, headers=world["org"])).json()
    assert {mid, world["mb"], world["mo"]} <= {m["id"] for m in everything["items"]}


async def test_a_leader_runs_its_meeting_and_follows_its_sites_action_items(
    client: TestClient, session_factory: Any
):
    world = await cluster_world(client, session_factory)
    async with session_factory() as session, session.begin():
        lead = await bearer(session, "lead_a")
    a1 = world["a1"].id
    meeting = await (
        await client.post("/api/v1/meetings", json={**BODY, "site_ids": [a1]}, headers=lead)
    ).json()
    url = f"/api/v1/meetings/{meeting['id']}"
    await _status(client, lead, meeting, "scheduled")
    queued = await client.post(f"{url}/invitations", json={}, headers=lead)
    assert queued.status == 202 and (await queued.json())["invitations"] == 1
    await login(client, "lead_a")  # its session's page offers it the organiser's controls
    session_page = await (await client.get(f"/sessions/{meeting['id']}")).text()
    assert f'href="/sessions/{meeting["id"]}/edit"' in session_page
    notes = await client.put(f"{url}/notes", json={"conclusions": "Kết luận cụm"}, headers=lead)
    assert notes.status == 200, await notes.text()
    task = {"text": "Nộp báo cáo cụm", "owner_site_id": a1, "due_date": "2030-07-31"}
    assert (await client.post(f"{url}/actions", json=task, headers=lead)).status == 201
    # The office asks a site of the cluster for something in its own session.
    office = f"/api/v1/meetings/{world['mo']}/actions"
    asked = {"text": "Báo cáo văn phòng của Nam Một", "owner_site_id": a1, "due_date": "2030-07-01"}
    assert (await client.post(office, json=asked, headers=world["org"])).status == 201
    await _status(client, lead, meeting, "live", "ended")
    approved = await client.post(f"{url}/minutes/approve", headers=lead)
    assert approved.status == 201, await approved.text()

    for page in ("", "/board", "/record", "/minutes"):
        response = await client.get(f"/sessions/{meeting['id']}{page}")
        assert response.status == 200, (page, response.status)
    home = await (await client.get("/")).text()
    assert "Báo cáo văn phòng của Nam Một" in home and "Nộp báo cáo cụm" in home
    assert f'href="/sessions/{world["mo"]}/record"' not in home  # the office's: read here only
    assert meeting["title"] in home and SECRET not in home
    assert (await client.get(f"/sessions/{world['mo']}/record")).status == 404
    assert (await client.get("/sessions")).status == 403

    await login(client, "org")  # the office still sees every session
    assert (await client.get(f"/sessions/{meeting['id']}")).status == 200
    assert (await client.get(f"/sessions/{world['mb']}")).status == 200


async def test_a_leader_account_needs_its_cluster(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        cluster = await make_cluster(session, code="NAM", name="Cụm Nam")
        await make_user(session, username="root", role=Role.admin)
        admin = await bearer(session, "root")
    body = {"username": "cum", "role": "cluster_leader", "password": "a-long-password"}
    missing = await client.post("/api/v1/users", json=body, headers=admin)
    assert await _refused_field(missing) == "cluster_id"
    unknown = await client.post("/api/v1/users", json={**body, "cluster_id": 999}, headers=admin)
    assert await _refused_field(unknown) == "cluster_id"
    made = await client.post(
        "/api/v1/users", json={**body, "cluster_id": cluster.id}, headers=admin
    )
    assert made.status == 201 and (await made.json())["cluster_id"] == cluster.id
    csrf = await login(client, "root")
    form = {"_csrf": csrf, "username": "cum2", "role": "cluster_leader", "password": "x" * 12}
    refused = await client.post("/users/new", data=form)
    assert refused.status == 422 and 'id="e-cluster_id"' in await refused.text()
    saved = await client.post("/users/new", data={**form, "cluster_id": str(cluster.id)})
    assert saved.status == 200 and "cum2" in await saved.text()


def test_the_command_line_makes_a_leader_of_a_cluster_by_its_code(
    config_file: Path, capsys: pytest.CaptureFixture[str]
):
    def giaoban(*args: str) -> int:
        return main(["--config", str(config_file), *args])

    assert giaoban("demo") == 0
    add = ("users", "add", "nam", "--role", "cluster_leader", "--password", "a-long-password")
    assert giaoban(*add) == 1
    assert "cluster_id" in capsys.readouterr().err
    assert giaoban(*add, "--cluster", "NOPE") == 1
    assert "NOPE" in capsys.readouterr().err
    assert giaoban(*add, "--cluster", "CUM-1") == 0
    out = capsys.readouterr().out
    assert "created cluster_leader nam" in out
