"""The yearly summary report as files the office can file: a workbook (every site) and a
PDF of a few pages (the totals, the clusters, the sessions, the charts, and the sites whose
attendance fell below a threshold). Both are blocking: run them in a worker thread."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from agendas.yearly import charts
from agendas.yearly.labels import COUNT_LABELS, MEASURE_LABELS
from agendas.yearly.stats import MEASURES, Figures, SiteRow, YearlyReport
from meetings.core.admin_format import html_to_pdf
from meetings.core.i18n import document_environment, translations
from meetings.core.spreadsheets import as_text, needs_quote

Translate = Callable[[str], str]
Cell = str | int | float | datetime | None

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_MEDIA_TYPE = "application/pdf"
#: The PDF lists the sites whose attendance rate is below this (percent), the lowest first.
ATTENDANCE_THRESHOLD = 50.0
#: …and at most this many of them (the workbook has every site).
PDF_SITE_LIMIT = 30
_BOLD = Font(bold=True)


def measure_header(gettext: Translate) -> list[str]:
    """Three columns per measure: the count, out of how many, the rate in percent."""
    cells: list[str] = []
    for measure, label in MEASURE_LABELS.items():
        count_label, whole_label = COUNT_LABELS[measure]
        cells += [
            f"{gettext(label)}: {gettext(count_label)}",
            f"{gettext(label)}: {gettext(whole_label)}",
            f"{gettext(label)} (%)",
        ]
    return cells


def measure_cells(figures: Figures) -> list[Cell]:
    rates = figures.rates()
    cells: list[Cell] = []
    for part, whole in MEASURES:
        cells += [getattr(figures, part), getattr(figures, whole), rates[part]]
    return cells


def cluster_rows(report: YearlyReport, gettext: Translate) -> list[list[Cell]]:
    rows: list[list[Cell]] = [
        [c.name or gettext("Without cluster"), *measure_cells(c.figures)] for c in report.clusters
    ]
    rows.append([gettext("Total"), *measure_cells(report.totals)])
    return rows


def session_rows(report: YearlyReport) -> list[list[Cell]]:
    return [
        [
            f"{row.starts_at.astimezone(ZoneInfo(row.timezone)):%d/%m/%Y}",
            row.title,
            *measure_cells(row.figures),
        ]
        for row in report.sessions
    ]


def site_rows(
    report: YearlyReport, sites: Sequence[SiteRow], gettext: Translate
) -> list[list[Cell]]:
    return [
        [
            report.cluster_name(site.cluster_id) or gettext("Without cluster"),
            site.code,
            site.name,
            *measure_cells(site.figures),
        ]
        for site in sites
    ]


def compact(figures: Figures) -> list[str]:
    """Each measure as one short cell: "80.0 % (8/10)", or "—" with nothing to count."""
    rates = figures.rates()
    return [
        "—"
        if rates[part] is None
        else f"{rates[part]:.1f} % ({getattr(figures, part)}/{getattr(figures, whole)})"
        for part, whole in MEASURES
    ]


def low_attendance(report: YearlyReport) -> list[SiteRow]:
    """The sites below the threshold, the lowest first."""
    rated = [(s.figures.rates()["attended"], s) for s in report.sites]
    low = [(r, s) for r, s in rated if r is not None and r < ATTENDANCE_THRESHOLD]
    low.sort(key=lambda pair: (pair[0], pair[1].code))
    return [s for _r, s in low]


def heading(report: YearlyReport, gettext: Translate) -> str:
    series = report.series_name or gettext("All series")
    return f"{gettext('The year at a glance')} {report.year} · {series}"


# --- XLSX --------------------------------------------------------------------------------


def _cell(sheet: WriteOnlyWorksheet, value: Cell, *, bold: bool = False) -> object:
    """Text that a spreadsheet would run as a formula stays text; headers in bold."""
    if not bold and not (isinstance(value, str) and needs_quote(value)):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    as_text(cell)
    if bold:
        cell.font = _BOLD
    return cell


def _table(
    book: Workbook, title: str, header: list[str], rows: list[list[Cell]], widths: list[int]
) -> None:
    sheet = book.create_sheet(_sheet_title(title))
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, label, bold=True) for label in header])
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])


def to_xlsx(report: YearlyReport, *, organisation: str, locale: str) -> bytes:
    """Four sheets: the cover with the totals, the clusters, the sessions, every site."""
    gettext = translations(locale).gettext
    book = Workbook(write_only=True)
    book.properties.title = heading(report, gettext)
    measures = measure_header(gettext)
    cover = book.create_sheet(_sheet_title(gettext("Summary")))
    cover.column_dimensions["A"].width = 40
    cover.column_dimensions["B"].width = 50
    for label, value in (
        (gettext("Organisation"), organisation),
        (gettext("Year"), report.year),
        (gettext("Series"), report.series_name or gettext("All series")),
        (gettext("Sessions"), len(report.sessions)),
        (gettext("Generated"), report.generated_at.replace(tzinfo=None)),
    ):
        cover.append([_cell(cover, label, bold=True), _cell(cover, value)])
    cover.append([])
    for label, figure in zip(measures, measure_cells(report.totals), strict=True):
        cover.append([_cell(cover, label, bold=True), figure])
    _table(
        book,
        gettext("Clusters"),
        [gettext("Cluster"), *measures],
        cluster_rows(report, gettext),
        [24],
    )
    _table(
        book,
        gettext("Sessions"),
        [gettext("Date"), gettext("Session"), *measures],
        session_rows(report),
        [12, 40],
    )
    _table(
        book,
        gettext("Sites"),
        [gettext("Cluster"), gettext("Code"), gettext("Site"), *measures],
        site_rows(report, report.sites, gettext),
        [20, 10, 40],
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(text: str) -> str:
    """Excel refuses sheet names over 31 characters or with []:*?/\\ in them."""
    return "".join(" " if c in "[]:*?/\\" else c for c in text)[:31]


# --- PDF ---------------------------------------------------------------------------------


def to_html(report: YearlyReport, *, organisation: str, locale: str) -> str:
    """The PDF's source: a print-ready document with the charts as embedded SVG."""
    catalog = translations(locale)
    gettext = catalog.gettext
    low = low_attendance(report)
    images = [charts.data_uri(report, name, gettext) for name in charts.PDF_CHARTS]
    return (
        document_environment()
        .get_template("yearly/yearly_report.html")
        .render(
            report=report,
            organisation=organisation,
            heading=heading(report, gettext),
            locale=locale,
            translations=catalog,
            labels=[gettext(label) for label in MEASURE_LABELS.values()],
            totals=compact(report.totals),
            clusters=[
                (c.name or gettext("Without cluster"), compact(c.figures)) for c in report.clusters
            ],
            sessions=[
                (row[0], row[1], compact(s.figures))
                for row, s in zip(session_rows(report), report.sessions, strict=True)
            ],
            low_sites=[
                (
                    report.cluster_name(s.cluster_id) or gettext("Without cluster"),
                    s.code,
                    s.name,
                    compact(s.figures),
                )
                for s in low[:PDF_SITE_LIMIT]
            ],
            low_more=max(0, len(low) - PDF_SITE_LIMIT),
            threshold=ATTENDANCE_THRESHOLD,
            charts=images,
        )
    )


def to_pdf(report: YearlyReport, *, organisation: str, locale: str) -> bytes:
    return html_to_pdf(to_html(report, organisation=organisation, locale=locale))
