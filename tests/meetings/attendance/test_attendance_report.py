"""The attendance report: per site, per cluster, totals and absent list, in every format."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.accounts.models import Role
from meetings.attendance import report as attendance_report
from meetings.attendance import report_files
from meetings.attendance import tracking as attendance
from meetings.attendance.models import AttendanceSummary, Author, EventKind
from meetings.attendance.report import Absence
from meetings.attendance.report_files import COLUMNS
from meetings.attendance.tracking import Change
from meetings.core.i18n import translations
from meetings.core.settings import AttendanceSettings
from meetings.planning import lifecycle as planning
from meetings.planning import rsvp
from meetings.planning.models import MeetingCreate
from tests.factories import bearer, login, make_cluster, make_site, make_user

CONFIG = AttendanceSettings(max_delegates_per_site=500, late_after_minutes=15, window_hours=24)
#: 08:00 in Tokyo, the session's zone: neither UTC nor the organisation's Hanoi.
STARTS = datetime(2030, 9, 19, 23, 0, tzinfo=UTC)
VI = translations("vi").gettext
EN = translations("en").gettext


@dataclass(frozen=True)
class Scenario:
    meeting_id: int
    codes: dict[str, str]  # role in the story → site code


async def _event(
    session: AsyncSession,
    meeting_id: int,
    site_id: int,
    status: str,
    minutes: int,
    delegates: int | None = None,
    officials: list[str] | None = None,
) -> None:
    change = Change(
        kind=EventKind.attendance,
        status=status,
        at=STARTS + timedelta(minutes=minutes),
        author_kind=Author.operator,
        author="org",
        delegates_present=delegates,
        officials_present=officials,
    )
    await attendance.record(session, meeting_id, site_id, change, CONFIG)


async def arrange(session: AsyncSession) -> Scenario:
    """Ten sites: one without cluster, five in cluster 1, four in cluster 2."""
    one = await make_cluster(session, code="CUM-1", name="Cụm 1")
    two = await make_cluster(session, code="CUM-2", name="Cụm 2")
    made = {}
    for role, cluster in (
        ("loner", None),
        ("on_time", one),
        ("late", one),
        ("left", one),
        ("came_back", one),
        ("reported_absent", two),
        ("never_seen", two),
        ("declined", two),
        ("broken", two),
        ("present", two),
    ):
        made[role] = await make_site(
            session, code=role.upper().replace("_", "-"), cluster_id=cluster.id if cluster else None
        )
    meeting = await planning.create_meeting(
        session,
        MeetingCreate(
            title="Giao ban tháng 9",
            timezone="Asia/Tokyo",
            starts_at=STARTS,
            ends_at=STARTS + timedelta(hours=3),
            site_ids=[s.id for s in made.values()],
        ),
        organiser_id=None,
        default_location="Hội trường 1",
    )
    mid = meeting.id
    ids = {role: site.id for role, site in made.items()}
    await rsvp.answer(session, mid, ids["declined"], rsvp.RsvpIn(response="declined"))
    await _event(session, mid, ids["loner"], "connected", 5, 3)
    await _event(session, mid, ids["on_time"], "connected", -10, 12, ["Bà Nguyễn Thị Hoa"])
    await _event(session, mid, ids["late"], "late", 25, 8)
    await _event(session, mid, ids["left"], "connected", 0, 5)
    await _event(session, mid, ids["left"], "left", 95)
    await _event(session, mid, ids["came_back"], "connected", 1, 6)
    await _event(session, mid, ids["came_back"], "left", 30)
    await _event(session, mid, ids["came_back"], "connected", 40)
    await _event(session, mid, ids["reported_absent"], "absent", -5)
    await _event(session, mid, ids["broken"], "technical_issue", 3, 4)
    await _event(session, mid, ids["present"], "present", 2, 20)
    return Scenario(mid, {role: site.code for role, site in made.items()})


async def arranged(session_factory: Any) -> Scenario:
    async with session_factory() as session, session.begin():
        return await arrange(session)


EXPECTED_ABSENT = {
    "LEFT": Absence.left,
    "REPORTED-ABSENT": Absence.absent,
    "NEVER-SEEN": Absence.never_connected,
    "DECLINED": Absence.declined,
    "BROKEN": Absence.technical_issue,
}


# --- the report's data, on both stores -------------------------------------------------


async def test_totals_equal_the_summary_and_subtotals_add_up(store_session: AsyncSession):
    async with store_session.begin():
        scenario = await arrange(store_session)
    async with store_session.begin():
        report = await attendance_report.build_report(store_session, scenario.meeting_id)
        summary = await attendance.summary(store_session, scenario.meeting_id)
    assert report.totals == summary
    assert (summary.invited, summary.connected, summary.delegates_present) == (10, 5, 49)
    assert [g.name for g in report.clusters] == [None, "Cụm 1", "Cụm 2"]
    assert [(g.subtotal.invited, g.subtotal.connected) for g in report.clusters] == [
        (1, 1),
        (4, 3),
        (5, 1),
    ]
    assert [g.subtotal.delegates_present for g in report.clusters] == [3, 26, 20]
    for field in ("invited", "connected", "delegates_present", "missing"):
        assert sum(getattr(g.subtotal, field) for g in report.clusters) == getattr(summary, field)


async def test_a_report_made_from_kept_rows_equals_one_made_afresh(store_session: AsyncSession):
    """The session page's report keeps each site's row while the snapshot keeps its state
    (report.build_report's `kept`): after a change, the changed site's row is new and the
    whole report is what a report made from nothing gives."""
    async with store_session.begin():
        scenario = await arrange(store_session)
    kept: attendance_report.KeptReportRows = {}
    async with store_session.begin():
        states = await attendance.sites(store_session, scenario.meeting_id)
        first = await attendance_report.build_report(
            store_session, scenario.meeting_id, states=states, kept=kept
        )
    changed = states[0].model_copy(update={"delegates_present": 99})
    again = [changed, *states[1:]]
    async with store_session.begin():
        second = await attendance_report.build_report(
            store_session, scenario.meeting_id, states=again, kept=kept
        )
        afresh = await attendance_report.build_report(
            store_session, scenario.meeting_id, states=again
        )
    rows = [r for g in second.clusters for r in g.rows]
    assert rows == [r for g in afresh.clusters for r in g.rows]
    assert (second.totals, second.absent) == (afresh.totals, afresh.absent)
    assert second.totals != first.totals or changed.attendance_status is None
    by_site = {r.site_id: r for g in first.clusters for r in g.rows}
    assert [r is by_site[r.site_id] for r in rows] == [s.site_id != changed.site_id for s in again]


async def test_absent_list_is_every_site_not_connected_at_the_end(store_session: AsyncSession):
    async with store_session.begin():
        scenario = await arrange(store_session)
    async with store_session.begin():
        report = await attendance_report.build_report(store_session, scenario.meeting_id)
    assert {row.site_code: row.absence for row in report.absent} == EXPECTED_ABSENT
    assert len(report.absent) == report.totals.missing
    # Left and came back counts as there; left for good counts no delegates.
    rows = {row.site_code: row for row in report.rows}
    assert rows["CAME-BACK"].is_connected and rows["CAME-BACK"].delegates == 6
    assert rows["LEFT"].delegates is None


async def test_times_are_in_the_sessions_time_zone(store_session: AsyncSession):
    async with store_session.begin():
        scenario = await arrange(store_session)
    async with store_session.begin():
        report = await attendance_report.build_report(store_session, scenario.meeting_id)
    row = {r.site_code: r for r in report.rows}["LEFT"]
    assert row.joined_at is not None and row.left_at is not None
    assert (row.joined_at.strftime("%d/%m %H:%M"), row.left_at.strftime("%H:%M")) == (
        "20/09 08:00",
        "09:35",
    )
    assert report.starts_at.strftime("%H:%M %Z") == "08:00 JST"


# --- the files, rendered from the report -----------------------------------------------


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with its BOM
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def _summary_of(cells: list[str]) -> tuple[int, int, int]:
    invited, connected, delegates = (cells[i] for i in (8, 9, 10))
    return int(invited), int(connected), int(delegates or 0)


async def test_csv_parses_back_to_the_summary(client: TestClient, session_factory: Any):
    scenario = await arranged(session_factory)
    async with session_factory() as session, session.begin():
        await make_user(session, username="chair", role=Role.chair)
        headers = await bearer(session, "chair")
    response = await client.get(
        f"/api/v1/meetings/{scenario.meeting_id}/attendance.csv", headers=headers
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    disposition = response.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="diem-danh-{scenario.meeting_id}.csv"'
    header, *rows = _csv_rows(await response.read())
    assert header == [VI(m).format(timezone="Asia/Tokyo") for m, _w in COLUMNS]
    assert header[:3] == ["Cụm", "Mã", "Điểm cầu"]
    assert header[6] == "Vào lúc (Asia/Tokyo)"
    sites = [r for r in rows if r[1]]
    sums = [r for r in rows if not r[1]]
    async with session_factory() as session:
        summary = await attendance.summary(session, scenario.meeting_id)
    assert len(sites) == summary.invited
    assert sum(_summary_of(r)[1] for r in sites) == summary.connected
    assert sum(_summary_of(r)[2] for r in sites) == summary.delegates_present
    total = sums[-1]
    assert total[2] == "Tổng cộng"
    assert _summary_of(total) == (summary.invited, summary.connected, summary.delegates_present)
    assert [(r[0], _summary_of(r)) for r in sums[:-1]] == [
        ("Chưa thuộc cụm", (1, 1, 3)),
        ("Cụm 1", (4, 3, 26)),
        ("Cụm 2", (5, 1, 20)),
    ]
    absent = {r[1]: r[12] for r in sites if r[12]}
    assert absent == {
        code: VI(attendance_report.ABSENCE_LABELS[a]) for code, a in EXPECTED_ABSENT.items()
    }
    left = next(r for r in sites if r[1] == "LEFT")
    assert (left[6], left[7]) == ("2030-09-20 08:00", "2030-09-20 09:35")  # Tokyo time


async def test_csv_speaks_english_when_asked(client: TestClient, session_factory: Any):
    scenario = await arranged(session_factory)
    async with session_factory() as session, session.begin():
        await make_user(session, username="org")
        headers = await bearer(session, "org")
    response = await client.get(
        f"/api/v1/meetings/{scenario.meeting_id}/attendance.csv?lang=en", headers=headers
    )
    header, *rows = _csv_rows(await response.read())
    assert header[:3] == ["Cluster", "Code", "Site"]
    assert rows[-1][2] == "Total"


async def test_xlsx_has_bold_subtotals_a_totals_row_and_the_absent_sheet(
    client: TestClient, session_factory: Any
):
    scenario = await arranged(session_factory)
    async with session_factory() as session, session.begin():
        await make_user(session, username="org")
        headers = await bearer(session, "org")
    response = await client.get(
        f"/api/v1/meetings/{scenario.meeting_id}/attendance.xlsx", headers=headers
    )
    assert response.status == 200
    assert response.headers["Content-Type"] == report_files.XLSX_MEDIA_TYPE
    assert response.headers["Content-Disposition"].endswith(
        f'filename="diem-danh-{scenario.meeting_id}.xlsx"'
    )
    book = openpyxl.load_workbook(io.BytesIO(await response.read()))
    assert book.sheetnames == ["Điểm danh", "Vắng mặt"]
    sheet = book["Điểm danh"]
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["C"].width == 40
    rows = list(sheet.iter_rows(min_row=2))
    sums = [r for r in rows if not r[1].value]
    assert all(cell.font.bold for row in sums for cell in row)
    assert not any(cell.font.bold for row in rows if row[1].value for cell in row)
    values = [[c.value for c in r] for r in sums]
    assert [(v[0], v[8], v[9], v[10]) for v in values] == [
        ("Chưa thuộc cụm", 1, 1, 3),
        ("Cụm 1", 4, 3, 26),
        ("Cụm 2", 5, 1, 20),
        (None, 10, 5, 49),
    ]
    assert values[-1][2] == "Tổng cộng"
    left = next(r for r in rows if r[1].value == "LEFT")
    assert left[7].value == datetime(2030, 9, 20, 9, 35)  # Tokyo time, as Excel keeps it
    assert left[7].number_format == "dd/mm/yyyy hh:mm"
    absent_sheet = book["Vắng mặt"]
    assert absent_sheet.freeze_panes == "A2"
    listed = {r[1]: r[5] for r in absent_sheet.iter_rows(min_row=2, values_only=True)}
    assert set(listed) == set(EXPECTED_ABSENT)
    assert listed["DECLINED"] == "Đã báo không tham dự"


# --- the page ---------------------------------------------------------------------------


async def test_page_shows_totals_subtotals_and_absent_sites(
    client: TestClient, session_factory: Any
):
    scenario = await arranged(session_factory)
    async with session_factory() as session, session.begin():
        await make_user(session, username="sec", role=Role.secretary)
    await login(client, "sec")
    response = await client.get(f"/sessions/{scenario.meeting_id}/attendance")
    assert response.status == 200
    html = await response.text()
    assert "Báo cáo điểm danh" in html
    assert (
        '<strong data-total="connected">5</strong> / <span data-total="invited">10</span>' in html
    )
    assert '<strong data-total="delegates">49</strong>' in html
    assert '<strong data-total="missing">5</strong>' in html
    assert "Cộng: Cụm 1" in html
    absent_table = html.split('data-testid="absent-sites"')[1].split("</table>")[0]
    for code in EXPECTED_ABSENT:
        assert f'data-site="{code}"' in absent_table
    assert 'data-site="CAME-BACK"' not in absent_table
    # Times in the session's zone (Tokyo), not UTC (23:00) nor Hanoi (06:00).
    assert "08:00 Thứ Sáu, 20/09/2030" in html
    assert ">09:35</time>" in html
    assert f"/api/v1/meetings/{scenario.meeting_id}/attendance.xlsx" in html


async def test_unknown_session_is_404_everywhere(client: TestClient, session_factory: Any):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org")
        headers = await bearer(session, "org")
    for suffix in ("csv", "xlsx"):
        response = await client.get(f"/api/v1/meetings/999/attendance.{suffix}", headers=headers)
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"
    await login(client, "org")
    assert (await client.get("/sessions/999/attendance")).status == 404


async def test_a_session_without_events_lists_every_site_as_absent(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        cluster = await make_cluster(session, code="CUM-9", name="Cụm 9")
        site = await make_site(session, code="ONLY", cluster_id=cluster.id)
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Tọa đàm",
                starts_at=STARTS,
                ends_at=STARTS + timedelta(hours=1),
                site_ids=[site.id],
            ),
            organiser_id=None,
            default_location="",
        )
        report = await attendance_report.build_report(session, meeting.id)
    assert report.totals == AttendanceSummary(
        invited=1,
        connected=0,
        present=0,
        absent=0,
        missing=1,
        delegates_present=0,
        rehearsal_ok=0,
        rehearsal_problem=0,
    )
    assert [r.absence for r in report.absent] == [Absence.never_connected]
    header, site_row, subtotal, total = _csv_rows(report_files.to_csv(report, EN))
    assert site_row[12] == "Never connected"
    assert _summary_of(total) == (1, 0, 0)
