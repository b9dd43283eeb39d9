"""Security headers on every answer (pages, API, static files, errors), no inline script or
style in any page, no Referer out of a site's link, HSTS only over HTTPS."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.core.app import create_app
from meetings.core.settings import Settings
from notify.site import tokens
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import bearer, login, make_site, make_user

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("meetings", "agendas", "notify", "scheduler")
#: Templates that are not pages of the app, each with its reason: they are documents with
#: their own style sheet, shown under their own policy (meetings.core.headers.as_document)
#: or never served as HTML at all.
DOCUMENTS = {
    "agendas/minutes/templates/minutes/minutes.html",  # the minutes, as_document
    "notify/mail/templates/mail/message.html",  # an e-mail: the mail viewer's frame
    "notify/mail/templates/mail/answer.html",  # an e-mail too (a recommendation's answer)
    "notify/mail/templates/mail/letter.html",  # the letter's source, only ever a PDF
    "agendas/yearly/templates/yearly/yearly_report.html",  # the yearly report's PDF source
}
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE),
    "javascript: link": re.compile(r"javascript:", re.IGNORECASE),
}


def directives(policy: str) -> dict[str, str]:
    """A Content-Security-Policy as {directive: its sources}."""
    parts = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def assert_page_policy(response: Any) -> None:
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert policy["base-uri"] == "'none'"
    assert policy["object-src"] == "'none'"


async def create_meeting(client: TestClient, headers: dict[str, str], **fields: Any) -> Any:
    body = {
        "title": "Giao ban",
        "starts_at": "2030-04-19T08:00:00+07:00",
        "ends_at": "2030-04-19T11:00:00+07:00",
        **fields,
    }
    return await (await client.post("/api/v1/meetings", headers=headers, json=body)).json()


def assert_everywhere(response: Any) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff", response.url
    assert response.headers["X-Frame-Options"] == "DENY", response.url
    assert "Strict-Transport-Security" not in response.headers  # served over plain HTTP


def test_no_page_template_has_an_inline_script_style_or_handler():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("templates/**/*.html")):
            name = path.relative_to(ROOT).as_posix()
            if name in DOCUMENTS:
                continue
            text = path.read_text(encoding="utf-8")
            found += [f"{name}: {what}" for what, rule in INLINE.items() if rule.search(text)]
    assert found == []


async def test_pages_api_static_files_and_errors_carry_the_security_headers(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
    pages = [await client.get("/login"), await client.get("/no-such-page")]
    await login(client, "org")
    pages += [await client.get("/"), await client.get("/sites"), await client.get("/sessions/0")]
    assert [p.status for p in pages] == [200, 404, 200, 200, 404]
    api = [
        await client.get("/api/v1/sites", headers=headers),
        await client.get("/api/v1/meetings/999999", headers=headers),
        await client.get("/api/v1/sites", headers={"Authorization": "Bearer nope"}),
        await client.get("/api/v1/openapi.json"),
    ]
    assert [a.status for a in api] == [200, 404, 401, 200]
    static = [await client.get("/static/app.js"), await client.get("/static/app.css")]
    assert [s.status for s in static] == [200, 200]
    for response in (*pages, *api, *static):
        assert_everywhere(response)
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    for page in pages:
        assert page.content_type == "text/html"
        assert_page_policy(page)


async def test_every_answer_under_a_sites_link_sends_no_referrer(
    client: TestClient, session_factory: Any
):
    """Every route with the link in its URL, answering or refusing, and a revoked link."""
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        site = await make_site(session, name="Liên hiệp Vĩnh Phúc")
        token = await tokens.site_token(session, site.id, secret_key=TEST_SECRET)
    meeting = await create_meeting(client, headers, site_ids=[site.id])
    scheduled = {"version": meeting["version"], "status": "scheduled"}
    await client.patch(f"/api/v1/meetings/{meeting['id']}", headers=headers, json=scheduled)
    form = FormData()
    form.add_field("file", b"%PDF-1.4\n%%EOF\n", filename="a.pdf", content_type="application/pdf")
    document = await (
        await client.post(f"/api/v1/meetings/{meeting['id']}/documents", headers=headers, data=form)
    ).json()
    parts = {
        "site_token": token,
        "id": meeting["id"],
        "document_id": document["id"],
        "request_id": 1,
    }
    answers = []
    for route in client.app.router.routes():
        formatter = route.resource.get_info().get("formatter", "") if route.resource else ""
        if "{site_token}" not in formatter or route.method == "HEAD":
            continue
        path = re.sub(r"{(\w+)[^}]*}", lambda m: str(parts[m.group(1)]), formatter)
        answers.append(await client.request(route.method, path, allow_redirects=False))
        answers.append(await client.request(route.method, path.replace(token, "x" + token[1:])))
    assert len(answers) >= 16
    assert {a.status for a in answers} >= {200, 404}
    for answer in answers:
        assert_everywhere(answer)
        assert answer.headers["Referrer-Policy"] == "no-referrer", (answer.method, answer.url)
        assert "noindex" in answer.headers["X-Robots-Tag"]
        if answer.content_type == "text/html":
            assert_page_policy(answer)


@pytest.mark.parametrize(
    ("public_url", "hsts"),
    [("https://giaoban.example.org", True), ("http://127.0.0.1:8080", False)],
)
async def test_hsts_is_sent_when_the_service_is_reached_over_https(
    tmp_path: Path,
    sqlite_url: str,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    public_url: str,
    hsts: bool,
):
    settings: Settings = make_settings(tmp_path, sqlite_url, server={"public_url": public_url})
    client = await aiohttp_client(create_app(settings))
    for response in (await client.get("/login"), await client.get("/api/v1/openapi.json")):
        sent = response.headers.get("Strict-Transport-Security")
        assert (sent == "max-age=31536000") if hsts else sent is None


async def test_the_minutes_as_html_are_a_document_that_may_style_itself_but_run_nothing(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
    meeting = await create_meeting(client, headers)
    answer = await client.get(f"/api/v1/meetings/{meeting['id']}/minutes.html", headers=headers)
    assert answer.status == 200 and "<style>" in await answer.text()
    policy = directives(answer.headers["Content-Security-Policy"])
    assert policy["default-src"] == "'none'" and "script-src" not in policy
    assert policy["style-src"] == "'unsafe-inline'" and "sandbox" in policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
