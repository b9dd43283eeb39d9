"""The record: notes that never silently overwrite, contributions and recommendations that
outlive their session, action items, approval that locks a version, the notice queued."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from agendas.minutes import minutes
from agendas.record.recommendations import open_from_earlier
from meetings.accounts.models import Role
from meetings.core.keys import sessions_key, settings_key
from meetings.register.models import ContactIn
from notify.mail.models import Message, MessageKind
from notify.site import tokens
from tests.conftest import TEST_SECRET
from tests.factories import bearer, make_site, make_user


async def _session(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict:
    created = await client.post("/api/v1/meetings", headers=headers, json=body)
    assert created.status == 201, await created.text()
    return await created.json()


async def _status(client: TestClient, headers: dict[str, str], meeting: dict, *statuses: str):
    for status in statuses:
        current = await (
            await client.get(f"/api/v1/meetings/{meeting['id']}", headers=headers)
        ).json()
        changed = await client.patch(
            f"/api/v1/meetings/{meeting['id']}",
            headers=headers,
            json={
                "version": current["version"],
                "status": status,
                # These sessions are years away: going live is an override.
                **({"early_start_reason": "a test"} if status == "live" else {}),
            },
        )
        assert changed.status == 200, await changed.text()


@pytest.fixture
async def world(client: TestClient, session_factory: Any) -> dict[str, Any]:
    async with session_factory() as session, session.begin():
        for name, role in (
            ("org", Role.organiser),
            ("thuky", Role.secretary),
            ("chutri", Role.chair),
        ):
            await make_user(session, username=name, role=role)
        headers = {n: await bearer(session, n) for n in ("org", "thuky", "chutri")}
        vp = await make_site(
            session, name="Liên hiệp Vĩnh Phúc", contacts=[ContactIn(name="Lan", email="lan@vp.vn")]
        )
        kg = await make_site(
            session, name="Liên hiệp Kiên Giang", contacts=[ContactIn(name="Hà", email="ha@kg.vn")]
        )
        token_kg = await tokens.site_token(session, kg.id, secret_key=TEST_SECRET)
    first = await _session(
        client,
        headers["org"],
        {
            "title": "Giao ban quý I",
            "starts_at": "2030-04-19T08:00:00+07:00",
            "ends_at": "2030-04-19T11:00:00+07:00",
            "site_ids": [vp.id, kg.id],
            "series_name": "Giao ban trực tuyến 2030",
            "chair": "Phan Anh Sơn",
            "secretary": "Nguyễn Thị Thu",
        },
    )
    agenda = await client.put(
        f"/api/v1/meetings/{first['id']}/agenda",
        headers=headers["org"],
        json=[{"title": "Khai mạc"}, {"title": "Báo cáo kết quả quý I", "duration_minutes": 45}],
    )
    assert agenda.status == 200, await agenda.text()
    return {"h": headers, "vp": vp, "kg": kg, "token_kg": token_kg, "first": first}


async def test_two_secretaries_never_overwrite_each_other(client: TestClient, world):
    url = f"/api/v1/meetings/{world['first']['id']}/notes"
    h = world["h"]["thuky"]
    one = await client.put(url, headers=h, json={"agenda": {"2": "Đồng chí Sơn trình bày."}})
    assert one.status == 200
    version = (await one.json())["agenda:2"]["version"]
    # Two editors opened version 1; the first save wins, the second is refused with 409.
    mine = {"agenda": {"2": "Bản của tôi"}, "versions": {"agenda:2": version}}
    theirs = {"agenda": {"2": "Bản của người kia"}, "versions": {"agenda:2": version}}
    assert (await client.put(url, headers=h, json=mine)).status == 200
    stale = await client.put(url, headers=world["h"]["org"], json=theirs)
    assert stale.status == 409
    assert (await stale.json())["error"]["details"][0]["field"] == "notes.agenda:2"
    current = await (await client.get(url, headers=h)).json()
    assert current["agenda:2"]["text"] == "Bản của tôi"
    # A note nobody saved before can be created once; a second "new" save is stale.
    new = {"conclusions": "Kết luận A", "versions": {"conclusions": 0}}
    assert (await client.put(url, headers=h, json=new)).status == 200
    assert (await client.put(url, headers=h, json=new | {"conclusions": "B"})).status == 409
    # An agenda item that does not exist is named.
    bad = await client.put(url, headers=h, json={"agenda": {"9": "x"}})
    assert bad.status == 422
    # The chair reads but does not write the record.
    assert (await client.put(url, headers=world["h"]["chutri"], json=new)).status == 403


async def test_a_recommendation_stays_open_into_the_next_session(client: TestClient, world):
    h = world["h"]["thuky"]
    first = world["first"]
    raised = await client.post(
        f"/api/v1/meetings/{first['id']}/contributions",
        headers=h,
        json={
            "site_id": world["kg"].id,
            "speaker": "Trần Văn Bình",
            "speaker_title": "Phó Chủ tịch",
            "kind": "recommendation",
            "text": "Đề nghị hỗ trợ kinh phí tổ chức Ngày hữu nghị.",
            "agenda_item": 2,
            "topic": "Kinh phí",
        },
    )
    assert raised.status == 201, await raised.text()
    # A site sends its own through its link (no login).
    own = await client.post(
        f"/api/v1/site/{world['token_kg']}/meetings/{first['id']}/contributions",
        json={"speaker": "Lê Thị C", "text": "Đề nghị tập huấn đối ngoại nhân dân."},
    )
    assert own.status == 403 or own.status == 422  # the session is not scheduled yet
    await _status(client, world["h"]["org"], first, "scheduled")
    own = await client.post(
        f"/api/v1/site/{world['token_kg']}/meetings/{first['id']}/contributions",
        json={"speaker": "Lê Thị C", "text": "Đề nghị tập huấn đối ngoại nhân dân."},
    )
    assert own.status == 201, await own.text()
    assert (await own.json())["source"] == "site"

    register = await (await client.get("/api/v1/recommendations?status=open", headers=h)).json()
    assert register["total"] == 2
    assert {r["site_name"] for r in register["items"]} == {"Liên hiệp Kiên Giang"}
    by_topic = await (await client.get("/api/v1/recommendations?topic=kinh", headers=h)).json()
    assert [r["topic"] for r in by_topic["items"]] == ["Kinh phí"]

    await _status(client, world["h"]["org"], first, "live", "ended")
    follow = await client.post(
        f"/api/v1/meetings/{first['id']}/next",
        headers=world["h"]["org"],
        json={"starts_at": "2030-07-18T08:00:00+07:00", "ends_at": "2030-07-18T11:00:00+07:00"},
    )
    assert follow.status == 201, await follow.text()
    second = await follow.json()
    async with client.app[sessions_key]() as session:
        earlier = await open_from_earlier(session, second["id"])
    assert len(earlier) == 2
    page = await (await client.get(f"/sessions/{second['id']}/record", headers=h)).text()
    assert "Đề nghị hỗ trợ kinh phí tổ chức Ngày hữu nghị." in page

    answer = next(r for r in register["items"] if r["topic"] == "Kinh phí")
    answered = await client.patch(
        f"/api/v1/recommendations/{answer['id']}",
        headers=world["h"]["chutri"],
        json={
            "status": "answered",
            "response": "Liên hiệp hỗ trợ 50%.",
            "meeting_id": second["id"],
        },
    )
    assert answered.status == 200, await answered.text()
    assert (await answered.json())["answered_by"]
    empty = await client.patch(
        f"/api/v1/recommendations/{answer['id']}", headers=h, json={"status": "answered"}
    )
    assert empty.status == 422
    async with client.app[sessions_key]() as session:
        earlier = await open_from_earlier(session, second["id"])
    assert [r.text for r in earlier] == ["Đề nghị tập huấn đối ngoại nhân dân."]


async def test_an_answer_naming_a_session_that_does_not_exist_is_refused_naming_the_field(
    client: TestClient, world
):
    raised = await client.post(
        f"/api/v1/meetings/{world['first']['id']}/contributions",
        headers=world["h"]["thuky"],
        json={"site_id": world["kg"].id, "kind": "recommendation", "text": "Đề nghị hỗ trợ."},
    )
    register = await (
        await client.get("/api/v1/recommendations", headers=world["h"]["thuky"])
    ).json()
    assert raised.status == 201 and register["total"] == 1

    answered = await client.patch(
        f"/api/v1/recommendations/{register['items'][0]['id']}",
        headers=world["h"]["chutri"],
        json={"status": "answered", "response": "Đã hỗ trợ.", "meeting_id": 999_999},
    )

    assert answered.status == 422, await answered.text()
    assert (await answered.json())["error"]["details"][0]["field"] == "meeting_id"
    unchanged = await (
        await client.get("/api/v1/recommendations", headers=world["h"]["thuky"])
    ).json()
    assert unchanged["items"][0]["status"] == "open"


async def test_approval_locks_a_version_and_queues_the_notice(client: TestClient, world):
    from meetings.core.keys import sessions_key

    first = world["first"]
    h = world["h"]
    url = f"/api/v1/meetings/{first['id']}"
    await client.put(f"{url}/notes", headers=h["thuky"], json={"conclusions": "Kết luận bản 1"})
    action = await client.post(
        f"{url}/actions",
        headers=h["thuky"],
        json={
            "text": "Gửi báo cáo quý II",
            "owner_site_id": world["vp"].id,
            "due_date": "2030-06-30",
        },
    )
    assert action.status == 201, await action.text()
    early = await client.post(f"{url}/minutes/approve", headers=h["chutri"])
    assert early.status == 422  # not before the session has ended
    await _status(client, h["org"], first, "scheduled", "live", "ended")
    assert (await client.post(f"{url}/minutes/approve", headers=h["thuky"])).status == 403
    approved = await client.post(f"{url}/minutes/approve", headers=h["chutri"])
    assert approved.status == 201, await approved.text()
    assert (await approved.json())["version"] == 1
    # A later edit makes draft 2; version 1 keeps its text.
    await client.put(f"{url}/notes", headers=h["thuky"], json={"conclusions": "Kết luận bản 2"})
    draft = await (await client.post(f"{url}/minutes", headers=h["thuky"])).json()
    assert draft == {"version": 2, "status": "draft", "approved_by": "", "changes": ["conclusions"]}
    async with client.app[sessions_key]() as session:
        v1 = minutes.data_of(await minutes.approved(session, first["id"], 1))
    assert (v1.conclusions, v1.status, v1.version) == ("Kết luận bản 1", "approved", 1)
    assert [a.owner for a in v1.actions] == ["Liên hiệp Vĩnh Phúc"]
    # Version 1 downloads as approved, from a file kept after its first rendering.
    md = await client.get(f"{url}/minutes.md?version=1&lang=vi", headers=h["org"])
    assert md.status == 200
    assert "Kết luận bản 1" in await md.text() and "Kết luận bản 2" not in await md.text()
    kept = client.app[settings_key].server.var_dir / "minutes"
    assert (kept / f"{first['id']}-v1-vi.md").is_file()
    draft_md = await (await client.get(f"{url}/minutes.md?lang=en", headers=h["org"])).text()
    assert "Kết luận bản 2" in draft_md and "DRAFT" in draft_md
    versions = await (await client.get(f"{url}/minutes", headers=h["org"])).json()
    assert [v["number"] for v in versions["items"]] == [1]
    async with client.app[sessions_key]() as session:
        notices = (
            await session.scalars(
                select(Message.recipient).where(Message.kind == MessageKind.minutes)
            )
        ).all()
    assert sorted(notices) == ["ha@kg.vn", "lan@vp.vn"]
    chair_page = await (await client.get("/chair", headers=h["chutri"])).text()
    assert "Giao ban quý I" in chair_page
