"""Two clusters, a leader of the first, and a session of each cluster and of the office,
each with a document, a report request, a focus item, a contribution, an action item and
queued invitations: the ids a cluster leader must not reach (tests of meetings.core.scope)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from meetings.accounts import accounts
from meetings.accounts.models import Role, UserCreate
from meetings.register.models import ContactIn
from tests.factories import (
    PASSWORD,
    bearer,
    make_cluster,
    make_scheduled_meeting,
    make_site,
    make_user,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
#: Every name of cluster B's records holds this word: no answer to A's leader may.
SECRET = "ZULU"
START = datetime(2030, 6, 12, 1, 0, tzinfo=UTC)


async def _first_id(response: Any) -> int:
    assert response.status < 300, (response.status, await response.text())
    body = await response.json()
    if isinstance(body, dict) and "items" in body:
        body = body["items"]
    return int((body[0] if isinstance(body, list) else body)["id"])


async def _children(
    client: TestClient, org: dict[str, str], mid: int, site_id: int, word: str
) -> dict[str, int]:
    """What the office adds to a session (its texts hold `word`): the ids of its records,
    by path parameter."""
    url = f"/api/v1/meetings/{mid}"
    form = FormData()
    form.add_field("file", PDF, filename=f"{word} paper.pdf", content_type="application/pdf")
    found = {
        "document_id": await _first_id(
            await client.post(f"{url}/documents", data=form, headers=org)
        )
    }
    found["request_id"] = await _first_id(
        await client.post(f"{url}/report-requests", json={"title": f"{word} report"}, headers=org)
    )
    focus = [{"number": 1, "title": f"{word} focus"}]
    found["focus_id"] = await _first_id(
        await client.put(f"{url}/focus-items", json=focus, headers=org)
    )
    said = {"site_id": site_id, "kind": "recommendation", "text": f"{word} asks"}
    found["contribution_id"] = await _first_id(
        await client.post(f"{url}/contributions", json=said, headers=org)
    )
    task = {"text": f"{word} task", "owner_site_id": site_id, "due_date": "2030-06-28"}
    found["action_id"] = await _first_id(
        await client.post(f"{url}/actions", json=task, headers=org)
    )
    queued = await client.post(f"{url}/invitations", json={}, headers=org)
    assert queued.status == 202, await queued.text()
    found["message_id"] = await _first_id(await client.get(f"{url}/messages", headers=org))
    found["site_id"] = site_id
    return found


async def cluster_world(client: TestClient, session_factory: Any) -> dict[str, Any]:
    async with session_factory() as session, session.begin():
        a = await make_cluster(session, code="NAM", name="Cụm Nam")
        b = await make_cluster(session, code="ZB", name=f"{SECRET} cluster")
        a1 = await make_site(session, cluster_id=a.id, name="Điểm cầu Nam Một")
        a2 = await make_site(session, cluster_id=a.id, name="Điểm cầu Nam Hai")
        b1 = await make_site(
            session,
            cluster_id=b.id,
            name=f"{SECRET} site one",
            contacts=[ContactIn(name=f"{SECRET} person", email="zulu@b.example.org")],
        )
        await make_user(session, username="org", role=Role.organiser)
        await make_user(session, username="chu", role=Role.chair)
        leader = await accounts.create_user(
            session,
            UserCreate(
                username="lead_a",
                role=Role.cluster_leader,
                full_name="Cụm trưởng Nam",
                password=PASSWORD,
                cluster_id=a.id,
            ),
        )
        org = await bearer(session, "org")
        ma, mb, mo = [
            await make_scheduled_meeting(
                session,
                title=title,
                starts_at=START + timedelta(days=days),
                site_ids=site_ids,
                cluster_id=cluster_id,
            )
            for days, (title, site_ids, cluster_id) in enumerate(
                (
                    ("Họp cụm Nam", [a1.id, a2.id], a.id),
                    (f"{SECRET} meeting", [b1.id], b.id),
                    ("Giao ban văn phòng", [a1.id, b1.id], None),
                )
            )
        ]
    return {
        "a": a,
        "b": b,
        "a1": a1,
        "a2": a2,
        "b1": b1,
        "leader": leader,
        "org": org,
        "ma": ma,
        "mb": mb,
        "mo": mo,
        "children": {
            mid: await _children(client, org, mid, site, word)
            for mid, site, word in ((ma, a1.id, "Nam"), (mb, b1.id, SECRET), (mo, b1.id, "VP"))
        },
    }
