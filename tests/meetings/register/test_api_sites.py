"""The register through the JSON API: CRUD, the error shape, versions, search."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from tests.factories import bearer, make_cluster, make_user


async def organiser_headers(session_factory: Any) -> dict[str, str]:
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        return await bearer(session, "org")


async def test_create_then_read_a_site_with_contacts(client: TestClient, session_factory: Any):
    headers = await organiser_headers(session_factory)
    async with session_factory() as session, session.begin():
        cluster = await make_cluster(session, code="CUM-1", name="Cụm 1")
    body = {
        "code": "kien-giang",
        "name": "Liên hiệp các tổ chức hữu nghị tỉnh Kiên Giang",
        "province": "Kiên Giang",
        "cluster_id": cluster.id,
        "contacts": [
            {"name": "Nguyễn Văn A", "title": "Chủ tịch", "email": "a@example.org", "role": "head"},
            {
                "name": "Trần Thị B",
                "title": "Kỹ thuật",
                "email": "b@example.org",
                "role": "technical",
            },
        ],
    }
    created = await client.post("/api/v1/sites", json=body, headers=headers)
    assert created.status == 201
    site = await created.json()
    fetched = await (await client.get(f"/api/v1/sites/{site['id']}", headers=headers)).json()
    assert fetched["name"] == body["name"]
    assert fetched["cluster_code"] == "CUM-1"
    assert [c["email"] for c in fetched["contacts"]] == ["a@example.org", "b@example.org"]
    assert fetched["version"] == 1


async def test_validation_error_names_the_field(client: TestClient, session_factory: Any):
    headers = await organiser_headers(session_factory)
    body = {"code": "x", "name": "X", "contacts": [{"name": "A", "email": "not-an-address"}]}
    response = await client.post("/api/v1/sites", json=body, headers=headers)
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == ["contacts.0.email"]


async def test_a_time_zone_that_is_a_folder_or_too_long_is_refused_naming_the_field(
    client: TestClient, session_factory: Any
):
    """ "America" is a folder of the zone database and a long name is no file name: both
    once reached the file system's error (500)."""
    headers = await organiser_headers(session_factory)
    for zone in ("America", "A" * 300):
        body = {"code": "x", "name": "X", "timezone": zone}
        response = await client.post("/api/v1/sites", json=body, headers=headers)
        assert response.status == 422, zone[:20]
        error = (await response.json())["error"]
        assert [d["field"] for d in error["details"]] == ["timezone"]


async def test_stale_version_gets_409_and_changes_nothing(client: TestClient, session_factory: Any):
    headers = await organiser_headers(session_factory)
    site = await (
        await client.post("/api/v1/sites", json={"code": "hn", "name": "Hà Nội"}, headers=headers)
    ).json()
    first = await client.patch(
        f"/api/v1/sites/{site['id']}", json={"version": 1, "name": "Hà Nội (mới)"}, headers=headers
    )
    assert first.status == 200
    assert (await first.json())["version"] == 2
    stale = await client.patch(
        f"/api/v1/sites/{site['id']}", json={"version": 1, "name": "Lost update"}, headers=headers
    )
    assert stale.status == 409
    assert (await stale.json())["error"]["code"] == "conflict"
    now = await (await client.get(f"/api/v1/sites/{site['id']}", headers=headers)).json()
    assert now["name"] == "Hà Nội (mới)"


async def test_duplicate_code_is_a_conflict(client: TestClient, session_factory: Any):
    headers = await organiser_headers(session_factory)
    await client.post("/api/v1/sites", json={"code": "hn", "name": "Hà Nội"}, headers=headers)
    again = await client.post("/api/v1/sites", json={"code": "hn", "name": "Khác"}, headers=headers)
    assert again.status == 409
    assert (await again.json())["error"]["details"][0]["field"] == "code"


async def test_search_ignores_diacritics_and_pages(client: TestClient, session_factory: Any):
    headers = await organiser_headers(session_factory)
    for code, name in [("hn", "Hà Nội"), ("hp", "Hải Phòng"), ("dn", "Đà Nẵng")]:
        await client.post("/api/v1/sites", json={"code": code, "name": name}, headers=headers)
    found = await (await client.get("/api/v1/sites?q=da nang", headers=headers)).json()
    assert [s["name"] for s in found["items"]] == ["Đà Nẵng"]
    page = await (await client.get("/api/v1/sites?limit=2&offset=2", headers=headers)).json()
    assert page["total"] == 3 and len(page["items"]) == 1


async def test_malformed_json_is_400(client: TestClient, session_factory: Any):
    headers = await organiser_headers(session_factory)
    response = await client.post(
        "/api/v1/sites", data=b"{nope", headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "malformed"


async def test_openapi_lists_every_api_route(client: TestClient):
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    served = {
        (route.method.lower(), re.sub(r"{(\w*id):[^}]*}", r"{\1}", route.resource.canonical))
        for route in client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        and route.method != "HEAD"
        and not route.resource.canonical.endswith("openapi.json")
    }
    documented = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert served == documented
    site_schema = document["components"]["schemas"]["SiteCreate"]
    assert "contacts" in site_schema["properties"]
