"""Action items fall due on working days: a weekend or public holiday entered as a due
date moves to the working day before it, and the secretary is told."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from tests.factories import bearer, login, make_site, make_user


async def test_a_due_date_on_a_day_off_moves_to_the_working_day_before(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        await make_user(session, username="thuky", role=Role.secretary)
        headers = await bearer(session, "org")
        site = await make_site(session)
    created = await client.post(
        "/api/v1/meetings",
        headers=headers,
        json={
            "title": "Giao ban quý II",
            "starts_at": "2030-04-19T08:00:00+07:00",
            "ends_at": "2030-04-19T11:00:00+07:00",
            "site_ids": [site.id],
        },
    )
    meeting_id = (await created.json())["id"]

    # Through the API: Sunday 30/6/2030 becomes Friday 28/6; the answer says from what.
    added = await client.post(
        f"/api/v1/meetings/{meeting_id}/actions",
        headers=headers,
        json={"text": "Gửi báo cáo quý II", "owner": "Các Liên hiệp", "due_date": "2030-06-30"},
    )
    assert added.status == 201, await added.text()
    body = await added.json()
    assert (body["due_date"], body["due_date_moved_from"]) == ("2030-06-28", "2030-06-30")
    working = await client.post(
        f"/api/v1/meetings/{meeting_id}/actions",
        headers=headers,
        json={"text": "Tổng hợp kiến nghị", "owner": "Văn phòng", "due_date": "2030-05-20"},
    )
    assert (await working.json())["due_date"] == "2030-05-20"

    # Through the record page: 2/9/2030, National Day (and 3/9 beside it) → Friday 30/8.
    csrf = await login(client, "thuky")
    page = await (await client.get(f"/sessions/{meeting_id}/record")).text()
    assert "Hạn rơi vào cuối tuần hoặc ngày lễ được chuyển về ngày làm việc liền trước." in page
    response = await client.post(
        f"/sessions/{meeting_id}/record/actions",
        data={
            "_csrf": csrf,
            "text": "Kế hoạch tập huấn",
            "owner": "Ban Tuyên truyền",
            "due_date": "2030-09-02",
        },
    )
    text = await response.text()
    assert (
        "Thứ Hai, 02/09/2030 không phải ngày làm việc (Quốc khánh): "
        "hạn hoàn thành là Thứ Sáu, 30/08/2030." in text
    )
    listed = await (
        await client.get(f"/api/v1/meetings/{meeting_id}/actions", headers=headers)
    ).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert sorted(a["due_date"] for a in items) == ["2030-05-20", "2030-06-28", "2030-08-30"]
