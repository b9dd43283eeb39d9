"""The routes meetings.attendance contributes: its API operations and its pages."""

from __future__ import annotations

from meetings.attendance import api, report_views, views
from meetings.attendance.models import (
    AttendanceBoard,
    AttendanceIn,
    CheckIn,
    RehearsalIn,
    SiteAttendance,
)
from meetings.core.routing import Operation, Page, Param, Routes

ROUTES = Routes(
    api=(
        Operation(
            "GET",
            "/api/v1/meetings/{id}/attendance.csv",
            report_views.attendance_csv,
            "Attendance report as CSV (UTF-8 with BOM): one row per site, then cluster "
            "subtotals and the total (rows with an empty code); times in the session's zone",
            query=(Param("lang", "vi or en: the headers' language (default: the organisation's)"),),
            response_media="text/csv",
            tags=("attendance",),
            name="api_attendance_csv",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/attendance.xlsx",
            report_views.attendance_xlsx,
            "Attendance report as an Excel workbook: sites with cluster subtotals and the "
            "total, and a sheet of the absent sites",
            query=(Param("lang", "vi or en: the headers' language (default: the organisation's)"),),
            response_media="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            tags=("attendance",),
            name="api_attendance_xlsx",
        ),
        Operation(
            "POST",
            "/api/v1/meetings/{id}/attendance",
            api.record_attendance,
            "Record an attendance event for an invited site (organisers)",
            body=AttendanceIn,
            response=SiteAttendance,
            tags=("attendance",),
            name="api_record_attendance",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/attendance",
            api.get_attendance,
            "Attendance now: totals, each site's state, the latest events",
            response=AttendanceBoard,
            tags=("attendance",),
            name="api_get_attendance",
        ),
        Operation(
            "POST",
            "/api/v1/meetings/{id}/rehearsal",
            api.record_rehearsal,
            "Record a site's technical rehearsal: tested, ok or problem (with a note)",
            body=RehearsalIn,
            response=SiteAttendance,
            tags=("attendance",),
            name="api_record_rehearsal",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/live",
            api.live_stream,
            "Server-Sent Events: `snapshot` on connect, then `update` with changed sites and "
            "the totals",
            response_media="text/event-stream",
            tags=("attendance",),
            name="api_live_stream",
        ),
        Operation(
            "POST",
            "/api/v1/site/{site_token}/meetings/{id}/check-in",
            api.post_site_check_in,
            "The site checks itself in with its delegates (site link; repeats change nothing)",
            body=CheckIn,
            response=SiteAttendance,
            tags=("sites",),
            name="api_post_site_check_in",
        ),
    ),
    pages=(
        Page(
            "GET",
            r"/sessions/{id:\d+}/attendance",
            report_views.attendance_page,
            "session_attendance",
        ),
        Page("GET", r"/sessions/{id:\d+}/board", views.board_page, "session_board"),
        Page(
            "POST",
            r"/sessions/{id:\d+}/board/{site_id:\d+}",
            views.board_action,
            "session_board_action",
        ),
        Page(
            "POST",
            r"/s/{site_token}/meetings/{id:\d+}/check-in",
            views.site_check_in_submit,
            "site_check_in",
        ),
    ),
)
