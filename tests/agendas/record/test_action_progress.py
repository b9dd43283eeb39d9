"""Action items that live: the owning site reports progress through its page, the office
sees the report on the session's record and accepts it, which marks the item done."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from agendas.record import progress
from meetings.accounts.models import Role
from meetings.core.settings import Settings
from notify.site import tokens
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import bearer, login, make_site, make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The app on SQLite and on PostgreSQL."""
    return make_settings(tmp_path, database_url)


@pytest.fixture
async def world(client: TestClient, session_factory: Any) -> dict[str, Any]:
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        vp = await make_site(session, name="Liên hiệp Vĩnh Phúc")
        kg = await make_site(session, name="Liên hiệp Kiên Giang")
        token_vp = await tokens.site_token(session, vp.id, secret_key=TEST_SECRET)
        token_kg = await tokens.site_token(session, kg.id, secret_key=TEST_SECRET)
    created = await client.post(
        "/api/v1/meetings",
        headers=headers,
        json={
            "title": "Giao ban quý I",
            "starts_at": "2030-04-19T08:00:00+07:00",
            "ends_at": "2030-04-19T11:00:00+07:00",
            "site_ids": [vp.id, kg.id],
        },
    )
    assert created.status == 201, await created.text()
    meeting = await created.json()
    added = await client.post(
        f"/api/v1/meetings/{meeting['id']}/actions",
        headers=headers,
        json={
            "text": "Tổng kết phong trào thi đua",
            "owner_site_id": vp.id,
            "due_date": "2030-05-15",
        },
    )
    assert added.status == 201, await added.text()
    return {
        "h": headers,
        "meeting": meeting,
        "action": await added.json(),
        "vp": vp,
        "token_vp": token_vp,
        "token_kg": token_kg,
    }


def _form(text: str, *, done: bool = False, file: tuple[str, bytes] | None = None) -> FormData:
    form = FormData()
    form.add_field("text", text)
    if done:
        form.add_field("done", "1")
    if file is not None:
        form.add_field("file", file[1], filename=file[0], content_type="application/octet-stream")
    return form


async def test_a_site_reports_on_its_page_and_the_office_accepts_it(
    client: TestClient, world: dict[str, Any]
):
    action_id = world["action"]["id"]
    page = await client.get(f"/s/{world['token_vp']}")
    assert page.status == 200
    assert "Tổng kết phong trào thi đua" in await page.text()
    sent = await client.post(
        f"/s/{world['token_vp']}/actions/{action_id}/reports",
        data=_form("Đã tổng kết ở 5/7 huyện", done=True, file=("bao-cao.pdf", PDF)),
        allow_redirects=False,
    )
    assert sent.status == 303, await sent.text()
    assert sent.headers["Referrer-Policy"] == "no-referrer"
    shown = await (await client.get(sent.headers["Location"])).text()
    assert "Đã tổng kết ở 5/7 huyện" in shown and "bao-cao.pdf" in shown

    # The organiser sees it on the session's record page and accepts it there.
    csrf = await login(client, "org")
    record = await client.get(f"/sessions/{world['meeting']['id']}/record")
    text = await record.text()
    assert "Đã tổng kết ở 5/7 huyện" in text and "Liên hiệp Vĩnh Phúc" in text
    report_id = (await (await client.get(f"/api/v1/site/{world['token_vp']}/actions")).json())[
        "items"
    ][0]["reports"][0]["id"]
    decided = await client.post(
        f"/actions/{action_id}/reports/{report_id}/decide",
        data={"decision": "accept", "comment": "Tốt", "_csrf": csrf},
        allow_redirects=False,
    )
    assert decided.status == 303
    actions = await (
        await client.get(f"/api/v1/meetings/{world['meeting']['id']}/actions", headers=world["h"])
    ).json()
    assert actions["items"][0]["status"] == "done"
    # Done, it leaves the site's list of open items.
    listed = await (await client.get(f"/api/v1/site/{world['token_vp']}/actions")).json()
    assert listed["items"] == []


async def test_returning_a_report_keeps_the_item_open_and_a_second_decision_is_refused(
    client: TestClient, world: dict[str, Any]
):
    action_id = world["action"]["id"]
    sent = await client.post(
        f"/api/v1/site/{world['token_vp']}/actions/{action_id}/reports",
        json={"text": "Xong", "done": True},
    )
    assert sent.status == 201, await sent.text()
    report = await sent.json()
    url = f"/api/v1/actions/{action_id}/reports/{report['id']}"
    returned = await client.post(
        f"{url}/return", headers=world["h"], json={"comment": "Thiếu số liệu"}
    )
    assert returned.status == 200
    assert (await returned.json())["status"] == "returned"
    again = await client.post(f"{url}/accept", headers=world["h"], json={})
    assert again.status == 409
    listed = await (await client.get(f"/api/v1/site/{world['token_vp']}/actions")).json()
    item = listed["items"][0]
    assert item["status"] == "open"
    assert item["reports"][0]["comment"] == "Thiếu số liệu"
    # A site's link cannot decide: the office's operations need an account.
    assert (await client.post(f"{url}/accept", json={})).status in (401, 403)


async def test_another_site_is_refused(client: TestClient, world: dict[str, Any]):
    action_id = world["action"]["id"]
    api = await client.post(
        f"/api/v1/site/{world['token_kg']}/actions/{action_id}/reports", json={"text": "Xong"}
    )
    assert api.status == 404
    page = await client.post(
        f"/s/{world['token_kg']}/actions/{action_id}/reports", data=_form("Xong")
    )
    assert page.status == 404
    assert "Tổng kết phong trào" not in await (await client.get(f"/s/{world['token_kg']}")).text()
    unknown = await client.post("/api/v1/site/not-a-link/actions/1/reports", json={"text": "x"})
    assert unknown.status == 404


async def test_a_bad_file_is_refused_naming_the_field(client: TestClient, world: dict[str, Any]):
    action_id = world["action"]["id"]
    api = f"/api/v1/site/{world['token_vp']}/actions/{action_id}/reports"
    exe = await client.post(api, data=_form("Báo cáo", file=("virus.exe", b"MZ\x90\x00")))
    assert exe.status == 422
    assert (await exe.json())["error"]["details"][0]["field"] == "file"
    fake = io.BytesIO()
    with zipfile.ZipFile(fake, "w") as package:
        package.writestr("hello.txt", "not a word document")
    posing = await client.post(api, data=_form("Báo cáo", file=("bao-cao.docx", fake.getvalue())))
    assert posing.status == 422
    assert (await posing.json())["error"]["details"][0]["field"] == "file"
    empty = await client.post(api, json={"text": ""})
    assert empty.status == 422
    assert (await empty.json())["error"]["details"][0]["field"] == "text"
    # On the page, the problem is shown beside the item's file field, what was typed kept.
    page = await client.post(
        f"/s/{world['token_vp']}/actions/{action_id}/reports",
        data=_form("Bản nháp của tôi", file=("virus.exe", b"MZ")),
    )
    assert page.status == 422
    html = await page.text()
    assert 'id="e-r-file-' in html and "Bản nháp của tôi" in html
    # Nothing was written.
    listed = await (await client.get(f"/api/v1/site/{world['token_vp']}/actions")).json()
    assert listed["items"][0]["reports"] == []


async def test_overdue_is_derived_in_the_sessions_zone(session_factory: Any, world: dict[str, Any]):
    site_id = world["vp"].id
    # Due 15 May 2030 (Hồ Chí Minh time): 16 May 01:00 there is still 15 May 18:00 UTC.
    async with session_factory() as session:
        before = await progress.site_actions(
            session, site_id, now=datetime(2030, 5, 15, 16, 59, tzinfo=UTC)
        )
        after = await progress.site_actions(
            session, site_id, now=datetime(2030, 5, 15, 17, 0, tzinfo=UTC)
        )
    assert [a.overdue for a in before] == [False]
    assert [a.overdue for a in after] == [True]
