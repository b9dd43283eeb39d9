"""Action items' owners (site, cluster, unit), due dates in working days, and their status
with its history: through the API and the record page, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from agendas.record import followup, record
from agendas.record.models import ActionItemIn
from meetings.accounts.models import Role
from meetings.core.settings import Settings
from meetings.planning.workdays import working_days_after
from notify.site import tokens
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import (
    bearer,
    login,
    make_cluster,
    make_scheduled_meeting,
    make_site,
    make_user,
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path, database_url, office={"units": [{"name": "Ban Đối ngoại", "email": "bdn@x.vn"}]}
    )


@pytest.fixture
async def world(client: TestClient, session_factory: Any) -> dict[str, Any]:
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        vp = await make_site(session, name="Liên hiệp Vĩnh Phúc")
        north = await make_cluster(session, name="Cụm miền Bắc", leader_site_id=vp.id)
        token = await tokens.site_token(session, vp.id, secret_key=TEST_SECRET)
    created = await client.post(
        "/api/v1/meetings",
        headers=headers,
        json={
            "title": "Giao ban quý I",
            "starts_at": "2030-04-19T08:00:00+07:00",  # a Friday
            "ends_at": "2030-04-19T11:00:00+07:00",
            "site_ids": [vp.id],
        },
    )
    assert created.status == 201, await created.text()
    meeting = await created.json()
    return {"h": headers, "mid": meeting["id"], "vp": vp, "north": north, "token": token}


async def test_owners_and_due_dates_in_working_days(client: TestClient, world: dict[str, Any]):
    base = f"/api/v1/meetings/{world['mid']}/actions"
    bad = await client.post(
        base, headers=world["h"], json={"text": "Họp cụm", "owner_cluster_id": 99999}
    )
    assert bad.status == 422 and "owner_cluster_id" in await bad.text()
    both = await client.post(
        base,
        headers=world["h"],
        json={"text": "Họp cụm", "due_date": "2030-05-06", "due_working_days": 3},
    )
    assert both.status == 422
    added = await client.post(
        base,
        headers=world["h"],
        json={"text": "Họp cụm", "owner_cluster_id": world["north"].id, "due_working_days": 5},
    )
    assert added.status == 201, await added.text()
    item = await added.json()
    # Mon 22 … Fri 26/4: the fifth working day after Friday 19/4.
    assert item["due_date"] == str(working_days_after(date(2030, 4, 19), 5)) == "2030-04-26"
    assert item["due_working_days"] == 5 and item["owner_cluster_name"] == "Cụm miền Bắc"
    # Ten working days reach over Reunification and Labour Days (30/4, 1/5).
    ten = await client.post(
        base, headers=world["h"], json={"text": "Tổng hợp", "due_working_days": 10}
    )
    assert (await ten.json())["due_date"] == "2030-05-07"
    history = await client.get(f"{base}/{item['id']}/history", headers=world["h"])
    assert [h["status"] for h in (await history.json())["items"]] == ["open"]
    # The cluster's item is the leading site's to report on, from its page.
    listed = await (await client.get(f"/api/v1/site/{world['token']}/actions")).json()
    assert [a["text"] for a in listed["items"]] == ["Họp cụm"]
    sent = await client.post(
        f"/api/v1/site/{world['token']}/actions/{item['id']}/reports", json={"text": "Đã họp"}
    )
    assert sent.status == 201

    # The record page's form takes the cluster and the working days too.
    csrf = await login(client, "org")
    added = await client.post(
        f"/sessions/{world['mid']}/record/actions",
        data={
            "text": "Sơ kết cụm",
            "owner_cluster_id": str(world["north"].id),
            "due_working_days": "3",
            "_csrf": csrf,
        },
        allow_redirects=False,
    )
    assert added.status == 303
    items = (await (await client.get(base, headers=world["h"])).json())["items"]
    assert items[-1]["due_date"] == "2030-04-24" and items[-1]["owner_cluster_id"]


async def test_status_changes_are_written_to_the_history(client: TestClient, world: dict[str, Any]):
    base = f"/api/v1/meetings/{world['mid']}/actions"
    item = await (
        await client.post(
            base,
            headers=world["h"],
            json={"text": "Tổng kết", "owner_site_id": world["vp"].id, "due_date": "2030-05-15"},
        )
    ).json()
    url = f"{base}/{item['id']}"
    # The site's first accepted report that is not "done" moves the item to in progress.
    sent = await client.post(
        f"/api/v1/site/{world['token']}/actions/{item['id']}/reports",
        json={"text": "Đã triển khai ở 3 huyện"},
    )
    assert sent.status == 201, await sent.text()
    report_id = (await sent.json())["id"]
    accepted = await client.post(
        f"/api/v1/actions/{item['id']}/reports/{report_id}/accept",
        headers=world["h"],
        json={"comment": "Tiếp tục"},
    )
    assert accepted.status == 200, await accepted.text()
    now = await (await client.get(base, headers=world["h"])).json()
    assert now["items"][0]["status"] == "in_progress" and now["items"][0]["done_at"] is None

    done = await client.patch(url, headers=world["h"], json={"status": "done", "note": "Xong"})
    assert done.status == 200, await done.text()
    assert (await done.json())["done_at"] is not None
    stale = await client.patch(url, headers=world["h"], json={"status": "open", "version": 1})
    assert stale.status == 409
    reopened = await client.patch(
        url, headers=world["h"], json={"status": "open", "note": "Thiếu số liệu"}
    )
    assert (await reopened.json())["done_at"] is None
    same = await client.patch(url, headers=world["h"], json={"status": "open"})
    assert same.status == 200  # no change of status: nothing written

    history = (await (await client.get(f"{url}/history", headers=world["h"])).json())["items"]
    assert [(h["status"], h["note"]) for h in history] == [
        ("open", ""),
        ("in_progress", "Tiếp tục"),
        ("done", "Xong"),
        ("open", "Thiếu số liệu"),
    ]
    missing = await client.get(f"{base}/999999/history", headers=world["h"])
    assert missing.status == 404

    # The record page: its status, the form to change it and the history, collapsed.
    csrf = await login(client, "org")
    changed = await client.post(
        f"/sessions/{world['mid']}/record/actions/{item['id']}/status",
        data={"status": "in_progress", "note": "Đang làm lại", "_csrf": csrf},
        allow_redirects=False,
    )
    assert changed.status == 303
    page = await (await client.get(f"/sessions/{world['mid']}/record")).text()
    assert "Đang làm lại" in page and 'class="more action-history"' in page
    assert "Ban Đối ngoại" in page  # the configured units are offered as owners


async def test_overdue_items_stand_out_and_in_progress_ones_are_due(
    client: TestClient, world: dict[str, Any], session_factory: Any
):
    """A session of last month with an item due last week: the record page, the site's
    page and the organiser's dashboard mark it overdue."""
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    async with session_factory() as session, session.begin():
        mid = await make_scheduled_meeting(
            session, starts_at=starts, site_ids=[world["vp"].id], title="Giao ban tháng trước"
        )
        task = ActionItemIn(
            text="Nộp báo cáo tháng", owner_site_id=world["vp"].id, due_working_days=3
        )
        await record.add_action(session, mid, task)
        due, total = await followup.actions_due(session, until=date.today())
        assert [d.text for d in due] == ["Nộp báo cáo tháng"] and total == 1
        assert await followup.overdue_count(session, today=date.today()) == 1
    await login(client, "org")
    page = await (await client.get(f"/sessions/{mid}/record")).text()
    assert 'class="is-overdue"' in page and 'data-testid="overdue-count"' in page
    site_page = await (await client.get(f"/s/{world['token']}")).text()
    assert "action-item is-overdue" in site_page and "quá hạn: 1" in site_page
    dashboard = await (await client.get("/")).text()
    assert "Nộp báo cáo tháng" in dashboard and "quá hạn: 1" in dashboard
