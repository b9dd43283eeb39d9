"""A session planned on a weekend or a public holiday is warned about, by name: after
saving the form, on the session page and in the API; a working day is not."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from tests.factories import bearer, login, make_site, make_user
from tests.meetings.planning.test_planning_views import form


def new_year(**fields: Any) -> dict[str, Any]:
    return {
        "title": "Giao ban đầu năm 2027",
        "kind": "briefing",
        "timezone": "Asia/Ho_Chi_Minh",
        "starts_at": "2027-01-01T08:00",
        "ends_at": "2027-01-01T11:00",
        **fields,
    }


async def test_saving_a_session_on_new_years_day_warns_by_name(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        site = await make_site(session)
    csrf = await login(client, "org")
    saved = await client.post(
        "/sessions/new", allow_redirects=False, data=form(csrf, **new_year(site_ids=site.id))
    )
    assert saved.status == 303
    page = await (await client.get(saved.headers["Location"])).text()
    # The message after saving, then the page's own warning, which stays.
    assert (
        "Đã lưu phiên họp. Lưu ý: Thứ Sáu, 01/01/2027 không phải ngày làm việc "
        "(Tết Dương lịch)." in page
    )
    assert 'data-warning="non_working_day"' in page
    assert "Thứ Sáu, 01/01/2027 không phải ngày làm việc: Tết Dương lịch." in page
    again = await (await client.get(saved.headers["Location"])).text()
    assert "Đã lưu phiên họp" not in again  # the message was once
    assert "không phải ngày làm việc: Tết Dương lịch" in again  # the warning stays
    english = await (await client.get(saved.headers["Location"] + "?lang=en")).text()
    assert "Friday, 01/01/2027 is not a working day: New Year&#39;s Day." in english

    # Moved to the Friday after: saved without a warning.
    meeting_id = int(saved.headers["Location"].rsplit("/", 1)[1])
    edit = await (await client.get(f"/sessions/{meeting_id}/edit")).text()
    version = edit.split('name="version" value="')[1].split('"')[0]
    moved = await client.post(
        f"/sessions/{meeting_id}/edit",
        data=form(
            csrf,
            **new_year(
                site_ids=site.id,
                starts_at="2027-01-08T08:00",
                ends_at="2027-01-08T11:00",
                version=version,
            ),
        ),
    )
    text = await moved.text()
    assert "Đã lưu phiên họp." in text and "không phải ngày làm việc" not in text


async def test_the_api_returns_the_day_off_among_the_warnings(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        site = await make_site(session)
    body = {
        "title": "Giao ban cuối tuần",
        "starts_at": "2027-01-02T08:00:00+07:00",  # a Saturday
        "ends_at": "2027-01-02T11:00:00+07:00",
        "site_ids": [site.id],
    }
    created = await client.post("/api/v1/meetings", headers=headers, json=body)
    assert created.status == 201, await created.text()
    meeting = await (
        await client.get(f"/api/v1/meetings/{(await created.json())['id']}", headers=headers)
    ).json()
    (warning,) = [w for w in meeting["warnings"] if w["code"] == "non_working_day"]
    assert warning["day"] == "2027-01-02"
    assert warning["message"] == "02/01/2027 is not a working day in Vietnam: Saturday"
    working = await client.post(
        "/api/v1/meetings",
        headers=headers,
        json={
            **body,
            "starts_at": "2027-01-04T08:00:00+07:00",
            "ends_at": "2027-01-04T11:00:00+07:00",
        },
    )
    assert (await working.json())["warnings"] == []
