"""A draft session never reaches a site: not on its page, in its calendar feed, or through
the letter and document links of its token; it does once scheduled or once invited."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from icalendar import Calendar

from meetings.accounts.models import Role
from meetings.register.models import ContactIn
from notify.site import tokens
from tests.conftest import TEST_SECRET
from tests.factories import bearer, make_site, make_user

BODY = {
    "title": "Giao ban chưa công bố",
    "starts_at": "2030-06-19T08:00:00+07:00",
    "ends_at": "2030-06-19T11:00:00+07:00",
}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
async def draft(client: TestClient, session_factory: Any) -> dict[str, Any]:
    """A draft with a document, whose one invited site has a link and was sent nothing."""
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        site = await make_site(session, contacts=[ContactIn(name="Lan", email="lan@x.vn")])
        token = await tokens.site_token(session, site.id, secret_key=TEST_SECRET)
    meeting = await (
        await client.post("/api/v1/meetings", headers=headers, json={**BODY, "site_ids": [site.id]})
    ).json()
    assert meeting["status"] == "draft"
    form = FormData()
    form.add_field("file", PDF, filename="Dự thảo.pdf", content_type="application/pdf")
    uploaded = await client.post(
        f"/api/v1/meetings/{meeting['id']}/documents", headers=headers, data=form
    )
    assert uploaded.status == 201, await uploaded.text()
    return {
        "headers": headers,
        "token": token,
        "meeting": meeting,
        "document": (await uploaded.json())["id"],
    }


async def _what_the_site_sees(client: TestClient, draft: dict[str, Any]) -> dict[str, Any]:
    token, mid = draft["token"], draft["meeting"]["id"]
    page = await client.get(f"/s/{token}")
    feed = await client.get(f"/api/v1/site/{token}/calendar.ics")
    assert page.status == 200 and feed.status == 200
    events = Calendar.from_ical(await feed.read()).walk("VEVENT")
    document = await client.get(f"/s/{token}/meetings/{mid}/documents/{draft['document']}")
    letter = await client.get(f"/s/{token}/meetings/{mid}/letter.pdf")
    return {
        "on_page": BODY["title"] in await page.text(),
        "in_feed": draft["meeting"]["uid"] in {str(e["UID"]) for e in events},
        "document": document.status,
        "letter": letter.status,
    }


async def test_a_draft_never_reaches_the_site(client: TestClient, draft):
    seen = await _what_the_site_sees(client, draft)
    assert seen == {"on_page": False, "in_feed": False, "document": 404, "letter": 404}


async def test_the_session_reaches_the_site_once_scheduled(client: TestClient, draft):
    meeting = draft["meeting"]
    scheduled = await client.patch(
        f"/api/v1/meetings/{meeting['id']}",
        headers=draft["headers"],
        json={"version": meeting["version"], "status": "scheduled"},
    )
    assert scheduled.status == 200
    seen = await _what_the_site_sees(client, draft)
    assert seen == {"on_page": True, "in_feed": True, "document": 200, "letter": 200}


async def test_a_draft_reaches_the_site_once_its_invitation_was_sent(client: TestClient, draft):
    queued = await client.post(
        f"/api/v1/meetings/{draft['meeting']['id']}/invitations", headers=draft["headers"]
    )
    assert queued.status == 202
    seen = await _what_the_site_sees(client, draft)
    assert seen == {"on_page": True, "in_feed": True, "document": 200, "letter": 200}
