"""Hostile input is a 4xx with the API's error body (or the translated error page), never
a 500: malformed bodies, ids past the store, control characters, null where a value must
be, text past its limit. On SQLite and on PostgreSQL, which fail differently."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.core.app import create_app
from meetings.core.keys import sessions_key
from notify.site import tokens
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import bearer, login, make_cluster, make_site, make_user

MULTIPART = "multipart/form-data; boundary=X"
#: The issue's body: a boundary, then the closing boundary where a part's headers should be.
BROKEN_MULTIPART = b"--X\r\n--X--\r\n"
PAST_INT32 = 2**31
PAST_INT64 = 2**63
SESSION = {
    "title": "Giao ban trực tuyến",
    "starts_at": "2030-04-19T08:00:00+07:00",
    "ends_at": "2030-04-19T11:30:00+07:00",
}


@pytest.fixture
async def world(
    database_url: str, tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> dict[str, Any]:
    """The app on each store, an organiser's bearer token (pages take it too), a cluster,
    a site with its link, and a session inviting it."""
    app = create_app(make_settings(tmp_path, database_url))
    client = await aiohttp_client(app)
    async with app[sessions_key]() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        cluster = await make_cluster(session)
        site = await make_site(session, cluster_id=cluster.id)
        token = await tokens.site_token(session, site.id or 0, secret_key=TEST_SECRET)
    created = await client.post(
        "/api/v1/meetings", json={**SESSION, "site_ids": [site.id]}, headers=headers
    )
    assert created.status == 201, await created.text()
    return {
        "client": client,
        "api": headers,
        "site": site,
        "token": token,
        "meeting": (await created.json())["id"],
    }


async def api_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The API's error body, after checking the status and the code."""
    assert response.status == status, await response.text()
    body = await response.json()
    assert body["error"]["code"] == code, body
    return dict(body["error"])


def fields_of(error: dict[str, Any]) -> set[str]:
    return {problem["field"] for problem in error.get("details", [])}


def control_characters_in(error: dict[str, Any]) -> set[str]:
    """The fields refused for holding a control character."""
    return {p["field"] for p in error.get("details", []) if "control characters" in p["message"]}


# --- malformed bodies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "caller"),
    [
        ("/login", "none"),
        ("/sites/import", "cookie"),
        ("/sites/import", "api"),
        ("/sessions/{meeting}/documents", "api"),
        ("/s/{token}/meetings/{meeting}/rsvp", "none"),
        ("/s/{token}/meetings/{meeting}/check-in", "none"),
        ("/api/v1/sites/import", "api"),
        ("/api/v1/meetings/{meeting}/documents", "api"),
    ],
)
async def test_a_malformed_multipart_body_is_a_400_not_a_traceback(
    world: dict[str, Any], path: str, caller: str
):
    if caller == "cookie":  # logged in through the form, as a browser is (CSRF checked)
        given = {"X-CSRF-Token": await login(world["client"], "org")}
    else:
        given = world.get(caller, {})
    headers = {"Content-Type": MULTIPART, **given}
    target = path.format(meeting=world["meeting"], token=world["token"])
    response = await world["client"].post(target, data=BROKEN_MULTIPART, headers=headers)
    if target.startswith("/api/"):
        await api_error(response, 400, "malformed")
    else:
        assert response.status == 400, await response.text()
        assert "Không đọc được biểu mẫu" in await response.text()  # the page, translated


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"username=\xff\xfe&password=x"),
        ("application/x-www-form-urlencoded; charset=no-such-charset", b"username=a"),
        ("multipart/form-data", b"--X\r\n\r\n--X--\r\n"),  # no boundary given
        ("multipart/form-data; boundary=" + "B" * 80, b"--B\r\n"),  # boundary too long
    ],
)
async def test_a_form_that_cannot_be_read_is_a_400(
    world: dict[str, Any], content_type: str, body: bytes
):
    response = await world["client"].post(
        "/login", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == 400, await response.text()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json; charset=no-such-charset", b'{"code": "C9", "name": "x"}'),
        ("application/json", b"[" * 100_000),
    ],
)
async def test_a_body_that_is_not_json_is_a_400(
    world: dict[str, Any], content_type: str, body: bytes
):
    response = await world["client"].post(
        "/api/v1/clusters", data=body, headers={**world["api"], "Content-Type": content_type}
    )
    await api_error(response, 400, "malformed")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
async def test_a_body_of_another_media_type_is_a_415(
    world: dict[str, Any], content_type: str | None
):
    headers = {**world["api"], **({"Content-Type": content_type} if content_type else {})}
    response = await world["client"].post(
        "/api/v1/clusters", data=b'{"code": "C9", "name": "x"}', headers=headers
    )
    await api_error(response, 415, "unsupported_media_type")


# --- ids and numbers past the store ----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/v1/meetings/{PAST_INT64}"),
        ("GET", f"/api/v1/meetings/{PAST_INT32}"),
        ("GET", f"/api/v1/meetings/1{'0' * 5000}"),
        ("GET", f"/api/v1/sites/{PAST_INT32}"),
        ("PATCH", f"/api/v1/sites/{PAST_INT32}"),
        ("DELETE", f"/api/v1/clusters/{PAST_INT32}"),
        ("GET", f"/api/v1/meetings/{{meeting}}/documents/{PAST_INT32}"),
        ("GET", f"/api/v1/site/{{token}}/meetings/{PAST_INT32}/rsvp"),
    ],
)
async def test_an_id_past_the_store_is_not_found(world: dict[str, Any], method: str, path: str):
    target = path.format(meeting=world["meeting"], token=world["token"])
    response = await world["client"].request(
        method, target, json={"version": 1}, headers=world["api"]
    )
    await api_error(response, 404, "not_found")


async def test_a_page_with_an_id_past_the_store_is_not_found(world: dict[str, Any]):
    response = await world["client"].get(f"/sessions/{PAST_INT32}", headers=world["api"])
    assert response.status == 404
    assert "Không tìm thấy" in await response.text()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/v1/sites?cluster_id={PAST_INT32}"),
        ("GET", f"/api/v1/meetings?cluster_id={PAST_INT32}"),
        ("GET", f"/api/v1/meetings?offset={PAST_INT32}"),
        ("GET", f"/api/v1/recommendations?site_id={PAST_INT32}"),
        ("GET", f"/api/v1/recommendations?meeting_id={PAST_INT32}"),
        ("DELETE", f"/api/v1/sites/{{site}}?version={PAST_INT32}"),
    ],
)
async def test_an_integer_query_parameter_past_the_store_is_refused(
    world: dict[str, Any], method: str, path: str
):
    target = path.format(meeting=world["meeting"], site=world["site"].id)
    response = await world["client"].request(method, target, headers=world["api"])
    await api_error(response, 400, "malformed")


@pytest.mark.parametrize(
    "path", [f"/sites?cluster={PAST_INT64}", f"/sessions?cluster={'9' * 5000}"]
)
async def test_a_page_filter_past_the_store_is_refused(world: dict[str, Any], path: str):
    response = await world["client"].get(path, headers=world["api"])
    assert response.status == 422, await response.text()


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/meetings/{meeting}/attendance", {"status": "connected"}, "site_id"),
        ("POST", "/api/v1/meetings", SESSION, "site_ids.0"),
        ("POST", "/api/v1/meetings/{meeting}/actions", {"text": "Báo cáo"}, "owner_site_id"),
        ("POST", "/api/v1/clusters", {"code": "C9", "name": "Cụm 9"}, "leader_site_id"),
        ("PATCH", "/api/v1/sites/{site}", {}, "version"),
    ],
)
async def test_an_id_in_a_body_past_the_store_is_refused_naming_the_field(
    world: dict[str, Any], method: str, path: str, body: dict[str, Any], field: str
):
    name = field.split(".")[0]
    value = [PAST_INT64] if field.endswith(".0") else PAST_INT32
    target = path.format(meeting=world["meeting"], site=world["site"].id)
    response = await world["client"].request(
        method, target, json={**body, name: value}, headers=world["api"]
    )
    assert field in fields_of(await api_error(response, 422, "validation_error"))


# --- control characters ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/sites?q=a%00b",
        "/api/v1/meetings?q=%00",
        "/api/v1/recommendations?topic=%1b%5b31m",
        "/api/v1/meetings/{meeting}/letter.pdf?locale=v%00i",
    ],
)
async def test_a_control_character_in_a_query_is_refused_naming_the_parameter(
    world: dict[str, Any], path: str
):
    target = path.format(meeting=world["meeting"])
    response = await world["client"].get(target, headers=world["api"])
    error = await api_error(response, 422, "validation_error")
    assert control_characters_in(error) == {target.split("?")[1].split("=")[0]}


async def test_a_control_character_in_a_page_query_is_a_translated_422(world: dict[str, Any]):
    response = await world["client"].get("/sites?q=a%00b", headers=world["api"])
    assert response.status == 422
    assert "Văn bản không được chứa ký tự điều khiển." in await response.text()


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/clusters", {"code": "C9", "name": "Cụm\x009"}, "name"),
        ("PATCH", "/api/v1/sites/{site}", {"version": 1, "name": "Hà\x1bNội"}, "name"),
        ("PATCH", "/api/v1/meetings/{meeting}", {"version": 1, "title": "a\tb"}, "title"),
        (
            "PATCH",
            "/api/v1/meetings/{meeting}",
            {"version": 1, "location": "Hà Nội\x00"},
            "location",
        ),
        (
            "PATCH",
            "/api/v1/meetings/{meeting}",
            {"version": 1, "description": "\x00"},
            "description",
        ),
        ("PATCH", "/api/v1/meetings/{meeting}", {"version": 1, "chair": "Chủ\x85tịch"}, "chair"),
        ("PUT", "/api/v1/meetings/{meeting}/notes", {"conclusions": "Kết luận\x00"}, "conclusions"),
        (
            "POST",
            "/api/v1/site/{token}/meetings/{meeting}/contributions",
            {"text": "Kiến nghị\x00"},
            "text",
        ),
    ],
)
async def test_a_control_character_in_text_is_refused_naming_the_field(
    world: dict[str, Any], method: str, path: str, body: dict[str, Any], field: str
):
    target = path.format(meeting=world["meeting"], site=world["site"].id, token=world["token"])
    response = await world["client"].request(method, target, json=body, headers=world["api"])
    assert field in control_characters_in(await api_error(response, 422, "validation_error"))


async def test_multi_line_text_keeps_its_tabs_and_line_breaks(world: dict[str, Any]):
    text = "Nội dung:\n\t1. Báo cáo\r\n\t2. Thảo luận"
    response = await world["client"].patch(
        f"/api/v1/meetings/{world['meeting']}",
        json={"version": 1, "description": text},
        headers=world["api"],
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["description"] == text


async def test_no_nul_reaches_the_calendar(world: dict[str, Any]):
    client, meeting = world["client"], world["meeting"]
    refused = await client.patch(
        f"/api/v1/meetings/{meeting}",
        json={"version": 1, "location": "Hội trường\x00A"},
        headers=world["api"],
    )
    assert refused.status == 422
    calendar = await client.get(f"/api/v1/meetings/{meeting}/calendar.ics", headers=world["api"])
    assert calendar.status == 200 and b"\x00" not in await calendar.read()


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/login", {"username": "org\x00", "password": "x" * 12}),
        ("/sites/new", {"code": "S99", "name": "Tỉnh\x00", "province": "x"}),
        ("/s/{token}/meetings/{meeting}/rsvp", {"response": "accepted", "note": "\x00"}),
    ],
)
async def test_a_control_character_in_a_posted_form_is_a_422(
    world: dict[str, Any], path: str, form: dict[str, str]
):
    target = path.format(meeting=world["meeting"], token=world["token"])
    response = await world["client"].post(target, data=form, headers=world["api"])
    assert response.status == 422, await response.text()
    assert "Văn bản không được chứa ký tự điều khiển." in await response.text()


# --- null, lengths, dates, searches ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/sites/{site}", "address"),
        ("/api/v1/sites/{site}", "name"),
        ("/api/v1/sites/{site}", "contacts"),
        ("/api/v1/meetings/{meeting}", "timezone"),
        ("/api/v1/meetings/{meeting}", "site_ids"),
        ("/api/v1/clusters/{cluster}", "name"),
    ],
)
async def test_null_for_a_field_that_cannot_be_empty_is_refused_naming_it(
    world: dict[str, Any], path: str, field: str
):
    site = world["site"]
    target = path.format(site=site.id, meeting=world["meeting"], cluster=site.cluster_id)
    response = await world["client"].patch(
        target, json={"version": 1, field: None}, headers=world["api"]
    )
    assert fields_of(await api_error(response, 422, "validation_error")) == {field}


async def test_null_still_empties_a_field_that_may_be_empty(world: dict[str, Any]):
    response = await world["client"].patch(
        f"/api/v1/sites/{world['site'].id}",
        json={"version": 1, "cluster_id": None, "timezone": None},
        headers=world["api"],
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["cluster_id"] is None


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/meetings", {**SESSION, "description": "x" * 100_000}, "description"),
        ("PUT", "/api/v1/meetings/{meeting}/notes", {"conclusions": "x" * 100_000}, "conclusions"),
        ("PUT", "/api/v1/meetings/{meeting}/notes", {"general": "x" * 20_001}, "general"),
        (
            "PUT",
            "/api/v1/meetings/{meeting}/focus-items",
            [{"number": 1, "title": "Trọng tâm", "detail": "x" * 20_001}],
            "0.detail",
        ),
        (
            "POST",
            "/api/v1/meetings/{meeting}/attendance",
            {"site_id": 1, "status": "present", "officials_present": ["x" * 201]},
            "officials_present.0",
        ),
    ],
)
async def test_text_past_its_limit_is_refused_naming_the_field(
    world: dict[str, Any], method: str, path: str, body: Any, field: str
):
    target = path.format(meeting=world["meeting"])
    response = await world["client"].request(method, target, json=body, headers=world["api"])
    assert field in fields_of(await api_error(response, 422, "validation_error"))


async def test_a_focus_outcome_longer_than_its_column_is_refused(world: dict[str, Any]):
    client, meeting, headers = world["client"], world["meeting"], world["api"]
    items = [{"number": 1, "title": "Trọng tâm"}]
    saved = await client.put(f"/api/v1/meetings/{meeting}/focus-items", json=items, headers=headers)
    assert saved.status == 200, await saved.text()
    focus = (await saved.json())[0]["id"]
    response = await client.put(
        f"/api/v1/meetings/{meeting}/focus-items/{focus}/outcome",
        json={"status": "done", "summary": "x" * 501},
        headers=headers,
    )
    assert fields_of(await api_error(response, 422, "validation_error")) == {"summary"}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/meetings", {**SESSION, "starts_at": "0001-01-01T00:00:00+14:00"}, "starts_at"),
        ("/api/v1/meetings", {**SESSION, "ends_at": "9999-12-31T23:59:59-14:00"}, "ends_at"),
        (
            "/api/v1/meetings/{meeting}/invitations",
            {"send_at": "9999-12-31T23:59:59-14:00"},
            "send_at",
        ),
    ],
)
async def test_a_moment_no_calendar_holds_is_refused_naming_the_field(
    world: dict[str, Any], path: str, body: dict[str, Any], field: str
):
    target = path.format(meeting=world["meeting"])
    response = await world["client"].post(target, json=body, headers=world["api"])
    assert field in fields_of(await api_error(response, 422, "validation_error"))


@pytest.mark.parametrize("path", ["/api/v1/sites", "/api/v1/meetings", "/sites"])
async def test_a_search_of_thousands_of_words_answers(world: dict[str, Any], path: str):
    words = "+".join(["ha"] * 2500)
    response = await world["client"].get(f"{path}?q={words}", headers=world["api"])
    assert response.status == 200, await response.text()
