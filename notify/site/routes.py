"""The routes notify.site contributes: its API operations and its pages."""

from __future__ import annotations

from agendas.record.models import ContributionPublic, SiteContributionIn
from meetings.attendance.models import CheckIn, SiteAttendance
from meetings.core.routing import Operation, Page, Routes
from meetings.planning.rsvp import RsvpIn, RsvpOut
from notify.site import views

ROUTES = Routes(
    api=(
        Operation(
            "POST",
            "/api/v1/site/{site_token}/meetings/{id}/check-in",
            views.post_site_check_in,
            "The site checks itself in with its delegates (site link; repeats change nothing)",
            body=CheckIn,
            response=SiteAttendance,
            tags=("sites",),
        ),
        Operation(
            "GET",
            "/api/v1/site/{site_token}/meetings/{id}/rsvp",
            views.get_site_rsvp,
            "The site's answer to a session's invitation (site link)",
            response=RsvpOut,
            tags=("sites",),
        ),
        Operation(
            "POST",
            "/api/v1/site/{site_token}/meetings/{id}/rsvp",
            views.post_site_rsvp,
            "Answer a session's invitation: accepted (with expected delegates), tentative or "
            "declined; the last answer counts (site link)",
            body=RsvpIn,
            response=RsvpOut,
            tags=("sites",),
        ),
        Operation(
            "POST",
            "/api/v1/site/{site_token}/meetings/{id}/contributions",
            views.post_site_contribution,
            "A site submits its own contribution or recommendation (site link)",
            body=SiteContributionIn,
            response=ContributionPublic,
            status=201,
            tags=("sites",),
        ),
    ),
    pages=(
        Page(
            "POST",
            r"/s/{site_token}/meetings/{id:\d+}/check-in",
            views.site_check_in_submit,
            "site_check_in",
        ),
        Page(
            "POST",
            r"/s/{site_token}/meetings/{id:\d+}/contributions",
            views.site_contribution_submit,
            "site_contribution",
        ),
        Page("GET", "/s/{site_token}", views.site_page, "site_page"),
        Page(
            "GET",
            r"/s/{site_token}/meetings/{id:\d+}/letter.pdf",
            views.site_letter,
            "site_letter",
        ),
        Page(
            "POST",
            r"/s/{site_token}/meetings/{id:\d+}/rsvp",
            views.site_rsvp_submit,
            "site_rsvp",
        ),
        Page(
            "GET",
            r"/s/{site_token}/meetings/{id:\d+}/documents/{document_id:\d+}",
            views.site_document,
            "site_document",
        ),
    ),
)
