"""The URL table: API operations (which also feed the OpenAPI document) and HTML pages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

from agendas import api as record_api
from agendas import views as record_views
from agendas.record_models import (
    ActionItemIn,
    ActionItemPublic,
    ContributionIn,
    ContributionPublic,
    MinutesVersion,
    NotesIn,
    RecommendationPublic,
    RecommendationUpdate,
    SiteContributionIn,
)
from agendas.schemas import AgendaIn, AgendaOut, FocusItemsIn, FocusItemsOut
from meetings import (
    api,
    attendance_api,
    attendance_report_views,
    attendance_views,
    planning_api,
    planning_views,
    views,
)
from meetings.access import Handler
from meetings.attendance_models import (
    AttendanceBoard,
    AttendanceIn,
    CheckIn,
    RehearsalIn,
    SiteAttendance,
)
from meetings.imports import ImportReport
from meetings.meeting_models import (
    DocumentPublic,
    MeetingCancel,
    MeetingCreate,
    MeetingFollowUp,
    MeetingPublic,
    MeetingUpdate,
    ParticipationPublic,
)
from meetings.models import (
    ClusterCreate,
    ClusterPublic,
    ClusterUpdate,
    SiteCreate,
    SitePublic,
    SiteUpdate,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from meetings.rsvp import RsvpIn, RsvpOut
from notify import api as notify_api
from notify import site_views
from notify import views as notify_views
from notify.models import MessagePublic


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    type: str = "string"
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """One API endpoint: its route, and the models that validate and describe it."""

    method: str
    path: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    #: The response model; `is_collection` wraps it as {"items": [...], "total": N}.
    response: type[BaseModel] | None = None
    is_collection: bool = False
    status: int = 200
    query: tuple[Param, ...] = ()
    #: Non-JSON bodies or responses: media type → schema description.
    body_media: tuple[str, ...] = ()
    response_media: str | None = None
    tags: tuple[str, ...] = field(default=())


PAGING = (
    Param("limit", "page size (1-1000, default 100)", "integer"),
    Param("offset", "items to skip", "integer"),
)

API: tuple[Operation, ...] = (
    Operation(
        "GET", "/api/v1/me", api.me, "The calling user", response=UserPublic, tags=("accounts",)
    ),
    Operation(
        "GET",
        "/api/v1/clusters",
        api.list_clusters,
        "List clusters",
        response=ClusterPublic,
        is_collection=True,
        tags=("register",),
    ),
    Operation(
        "POST",
        "/api/v1/clusters",
        api.create_cluster,
        "Create a cluster",
        body=ClusterCreate,
        response=ClusterPublic,
        status=201,
        tags=("register",),
    ),
    Operation(
        "GET",
        "/api/v1/clusters/{id}",
        api.get_cluster,
        "One cluster",
        response=ClusterPublic,
        tags=("register",),
    ),
    Operation(
        "PATCH",
        "/api/v1/clusters/{id}",
        api.update_cluster,
        "Change a cluster (stale version → 409)",
        body=ClusterUpdate,
        response=ClusterPublic,
        tags=("register",),
    ),
    Operation(
        "DELETE",
        "/api/v1/clusters/{id}",
        api.delete_cluster,
        "Delete an empty cluster",
        status=204,
        tags=("register",),
    ),
    Operation(
        "GET",
        "/api/v1/sites",
        api.list_sites,
        "List sites in register order",
        response=SitePublic,
        is_collection=True,
        query=(
            Param("q", "search in code, name and province (diacritics optional)"),
            Param("cluster_id", "only this cluster", "integer"),
            *PAGING,
        ),
        tags=("register",),
    ),
    Operation(
        "POST",
        "/api/v1/sites",
        api.create_site,
        "Create a site with its contacts",
        body=SiteCreate,
        response=SitePublic,
        status=201,
        tags=("register",),
    ),
    Operation(
        "POST",
        "/api/v1/sites/import",
        api.import_sites,
        "Import sites from CSV or XLSX (all-or-nothing; dry_run=1 only checks)",
        response=ImportReport,
        query=(Param("dry_run", "1 to check and preview without writing", "integer"),),
        body_media=(
            "text/csv",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        tags=("register",),
    ),
    Operation(
        "GET",
        "/api/v1/sites/export.csv",
        api.export_sites,
        "All sites as CSV, in the format import reads",
        response_media="text/csv",
        tags=("register",),
    ),
    Operation(
        "GET",
        "/api/v1/sites/{id}",
        api.get_site,
        "One site",
        response=SitePublic,
        tags=("register",),
    ),
    Operation(
        "PATCH",
        "/api/v1/sites/{id}",
        api.update_site,
        "Change a site; contacts, when sent, replace the list (stale version → 409)",
        body=SiteUpdate,
        response=SitePublic,
        tags=("register",),
    ),
    Operation(
        "DELETE",
        "/api/v1/sites/{id}",
        api.delete_site,
        "Delete a site",
        status=204,
        query=(Param("version", "refuse (409) unless the site is at this version", "integer"),),
        tags=("register",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings",
        planning_api.list_meetings,
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
    ),
    Operation(
        "POST",
        "/api/v1/meetings",
        planning_api.create_meeting,
        "Plan a session and invite sites (all, clusters, single sites, minus some)",
        body=MeetingCreate,
        response=MeetingPublic,
        status=201,
        tags=("sessions",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}",
        planning_api.get_meeting,
        "One session, with warnings (overlapping invitations)",
        response=MeetingPublic,
        tags=("sessions",),
    ),
    Operation(
        "PATCH",
        "/api/v1/meetings/{id}",
        planning_api.update_meeting,
        "Change a session; time, place or link bump the calendar sequence; status "
        "follows draft → scheduled → live → ended (stale version → 409)",
        body=MeetingUpdate,
        response=MeetingPublic,
        tags=("sessions",),
    ),
    Operation(
        "POST",
        "/api/v1/meetings/{id}/cancel",
        planning_api.cancel_meeting,
        "Cancel a session with a reason",
        body=MeetingCancel,
        response=MeetingPublic,
        tags=("sessions",),
    ),
    Operation(
        "POST",
        "/api/v1/meetings/{id}/next",
        planning_api.follow_up,
        "Create the next session of the series from this one",
        body=MeetingFollowUp,
        response=MeetingPublic,
        status=201,
        tags=("sessions",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/participations",
        planning_api.list_participations,
        "Invited sites with their answer, local time and attendance",
        response=ParticipationPublic,
        is_collection=True,
        tags=("sessions",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/attendance.csv",
        attendance_report_views.attendance_csv,
        "Attendance report as CSV (UTF-8 with BOM): one row per site, then cluster "
        "subtotals and the total (rows with an empty code); times in the session's zone",
        query=(Param("lang", "vi or en: the headers' language (default: the organisation's)"),),
        response_media="text/csv",
        tags=("attendance",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/attendance.xlsx",
        attendance_report_views.attendance_xlsx,
        "Attendance report as an Excel workbook: sites with cluster subtotals and the "
        "total, and a sheet of the absent sites",
        query=(Param("lang", "vi or en: the headers' language (default: the organisation's)"),),
        response_media="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        tags=("attendance",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/agenda",
        planning_api.get_agenda,
        "The agenda with its running timeline",
        response=AgendaOut,
        tags=("programme",),
    ),
    Operation(
        "PUT",
        "/api/v1/meetings/{id}/agenda",
        planning_api.put_agenda,
        "Replace the agenda (the array's order is the order)",
        body=AgendaIn,
        response=AgendaOut,
        query=(Param("version", "refuse (409) unless the session is at this version", "integer"),),
        tags=("programme",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/focus-items",
        planning_api.get_focus_items,
        "Focus items (trọng tâm) with their history in the series",
        response=FocusItemsOut,
        tags=("programme",),
    ),
    Operation(
        "PUT",
        "/api/v1/meetings/{id}/focus-items",
        planning_api.put_focus_items,
        "Replace the focus items (numbers must be unique)",
        body=FocusItemsIn,
        response=FocusItemsOut,
        query=(Param("version", "refuse (409) unless the session is at this version", "integer"),),
        tags=("programme",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/documents",
        planning_api.list_documents,
        "Documents shared with the sites",
        response=DocumentPublic,
        is_collection=True,
        tags=("sessions",),
    ),
    Operation(
        "POST",
        "/api/v1/meetings/{id}/documents",
        planning_api.upload_document,
        "Upload a PDF, DOCX, XLSX or PPTX (multipart field 'file'; size limit from config → 413)",
        response=DocumentPublic,
        status=201,
        body_media=("multipart/form-data",),
        tags=("sessions",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/documents/{document_id}",
        planning_api.download_document,
        "Download a document",
        response_media="application/octet-stream",
        tags=("sessions",),
    ),
    Operation(
        "DELETE",
        "/api/v1/meetings/{id}/documents/{document_id}",
        planning_api.delete_document,
        "Remove a document",
        status=204,
        tags=("sessions",),
    ),
    Operation(
        "POST",
        "/api/v1/meetings/{id}/invitations",
        notify_api.queue_invitations,
        "Queue invitations (or updates) to every contact of every invited site, and "
        "cancellations to sites removed since; send_at delays them",
        body=notify_api.InvitationsRequest,
        response=notify_api.InvitationsQueued,
        status=202,
        tags=("invitations",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/messages",
        notify_api.list_messages,
        "The session's outbox: one row per recipient and message",
        response=MessagePublic,
        is_collection=True,
        query=PAGING,
        tags=("invitations",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/messages/summary",
        notify_api.delivery_summary,
        "How far sending has got: counts by status (the progress bar polls this)",
        response=notify_api.DeliverySummaryOut,
        tags=("invitations",),
    ),
    Operation(
        "POST",
        "/api/v1/meetings/{id}/messages/{message_id}/resend",
        notify_api.resend_message,
        "Send one recipient's message again (a failed one is re-queued as it is)",
        response=MessagePublic,
        status=202,
        tags=("invitations",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/invitations/preview",
        notify_api.preview_invitations,
        "Who would get what if invitations were sent now (nothing is queued)",
        response=notify_api.PlannedOut,
        is_collection=True,
        tags=("invitations",),
    ),
    Operation(
        "POST",
        "/api/v1/sites/{id}/link",
        notify_api.revoke_site_link,
        "Revoke the site's personal link and issue a new one",
        response=notify_api.SiteLinkOut,
        tags=("register",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/calendar.ics",
        notify_api.meeting_calendar,
        "The session as iCalendar (METHOD:PUBLISH)",
        response_media="text/calendar",
        tags=("invitations",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/letter.pdf",
        notify_api.meeting_letter,
        "The invitation letter (giấy mời) as PDF, in the administrative format; to all "
        "invited sites, or to one with site_id (404 unless invited)",
        response_media="application/pdf",
        query=(
            Param("site_id", "address the letter to this invited site", "integer"),
            Param("locale", "vi or en (default: the organisation's)"),
        ),
        tags=("invitations",),
    ),
    Operation(
        "GET",
        "/api/v1/site/{site_token}/calendar.ics",
        notify_api.site_feed,
        "A site's subscription feed: all its sessions, cancelled ones as cancelled "
        "(authorised by the site's secret link alone)",
        response_media="text/calendar",
        tags=("sites",),
    ),
    Operation(
        "POST",
        "/api/v1/meetings/{id}/attendance",
        attendance_api.record_attendance,
        "Record an attendance event for an invited site (organisers)",
        body=AttendanceIn,
        response=SiteAttendance,
        tags=("attendance",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/attendance",
        attendance_api.get_attendance,
        "Attendance now: totals, each site's state, the latest events",
        response=AttendanceBoard,
        tags=("attendance",),
    ),
    Operation(
        "POST",
        "/api/v1/meetings/{id}/rehearsal",
        attendance_api.record_rehearsal,
        "Record a site's technical rehearsal: tested, ok or problem (with a note)",
        body=RehearsalIn,
        response=SiteAttendance,
        tags=("attendance",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/live",
        attendance_api.live_stream,
        "Server-Sent Events: `snapshot` on connect, then `update` with changed sites and "
        "the totals",
        response_media="text/event-stream",
        tags=("attendance",),
    ),
    Operation(
        "POST",
        "/api/v1/site/{site_token}/meetings/{id}/check-in",
        site_views.post_site_check_in,
        "The site checks itself in with its delegates (site link; repeats change nothing)",
        body=CheckIn,
        response=SiteAttendance,
        tags=("sites",),
    ),
    Operation(
        "GET",
        "/api/v1/site/{site_token}/meetings/{id}/rsvp",
        site_views.get_site_rsvp,
        "The site's answer to a session's invitation (site link)",
        response=RsvpOut,
        tags=("sites",),
    ),
    Operation(
        "POST",
        "/api/v1/site/{site_token}/meetings/{id}/rsvp",
        site_views.post_site_rsvp,
        "Answer a session's invitation: accepted (with expected delegates), tentative or "
        "declined; the last answer counts (site link)",
        body=RsvpIn,
        response=RsvpOut,
        tags=("sites",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/notes",
        record_api.get_notes,
        "The secretary's notes by section (agenda:<n>, conclusions, general) with versions",
        tags=("record",),
    ),
    Operation(
        "PUT",
        "/api/v1/meetings/{id}/notes",
        record_api.put_notes,
        "Save notes: {agenda: {item: text}, conclusions, general, versions: {section: n}}; "
        "a stale version is refused (409) so no one overwrites another editor",
        body=NotesIn,
        tags=("record",),
    ),
    Operation(
        "PUT",
        "/api/v1/meetings/{id}/focus-items/{focus_id}/outcome",
        record_api.put_focus_outcome,
        "A focus item's outcome in this session (status and one-line summary)",
        body=record_api.FocusOutcomeIn,
        response=record_api.FocusOutcomeIn,
        tags=("record",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/contributions",
        record_api.list_contributions,
        "What the sites and the hall said, in order",
        response=ContributionPublic,
        is_collection=True,
        tags=("record",),
    ),
    Operation(
        "POST",
        "/api/v1/meetings/{id}/contributions",
        record_api.create_contribution,
        "Record a contribution; a recommendation also enters the register",
        body=ContributionIn,
        response=ContributionPublic,
        status=201,
        tags=("record",),
    ),
    Operation(
        "DELETE",
        "/api/v1/meetings/{id}/contributions/{contribution_id}",
        record_api.delete_contribution,
        "Remove a contribution (and its recommendation while unanswered)",
        status=204,
        tags=("record",),
    ),
    Operation(
        "POST",
        "/api/v1/site/{site_token}/meetings/{id}/contributions",
        site_views.post_site_contribution,
        "A site submits its own contribution or recommendation (site link)",
        body=SiteContributionIn,
        response=ContributionPublic,
        status=201,
        tags=("sites",),
    ),
    Operation(
        "GET",
        "/api/v1/recommendations",
        record_api.list_recommendations,
        "The recommendations register across sessions, newest first",
        response=RecommendationPublic,
        is_collection=True,
        query=(
            Param("status", "open, answered or closed"),
            Param("site_id", "raised by this site", "integer"),
            Param("cluster_id", "raised by a site of this cluster", "integer"),
            Param("topic", "words in the topic or text"),
            Param("meeting_id", "raised in this session", "integer"),
            *PAGING,
        ),
        tags=("record",),
    ),
    Operation(
        "PATCH",
        "/api/v1/recommendations/{id}",
        record_api.update_recommendation,
        "Answer, close or reopen a recommendation: {status, response, answered_by}",
        body=RecommendationUpdate,
        response=RecommendationPublic,
        tags=("record",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/actions",
        record_api.list_actions,
        "Action items of the session",
        response=ActionItemPublic,
        is_collection=True,
        tags=("record",),
    ),
    Operation(
        "POST",
        "/api/v1/meetings/{id}/actions",
        record_api.create_action,
        "Add an action item: {text, owner | owner_site_id, due_date?, status?}",
        body=ActionItemIn,
        response=ActionItemPublic,
        status=201,
        tags=("record",),
    ),
    Operation(
        "DELETE",
        "/api/v1/meetings/{id}/actions/{action_id}",
        record_api.delete_action,
        "Remove an action item",
        status=204,
        tags=("record",),
    ),
    Operation(
        "POST",
        "/api/v1/meetings/{id}/minutes",
        record_api.build_minutes,
        "(Re)build the draft minutes from the record; returns {version, status}",
        response=record_api.MinutesState,
        tags=("minutes",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/minutes",
        record_api.list_minutes_versions,
        "The approved versions of the minutes, newest first",
        response=MinutesVersion,
        is_collection=True,
        tags=("minutes",),
    ),
    Operation(
        "POST",
        "/api/v1/meetings/{id}/minutes/approve",
        record_api.approve_minutes,
        "Approve the current draft (chair only; after the session): locks it as a version "
        "and queues the notice of conclusions to every invited site",
        response=record_api.MinutesState,
        status=201,
        tags=("minutes",),
    ),
    Operation(
        "GET",
        "/api/v1/meetings/{id}/minutes.{fmt}",
        record_api.download_minutes,
        "The minutes as html, docx, pdf or md (?lang=vi|en; ?version=N for an approved "
        "version, else the current draft)",
        query=(
            Param("lang", "vi (default) or en"),
            Param("version", "an approved version; default: the current draft", "integer"),
        ),
        response_media="application/octet-stream",
        tags=("minutes",),
    ),
    Operation(
        "GET",
        "/api/v1/users",
        api.list_users,
        "List accounts (admin)",
        response=UserPublic,
        is_collection=True,
        tags=("accounts",),
    ),
    Operation(
        "POST",
        "/api/v1/users",
        api.create_user,
        "Create an account (admin)",
        body=UserCreate,
        response=UserPublic,
        status=201,
        tags=("accounts",),
    ),
    Operation(
        "PATCH",
        "/api/v1/users/{id}",
        api.update_user,
        "Change an account (admin)",
        body=UserUpdate,
        response=UserPublic,
        tags=("accounts",),
    ),
)

#: HTML pages: (method, path, handler, route name for url_for).
PAGES: tuple[tuple[str, str, Handler, str], ...] = (
    ("GET", "/", views.dashboard, "dashboard"),
    ("GET", "/login", views.login_form, "login"),
    ("POST", "/login", views.login, "login_submit"),
    ("POST", "/logout", views.logout, "logout"),
    ("GET", "/lang/{locale}", views.choose_language, "language"),
    ("GET", "/sites", views.site_list, "sites"),
    ("GET", "/sites/new", views.site_new, "site_new"),
    ("POST", "/sites/new", views.site_create, "site_create"),
    ("GET", "/sites/import", views.import_form, "site_import"),
    ("POST", "/sites/import", views.import_preview, "site_import_preview"),
    ("POST", "/sites/import/confirm", views.import_confirm, "site_import_confirm"),
    ("GET", r"/sites/{id:\d+}", views.site_detail, "site"),
    ("GET", r"/sites/{id:\d+}/edit", views.site_edit, "site_edit"),
    ("POST", r"/sites/{id:\d+}/edit", views.site_update, "site_update"),
    ("POST", r"/sites/{id:\d+}/delete", views.site_delete, "site_delete"),
    ("GET", "/clusters", views.cluster_list, "clusters"),
    ("POST", "/clusters/new", views.cluster_create, "cluster_create"),
    ("GET", r"/clusters/{id:\d+}/edit", views.cluster_edit, "cluster_edit"),
    ("POST", r"/clusters/{id:\d+}/edit", views.cluster_update, "cluster_update"),
    ("GET", "/sessions", planning_views.session_list, "sessions"),
    ("GET", "/sessions/new", planning_views.session_new, "session_new"),
    ("POST", "/sessions/new", planning_views.session_create, "session_create"),
    ("GET", r"/sessions/{id:\d+}", planning_views.session_page, "session"),
    ("GET", r"/sessions/{id:\d+}/edit", planning_views.session_edit, "session_edit"),
    ("POST", r"/sessions/{id:\d+}/edit", planning_views.session_update, "session_update"),
    ("POST", r"/sessions/{id:\d+}/status", planning_views.session_status, "session_status"),
    ("POST", r"/sessions/{id:\d+}/cancel", planning_views.session_cancel, "session_cancel"),
    ("POST", r"/sessions/{id:\d+}/next", planning_views.session_next, "session_next"),
    (
        "GET",
        r"/sessions/{id:\d+}/attendance",
        attendance_report_views.attendance_page,
        "session_attendance",
    ),
    ("POST", r"/sessions/{id:\d+}/agenda", planning_views.session_agenda, "session_agenda"),
    ("POST", r"/sessions/{id:\d+}/focus-items", planning_views.session_focus, "session_focus"),
    ("POST", r"/sessions/{id:\d+}/documents", planning_views.session_upload, "session_upload"),
    (
        "POST",
        r"/sessions/{id:\d+}/documents/{document_id:\d+}/delete",
        planning_views.session_document_delete,
        "session_document_delete",
    ),
    ("POST", r"/sessions/{id:\d+}/invitations", notify_views.send_invitations, "session_send"),
    (
        "POST",
        r"/sessions/{id:\d+}/messages/{message_id:\d+}/resend",
        notify_views.resend_message,
        "session_resend",
    ),
    (
        "GET",
        r"/sessions/{id:\d+}/messages/{message_id:\d+}",
        notify_views.view_message,
        "session_message",
    ),
    ("POST", r"/sites/{id:\d+}/link", notify_views.revoke_site_link, "site_link_revoke"),
    ("GET", r"/sessions/{id:\d+}/board", attendance_views.board_page, "session_board"),
    (
        "POST",
        r"/sessions/{id:\d+}/board/{site_id:\d+}",
        attendance_views.board_action,
        "session_board_action",
    ),
    (
        "POST",
        r"/s/{site_token}/meetings/{id:\d+}/check-in",
        site_views.site_check_in_submit,
        "site_check_in",
    ),
    ("GET", r"/sessions/{id:\d+}/record", record_views.record_page, "session_record"),
    (
        "POST",
        r"/sessions/{id:\d+}/record/contributions",
        record_views.record_contribution,
        "record_contribution",
    ),
    (
        "POST",
        r"/sessions/{id:\d+}/record/contributions/{contribution_id:\d+}/delete",
        record_views.delete_contribution,
        "record_contribution_delete",
    ),
    ("POST", r"/sessions/{id:\d+}/record/actions", record_views.record_action, "record_action"),
    (
        "POST",
        r"/sessions/{id:\d+}/record/actions/{action_id:\d+}/delete",
        record_views.delete_action,
        "record_action_delete",
    ),
    (
        "POST",
        r"/sessions/{id:\d+}/record/focus/{focus_id:\d+}",
        record_views.record_focus,
        "record_focus",
    ),
    ("GET", r"/sessions/{id:\d+}/minutes", record_views.minutes_page, "session_minutes"),
    ("POST", r"/sessions/{id:\d+}/minutes/approve", record_views.approve, "minutes_approve"),
    ("GET", "/recommendations", record_views.recommendations_page, "recommendations"),
    (
        "POST",
        r"/recommendations/{id:\d+}",
        record_views.answer_recommendation,
        "recommendation_answer",
    ),
    ("GET", "/chair", record_views.chair_page, "chair"),
    (
        "POST",
        r"/s/{site_token}/meetings/{id:\d+}/contributions",
        site_views.site_contribution_submit,
        "site_contribution",
    ),
    ("GET", "/s/{site_token}", site_views.site_page, "site_page"),
    (
        "GET",
        r"/s/{site_token}/meetings/{id:\d+}/letter.pdf",
        site_views.site_letter,
        "site_letter",
    ),
    (
        "POST",
        r"/s/{site_token}/meetings/{id:\d+}/rsvp",
        site_views.site_rsvp_submit,
        "site_rsvp",
    ),
    (
        "GET",
        r"/s/{site_token}/meetings/{id:\d+}/documents/{document_id:\d+}",
        site_views.site_document,
        "site_document",
    ),
    ("GET", "/users", views.user_list, "users"),
    ("POST", "/users/new", views.user_create, "user_create"),
    ("GET", r"/users/{id:\d+}/edit", views.user_edit, "user_edit"),
    ("POST", r"/users/{id:\d+}/edit", views.user_update, "user_update"),
)


def _aiohttp_path(path: str) -> str:
    """`{id}` and `{…_id}` match digits only, so `/sites/export.csv` is not a site id;
    `{fmt}` is one of the minutes' formats."""
    path = path.replace("{fmt}", "{fmt:(?:html|docx|pdf|md)}")
    return re.sub(r"{(\w*id)}", r"{\1:\\d+}", path)


def setup_routes(app: web.Application, static_dir: str) -> None:
    app.router.add_get("/healthz", api.health, name="health")
    app.router.add_get("/api/v1/openapi.json", api.openapi_document, name="openapi")
    for op in API:
        app.router.add_route(op.method, _aiohttp_path(op.path), op.handler)
    for method, path, handler, name in PAGES:
        app.router.add_route(method, path, handler, name=name)
    app.router.add_static("/static", static_dir, name="static", append_version=True)
