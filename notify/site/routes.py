"""The routes notify.site contributes: the site's page, its letter and its documents.

The forms and API under a site's link belong to their parts (RSVP: meetings.planning,
check-in: meetings.attendance, contributions: agendas.record)."""

from __future__ import annotations

from meetings.core.routing import Page, Routes
from notify.site import views
from notify.site.links import SITE_PAGE

ROUTES = Routes(
    pages=(
        Page("GET", SITE_PAGE, views.site_page, "site_page"),
        Page(
            "GET",
            r"/s/{site_token}/meetings/{id:\d+}/letter.pdf",
            views.site_letter,
            "site_letter",
        ),
        Page(
            "GET",
            r"/s/{site_token}/meetings/{id:\d+}/documents/{document_id:\d+}",
            views.site_document,
            "site_document",
        ),
    ),
)
