"""The routes meetings.planning contributes: its API operations and its pages."""

from __future__ import annotations

from meetings.core.routing import PAGING, Operation, Page, Param, Routes
from meetings.planning import api, documents, report_views, views
from meetings.planning.document_models import DocumentPublic
from meetings.planning.models import (
    MeetingCancel,
    MeetingCreate,
    MeetingPublic,
    MeetingUpdate,
    ParticipationPublic,
    StatusChangePublic,
)
from meetings.planning.request_models import (
    ChasePublic,
    ReportRequestCreate,
    ReportRequestPublic,
    RequestSitesPublic,
)
from meetings.planning.rsvp import RsvpIn, RsvpOut

ROUTES = Routes(
    api=(
        Operation(
            "GET",
            "/api/v1/meetings",
            api.list_meetings,
            "List sessions (upcoming soonest first; past and cancelled latest first)",
            response=MeetingPublic,
            is_collection=True,
            query=(
                Param("period", "upcoming, past, cancelled or all (default)"),
                Param("kind", "briefing, seminar, cluster_meeting or conference"),
                Param("cluster_id", "sessions inviting sites of this cluster", "integer"),
                Param("q", "search in title and place (diacritics optional)"),
                *PAGING,
            ),
            tags=("sessions",),
            name="api_list_meetings",
        ),
        Operation(
            "POST",
            "/api/v1/meetings",
            api.create_meeting,
            "Plan a session and invite sites (all, clusters, single sites, minus some)",
            body=MeetingCreate,
            response=MeetingPublic,
            status=201,
            tags=("sessions",),
            name="api_create_meeting",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}",
            api.get_meeting,
            "One session, with warnings (overlapping invitations)",
            response=MeetingPublic,
            tags=("sessions",),
            name="api_get_meeting",
        ),
        Operation(
            "PATCH",
            "/api/v1/meetings/{id}",
            api.update_meeting,
            "Change a session; time, place or link bump the calendar sequence; status "
            "follows draft → scheduled → live → ended (stale version → 409)",
            body=MeetingUpdate,
            response=MeetingPublic,
            tags=("sessions",),
            name="api_update_meeting",
        ),
        Operation(
            "POST",
            "/api/v1/meetings/{id}/cancel",
            api.cancel_meeting,
            "Cancel a session with a reason",
            body=MeetingCancel,
            response=MeetingPublic,
            tags=("sessions",),
            name="api_cancel_meeting",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/participations",
            api.list_participations,
            "Invited sites with their answer, local time and attendance",
            response=ParticipationPublic,
            is_collection=True,
            tags=("sessions",),
            name="api_list_participations",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/status-changes",
            api.list_status_changes,
            "Who changed the session's status, when, and why (a cancellation, a start "
            "before the session's day), oldest first",
            response=StatusChangePublic,
            is_collection=True,
            tags=("sessions",),
            name="api_list_status_changes",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/documents",
            api.list_documents,
            "Documents shared with the sites",
            response=DocumentPublic,
            is_collection=True,
            tags=("sessions",),
            name="api_list_documents",
        ),
        Operation(
            "POST",
            "/api/v1/meetings/{id}/documents",
            api.upload_document,
            "Upload a PDF, DOCX, XLSX or PPTX (multipart field 'file'; "
            "size limit from config → 413)",
            response=DocumentPublic,
            status=201,
            body_media=("multipart/form-data",),
            tags=("sessions",),
            name="api_upload_document",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/documents/{document_id}",
            api.download_document,
            "Download a document",
            response_media=tuple(media for media, _ in documents.KINDS.values()),
            tags=("sessions",),
            name="api_download_document",
        ),
        Operation(
            "DELETE",
            "/api/v1/meetings/{id}/documents/{document_id}",
            api.delete_document,
            "Remove a document",
            status=204,
            tags=("sessions",),
            name="api_delete_document",
        ),
        Operation(
            "GET",
            "/api/v1/site/{site_token}/meetings/{id}/rsvp",
            api.get_site_rsvp,
            "The site's answer to a session's invitation (site link)",
            response=RsvpOut,
            tags=("sites",),
            name="api_get_site_rsvp",
        ),
        Operation(
            "POST",
            "/api/v1/site/{site_token}/meetings/{id}/rsvp",
            api.post_site_rsvp,
            "Answer a session's invitation: accepted (with expected delegates), tentative or "
            "declined; the last answer counts (site link)",
            body=RsvpIn,
            response=RsvpOut,
            tags=("sites",),
            name="api_post_site_rsvp",
        ),
    ),
    pages=(
        Page("GET", "/sessions", views.session_list, "sessions"),
        Page("GET", "/sessions/new", views.session_new, "session_new"),
        Page("POST", "/sessions/new", views.session_create, "session_create"),
        Page("GET", r"/sessions/{id:\d+}", views.session_page, "session"),
        Page("GET", r"/sessions/{id:\d+}/edit", views.session_edit, "session_edit"),
        Page("POST", r"/sessions/{id:\d+}/edit", views.session_update, "session_update"),
        Page("POST", r"/sessions/{id:\d+}/status", views.session_status, "session_status"),
        Page("POST", r"/sessions/{id:\d+}/cancel", views.session_cancel, "session_cancel"),
        Page("POST", r"/sessions/{id:\d+}/documents", views.session_upload, "session_upload"),
        Page(
            "POST",
            r"/sessions/{id:\d+}/documents/{document_id:\d+}/delete",
            views.session_document_delete,
            "session_document_delete",
        ),
        Page(
            "POST",
            r"/s/{site_token}/meetings/{id:\d+}/rsvp",
            views.site_rsvp_submit,
            "site_rsvp",
        ),
    ),
)


#: The reports requested from sites (meetings.planning.report_views).
REPORT_ROUTES = Routes(
    api=(
        Operation(
            "GET",
            "/api/v1/meetings/{id}/report-requests",
            report_views.list_requests,
            "Reports requested from the session's sites, soonest due first",
            response=ReportRequestPublic,
            is_collection=True,
            tags=("sessions",),
            name="api_list_report_requests",
        ),
        Operation(
            "POST",
            "/api/v1/meetings/{id}/report-requests",
            report_views.create_request,
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
            report_views.request_sites,
            "Who sent the report, late or not, and who has not (counts and a page of sites)",
            response=RequestSitesPublic,
            query=(Param("state", "sent, late or missing (default: every site)"), *PAGING),
            tags=("sessions",),
            name="api_report_request_sites",
        ),
        Operation(
            "GET",
            "/api/v1/meetings/{id}/report-requests/{request_id}/reports.zip",
            report_views.download_reports,
            "Every received report in one ZIP, named '<site code> - <site name>.<ext>'",
            response_media=("application/zip",),
            tags=("sessions",),
            name="api_download_reports",
        ),
        Operation(
            "POST",
            "/api/v1/meetings/{id}/report-requests/{request_id}/chase",
            report_views.chase_request,
            "Remind every invited site that has not sent the report, by e-mail to its "
            "reachable contacts (a second chase within 5 minutes → 409)",
            response=ChasePublic,
            tags=("sessions",),
            name="api_chase_report_request",
        ),
    ),
    pages=(
        Page(
            "POST",
            r"/sessions/{id:\d+}/report-requests",
            report_views.session_request_create,
            "session_report_request_create",
        ),
        Page(
            "GET",
            r"/sessions/{id:\d+}/report-requests/{request_id:\d+}",
            report_views.session_request_page,
            "session_report_request",
        ),
        Page(
            "POST",
            r"/sessions/{id:\d+}/report-requests/{request_id:\d+}/chase",
            report_views.session_request_chase,
            "session_report_request_chase",
        ),
        Page(
            "POST",
            r"/s/{site_token}/meetings/{id:\d+}/reports/{request_id:\d+}",
            report_views.site_report_upload,
            "site_report_upload",
        ),
    ),
)
