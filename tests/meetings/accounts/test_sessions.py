"""Sessions that end: logout, a new password and a disabled account kill every copy of the
login cookie, and a session left idle ends; a role change applies at once instead."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from cryptography.fernet import Fernet

from meetings.accounts.models import Role, UserPublic
from meetings.core.app import create_app
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import PASSWORD, bearer, csrf_from, login, make_user

COOKIE = "giaoban_session"


def _cookie(client: TestClient) -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value


def _replay(client: TestClient, value: str) -> None:
    """Put a copied cookie back, as someone who kept it would."""
    client.session.cookie_jar.update_cookies({COOKIE: value}, client.make_url("/"))


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(TEST_SECRET.encode()).digest()))


def _read(value: str) -> dict[str, Any]:
    return json.loads(_fernet().decrypt(value.encode()))


def _write(data: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(data).encode()).decode()


async def _organiser_and_admin(session_factory: Any) -> tuple[UserPublic, dict[str, str]]:
    """The organiser "org" (who signs in) and the admin's token headers (who changes them)."""
    async with session_factory() as session, session.begin():
        await make_user(session, username="root", role=Role.admin)
        user = await make_user(session, username="org", role=Role.organiser)
        return user, await bearer(session, "root")


async def _is_signed_in(client: TestClient) -> bool:
    me = await client.get("/api/v1/me")
    assert me.status in (200, 401), me.status
    return me.status == 200


async def test_a_cookie_replayed_after_logout_is_refused(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
    csrf = await login(client, "org")
    kept = _cookie(client)
    logout = await client.post("/logout", data={"_csrf": csrf}, allow_redirects=False)
    assert logout.status == 303
    _replay(client, kept)
    me = await client.get("/api/v1/me")
    assert me.status == 401
    assert (await me.json())["error"]["code"] == "unauthorized"
    page = await client.get("/", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"].startswith("/login")


async def test_logout_ends_the_users_other_sessions_too(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
    other = TestClient(client.server)  # another browser, on the same server
    try:
        await login(other, "org")
        csrf = await login(client, "org")
        await client.post("/logout", data={"_csrf": csrf})
        assert not await _is_signed_in(other)
        await login(other, "org")  # and signing in again works
        assert await _is_signed_in(other)
    finally:
        await other.session.close()


async def test_a_new_password_ends_the_users_sessions(client: TestClient, session_factory: Any):
    user, admin = await _organiser_and_admin(session_factory)
    await login(client, "org")
    changed = await client.patch(
        f"/api/v1/users/{user.id}",
        json={"version": 1, "password": "another long passphrase"},
        headers=admin,
    )
    assert changed.status == 200
    assert not await _is_signed_in(client)
    await login(client, "org", "another long passphrase")
    assert await _is_signed_in(client)


async def test_a_disabled_account_stays_signed_out_when_enabled_again(
    client: TestClient, session_factory: Any
):
    user, admin = await _organiser_and_admin(session_factory)
    await login(client, "org")
    kept = _cookie(client)
    off = await client.patch(
        f"/api/v1/users/{user.id}", json={"version": 1, "is_active": False}, headers=admin
    )
    assert off.status == 200
    assert not await _is_signed_in(client)
    on = await client.patch(
        f"/api/v1/users/{user.id}", json={"version": 2, "is_active": True}, headers=admin
    )
    assert on.status == 200
    _replay(client, kept)
    assert not await _is_signed_in(client)


async def test_a_role_change_applies_to_the_open_session_at_once(
    client: TestClient, session_factory: Any
):
    user, admin = await _organiser_and_admin(session_factory)
    csrf = await login(client, "org")
    await client.patch(
        f"/api/v1/users/{user.id}", json={"version": 1, "role": "chair"}, headers=admin
    )
    me = await (await client.get("/api/v1/me")).json()
    assert me["role"] == "chair"  # still signed in, with the new role only
    create = await client.post(
        "/api/v1/sites", json={"code": "x", "name": "X"}, headers={"X-CSRF-Token": csrf}
    )
    assert create.status == 403


async def test_an_admin_who_changes_their_own_password_stays_signed_in(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        admin = await make_user(session, username="root", role=Role.admin)
    csrf = await login(client, "root")
    kept = _cookie(client)
    saved = await client.post(
        f"/users/{admin.id}/edit",
        data={
            "_csrf": csrf,
            "version": "1",
            "full_name": "Root",
            "role": "admin",
            "is_active": "on",
            "password": "a brand new passphrase",
        },
        allow_redirects=False,
    )
    assert saved.status == 303, await saved.text()
    assert await _is_signed_in(client)
    _replay(client, kept)  # the cookie from before the change is dead
    assert not await _is_signed_in(client)


async def test_a_session_left_idle_ends(
    tmp_path: Path, sqlite_url: str, aiohttp_client: Any, session_factory: Any
):
    settings = make_settings(tmp_path, sqlite_url, security={"idle_minutes": 30})
    client = await aiohttp_client(create_app(settings))
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
    await login(client, "org")
    data = _read(_cookie(client))
    data["session"]["seen"] = int(time.time()) - 29 * 60  # used 29 minutes ago
    _replay(client, _write(data))
    assert await _is_signed_in(client)
    data["session"]["seen"] = int(time.time()) - 31 * 60  # unused for 31 minutes
    _replay(client, _write(data))
    assert not await _is_signed_in(client)


async def test_use_keeps_a_session_alive_without_a_new_cookie_each_time(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
    await login(client, "org")
    again = await client.get("/api/v1/me")
    assert again.status == 200 and "Set-Cookie" not in again.headers
    data = _read(_cookie(client))
    data["session"]["seen"] = int(time.time()) - 10 * 60
    _replay(client, _write(data))
    refreshed = await client.get("/api/v1/me")
    assert refreshed.status == 200
    assert _read(_cookie(client))["session"]["seen"] >= int(time.time()) - 5


async def test_the_login_page_still_works_with_a_dead_cookie(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
    csrf = await login(client, "org")
    kept = _cookie(client)
    await client.post("/logout", data={"_csrf": csrf})
    _replay(client, kept)
    page = await client.get("/login")
    assert page.status == 200
    token = csrf_from(await page.text())
    again = await client.post(
        "/login",
        data={"username": "org", "password": PASSWORD, "_csrf": token},
        allow_redirects=False,
    )
    assert again.status == 303
    assert await _is_signed_in(client)
