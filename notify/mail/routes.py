"""The routes notify.mail contributes: its API operations and its pages."""

from __future__ import annotations

from meetings.core.routing import PAGING, Operation, Page, Param, Routes
from notify.mail import api, views
from notify.mail.models import MessagePublic
from notify.site.links import SITE_FEED

ROUTES = Routes(
    api=(
        Operation(
            "POST",
            "/api/v1/meetings/{id}/invitations",
            api.queue_invitations,
            "Queue invitations (or updates) to every contact of every invited site, and "
            "cancellations to sites removed since; send_at delays them",
            body=api.InvitationsRequest,
            response=api.InvitationsQueued,
            status=202,
            tags=("invitations",),
            name="api_queue_invitations",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/messages",
            api.list_messages,
            "The session's outbox: one row per recipient and message",
            response=MessagePublic,
            is_collection=True,
            query=PAGING,
            tags=("invitations",),
            name="api_list_messages",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/messages/summary",
            api.delivery_summary,
            "How far sending has got: counts by status (the progress bar polls this)",
            response=api.DeliverySummaryOut,
            tags=("invitations",),
            name="api_delivery_summary",
        ),
        Operation(
            "POST",
            "/api/v1/meetings/{id}/messages/{message_id}/resend",
            api.resend_message,
            "Send one recipient's message again (a failed one is re-queued as it is)",
            response=MessagePublic,
            status=202,
            tags=("invitations",),
            name="api_resend_message",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/invitations/preview",
            api.preview_invitations,
            "Who would get what if invitations were sent now (nothing is queued), and the "
            "invited sites no e-mail can reach (no address, or every address bounced)",
            response=api.PreviewOut,
            tags=("invitations",),
            name="api_preview_invitations",
        ),
        Operation(
            "POST",
            "/api/v1/sites/{id}/link",
            api.revoke_site_link,
            "Revoke the site's personal link and issue a new one",
            response=api.SiteLinkOut,
            tags=("register",),
            name="api_revoke_site_link",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/calendar.ics",
            api.meeting_calendar,
            "The session as iCalendar (METHOD:PUBLISH)",
            response_media="text/calendar",
            tags=("invitations",),
            name="api_meeting_calendar",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/letter.pdf",
            api.meeting_letter,
            "The invitation letter (giấy mời) as PDF, in the administrative format; to all "
            "invited sites, or to one with site_id (404 unless invited)",
            response_media="application/pdf",
            query=(
                Param("site_id", "address the letter to this invited site", "integer"),
                Param("locale", "vi or en (default: the organisation's)"),
            ),
            tags=("invitations",),
            name="api_meeting_letter",
        ),
        Operation(
            "GET",
            SITE_FEED,
            api.site_feed,
            "A site's subscription feed: all its sessions, cancelled ones as cancelled "
            "(authorised by the site's secret link alone)",
            response_media="text/calendar",
            tags=("sites",),
            name="api_site_feed",
        ),
    ),
    pages=(
        Page("POST", r"/sessions/{id:\d+}/invitations", views.send_invitations, "session_send"),
        Page(
            "POST",
            r"/sessions/{id:\d+}/messages/{message_id:\d+}/resend",
            views.resend_message,
            "session_resend",
        ),
        Page(
            "GET",
            r"/sessions/{id:\d+}/messages/{message_id:\d+}",
            views.view_message,
            "session_message",
        ),
        Page("POST", r"/sites/{id:\d+}/link", views.revoke_site_link, "site_link_revoke"),
    ),
)
