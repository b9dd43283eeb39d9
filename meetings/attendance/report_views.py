"""The attendance report over HTTP: CSV and XLSX downloads and the printable page.

Thin: each handler builds the report (one read of the session's attendance) and hands it
to a renderer in `meetings.attendance.report_files`, in the caller's language (`?lang=en`).
"""

from __future__ import annotations

import asyncio
from functools import partial

from aiohttp import web

from meetings.attendance import report as attendance_report
from meetings.attendance import report_files
from meetings.attendance.report import ABSENCE_LABELS, STATUS_LABELS, AttendanceReport
from meetings.core.access import ANY_ROLE, allow
from meetings.core.keys import translations_key
from meetings.core.pages import render
from meetings.core.web import db, download, path_id


async def _report(request: web.Request) -> AttendanceReport:
    async with db(request) as session:
        return await attendance_report.build_report(session, path_id(request))


@allow(*ANY_ROLE)
async def attendance_csv(request: web.Request) -> web.Response:
    report = await _report(request)
    body = report_files.to_csv(report, request[translations_key].gettext)
    return download(body, "text/csv; charset=utf-8", f"diem-danh-{report.meeting_id}.csv")


@allow(*ANY_ROLE)
async def attendance_xlsx(request: web.Request) -> web.Response:
    """Built in an executor: a workbook of thousands of sites takes a while to write."""
    report = await _report(request)
    body = await asyncio.get_running_loop().run_in_executor(
        None, partial(report_files.to_xlsx, report, request[translations_key].gettext)
    )
    return download(body, report_files.XLSX_MEDIA_TYPE, f"diem-danh-{report.meeting_id}.xlsx")


@allow(*ANY_ROLE)
async def attendance_page(request: web.Request) -> web.Response:
    report = await _report(request)
    return render(
        request,
        "attendance/report.html",
        {
            "report": report,
            "status_labels": STATUS_LABELS,
            "absence_labels": ABSENCE_LABELS,
            "tz": report.timezone,
        },
    )
