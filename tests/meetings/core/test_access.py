"""Who may do what: every route anonymously, roles, CSRF, sessions, tokens, throttling."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from meetings.accounts import accounts
from meetings.accounts.models import Role
from tests.factories import PASSWORD, bearer, csrf_from, login, make_site, make_user

#: The only routes an anonymous caller may use. Anything else must answer 401/403/redirect.
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/lang/{locale}"),
    ("GET", "/healthz"),
    # The load balancer's and Prometheus' (counts only; deploy/nginx keeps /metrics to
    # the internal network).
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/openapi.json"),
}


def _concrete(path: str) -> str:
    return re.sub(r"{\w*id(:[^}]*)?}", "1", path).replace("{locale}", "vi").replace("{fmt}", "html")


def _routes(app: web.Application) -> list[tuple[str, str]]:
    found = []
    for route in app.router.routes():
        resource = route.resource
        if resource is None or isinstance(resource, web.StaticResource):
            continue
        if route.method == "HEAD":
            continue
        found.append((route.method, re.sub(r"{(\w*id):[^}]*}", r"{\1}", resource.canonical)))
    return sorted(set(found))


async def test_every_route_refuses_anonymous_callers(client: TestClient):
    routes = _routes(client.app)
    assert len(routes) > 30  # the walk really covers the app
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        if "{site_token}" in path:  # authorised by the link alone: a wrong one is not found
            wrong = _concrete(path).replace("{site_token}", "x" * 43)
            response = await client.request(method, wrong, allow_redirects=False)
            assert response.status == 404, (method, path, response.status)
            continue
        response = await client.request(method, _concrete(path), allow_redirects=False)
        if path.startswith("/api/"):
            assert response.status == 401, (method, path, response.status)
            assert (await response.json())["error"]["code"] == "unauthorized"
        else:
            assert response.status in (303, 401, 403), (method, path, response.status)
            if response.status == 303:
                assert response.headers["Location"].startswith("/login?next=")


async def test_public_routes_answer_anonymous_callers(client: TestClient):
    for path in ("/login", "/healthz", "/api/v1/openapi.json"):
        assert (await client.get(path)).status == 200, path


async def test_wrong_role_is_403(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        await make_user(session, username="sec", role=Role.secretary)
        headers = await bearer(session, "sec")
    listing = await client.get("/api/v1/sites", headers=headers)
    assert listing.status == 200
    assert "Set-Cookie" not in listing.headers  # a script's token call leaves no session
    create = await client.post("/api/v1/sites", json={"code": "x", "name": "X"}, headers=headers)
    assert create.status == 403
    assert (await create.json())["error"]["code"] == "forbidden"
    assert (await client.get("/api/v1/users", headers=headers)).status == 403


async def test_admin_may_do_what_organisers_do(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        await make_user(session, username="root", role=Role.admin)
        headers = await bearer(session, "root")
    create = await client.post("/api/v1/sites", json={"code": "x", "name": "X"}, headers=headers)
    assert create.status == 201


async def test_cookie_session_needs_csrf_for_unsafe_requests(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
    token = await login(client, "org")
    body = {"code": "hn", "name": "Hà Nội"}
    without = await client.post("/api/v1/sites", json=body)
    assert without.status == 403
    wrong = await client.post("/api/v1/sites", json=body, headers={"X-CSRF-Token": "forged"})
    assert wrong.status == 403
    right = await client.post("/api/v1/sites", json=body, headers={"X-CSRF-Token": token})
    assert right.status == 201
    # A form without its hidden token is refused too.
    assert (await client.post("/logout", data={}, allow_redirects=False)).status == 403
    assert (await client.get("/")).status == 200  # still logged in


async def test_login_sets_a_hardened_cookie_and_logout_ends_it(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": "org", "password": PASSWORD, "_csrf": csrf_from(await page.text())},
        allow_redirects=False,
    )
    assert response.status == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = await client.get("/")
    logout = await client.post(
        "/logout", data={"_csrf": csrf_from(await home.text())}, allow_redirects=False
    )
    assert logout.status == 303
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_login_csrf_token_is_required(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
    await client.get("/login")
    response = await client.post(
        "/login", data={"username": "org", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403


async def test_login_redirects_only_within_the_site(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "username": "org",
            "password": PASSWORD,
            "next": "//evil.example/x",
            "_csrf": csrf_from(await page.text()),
        },
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/"


async def test_wrong_password_then_throttled(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
    csrf = csrf_from(await (await client.get("/login")).text())
    for _ in range(5):
        wrong = await client.post(
            "/login", data={"username": "org", "password": "nope", "_csrf": csrf}
        )
        assert wrong.status == 401
    blocked = await client.post(
        "/login", data={"username": "org", "password": PASSWORD, "_csrf": csrf}
    )
    assert blocked.status == 429  # even the right password waits out the window
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_revoked_or_unknown_token_is_401(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
    assert (await client.get("/api/v1/sites", headers=headers)).status == 200
    async with session_factory() as session, session.begin():
        assert await accounts.revoke_tokens(session, username="org") == 1
    assert (await client.get("/api/v1/sites", headers=headers)).status == 401
    junk = {"Authorization": "Bearer gb_junk"}
    assert (await client.get("/api/v1/sites", headers=junk)).status == 401
    basic = {"Authorization": "Basic b3JnOnB3"}
    assert (await client.get("/api/v1/sites", headers=basic)).status == 401


async def test_deactivated_user_loses_access(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        await make_user(session, username="root", role=Role.admin)
        user = await make_user(session, username="org", role=Role.organiser)
        admin_headers = await bearer(session, "root")
        org_headers = await bearer(session, "org")
    response = await client.patch(
        f"/api/v1/users/{user.id}", json={"version": 1, "is_active": False}, headers=admin_headers
    )
    assert response.status == 200
    assert (await client.get("/api/v1/sites", headers=org_headers)).status == 401


async def test_last_admin_cannot_be_demoted(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        admin = await make_user(session, username="root", role=Role.admin)
        headers = await bearer(session, "root")
    response = await client.patch(
        f"/api/v1/users/{admin.id}", json={"version": 1, "role": "chair"}, headers=headers
    )
    assert response.status == 422
    assert (await response.json())["error"]["details"][0]["field"] == "role"


@pytest.mark.parametrize("role", [Role.secretary, Role.chair])
async def test_read_only_roles_can_read_the_register(
    client: TestClient, session_factory: Any, role: Role
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="reader", role=role)
        await make_site(session, code="hn", name="Hà Nội")
        headers = await bearer(session, "reader")
    listing = await (await client.get("/api/v1/sites", headers=headers)).json()
    assert [s["code"] for s in listing["items"]] == ["hn"]
