"""The attendance report of one session: the figures the minutes quote, and their renderings.

`build_report` reads the invited sites' attendance once and derives everything from that
one read: the per-site rows, the per-cluster subtotals, the totals and the absent list. So
the page, the CSV, the workbook and the minutes (#7) show numbers that always add up, even
while check-ins are still arriving (two separate queries could straddle a commit).

The rules are those of `meetings.attendance.summary`, which the totals equal:
- a site is *connected* when its state is connected, present or late;
- delegates count only while the site is connected (a site that left counts none);
- a site is *absent* when it is not connected at the time of the report, which after
  the session's end is its end state: it never connected (or declined the invitation),
  was marked absent, left and did not come back (a reconnection makes it connected again),
  or reported a technical problem. So the absent list has `totals.missing` sites.

Times are shown in the session's time zone, as everywhere in the UI.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.attendance import tracking as attendance
from meetings.attendance.labels import ATTENDANCE_LABELS
from meetings.attendance.models import (
    CONNECTED,
    AttendanceStatus,
    AttendanceSummary,
    RehearsalStatus,
    SiteAttendance,
)
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.planning.labels import RSVP_LABELS
from meetings.planning.lifecycle import get_meeting_row

#: A translation function: an English msgid in, the report's language out.
Translate = Callable[[str], str]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Absence(StrEnum):
    """Why an invited site is on the absent list (the minutes give a reason per site)."""

    declined = "declined"
    never_connected = "never_connected"
    absent = "absent"
    left = "left"
    technical_issue = "technical_issue"


#: The board's labels, plus one for a site that has not been seen at all.
STATUS_LABELS: dict[str, str] = {"": N_("Not connected"), **ATTENDANCE_LABELS}
ABSENCE_LABELS: dict[str, str] = {
    Absence.declined: N_("Declined the invitation"),
    Absence.never_connected: N_("Never connected"),
    Absence.absent: N_("Reported absent"),
    Absence.left: N_("Left and did not come back"),
    Absence.technical_issue: N_("Technical issue"),
}


@dataclass(frozen=True)
class ReportRow:
    """One invited site as the report shows it."""

    site_id: int
    site_code: str
    site_name: str
    cluster_name: str | None
    rsvp: str
    expected_delegates: int | None
    status: AttendanceStatus | None
    #: In the session's time zone.
    joined_at: datetime | None
    left_at: datetime | None
    #: Delegates counted in the totals: the stated number while connected (None: not
    #: stated, or not connected, so not counted).
    delegates: int | None
    officials: tuple[str, ...]
    #: Why the site is absent; None when it is connected.
    absence: Absence | None

    @property
    def is_connected(self) -> bool:
        return self.absence is None


@dataclass(frozen=True)
class ClusterGroup:
    """The sites of one cluster (or of none) and their subtotal."""

    cluster_id: int | None
    name: str | None
    rows: tuple[ReportRow, ...]
    subtotal: AttendanceSummary


@dataclass(frozen=True)
class AttendanceReport:
    meeting_id: int
    title: str
    location: str
    timezone: str
    #: The session's times and the report's moment, in the session's time zone.
    starts_at: datetime
    ends_at: datetime
    generated_at: datetime
    status: str
    clusters: tuple[ClusterGroup, ...]
    totals: AttendanceSummary

    @property
    def rows(self) -> list[ReportRow]:
        return [row for group in self.clusters for row in group.rows]

    @property
    def absent(self) -> list[ReportRow]:
        """Invited sites not connected at the report's moment, in register order."""
        return [row for row in self.rows if not row.is_connected]


def tally(states: Sequence[SiteAttendance]) -> AttendanceSummary:
    """`attendance.summary`'s figures computed from rows already read (same rules)."""
    connected = [s for s in states if s.attendance_status in CONNECTED]
    return AttendanceSummary(
        invited=len(states),
        connected=len(connected),
        present=sum(
            1
            for s in states
            if s.attendance_status in (AttendanceStatus.present, AttendanceStatus.late)
        ),
        absent=sum(1 for s in states if s.attendance_status == AttendanceStatus.absent),
        missing=len(states) - len(connected),
        delegates_present=sum(s.delegates_present or 0 for s in connected),
        rehearsal_ok=sum(1 for s in states if s.rehearsal_status == RehearsalStatus.ok),
        rehearsal_problem=sum(1 for s in states if s.rehearsal_status == RehearsalStatus.problem),
    )


def absence_of(state: SiteAttendance) -> Absence | None:
    status = state.attendance_status
    if status in CONNECTED:
        return None
    if status is None:
        return Absence.declined if state.rsvp == "declined" else Absence.never_connected
    return Absence(status.value)


def _row(state: SiteAttendance, zone: ZoneInfo) -> ReportRow:
    absence = absence_of(state)
    return ReportRow(
        site_id=state.site_id,
        site_code=state.site_code,
        site_name=state.site_name,
        cluster_name=state.cluster_name,
        rsvp=state.rsvp,
        expected_delegates=state.expected_delegates,
        status=state.attendance_status,
        joined_at=state.joined_at.astimezone(zone) if state.joined_at else None,
        left_at=state.left_at.astimezone(zone) if state.left_at else None,
        delegates=state.delegates_present if absence is None else None,
        officials=tuple(state.officials_present),
        absence=absence,
    )


async def build_report(
    session: AsyncSession, meeting_id: int, *, now: datetime | None = None
) -> AttendanceReport:
    """The report of `meeting_id` as of now (NotFound for an unknown session)."""
    meeting = await get_meeting_row(session, meeting_id)
    zone = ZoneInfo(meeting.timezone)
    states = await attendance.sites(session, meeting_id)
    groups: list[tuple[int | None, str | None, list[SiteAttendance]]] = []
    for state in states:  # already grouped by cluster, in register order
        if not groups or groups[-1][0] != state.cluster_id:
            groups.append((state.cluster_id, state.cluster_name, []))
        groups[-1][2].append(state)
    return AttendanceReport(
        meeting_id=meeting_id,
        title=meeting.title,
        location=meeting.location,
        timezone=meeting.timezone,
        starts_at=meeting.starts_at.astimezone(zone),
        ends_at=meeting.ends_at.astimezone(zone),
        generated_at=(now or utcnow()).astimezone(zone),
        status=meeting.status,
        clusters=tuple(
            ClusterGroup(
                cluster_id=cluster_id,
                name=name,
                rows=tuple(_row(s, zone) for s in members),
                subtotal=tally(members),
            )
            for cluster_id, name, members in groups
        ),
        totals=tally(states),
    )


# --- the table both files share --------------------------------------------------------

#: Columns of the per-site table: (msgid, width in the workbook). `{timezone}` is filled.
COLUMNS: tuple[tuple[str, int], ...] = (
    (N_("Cluster"), 18),
    (N_("Code"), 10),
    (N_("Site"), 40),
    (N_("Answer"), 14),
    (N_("Expected delegates"), 10),
    (N_("Attendance"), 14),
    (N_("Joined ({timezone})"), 17),
    (N_("Left ({timezone})"), 17),
    (N_("Invited"), 9),
    (N_("Connected"), 10),
    (N_("Delegates present"), 10),
    (N_("Officials present"), 36),
    (N_("Absence"), 28),
)
ABSENT_COLUMNS: tuple[tuple[str, int], ...] = (
    (N_("Cluster"), 18),
    (N_("Code"), 10),
    (N_("Site"), 40),
    (N_("Answer"), 14),
    (N_("Left ({timezone})"), 17),
    (N_("Reason"), 30),
)
Cell = str | int | datetime | None


def _header(
    columns: Sequence[tuple[str, int]], report: AttendanceReport, _: Translate
) -> list[str]:
    return [_(msgid).format(timezone=report.timezone) for msgid, _width in columns]


def _local(moment: datetime | None) -> datetime | None:
    """A local time without its zone (spreadsheets keep no zone; the header names it)."""
    return moment.replace(tzinfo=None) if moment else None


def _site_cells(row: ReportRow, _: Translate) -> list[Cell]:
    return [
        row.cluster_name or _("Without cluster"),
        row.site_code,
        row.site_name,
        _(RSVP_LABELS.get(row.rsvp, row.rsvp)),
        row.expected_delegates,
        _(STATUS_LABELS[row.status or ""]),
        _local(row.joined_at),
        _local(row.left_at),
        1,
        int(row.is_connected),
        row.delegates,
        "; ".join(row.officials),
        _(ABSENCE_LABELS[row.absence]) if row.absence else "",
    ]


def _sum_cells(label: str, cluster: str, figures: AttendanceSummary) -> list[Cell]:
    """A subtotal or total row: empty code, so a program reading the file skips it."""
    return [
        cluster,
        "",
        label,
        "",
        None,
        "",
        None,
        None,
        figures.invited,
        figures.connected,
        figures.delegates_present,
        "",
        "",
    ]


def table(report: AttendanceReport, _: Translate) -> list[tuple[str, list[Cell]]]:
    """The per-site table: ("site" | "subtotal" | "total", cells), in the files' order."""
    lines: list[tuple[str, list[Cell]]] = []
    for group in report.clusters:
        lines += [("site", _site_cells(row, _)) for row in group.rows]
        name = group.name or _("Without cluster")
        lines.append(("subtotal", _sum_cells(_("Subtotal"), name, group.subtotal)))
    lines.append(("total", _sum_cells(_("Total"), "", report.totals)))
    return lines


def _absent_cells(row: ReportRow, _: Translate) -> list[Cell]:
    return [
        row.cluster_name or _("Without cluster"),
        row.site_code,
        row.site_name,
        _(RSVP_LABELS.get(row.rsvp, row.rsvp)),
        _local(row.left_at),
        _(ABSENCE_LABELS[row.absence]) if row.absence else "",
    ]


# --- CSV -------------------------------------------------------------------------------


def to_csv(report: AttendanceReport, _: Translate) -> bytes:
    """The per-site table with subtotal and total rows (those have an empty code).

    UTF-8 with a BOM so that Excel shows Vietnamese; times as `YYYY-MM-DD HH:MM` in the
    session's zone, named in the header. The absent sites are the rows with an absence.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_header(COLUMNS, report, _))
    for _kind, cells in table(report, _):
        writer.writerow([_csv_text(cell) for cell in cells])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _csv_text(cell: Cell) -> str | int:
    if isinstance(cell, datetime):
        return cell.strftime("%Y-%m-%d %H:%M")
    return "" if cell is None else cell


# --- XLSX ------------------------------------------------------------------------------

_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="DDE6F2")
_SUM_FILL = PatternFill("solid", fgColor="F2F2F2")
_RULE = Border(top=Side(style="thin"))
_TIME_FORMAT = "dd/mm/yyyy hh:mm"


def _sheet(
    sheet: Worksheet,
    header: list[str],
    widths: Sequence[int],
    lines: Sequence[tuple[str, list[Cell]]],
    heading: str,
) -> None:
    """Header frozen and repeated on every printed page, widths set, sums in bold."""
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for kind, cells in lines:
        sheet.append(cells)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, datetime):
                cell.number_format = _TIME_FORMAT
            if kind != "site":
                cell.font = _BOLD
                cell.fill = _SUM_FILL
            if kind == "total":
                cell.border = _RULE
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.oddHeader.center.text = heading.replace("&", "&&")


def to_xlsx(report: AttendanceReport, _: Translate) -> bytes:
    """Two sheets: every site with cluster subtotals and the total; the absent sites."""
    book = Workbook()
    book.properties.title = f"{_('Attendance report')}: {report.title}"
    heading = (
        f"{report.title} — {report.starts_at:%d/%m/%Y %H:%M} ({report.timezone}); "
        f"{_('as of')} {report.generated_at:%d/%m/%Y %H:%M}"
    )
    sites_sheet = book.worksheets[0]
    sites_sheet.title = _sheet_title(_("Attendance"))
    _sheet(
        sites_sheet,
        _header(COLUMNS, report, _),
        [w for _m, w in COLUMNS],
        table(report, _),
        heading,
    )
    absent_sheet = book.create_sheet(_sheet_title(_("Absent")))
    _sheet(
        absent_sheet,
        _header(ABSENT_COLUMNS, report, _),
        [w for _m, w in ABSENT_COLUMNS],
        [("site", _absent_cells(row, _)) for row in report.absent],
        heading,
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(text: str) -> str:
    """Excel refuses sheet names over 31 characters or with []:*?/\\ in them."""
    return "".join(" " if c in "[]:*?/\\" else c for c in text)[:31]
