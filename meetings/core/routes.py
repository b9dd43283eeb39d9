"""The routes meetings.core contributes: health, the OpenAPI document, dashboard, language."""

from __future__ import annotations

from meetings.core import api, observe, views
from meetings.core.routing import Page, Routes

ROUTES = Routes(
    pages=(
        Page("GET", "/healthz", api.health, "health"),
        Page("GET", "/readyz", observe.readyz, "ready"),
        Page("GET", "/metrics", observe.metrics, "metrics"),
        Page("GET", "/api/v1/openapi.json", api.openapi_document, "openapi"),
        Page("GET", "/", views.dashboard, "dashboard"),
        Page("GET", "/lang/{locale}", views.choose_language, "language"),
    ),
)
