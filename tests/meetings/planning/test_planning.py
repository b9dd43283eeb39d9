"""Planning sessions on SQLite and PostgreSQL: lifecycle, sequence, invited sites, series."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from agendas.programme import programme
from agendas.programme.models import AgendaItemIn, FocusItemIn, FocusStatus
from meetings.core.errors import Conflict, Invalid
from meetings.planning import lifecycle as planning
from meetings.planning import listing
from meetings.planning.models import (
    MeetingCreate,
    MeetingFollowUp,
    MeetingPublic,
    MeetingStatus,
    MeetingUpdate,
)
from tests.factories import make_cluster, make_site

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2030, 4, 19, 8, 0, tzinfo=HANOI)


async def new_meeting(session: AsyncSession, **fields) -> MeetingPublic:
    data = {
        "title": "Hội nghị Giao ban trực tuyến",
        "starts_at": START,
        "ends_at": START + timedelta(hours=3),
        **fields,
    }
    return await planning.create_meeting(
        session, MeetingCreate(**data), organiser_id=None, default_location="Hội trường"
    )


async def test_create_invites_clusters_and_sites_minus_exclusions(store_session):
    async with store_session.begin():
        one = await make_cluster(store_session)
        two = await make_cluster(store_session)
        a = await make_site(store_session, cluster_id=one.id)
        b = await make_site(store_session, cluster_id=one.id)
        c = await make_site(store_session, cluster_id=two.id)
        loose = await make_site(store_session)
        meeting = await new_meeting(
            store_session, cluster_ids=[one.id], site_ids=[loose.id], exclude_site_ids=[b.id]
        )
    async with store_session.begin():
        invited = await listing.participations(store_session, meeting.id)
    assert {p.site_id for p in invited} == {a.id, loose.id}
    assert c.id not in {p.site_id for p in invited}
    assert meeting.site_count == 2 and meeting.status == "draft" and meeting.sequence == 0
    assert meeting.location == "Hội trường"  # the organisation's hall by default
    assert meeting.starts_at == START  # stored in UTC, the same instant


async def test_unknown_site_or_cluster_is_named(store_session):
    with pytest.raises(Invalid) as caught:
        async with store_session.begin():
            await new_meeting(store_session, site_ids=[999])
    assert caught.value.problems[0].field == "site_ids"
    with pytest.raises(Invalid) as caught:
        async with store_session.begin():
            await new_meeting(store_session, cluster_ids=[999])
    assert caught.value.problems[0].field == "cluster_ids"


async def test_lifecycle_accepts_only_legal_changes(store_session):
    async with store_session.begin():
        empty = await new_meeting(store_session)
    with pytest.raises(Invalid) as caught:  # no invited site: cannot be scheduled
        async with store_session.begin():
            await planning.change_status(store_session, empty.id, MeetingStatus.scheduled)
    assert caught.value.problems[0].field == "site_ids"

    async with store_session.begin():
        site = await make_site(store_session)
        meeting = await new_meeting(store_session, site_ids=[site.id])
        for step in (MeetingStatus.scheduled, MeetingStatus.live, MeetingStatus.ended):
            meeting = await planning.change_status(  # the session is days away: early
                store_session, meeting.id, step, reason="rehearsed in full"
            )
    assert meeting.status == "ended"
    for illegal in (MeetingStatus.live, MeetingStatus.scheduled, MeetingStatus.cancelled):
        with pytest.raises(Invalid):
            async with store_session.begin():
                await planning.change_status(store_session, meeting.id, illegal)
    with pytest.raises(Invalid):  # an ended session is closed for edits
        async with store_session.begin():
            await planning.update_meeting(
                store_session, meeting.id, MeetingUpdate(version=meeting.version, title="x")
            )


async def test_sequence_rises_with_time_place_or_link_and_on_cancel(store_session):
    async with store_session.begin():
        site = await make_site(store_session)
        meeting = await new_meeting(store_session, site_ids=[site.id])

    async def patch(**fields) -> MeetingPublic:
        nonlocal meeting
        async with store_session.begin():
            meeting = await planning.update_meeting(
                store_session, meeting.id, MeetingUpdate(version=meeting.version, **fields)
            )
        return meeting

    assert (await patch(title="Tên mới")).sequence == 0  # a title is not a calendar change
    assert (await patch(starts_at=START + timedelta(hours=1))).sequence == 1
    assert (await patch(location="Phòng họp số 2")).sequence == 2
    assert (await patch(video_url="https://meet.example.org/giaoban")).sequence == 3
    assert (await patch(video_url="https://meet.example.org/giaoban")).sequence == 3  # same
    async with store_session.begin():
        cancelled = await planning.cancel_meeting(store_session, meeting.id, reason="Hoãn")
    assert cancelled.sequence == 4 and cancelled.status == "cancelled"
    assert cancelled.cancel_reason == "Hoãn"
    assert cancelled.uid == meeting.uid  # calendars match updates by the UID


async def test_stale_version_and_bad_times(store_session):
    async with store_session.begin():
        meeting = await new_meeting(store_session)
    async with store_session.begin():
        await planning.update_meeting(
            store_session, meeting.id, MeetingUpdate(version=1, title="A")
        )
    with pytest.raises(Conflict):
        async with store_session.begin():
            await planning.update_meeting(
                store_session, meeting.id, MeetingUpdate(version=1, title="B")
            )
    with pytest.raises(Invalid) as caught:
        async with store_session.begin():
            await planning.update_meeting(
                store_session, meeting.id, MeetingUpdate(version=2, ends_at=START)
            )
    assert caught.value.problems[0].field == "ends_at"


async def test_overlapping_invitations_are_warned_not_blocked(store_session):
    async with store_session.begin():
        site = await make_site(store_session)
        other = await make_site(store_session)
        first = await new_meeting(store_session, title="Tọa đàm", site_ids=[site.id])
        second = await new_meeting(
            store_session,
            starts_at=START + timedelta(hours=1),
            ends_at=START + timedelta(hours=2),
            site_ids=[site.id, other.id],
        )
        later = await new_meeting(
            store_session,
            starts_at=START + timedelta(hours=3),
            ends_at=START + timedelta(hours=4),
            site_ids=[site.id],
        )
    assert [w.meeting_id for w in second.warnings] == [first.id]
    assert (
        "1 invited site(s)" in second.warnings[0].message
        and "Tọa đàm" in second.warnings[0].message
    )
    assert later.warnings == []  # back-to-back is not an overlap


async def test_host_site_is_invited_and_marked(store_session):
    async with store_session.begin():
        cluster = await make_cluster(store_session)
        host = await make_site(store_session, cluster_id=cluster.id)
        meeting = await new_meeting(store_session, kind="cluster_meeting", host_site_id=host.id)
        invited = await listing.participations(store_session, meeting.id)
    assert [(p.site_id, p.is_host) for p in invited] == [(host.id, True)]


async def test_a_site_abroad_sees_its_own_time_on_both_sides_of_dst(store_session):
    async with store_session.begin():
        berlin = await make_site(store_session, timezone="Europe/Berlin")
        hanoi = await make_site(store_session)
        before = await new_meeting(
            store_session,
            site_ids=[berlin.id, hanoi.id],
            starts_at=datetime(2024, 3, 29, 8, 0, tzinfo=HANOI),
            ends_at=datetime(2024, 3, 29, 11, 0, tzinfo=HANOI),
        )
        after = await new_meeting(
            store_session,
            site_ids=[berlin.id, hanoi.id],
            starts_at=datetime(2024, 4, 5, 8, 0, tzinfo=HANOI),
            ends_at=datetime(2024, 4, 5, 11, 0, tzinfo=HANOI),
        )
        times_before = {
            p.site_id: p.local_starts_at
            for p in await listing.participations(store_session, before.id)
        }
        times_after = {
            p.site_id: p.local_starts_at
            for p in await listing.participations(store_session, after.id)
        }
    # Europe changes to summer time on 31 March 2024: 02:00 CET, then 03:00 CEST.
    assert times_before[berlin.id] == "2024-03-29T02:00:00+01:00"
    assert times_after[berlin.id] == "2024-04-05T03:00:00+02:00"
    assert times_before[hanoi.id] == "2024-03-29T08:00:00+07:00"


async def test_agenda_timeline_and_overrun(store_session):
    async with store_session.begin():
        meeting = await new_meeting(store_session)
        agenda = await programme.replace_agenda(
            store_session,
            meeting.id,
            [
                AgendaItemIn(title="Khai mạc", kind="opening", duration_minutes=15),
                AgendaItemIn(
                    title="Báo cáo", kind="report", presenter="Phó Chủ tịch", duration_minutes=60
                ),
                AgendaItemIn(title="Thảo luận", kind="discussion", duration_minutes=120),
            ],
            version=None,
        )
    assert [a.planned_start.astimezone(HANOI).strftime("%H:%M") for a in agenda] == [
        "08:00",
        "08:15",
        "09:15",
    ]
    assert [a.overruns for a in agenda] == [False, False, True]  # 11:15 > 11:00
    with pytest.raises(ValidationError, match="duration_minutes"):
        AgendaItemIn.model_validate({"title": "x", "duration_minutes": -5})


async def test_duplicate_focus_numbers_change_nothing(store_session):
    async with store_session.begin():
        meeting = await new_meeting(store_session)
        await programme.replace_focus_items(
            store_session, meeting.id, [FocusItemIn(number=1, title="Xây dựng Đảng")], version=None
        )
    with pytest.raises(Invalid) as caught:
        async with store_session.begin():
            await programme.replace_focus_items(
                store_session,
                meeting.id,
                [FocusItemIn(number=1, title="A"), FocusItemIn(number=1, title="B")],
                version=None,
            )
    assert caught.value.problems[0].field == "1.number"
    async with store_session.begin():
        kept = await programme.get_focus_items(store_session, meeting.id)
    assert [f.title for f in kept] == ["Xây dựng Đảng"]


async def test_next_session_of_a_series_carries_sites_agenda_and_focus_items(store_session):
    async with store_session.begin():
        site = await make_site(store_session)
        q1 = await new_meeting(
            store_session, title="Giao ban quý I", site_ids=[site.id], series_name="Giao ban 2030"
        )
        await programme.replace_agenda(
            store_session,
            q1.id,
            [AgendaItemIn(title="Khai mạc", duration_minutes=10)],
            version=None,
        )
        await programme.replace_focus_items(
            store_session,
            q1.id,
            [
                FocusItemIn(
                    number=1,
                    title="Tổng kết Chỉ thị 38",
                    status=FocusStatus.ongoing,
                    summary="Đang tổng hợp",
                ),
                FocusItemIn(number=2, title="Đại hội VII", status=FocusStatus.new),
            ],
            version=None,
        )
        q2 = await programme.create_follow_up(
            store_session,
            q1.id,
            MeetingFollowUp(
                starts_at=START + timedelta(days=90),
                ends_at=START + timedelta(days=90, hours=3),
                title="Giao ban quý II",
            ),
            organiser_id=None,
        )
        q2_focus = await programme.get_focus_items(store_session, q2.id)
        q2_agenda = await programme.get_agenda(store_session, q2.id)
        q2_sites = await listing.participations(store_session, q2.id)
        q2_focus_items = [
            FocusItemIn(**f.model_dump(include=set(FocusItemIn.model_fields))) for f in q2_focus
        ]
        q2_focus_items[0].status = FocusStatus.done
        await programme.replace_focus_items(store_session, q2.id, q2_focus_items, version=None)
        q3 = await programme.create_follow_up(
            store_session,
            q2.id,
            MeetingFollowUp(
                starts_at=START + timedelta(days=180), ends_at=START + timedelta(days=180, hours=3)
            ),
            organiser_id=None,
        )
        q3_focus = await programme.get_focus_items(store_session, q3.id)
    assert q2.series_name == "Giao ban 2030" and q2.previous_id == q1.id
    assert [s.site_id for s in q2_sites] == [site.id]
    assert [a.title for a in q2_agenda] == ["Khai mạc"]
    assert [(f.number, f.status) for f in q2_focus] == [(1, "ongoing"), (2, "new")]
    history = q3_focus[0].history
    assert [(h.meeting_title, h.status) for h in history] == [
        ("Giao ban quý II", "done"),
        ("Giao ban quý I", "ongoing"),
    ]
    assert history[1].summary == "Đang tổng hợp"


async def test_lists_upcoming_past_and_cancelled(store_session):
    now = START
    async with store_session.begin():
        site = await make_site(store_session)
        past = await new_meeting(
            store_session,
            title="Đã họp",
            starts_at=START - timedelta(days=7),
            ends_at=START - timedelta(days=7, hours=-2),
        )
        soon = await new_meeting(store_session, title="Sắp họp", site_ids=[site.id])
        gone = await new_meeting(store_session, title="Bị hoãn")
        await planning.cancel_meeting(store_session, gone.id, reason="Hoãn")
        upcoming = await listing.list_meetings(store_session, period="upcoming", now=now)
        earlier = await listing.list_meetings(store_session, period="past", now=now)
        cancelled = await listing.list_meetings(store_session, period="cancelled", now=now)
        found = await listing.list_meetings(store_session, q="sap hop", now=now)
    assert [m.id for m in upcoming.items] == [soon.id]
    assert [m.id for m in earlier.items] == [past.id]
    assert [m.id for m in cancelled.items] == [gone.id]
    assert [m.title for m in found.items] == ["Sắp họp"]


def test_the_forward_step_offered_is_one_of_the_allowed_transitions():
    steps = {status: planning.next_step(status) for status in MeetingStatus}
    assert steps == {
        MeetingStatus.draft: MeetingStatus.scheduled,
        MeetingStatus.scheduled: MeetingStatus.live,
        MeetingStatus.live: MeetingStatus.ended,
        MeetingStatus.ended: None,
        MeetingStatus.cancelled: None,
    }
    for status, step in steps.items():
        assert step is None or step in planning.next_statuses(status)
