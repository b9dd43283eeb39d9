"""Reports requested from sites (issue #16): a site sends its file from its page, the
organiser follows who sent, who was late and who is missing, and takes all as one ZIP.
Run on SQLite and PostgreSQL, through the real app."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.core.settings import Settings
from meetings.core.store import utcnow
from meetings.planning.request_models import ReportRequest
from notify.site import tokens
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import bearer, login, make_scheduled_meeting, make_site, make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The app on SQLite and on PostgreSQL."""
    return make_settings(tmp_path, database_url)


@pytest.fixture
async def world(client: TestClient, session_factory: Any) -> dict[str, Any]:
    """A scheduled session inviting three sites, each with its link."""
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        sites = [
            await make_site(session, code=f"dc{n}", name=f"Điểm cầu xã {n}") for n in (1, 2, 3)
        ]
        meeting_id = await make_scheduled_meeting(
            session, starts_at=utcnow() + timedelta(days=20), site_ids=[s.id for s in sites]
        )
        links = [await tokens.site_token(session, s.id, secret_key=TEST_SECRET) for s in sites]
    return {"headers": headers, "meeting": meeting_id, "sites": sites, "links": links}


def upload(content: bytes, name: str) -> FormData:
    data = FormData()
    data.add_field("file", io.BytesIO(content), filename=name)
    return data


async def test_a_site_uploads_from_its_page_and_the_organiser_sees_it(
    client: TestClient, world: dict[str, Any], session_factory: Any
):
    mid, links = world["meeting"], world["links"]
    # The organiser asks for the report from the session page (no deadline: the documents one).
    csrf = await login(client, "org")
    done = await client.post(
        f"/sessions/{mid}/report-requests",
        data={"_csrf": csrf, "title": "Báo cáo kết quả quý", "due_at": ""},
    )
    page = await done.text()
    assert done.status == 200 and "Báo cáo kết quả quý" in page
    listed = await (
        await client.get(f"/api/v1/meetings/{mid}/report-requests", headers=world["headers"])
    ).json()
    assert listed["total"] == 1
    rid = listed["items"][0]["id"]

    # The first site sees it on its page and sends its file.
    site_page = await (await client.get(f"/s/{links[0]}")).text()
    assert "Báo cáo kết quả quý" in site_page and "Chưa gửi" in site_page
    sent = await client.post(
        f"/s/{links[0]}/meetings/{mid}/reports/{rid}", data=upload(PDF, "bao cao.pdf")
    )
    assert sent.status == 200 and "bao cao.pdf" in await sent.text()
    # The deadline passes; the second site sends after it: accepted, marked late.
    async with session_factory() as session, session.begin():
        row = await session.get(ReportRequest, rid)
        assert row is not None
        row.due_at = utcnow()
    late = await client.post(
        f"/s/{links[1]}/meetings/{mid}/reports/{rid}", data=upload(PDF, "muộn.pdf")
    )
    assert late.status == 200 and "Gửi muộn" in await late.text()

    followed = await (
        await client.get(
            f"/api/v1/meetings/{mid}/report-requests/{rid}/sites", headers=world["headers"]
        )
    ).json()
    assert followed["counts"] == {"sent": 1, "late": 1, "missing": 1}
    states = {s["site_code"]: s["state"] for s in followed["items"]}
    assert states == {"dc1": "sent", "dc2": "late", "dc3": "missing"}
    missing = await (
        await client.get(
            f"/api/v1/meetings/{mid}/report-requests/{rid}/sites?state=missing&limit=1",
            headers=world["headers"],
        )
    ).json()
    assert [s["site_name"] for s in missing["items"]] == ["Điểm cầu xã 3"]
    assert missing["total"] == 1

    shown = await (await client.get(f"/sessions/{mid}/report-requests/{rid}")).text()
    assert "Điểm cầu xã 1" in shown and "bao cao.pdf" in shown and "Thiếu" in shown


async def test_a_bad_type_is_refused_naming_the_field(client: TestClient, world: dict[str, Any]):
    mid, link = world["meeting"], world["links"][0]
    created = await client.post(
        f"/api/v1/meetings/{mid}/report-requests",
        headers=world["headers"],
        json={"title": "Báo cáo nhanh"},
    )
    assert created.status == 201, await created.text()
    rid = (await created.json())["id"]
    refused = await client.post(
        f"/s/{link}/meetings/{mid}/reports/{rid}", data=upload(b"MZ\x90\x00", "virus.exe")
    )
    assert refused.status == 422
    body = await refused.text()
    assert 'id="e-rq-file-' in body and "PDF, DOCX, XLSX" in body
    followed = await (
        await client.get(
            f"/api/v1/meetings/{mid}/report-requests/{rid}/sites?state=missing",
            headers=world["headers"],
        )
    ).json()
    assert followed["total"] == 3  # nothing was kept


async def test_the_zip_holds_exactly_the_received_files_named_by_site(
    client: TestClient, world: dict[str, Any]
):
    mid, links = world["meeting"], world["links"]
    rid = (
        await (
            await client.post(
                f"/api/v1/meetings/{mid}/report-requests",
                headers=world["headers"],
                json={"title": "Báo cáo", "due_at": "2030-01-01T17:00:00+07:00"},
            )
        ).json()
    )["id"]
    for link, content in ((links[0], PDF + b"%1"), (links[2], PDF + b"%3")):
        sent = await client.post(
            f"/s/{link}/meetings/{mid}/reports/{rid}", data=upload(PDF, "x.pdf")
        )
        assert sent.status == 200
        # A second upload replaces the first.
        sent = await client.post(
            f"/s/{link}/meetings/{mid}/reports/{rid}", data=upload(content, "y.pdf")
        )
        assert sent.status == 200
    response = await client.get(
        f"/api/v1/meetings/{mid}/report-requests/{rid}/reports.zip", headers=world["headers"]
    )
    assert response.status == 200 and response.content_type == "application/zip"
    with zipfile.ZipFile(io.BytesIO(await response.read())) as archive:
        assert sorted(archive.namelist()) == ["dc1 - Điểm cầu xã 1.pdf", "dc3 - Điểm cầu xã 3.pdf"]
        assert archive.read("dc3 - Điểm cầu xã 3.pdf") == PDF + b"%3"
