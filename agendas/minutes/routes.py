"""The routes agendas.minutes contributes: its API operations and its pages."""

from __future__ import annotations

from agendas.minutes import api, views
from agendas.record.models import MinutesVersion
from meetings.core.routing import Operation, Page, Param, Routes

ROUTES = Routes(
    api=(
        Operation(
            "POST",
            "/api/v1/meetings/{id}/minutes",
            api.build_minutes,
            "(Re)build the draft minutes from the record; returns {version, status}: the "
            "approved version while the record has not changed since, else the draft with the "
            "parts changed since the last approval",
            response=api.MinutesState,
            tags=("minutes",),
            name="api_build_minutes",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/minutes",
            api.list_minutes_versions,
            "The approved versions of the minutes, newest first",
            response=MinutesVersion,
            is_collection=True,
            tags=("minutes",),
            name="api_list_minutes_versions",
        ),
        Operation(
            "POST",
            "/api/v1/meetings/{id}/minutes/approve",
            api.approve_minutes,
            "Approve the current draft (chair only; after the session): locks it as a version "
            "and queues the notice of conclusions to every invited site",
            response=api.MinutesState,
            status=201,
            tags=("minutes",),
            name="api_approve_minutes",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/minutes.{fmt}",
            api.download_minutes,
            "The minutes as html, docx, pdf or md (?lang=vi|en; ?version=N for an approved "
            "version, else as they stand: the draft awaiting approval or the approved version)",
            query=(
                Param("lang", "vi (default) or en"),
                Param(
                    "version", "an approved version; default: the minutes as they stand", "integer"
                ),
            ),
            response_media=tuple(api.FORMATS.values()),
            tags=("minutes",),
            name="api_download_minutes",
        ),
    ),
    pages=(
        Page("GET", r"/sessions/{id:\d+}/minutes", views.minutes_page, "session_minutes"),
        Page("POST", r"/sessions/{id:\d+}/minutes/approve", views.approve, "minutes_approve"),
        Page("GET", "/chair", views.chair_page, "chair"),
    ),
)
