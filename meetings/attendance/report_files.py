"""The attendance report as CSV and XLSX: one per-site table with its sums, two files."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.cell.cell import Cell as OpenpyxlCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.header_footer import HeaderFooterItem

from meetings.attendance.models import AttendanceSummary
from meetings.attendance.report import ABSENCE_LABELS, STATUS_LABELS, AttendanceReport, ReportRow
from meetings.core.labels import N_
from meetings.core.spreadsheets import as_text, needs_quote, protect
from meetings.planning.labels import RSVP_LABELS

#: A translation function: an English msgid in, the report's language out.
Translate = Callable[[str], str]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

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


def to_csv(report: AttendanceReport, _: Translate) -> bytes:
    """The per-site table with subtotal and total rows (those have an empty code).

    UTF-8 with a BOM so that Excel shows Vietnamese; times as `YYYY-MM-DD HH:MM` in the
    session's zone, named in the header. The absent sites are the rows with an absence.
    A text a spreadsheet would run as a formula is quoted (`meetings.core.spreadsheets`).
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_csv_text(label) for label in _header(COLUMNS, report, _)])
    for _kind, cells in table(report, _):
        writer.writerow([_csv_text(cell) for cell in cells])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _csv_text(cell: Cell) -> str | int:
    if isinstance(cell, datetime):
        return cell.strftime("%Y-%m-%d %H:%M")
    if isinstance(cell, str):
        return protect(cell)
    return "" if cell is None else cell


_BOLD = Font(bold=True)

_HEAD_FILL = PatternFill("solid", fgColor="DDE6F2")

_SUM_FILL = PatternFill("solid", fgColor="F2F2F2")

_RULE = Border(top=Side(style="thin"))

_TIME_FORMAT = "dd/mm/yyyy hh:mm"

_HEAD_ALIGNMENT = Alignment(wrap_text=True, vertical="top")


def _cell(sheet: WriteOnlyWorksheet, value: Cell, kind: str) -> OpenpyxlCell | Cell:
    """One cell of a row of `kind`: every text a string (never a formula), times in the
    house format, sums in bold on grey, the total ruled above, the header bold on blue.

    A site's number, empty cell or plain text goes as the bare value (openpyxl writes it
    as that type, with no style): a styled cell costs several times more to write."""
    if kind == "site" and not isinstance(value, datetime):
        if not isinstance(value, str) or not (needs_quote(value) or value in ERROR_CODES):
            return value
    cell = WriteOnlyCell(sheet, value)
    as_text(cell)
    if isinstance(value, datetime):
        cell.number_format = _TIME_FORMAT
    if kind == "header":
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
        cell.alignment = _HEAD_ALIGNMENT
    elif kind != "site":
        cell.font = _BOLD
        cell.fill = _SUM_FILL
        if kind == "total":
            cell.border = _RULE
    return cell


def _sheet(
    book: Workbook,
    title: str,
    header: list[str],
    widths: Sequence[int],
    lines: Sequence[tuple[str, list[Cell]]],
    heading: str,
) -> None:
    """Header frozen and repeated on every printed page, widths set, sums in bold; every
    text a string cell, never a formula (a site may be named "=HYPERLINK(...)").

    A write-only sheet: each row goes out as it is appended, so a sheet of 10,000 sites
    costs ten times one of 1,000 (a normal sheet's `sheet[sheet.max_row]` after each
    append went over every cell so far). So its layout is set before the first row."""
    sheet = book.create_sheet(title)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.page_setup.fitToPage = True
    page_header = HeaderFooterItem()
    page_header.center.text = heading.replace("&", "&&")
    sheet.oddHeader = page_header
    sheet.append([_cell(sheet, text, "header") for text in header])
    for kind, cells in lines:
        sheet.append([_cell(sheet, value, kind) for value in cells])


def to_xlsx(report: AttendanceReport, _: Translate) -> bytes:
    """Two sheets: every site with cluster subtotals and the total; the absent sites."""
    book = Workbook(write_only=True)
    book.properties.title = f"{_('Attendance report')}: {report.title}"
    heading = (
        f"{report.title} — {report.starts_at:%d/%m/%Y %H:%M} ({report.timezone}); "
        f"{_('as of')} {report.generated_at:%d/%m/%Y %H:%M}"
    )
    _sheet(
        book,
        _sheet_title(_("Attendance")),
        _header(COLUMNS, report, _),
        [w for _m, w in COLUMNS],
        table(report, _),
        heading,
    )
    _sheet(
        book,
        _sheet_title(_("Absent")),
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
