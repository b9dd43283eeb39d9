"""The routes of the reports requested from sites (meetings.planning.report_views)."""

from __future__ import annotations

from meetings.core.routing import PAGING, Operation, Page, Param, Routes
from meetings.planning import report_views as views
from meetings.planning.request_models import (
    ReportRequestCreate,
    ReportRequestPublic,
    RequestSitesPublic,
)

ROUTES = Routes(
    api=(
        Operation(
            "GET",
            "/api/v1/meetings/{id}/report-requests",
            views.list_requests,
            "Reports requested from the session's sites, soonest due first",
            response=ReportRequestPublic,
            is_collection=True,
            tags=("sessions",),
            name="api_list_report_requests",
        ),
        Operation(
            "POST",
            "/api/v1/meetings/{id}/report-requests",
            views.create_request,
            "Ask every invited site for a report (deadline: the documents deadline unless given)",
            body=ReportRequestCreate,
            response=ReportRequestPublic,
            status=201,
            tags=("sessions",),
            name="api_create_report_request",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/report-requests/{request_id}/sites",
            views.request_sites,
            "Who sent the report, late or not, and who has not (counts and a page of sites)",
            response=RequestSitesPublic,
            query=(Param("state", "sent, late or missing (default: every site)"), *PAGING),
            tags=("sessions",),
            name="api_report_request_sites",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/report-requests/{request_id}/reports.zip",
            views.download_reports,
            "Every received report in one ZIP, named '<site code> - <site name>.<ext>'",
            response_media=("application/zip",),
            tags=("sessions",),
            name="api_download_reports",
        ),
    ),
    pages=(
        Page(
            "POST",
            r"/sessions/{id:\d+}/report-requests",
            views.session_request_create,
            "session_report_request_create",
        ),
        Page(
            "GET",
            r"/sessions/{id:\d+}/report-requests/{request_id:\d+}",
            views.session_request_page,
            "session_report_request",
        ),
        Page(
            "POST",
            r"/s/{site_token}/meetings/{id:\d+}/reports/{request_id:\d+}",
            views.site_report_upload,
            "site_report_upload",
        ),
    ),
)
