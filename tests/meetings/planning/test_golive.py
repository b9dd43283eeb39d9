"""A session goes live on its day; earlier only by an override with a reason, which the
session page's history shows with who and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.core.errors import Invalid
from meetings.core.store import utcnow
from meetings.planning import golive
from meetings.planning import lifecycle as planning
from meetings.planning.models import Meeting, MeetingStatus
from tests.factories import login, make_scheduled_meeting, make_site, make_user


async def scheduled(session: Any, *, starts_at: datetime, **fields: Any) -> int:
    site = await make_site(session)
    return await make_scheduled_meeting(session, starts_at=starts_at, site_ids=[site.id], **fields)


def test_a_session_opens_at_midnight_of_its_day_in_its_zone_or_at_its_rehearsal():
    # 08:00 in Hà Nội on 19/4/2024 is 01:00 UTC; its day began at 17:00 UTC the day before.
    start = datetime(2024, 4, 19, 1, 0, tzinfo=UTC)
    meeting = Meeting(title="x", starts_at=start, ends_at=start + timedelta(hours=3))
    assert golive.live_opens_at(meeting) == datetime(2024, 4, 18, 17, 0, tzinfo=UTC)
    meeting.timezone = "Europe/Paris"  # 03:00 in Paris: its day began at 22:00 UTC
    assert golive.live_opens_at(meeting) == datetime(2024, 4, 18, 22, 0, tzinfo=UTC)
    meeting.rehearsal_minutes = 8 * 60  # a rehearsal the evening before opens it earlier
    assert golive.live_opens_at(meeting) == start - timedelta(hours=8)
    assert golive.is_early(meeting, start - timedelta(hours=9))
    assert not golive.is_early(meeting, start - timedelta(hours=7))


async def test_going_live_before_its_day_is_refused_without_a_reason(store_session):
    async with store_session.begin():
        meeting_id = await scheduled(store_session, starts_at=utcnow() + timedelta(days=3))
    with pytest.raises(Invalid) as refused:
        async with store_session.begin():
            await planning.change_status(store_session, meeting_id, MeetingStatus.live, by="op")
    assert [p.field for p in refused.value.problems] == ["early_start_reason"]
    async with store_session.begin():
        assert (await planning.get_meeting(store_session, meeting_id)).status == "scheduled"
        assert await golive.history(store_session, meeting_id) == []


async def test_on_its_day_a_session_goes_live_without_an_override(store_session):
    async with store_session.begin():
        # Its rehearsal has begun (it starts in an hour): no reason asked, nothing early.
        meeting_id = await scheduled(
            store_session, starts_at=utcnow() + timedelta(hours=1), rehearsal_minutes=120
        )
        live = await planning.change_status(
            store_session, meeting_id, MeetingStatus.live, by="vanphong"
        )
        (entry,) = await golive.history(store_session, meeting_id)
    assert live.status == "live"
    assert (entry.by, entry.to_status, entry.is_early, entry.reason) == (
        "vanphong",
        "live",
        False,
        "",
    )


async def test_an_early_start_is_logged_with_who_when_and_why(store_session):
    async with store_session.begin():
        meeting_id = await scheduled(store_session, starts_at=utcnow() + timedelta(days=3))
    before = utcnow()
    async with store_session.begin():
        await planning.change_status(
            store_session,
            meeting_id,
            MeetingStatus.live,
            by="vanphong",
            reason="Lãnh đạo đề nghị họp sớm",
        )
        (entry,) = await golive.history(store_session, meeting_id)
    assert (entry.from_status, entry.to_status, entry.by) == ("scheduled", "live", "vanphong")
    assert (entry.is_early, entry.reason) == (True, "Lãnh đạo đề nghị họp sớm")
    assert before <= entry.at <= utcnow()


async def test_the_page_refuses_an_early_start_in_vietnamese_then_logs_the_override(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="vanphong", role=Role.organiser)
        meeting_id = await scheduled(session, starts_at=utcnow() + timedelta(days=3))
    csrf = await login(client, "vanphong")
    page = await (await client.get(f"/sessions/{meeting_id}")).text()
    assert "Bắt đầu trước ngày họp" in page  # the override, not the plain start button
    assert "Bắt đầu (trực tuyến)" not in page

    status_url = f"/sessions/{meeting_id}/status"
    refused = await client.post(status_url, data={"_csrf": csrf, "status": "live", "version": "2"})
    text = await refused.text()
    assert "Phiên họp chỉ bắt đầu trực tuyến vào ngày họp" in text
    assert "give a reason" not in text

    started = await client.post(
        status_url,
        data={
            "_csrf": csrf,
            "status": "live",
            "version": "2",
            "early_start_reason": "Lãnh đạo đề nghị họp sớm",
        },
    )
    page = await started.text()
    history = page.split('data-testid="status-history"', 1)[1].split("</ol>", 1)[0]
    assert "vanphong" in history
    assert "bắt đầu trước ngày họp" in history
    assert "Lãnh đạo đề nghị họp sớm" in history
