"""The routes agendas.yearly contributes: the year at a glance (issue #16, point 5)."""

from __future__ import annotations

from agendas.yearly import api, views
from agendas.yearly.files import PDF_MEDIA_TYPE, XLSX_MEDIA_TYPE
from agendas.yearly.models import YearlyPublic
from meetings.core.routing import Operation, Page, Param, Routes

FILTERS = (
    Param("year", "the calendar year in the office's zone (default: this year)", "integer"),
    Param("series", "one series' sessions (default: all)", "integer"),
    Param("lang", "vi or en (default: the organisation's)"),
)

ROUTES = Routes(
    api=(
        Operation(
            "GET",
            "/api/v1/yearly",
            api.get_yearly,
            "The year at a glance: attendance, RSVPs on time, reports on time, "
            "recommendations answered and actions done on time, in total, per cluster, per "
            "session and per site (office roles)",
            response=YearlyPublic,
            query=FILTERS,
            tags=("yearly",),
            name="api_get_yearly",
        ),
        Operation(
            "GET",
            "/api/v1/yearly.xlsx",
            api.yearly_xlsx,
            "The yearly summary report as a workbook: cover with the totals, clusters, "
            "sessions and every site",
            query=FILTERS,
            response_media=XLSX_MEDIA_TYPE,
            tags=("yearly",),
            name="api_yearly_xlsx",
        ),
        Operation(
            "GET",
            "/api/v1/yearly.pdf",
            api.yearly_pdf,
            "The yearly summary report as PDF: totals, clusters, sessions, the charts and "
            "the sites below the attendance threshold",
            query=FILTERS,
            response_media=PDF_MEDIA_TYPE,
            tags=("yearly",),
            name="api_yearly_pdf",
        ),
    ),
    pages=(
        Page("GET", "/yearly", views.yearly_page, name="yearly"),
        Page("GET", "/yearly/chart.svg", views.yearly_chart, name="yearly_chart"),
    ),
)
