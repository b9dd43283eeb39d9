"""A small year known by hand (the year at a glance's tests, on the page and in a browser):
two sessions of 2025 in one series, two clusters of two sites, and what each did."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from agendas.record.models import ActionItem, ActionStatus, Recommendation, RecommendationStatus
from meetings.accounts import accounts
from meetings.accounts.models import Role, UserCreate
from meetings.planning.models import Meeting, MeetingStatus, Participation, Rsvp, Series
from meetings.planning.request_models import ReportRequest, SiteReport
from tests.factories import PASSWORD, bearer, make_cluster, make_site, make_user

#: 10 March 2025, 08:00 in Hà Nội; 10 June 2025 likewise.
FIRST = datetime(2025, 3, 10, 1, 0, tzinfo=UTC)
SECOND = datetime(2025, 6, 10, 1, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _meeting(title: str, starts_at: datetime, status: MeetingStatus, series: int | None) -> Meeting:
    return Meeting(
        title=title,
        starts_at=starts_at,
        ends_at=starts_at + 3 * HOUR,
        status=status,
        series_id=series,
    )


def _invite(
    meeting: int, site: int, rsvp: Rsvp, answered: datetime | None, attendance: str | None
) -> Participation:
    return Participation(
        meeting_id=meeting,
        site_id=site,
        rsvp=rsvp,
        responded_at=answered,
        attendance_status=attendance,
    )


def _report(request: int, site: int, at: datetime) -> SiteReport:
    return SiteReport(
        request_id=request,
        site_id=site,
        filename="bc.pdf",
        stored_name=f"r{request}-{site}",
        content_type="application/pdf",
        size=10,
        uploaded_at=at,
    )


async def make_year(session_factory: Any) -> dict[str, Any]:
    """Two sessions of 2025 in one series (plus a cancelled one and one of 2024, which do
    not count), two clusters of two sites each."""
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        await make_user(session, username="sec", role=Role.secretary)
        headers = await bearer(session, "org")
        north = await make_cluster(session, code="BAC", name="Cụm Bắc")
        south = await make_cluster(session, code="NAM", name="Cụm Nam")
        await accounts.create_user(
            session,
            UserCreate(
                username="leader",
                role=Role.cluster_leader,
                full_name="Cụm trưởng",
                password=PASSWORD,
                cluster_id=north.id,
            ),
        )
        a1, a2 = [await make_site(session, code=c, cluster_id=north.id) for c in ("A1", "A2")]
        b1, b2 = [await make_site(session, code=c, cluster_id=south.id) for c in ("B1", "B2")]
        series = Series(name="Giao ban quý 2025")
        other = Series(name="Hội thảo")
        session.add_all([series, other])
        await session.flush()
        first = _meeting("Giao ban quý I", FIRST, MeetingStatus.ended, series.id)
        second = _meeting("Giao ban quý II", SECOND, MeetingStatus.ended, series.id)
        cancelled = _meeting("Hủy", FIRST + 24 * HOUR, MeetingStatus.cancelled, series.id)
        old = _meeting("Năm trước", FIRST - 365 * 24 * HOUR, MeetingStatus.ended, series.id)
        session.add_all([first, second, cancelled, old])
        await session.flush()
        before, after = FIRST - 48 * HOUR, FIRST + HOUR
        session.add_all(
            [
                # First session: north 2/2 attended, south 0/2; RSVPs on time 1/2 and 1/2.
                _invite(first.id, a1.id, Rsvp.accepted, before, "present"),
                _invite(first.id, a2.id, Rsvp.accepted, after, "late"),
                _invite(first.id, b1.id, Rsvp.declined, before, "absent"),
                _invite(first.id, b2.id, Rsvp.needs_action, None, None),
                # Second: north 2/2 (connected, then left), south 0/1; every RSVP on time.
                _invite(second.id, a1.id, Rsvp.accepted, SECOND - HOUR, "connected"),
                _invite(second.id, a2.id, Rsvp.tentative, SECOND - HOUR, "left"),
                _invite(second.id, b1.id, Rsvp.accepted, SECOND - HOUR, "technical_issue"),
                # Not counted: a cancelled session and last year's.
                _invite(cancelled.id, a1.id, Rsvp.accepted, before, "present"),
                _invite(old.id, b1.id, Rsvp.accepted, before, "present"),
            ]
        )
        due = datetime(2025, 3, 5, 16, 59, 59, tzinfo=UTC)
        request = ReportRequest(meeting_id=first.id, title="Báo cáo quý", due_at=due)
        session.add(request)
        await session.flush()
        session.add_all(
            [
                _report(request.id, a1.id, due - 24 * HOUR),  # on time
                _report(request.id, a2.id, due + 24 * HOUR),  # late
                _report(request.id, b2.id, due),  # on the deadline: on time
            ]
        )
        answered, open_ = RecommendationStatus.answered, RecommendationStatus.open
        session.add_all(
            [
                Recommendation(meeting_id=first.id, site_id=a1.id, text="1", status=answered),
                Recommendation(meeting_id=first.id, site_id=a1.id, text="2", status=open_),
                Recommendation(meeting_id=first.id, site_id=b1.id, text="3", status=answered),
                Recommendation(meeting_id=second.id, site_id=None, text="4", status=open_),
            ]
        )
        done = ActionStatus.done
        session.add_all(
            [
                # 23:30 on the due day in Hà Nội: on time; 00:30 the day after: late.
                ActionItem(
                    meeting_id=first.id,
                    text="a",
                    owner_site_id=a1.id,
                    due_on=date(2025, 3, 20),
                    status=done,
                    done_at=datetime(2025, 3, 20, 16, 30, tzinfo=UTC),
                ),
                ActionItem(
                    meeting_id=first.id,
                    text="b",
                    owner_site_id=a2.id,
                    due_on=date(2025, 3, 20),
                    status=done,
                    done_at=datetime(2025, 3, 20, 17, 30, tzinfo=UTC),
                ),
                ActionItem(
                    meeting_id=first.id,
                    text="c",
                    owner_cluster_id=south.id,
                    due_on=date(2025, 4, 1),
                ),  # still open, past due
                ActionItem(meeting_id=first.id, text="d", owner_site_id=b1.id),  # no date
                ActionItem(
                    meeting_id=second.id,
                    text="e",
                    owner_text="Văn phòng",
                    due_on=date(2025, 7, 1),
                    status=done,
                    done_at=datetime(2025, 6, 30, 3, 0, tzinfo=UTC),
                ),
            ]
        )
    return {
        "headers": headers,
        "north": north.id,
        "south": south.id,
        "series": series.id,
        "other": other.id,
        "first": first.id,
        "second": second.id,
    }


#: Worked out by hand from the fixture.
TOTALS = {
    "attended": 57.1,
    "rsvp_on_time": 71.4,
    "reports_on_time": 50.0,
    "answered": 50.0,
    "actions_on_time": 50.0,
}
NORTH = {
    "attended": 100.0,
    "rsvp_on_time": 75.0,
    "reports_on_time": 50.0,
    "answered": 50.0,
    "actions_on_time": 50.0,
}
SOUTH = {
    "attended": 0.0,
    "rsvp_on_time": 66.7,
    "reports_on_time": 50.0,
    "answered": 100.0,
    "actions_on_time": 0.0,
}
A1 = {
    "attended": 100.0,
    "rsvp_on_time": 100.0,
    "reports_on_time": 100.0,
    "answered": 50.0,
    "actions_on_time": 100.0,
}
B2 = {
    "attended": 0.0,
    "rsvp_on_time": 0.0,
    "reports_on_time": 100.0,
    "answered": None,
    "actions_on_time": None,
}
