"""The URL table: API operations (which also feed the OpenAPI document) and HTML pages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

from agendas.schemas import AgendaIn, AgendaOut, FocusItemsIn, FocusItemsOut
from meetings import api, planning_api, planning_views, views
from meetings.access import Handler
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
    """`{id}` and `{…_id}` match digits only, so `/sites/export.csv` is not a site id."""
    return re.sub(r"{(\w*id)}", r"{\1:\\d+}", path)


def setup_routes(app: web.Application, static_dir: str) -> None:
    app.router.add_get("/healthz", api.health, name="health")
    app.router.add_get("/api/v1/openapi.json", api.openapi_document, name="openapi")
    for op in API:
        app.router.add_route(op.method, _aiohttp_path(op.path), op.handler)
    for method, path, handler, name in PAGES:
        app.router.add_route(method, path, handler, name=name)
    app.router.add_static("/static", static_dir, name="static", append_version=True)
