"""A cluster leader is refused every other cluster's data, on every route of the app
(meetings.core.scope): the walk covers routes added later as well."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from meetings.core.access import access_of
from meetings.core.scope import ACCOUNT_ROUTES, LEADER_ROUTES
from meetings.core.settings import Settings
from tests.conftest import make_settings
from tests.factories import login
from tests.meetings.core.cluster_world import SECRET, cluster_world

_PARAM = re.compile(r"{(\w+)(?::[^}]*)?}")
_MEETING = re.compile(r"^/(?:sessions|api/v1/meetings)/{id}")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


def _routes(app: web.Application) -> list[tuple[str, str, str]]:
    """(method, path, name) of every route a logged-in account may be refused."""
    found = set()
    for route in app.router.routes():
        resource = route.resource
        if resource is None or isinstance(resource, web.StaticResource):
            continue
        access = access_of(route.handler)
        if route.method == "HEAD" or (access is not None and access.is_public):
            continue
        path = re.sub(r"{(\w*):[^}]*}", r"{\1}", resource.canonical)
        found.add((route.method, path, route.name or ""))
    return sorted(found)


def _fill(path: str, ids: dict[str, int]) -> str:
    """The path with `ids`; an id the world has no record for names none (a route added
    later under a session: its own handler must still answer 404 or 403)."""

    def one(match: re.Match[str]) -> str:
        return {"fmt": "html", "locale": "vi"}.get(match.group(1)) or str(
            ids.get(match.group(1), 999_999)
        )

    return _PARAM.sub(one, path)


async def _call(client: TestClient, csrf: str, method: str, path: str) -> tuple[int, str]:
    headers = {"X-CSRF-Token": csrf}
    if method in ("GET", "DELETE"):
        response = await client.request(method, path, headers=headers, allow_redirects=False)
    elif path.startswith("/api/"):
        response = await client.request(
            method, path, json={}, headers=headers, allow_redirects=False
        )
    else:
        response = await client.request(
            method, path, data={"_csrf": csrf}, headers=headers, allow_redirects=False
        )
    if response.content_type == "text/event-stream":  # the live board's stream never ends
        response.close()
        return response.status, ""
    return response.status, (await response.read()).decode("utf-8", "replace")


def _ids_of_b(world: dict[str, Any], path: str, meeting: int) -> dict[str, int]:
    """The path's ids as cluster B's (or the office's) records."""
    ids = dict(world["children"][meeting])
    if _MEETING.match(path):
        ids["id"] = meeting
    elif path.startswith(("/sites/", "/api/v1/sites/")):
        ids["id"] = world["b1"].id
    elif path.startswith(("/clusters/", "/api/v1/clusters/")):
        ids["id"] = world["b"].id
    else:
        ids["id"] = world["children"][meeting]["action_id"]
    return ids


async def test_a_leader_is_refused_every_other_clusters_and_the_offices_records(
    client: TestClient, session_factory: Any
):
    world = await cluster_world(client, session_factory)
    csrf = await login(client, "lead_a")
    routes = _routes(client.app)
    assert len(routes) > 100  # the walk really covers the app
    for meeting in (world["mb"], world["mo"]):
        for method, path, name in routes:
            if name == "logout":
                continue
            status, body = await _call(
                client, csrf, method, _fill(path, _ids_of_b(world, path, meeting))
            )
            assert SECRET not in body, (method, path, status)
            if "{" not in path and name in LEADER_ROUTES | ACCOUNT_ROUTES:
                assert status < 500 and status != 403, (method, path, status)
            else:
                assert status in (403, 404), (method, path, status, body[:200])


async def test_on_its_own_session_a_leader_is_admitted_and_other_records_are_not_found(
    client: TestClient, session_factory: Any
):
    world = await cluster_world(client, session_factory)
    csrf = await login(client, "lead_a")
    own, theirs = world["ma"], world["children"][world["mb"]]
    for method, path, _name in _routes(client.app):
        if not _MEETING.match(path):
            continue
        children = set(_PARAM.findall(path)) - {"id", "fmt"}
        status, body = await _call(client, csrf, method, _fill(path, {**theirs, "id": own}))
        assert SECRET not in body, (method, path, status)
        assert status < 500, (method, path, status, body[:300])
        if children and status == 303:  # a refused form: back to the page, saying why
            assert not path.startswith("/api/"), (method, path)
            page = await (await client.get(f"/sessions/{own}")).text()
            assert SECRET not in page, (method, path)
        elif children:
            assert status >= 400, (method, path, status, body[:300])
        else:
            assert status != 403, (method, path, status, body[:300])
    for path in (f"/sites/{world['a1'].id}", f"/api/v1/sites/{world['a1'].id}"):
        assert (await client.get(path)).status == 200, path
    assert (await client.get(f"/api/v1/clusters/{world['a'].id}")).status == 200
