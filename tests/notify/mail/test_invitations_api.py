"""Invitations through the API: queue, read the outbox, cancel, download, subscribe."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from icalendar import Calendar

from meetings.accounts.models import Role
from meetings.register.models import ContactIn
from notify.site import tokens
from tests.conftest import TEST_SECRET
from tests.factories import bearer, make_site, make_user

BODY = {
    "title": "Giao ban quý II",
    "starts_at": "2030-04-19T08:00:00+07:00",
    "ends_at": "2030-04-19T11:00:00+07:00",
}


@pytest.fixture
async def setup(client: TestClient, session_factory: Any) -> dict[str, Any]:
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        await make_user(session, username="sec", role=Role.secretary)
        headers = await bearer(session, "org")
        secretary = await bearer(session, "sec")
        sites = [
            await make_site(
                session,
                contacts=[
                    ContactIn(name=f"Chủ tịch {n}", email=f"chutich{n}@example.org"),
                    ContactIn(name=f"Kỹ thuật {n}", email=f"kythuat{n}@example.org"),
                ],
            )
            for n in range(2)
        ]
    meeting = await (
        await client.post(
            "/api/v1/meetings", headers=headers, json={**BODY, "site_ids": [s.id for s in sites]}
        )
    ).json()
    return {"headers": headers, "secretary": secretary, "sites": sites, "meeting": meeting}


async def test_queue_invitations_and_read_the_outbox(client: TestClient, setup):
    url = f"/api/v1/meetings/{setup['meeting']['id']}"
    refused = await client.post(f"{url}/invitations", headers=setup["secretary"])
    assert refused.status == 403
    queued = await client.post(f"{url}/invitations", headers=setup["headers"], json={})
    assert queued.status == 202
    assert await queued.json() == {"invitations": 4, "updates": 0, "cancellations": 0, "total": 4}
    outbox = await (await client.get(f"{url}/messages", headers=setup["headers"])).json()
    assert outbox["total"] == 4
    first = outbox["items"][0]
    assert {k: first[k] for k in ("kind", "status", "attempts", "sequence")} == {
        "kind": "invitation",
        "status": "queued",
        "attempts": 0,
        "sequence": 0,
    }
    assert {m["recipient"] for m in outbox["items"]} == {
        "chutich0@example.org",
        "kythuat0@example.org",
        "chutich1@example.org",
        "kythuat1@example.org",
    }
    # Nothing changed since: nothing is due (and a repeated call sends nothing twice).
    again = await client.post(f"{url}/invitations", headers=setup["headers"])
    assert again.status == 202
    assert await again.json() == {"invitations": 0, "updates": 0, "cancellations": 0, "total": 0}


async def test_cancelling_queues_a_cancellation_for_everyone_invited(client: TestClient, setup):
    url = f"/api/v1/meetings/{setup['meeting']['id']}"
    await client.post(f"{url}/invitations", headers=setup["headers"])
    cancelled = await client.post(
        f"{url}/cancel", headers=setup["headers"], json={"reason": "Hoãn do bão"}
    )
    assert cancelled.status == 200
    outbox = await (await client.get(f"{url}/messages", headers=setup["headers"])).json()
    kinds = sorted(m["kind"] for m in outbox["items"])
    assert kinds == ["cancellation"] * 4 + ["invitation"] * 4
    assert all(m["sequence"] == 1 for m in outbox["items"] if m["kind"] == "cancellation")
    late = await client.post(f"{url}/invitations", headers=setup["headers"])
    assert late.status == 422  # a cancelled session invites nobody


async def test_the_session_download_is_a_published_calendar(client: TestClient, setup):
    url = f"/api/v1/meetings/{setup['meeting']['id']}/calendar.ics"
    response = await client.get(url, headers=setup["headers"])
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(await response.read())
    assert calendar["METHOD"] == "PUBLISH"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == setup["meeting"]["uid"] and "ATTENDEE" not in event


async def test_a_site_subscribes_with_its_link_alone(client: TestClient, setup, session_factory):
    site = setup["sites"][0]
    async with session_factory() as session, session.begin():
        token = await tokens.site_token(session, site.id, secret_key=TEST_SECRET)
    url = f"/api/v1/meetings/{setup['meeting']['id']}"
    await client.post(f"{url}/cancel", headers=setup["headers"], json={"reason": "Hoãn"})
    feed = await client.get(f"/api/v1/site/{token}/calendar.ics")  # no login
    assert feed.status == 200
    calendar = Calendar.from_ical(await feed.read())
    assert calendar["METHOD"] == "PUBLISH"
    (event,) = calendar.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"  # kept, as cancelled
    assert site.name in str(calendar["X-WR-CALNAME"])

    async with session_factory() as session, session.begin():
        await tokens.revoke(session, site.id, secret_key=TEST_SECRET)
    assert (await client.get(f"/api/v1/site/{token}/calendar.ics")).status == 404
    assert (await client.get("/api/v1/site/not-a-token/calendar.ics")).status == 404


async def test_the_service_delivers_queued_invitations_by_itself(
    tmp_path, sqlite_url: str, aiohttp_client: Any, session_factory: Any
):
    from meetings.core.app import create_app
    from notify.mail.keys import delivered_key
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, sqlite_url, mail={"worker": True})
    app = create_app(settings)
    client = await aiohttp_client(app)
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        site = await make_site(session, contacts=[ContactIn(name="Lan", email="lan@example.org")])
    meeting = await (
        await client.post("/api/v1/meetings", headers=headers, json={**BODY, "site_ids": [site.id]})
    ).json()
    await client.post(f"/api/v1/meetings/{meeting['id']}/invitations", headers=headers)
    outbox_url = f"/api/v1/meetings/{meeting['id']}/messages"
    for _ in range(20):  # each pass of the worker sets the event; no sleeping here
        app[delivered_key].clear()
        rows = (await (await client.get(outbox_url, headers=headers)).json())["items"]
        if rows and all(r["status"] == "sent" for r in rows):
            break
        await asyncio.wait_for(app[delivered_key].wait(), timeout=10)
    assert [r["status"] for r in rows] == ["sent"]
    assert len(list(settings.mail.drop_dir.glob("*.eml"))) == 1
