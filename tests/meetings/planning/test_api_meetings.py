"""Planning through the JSON API: sessions, invited sites, agenda, focus items, documents."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from tests.conftest import make_settings
from tests.factories import bearer, make_cluster, make_site, make_user

BODY = {
    "title": "Hội nghị Giao ban trực tuyến với 52 Liên hiệp",
    "kind": "briefing",
    "starts_at": "2030-04-19T08:00:00+07:00",
    "ends_at": "2030-04-19T11:30:00+07:00",
    "timezone": "Asia/Ho_Chi_Minh",
    "chair": "Chủ tịch Liên hiệp",
    "secretary": "Chánh Văn phòng",
}


@pytest.fixture
async def org(session_factory: Any) -> dict[str, Any]:
    """An organiser's headers, and two clusters with sites."""
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        one = await make_cluster(session, code="CUM-1")
        two = await make_cluster(session, code="CUM-2")
        sites_one = [await make_site(session, cluster_id=one.id) for _ in range(3)]
        sites_two = [await make_site(session, cluster_id=two.id) for _ in range(2)]
    return {
        "headers": headers,
        "one": one,
        "two": two,
        "sites_one": sites_one,
        "sites_two": sites_two,
    }


async def create(client: TestClient, org: dict[str, Any], **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/meetings", json={**BODY, **fields}, headers=org["headers"]
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def test_create_a_session_for_a_cluster_and_read_it_back(client: TestClient, org):
    created = await create(client, org, cluster_ids=[org["one"].id])
    assert created["status"] == "draft" and created["sequence"] == 0
    assert created["site_count"] == 3 and created["cluster_count"] == 1
    assert created["starts_at"] == "2030-04-19T01:00:00Z"  # UTC out, zone beside it
    assert created["timezone"] == "Asia/Ho_Chi_Minh"
    invited = await (
        await client.get(f"/api/v1/meetings/{created['id']}/participations", headers=org["headers"])
    ).json()
    assert invited["total"] == 3
    assert invited["items"][0]["local_starts_at"] == "2030-04-19T08:00:00+07:00"
    assert invited["items"][0]["rsvp"] == "needs_action"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ends_at": "2030-04-19T07:00:00+07:00"}, "ends_at"),
        ({"ends_at": BODY["starts_at"]}, "ends_at"),  # zero length
        ({"timezone": "Asia/Saigon_City"}, "timezone"),
        ({"starts_at": "2030-04-19T08:00:00"}, "starts_at"),  # no offset
        ({"kind": "party"}, "kind"),
        ({"video_url": "javascript:alert(1)"}, "video_url"),
        ({"site_ids": [4242]}, "site_ids"),
    ],
)
async def test_bad_input_names_the_field_and_creates_nothing(
    client: TestClient, org, fields: dict[str, Any], field: str
):
    response = await client.post(
        "/api/v1/meetings", json={**BODY, **fields}, headers=org["headers"]
    )
    assert response.status == 422
    details = (await response.json())["error"]["details"]
    assert any(d["field"] == field or d["field"].startswith(field) for d in details), details
    listing = await (await client.get("/api/v1/meetings", headers=org["headers"])).json()
    assert listing["total"] == 0


async def test_schedule_go_live_end_and_refuse_illegal_moves(client: TestClient, org):
    empty = await create(client, org)
    refused = await client.patch(
        f"/api/v1/meetings/{empty['id']}",
        json={"version": 1, "status": "scheduled"},
        headers=org["headers"],
    )
    assert refused.status == 422
    assert (await refused.json())["error"]["details"][0]["field"] == "site_ids"

    meeting = await create(client, org, site_ids=[org["sites_two"][0].id])
    version = meeting["version"]
    early = await client.patch(  # the session is days away: its day has not come
        f"/api/v1/meetings/{meeting['id']}",
        json={"version": version, "status": "scheduled"},
        headers=org["headers"],
    )
    version = (await early.json())["version"]
    too_early = await client.patch(
        f"/api/v1/meetings/{meeting['id']}",
        json={"version": version, "status": "live"},
        headers=org["headers"],
    )
    assert too_early.status == 422
    assert (await too_early.json())["error"]["details"][0]["field"] == "early_start_reason"
    for body in (
        {"status": "live", "early_start_reason": "the hall is free earlier"},
        {"status": "ended"},
    ):
        response = await client.patch(
            f"/api/v1/meetings/{meeting['id']}",
            json={"version": version, **body},
            headers=org["headers"],
        )
        assert response.status == 200, await response.text()
        version = (await response.json())["version"]
    log = await client.get(
        f"/api/v1/meetings/{meeting['id']}/status-changes", headers=org["headers"]
    )
    steps = [(c["to_status"], c["is_early"], c["reason"]) for c in (await log.json())["items"]]
    assert steps == [
        ("scheduled", False, ""),
        ("live", True, "the hall is free earlier"),
        ("ended", False, ""),
    ]
    back = await client.patch(
        f"/api/v1/meetings/{meeting['id']}",
        json={"version": version, "status": "live"},
        headers=org["headers"],
    )
    assert back.status == 422


async def test_moving_a_session_bumps_the_sequence_and_cancel_says_why(client: TestClient, org):
    meeting = await create(client, org, site_ids=[org["sites_one"][0].id])
    moved = await (
        await client.patch(
            f"/api/v1/meetings/{meeting['id']}",
            json={
                "version": 1,
                "starts_at": "2030-04-19T09:00:00+07:00",
                "ends_at": "2030-04-19T12:00:00+07:00",
            },
            headers=org["headers"],
        )
    ).json()
    assert moved["sequence"] == 1 and moved["uid"] == meeting["uid"]
    stale = await client.patch(
        f"/api/v1/meetings/{meeting['id']}",
        json={"version": 1, "title": "x"},
        headers=org["headers"],
    )
    assert stale.status == 409
    cancelled = await client.post(
        f"/api/v1/meetings/{meeting['id']}/cancel",
        json={"reason": "Lùi lịch do bão"},
        headers=org["headers"],
    )
    body = await cancelled.json()
    assert body["status"] == "cancelled" and body["sequence"] == 2
    assert body["cancel_reason"] == "Lùi lịch do bão"
    no_reason = await client.post(
        f"/api/v1/meetings/{meeting['id']}/cancel", json={"reason": ""}, headers=org["headers"]
    )
    assert no_reason.status == 422


async def test_replacing_invited_sites_keeps_the_kept_and_warns_of_overlaps(
    client: TestClient, org
):
    first = await create(client, org, title="Tọa đàm cụm 1", cluster_ids=[org["one"].id])
    second = await create(
        client, org, all_sites=True, exclude_site_ids=[s.id for s in org["sites_one"]]
    )
    assert second["site_count"] == 2 and second["warnings"] == []
    changed = await (
        await client.patch(
            f"/api/v1/meetings/{second['id']}",
            json={"version": 1, "all_sites": True},
            headers=org["headers"],
        )
    ).json()
    assert changed["site_count"] == 5
    assert [w["meeting_id"] for w in changed["warnings"]] == [first["id"]]
    assert "Tọa đàm cụm 1" in changed["warnings"][0]["message"]


async def test_agenda_and_focus_items(client: TestClient, org):
    meeting = await create(client, org)
    url = f"/api/v1/meetings/{meeting['id']}"
    agenda = [
        {
            "title": "Phát biểu khai mạc",
            "presenter": "Chủ tịch",
            "kind": "opening",
            "duration_minutes": 15,
        },
        {
            "title": "Báo cáo kết quả quý I",
            "presenter": "Phó Chủ tịch",
            "kind": "report",
            "duration_minutes": 45,
        },
        {"title": "Thảo luận", "kind": "discussion", "duration_minutes": 120},
        {"title": "Kết luận", "kind": "conclusion", "duration_minutes": 30},
    ]
    saved = await client.put(f"{url}/agenda", json=agenda, headers=org["headers"])
    assert saved.status == 200
    items = await (await client.get(f"{url}/agenda", headers=org["headers"])).json()
    assert [i["title"] for i in items] == [a["title"] for a in agenda]
    assert items[3]["planned_end"] == "2030-04-19T04:30:00Z" and items[3]["overruns"] is False
    reordered = [agenda[1], agenda[0], agenda[2], agenda[3]]
    await client.put(f"{url}/agenda", json=reordered, headers=org["headers"])
    items = await (await client.get(f"{url}/agenda", headers=org["headers"])).json()
    assert items[0]["title"] == "Báo cáo kết quả quý I"
    negative = await client.put(
        f"{url}/agenda", json=[{"title": "x", "duration_minutes": -1}], headers=org["headers"]
    )
    assert negative.status == 422
    assert (await negative.json())["error"]["details"][0]["field"] == "0.duration_minutes"

    focus = [{"number": n, "title": f"Trọng tâm {n}"} for n in range(1, 11)]
    assert (
        await client.put(f"{url}/focus-items", json=focus, headers=org["headers"])
    ).status == 200
    duplicate = await client.put(
        f"{url}/focus-items", json=[*focus, {"number": 3, "title": "again"}], headers=org["headers"]
    )
    assert duplicate.status == 422
    assert (await duplicate.json())["error"]["details"][0]["field"] == "10.number"
    kept = await (await client.get(f"{url}/focus-items", headers=org["headers"])).json()
    assert len(kept) == 10 and kept[9]["title"] == "Trọng tâm 10"


async def test_next_session_of_the_series(client: TestClient, org):
    q1 = await create(
        client,
        org,
        title="Giao ban quý I",
        site_ids=[org["sites_one"][0].id],
        series_name="Giao ban 2030",
    )
    await client.put(
        f"/api/v1/meetings/{q1['id']}/focus-items",
        json=[{"number": 1, "title": "Đại hội VII", "status": "ongoing"}],
        headers=org["headers"],
    )
    response = await client.post(
        f"/api/v1/meetings/{q1['id']}/next",
        json={
            "starts_at": "2030-07-19T08:00:00+07:00",
            "ends_at": "2030-07-19T11:00:00+07:00",
            "title": "Giao ban quý II",
        },
        headers=org["headers"],
    )
    assert response.status == 201
    q2 = await response.json()
    assert q2["series_name"] == "Giao ban 2030" and q2["site_count"] == 1
    focus = await (
        await client.get(f"/api/v1/meetings/{q2['id']}/focus-items", headers=org["headers"])
    ).json()
    assert focus[0]["status"] == "ongoing"
    assert focus[0]["history"][0]["meeting_title"] == "Giao ban quý I"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def upload(content: bytes, filename: str) -> FormData:
    form = FormData()
    form.add_field(
        "file", io.BytesIO(content), filename=filename, content_type="application/octet-stream"
    )
    return form


async def test_documents_are_checked_named_safely_and_downloadable(client: TestClient, org):
    meeting = await create(client, org)
    url = f"/api/v1/meetings/{meeting['id']}/documents"
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    good = await client.post(
        url, data=upload(pdf, "../../Báo cáo quý I.pdf"), headers=org["headers"]
    )
    assert good.status == 201
    document = await good.json()
    assert document["filename"] == "Báo cáo quý I.pdf"
    assert document["content_type"] == "application/pdf" and document["size"] == len(pdf)
    assert (
        await client.post(url, data=upload(docx_bytes(), "Kế hoạch.docx"), headers=org["headers"])
    ).status == 201

    fake = await client.post(
        url, data=upload(b"MZ\x90\x00 not a pdf", "virus.pdf"), headers=org["headers"]
    )
    assert fake.status == 422
    assert (await fake.json())["error"]["details"][0]["field"] == "file"
    exe = await client.post(url, data=upload(b"MZ\x90\x00", "setup.exe"), headers=org["headers"])
    assert exe.status == 422
    listing = await (await client.get(url, headers=org["headers"])).json()
    assert [d["filename"] for d in listing["items"]] == ["Báo cáo quý I.pdf", "Kế hoạch.docx"]

    download = await client.get(f"{url}/{document['id']}", headers=org["headers"])
    assert download.status == 200 and await download.read() == pdf
    assert "filename*=UTF-8''B%C3%A1o%20c%C3%A1o" in download.headers["Content-Disposition"]
    assert (await client.delete(f"{url}/{document['id']}", headers=org["headers"])).status == 204
    assert (await client.get(f"{url}/{document['id']}", headers=org["headers"])).status == 404


@pytest.mark.parametrize(
    "link",
    ["https://meet.example.org/a\x00b", "https://meet.example.org/a\x1bb", "https://x.org/\ud800"],
    ids=["NUL", "escape", "lone surrogate"],
)
async def test_a_video_link_with_a_control_character_is_refused_naming_it(
    client: TestClient, org, link: str
):
    """The link goes into pages, e-mails and the .ics: a NUL was written raw into the
    calendar, a lone surrogate could not be stored (500)."""
    meeting = await create(client, org)
    for answer in (
        await client.post(
            "/api/v1/meetings", json={**BODY, "video_url": link}, headers=org["headers"]
        ),
        await client.patch(
            f"/api/v1/meetings/{meeting['id']}",
            json={"version": meeting["version"], "video_url": link},
            headers=org["headers"],
        ),
    ):
        assert answer.status == 422
        assert [d["field"] for d in (await answer.json())["error"]["details"]] == ["video_url"]


@pytest.mark.parametrize(
    "raw_name",
    [
        b"B\xc3\xa1o c\xc3\xa1o\xc0\xaf.pdf",
        b"B\xc3\xa1o c\xc3\xa1o\xed\xa0\x80.pdf",
        b"B\xc3\xa1o c\xc3\xa1o\xc2\x85.pdf",
    ],
    ids=["overlong", "surrogate", "C1 control"],
)
async def test_a_file_name_that_is_not_clean_utf8_is_stored_cleaned(
    client: TestClient, org, raw_name: bytes
):
    """Bytes that are not UTF-8 (an overlong "/", an encoded surrogate) or a C1 control
    character in the multipart file name: the document is kept under a clean name."""
    meeting = await create(client, org)
    pdf = b"%PDF-1.4\n%%EOF\n"
    body = (
        b'--B0undary\r\nContent-Disposition: form-data; name="file"; filename="'
        + raw_name
        + b'"\r\nContent-Type: application/pdf\r\n\r\n'
        + pdf
        + b"\r\n--B0undary--\r\n"
    )
    answer = await client.post(
        f"/api/v1/meetings/{meeting['id']}/documents",
        data=body,
        headers={**org["headers"], "Content-Type": "multipart/form-data; boundary=B0undary"},
    )
    assert answer.status == 201, await answer.text()
    assert (await answer.json())["filename"] == "Báo cáo_.pdf"


async def test_a_document_over_the_limit_is_413_and_not_stored(
    tmp_path: Any, sqlite_url: str, aiohttp_client: Any, session_factory: Any
):
    from meetings.core.app import create_app

    settings = make_settings(tmp_path, sqlite_url, documents={"max_size_mb": 1})
    client = await aiohttp_client(create_app(settings))
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
    meeting = await create(client, {"headers": headers})
    big = b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 10)
    response = await client.post(
        f"/api/v1/meetings/{meeting['id']}/documents", data=upload(big, "big.pdf"), headers=headers
    )
    assert response.status == 413
    assert "1 MB" in (await response.json())["error"]["message"]
    assert not any(settings.documents.dir.rglob("*.pdf"))


async def test_read_only_roles_cannot_plan(client: TestClient, org, session_factory: Any):
    async with session_factory() as session, session.begin():
        await make_user(session, username="chair", role=Role.chair)
        chair = await bearer(session, "chair")
    assert (await client.post("/api/v1/meetings", json=BODY, headers=chair)).status == 403
    meeting = await create(client, org)
    assert (await client.get(f"/api/v1/meetings/{meeting['id']}", headers=chair)).status == 200
