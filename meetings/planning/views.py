"""HTML pages for planning sessions: the list, the form, the session page, and the RSVP
form on a site's page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from meetings.core.access import ANY_ROLE, ORGANISERS, allow, current_user, public_token
from meetings.core.errors import DomainError, FieldProblem, Invalid
from meetings.core.forms import (
    FormState,
    ids,
    optional_int,
    problems_of,
    text,
)
from meetings.core.i18n import format_day
from meetings.core.kept_pages import kept_page
from meetings.core.keys import locale_key, session_facts_key, settings_key, translations_key
from meetings.core.pages import (
    _,
    flash,
    may_edit,
    not_saved,
    panels,
    refused_site_form,
    render,
)
from meetings.core.scope import own_cluster
from meetings.core.store import utcnow
from meetings.core.web import (
    back_to_site_page,
    db,
    int_query,
    link_site,
    path_id,
    url,
)
from meetings.planning import (
    documents,
    golive,
    listing,
    overview,
    phases,
    rsvp,
    site_list,
    site_list_views,
)
from meetings.planning import lifecycle as planning
from meetings.planning.api import store_upload
from meetings.planning.cluster_rules import CLUSTER_KINDS
from meetings.planning.forms import COMMON_ZONES, form_values, meeting_values, rsvp_values
from meetings.planning.models import (
    MeetingCreate,
    MeetingKind,
    MeetingPublic,
    MeetingStatus,
    MeetingUpdate,
)
from meetings.planning.workdays import day_off_label
from meetings.register import sites

PERIODS = ("upcoming", "past", "cancelled")


async def _register(request: web.Request) -> tuple[list[Any], list[Any]]:
    """Clusters and every site, for the invitation picker (grouped by cluster); a cluster
    leader's: its own cluster and sites."""
    own = own_cluster(request)
    async with db(request) as session:
        clusters, found = await sites.list_clusters(session), await sites.all_sites(session)
    if own is None:
        return clusters, found
    return [c for c in clusters if c.id == own], [s for s in found if s.cluster_id == own]


# --- list ------------------------------------------------------------------------------


@allow(*ANY_ROLE)
async def session_list(request: web.Request) -> web.Response:
    period = listing.as_period(request.query.get("period", "upcoming"))
    if period is None or period not in PERIODS:
        period = "upcoming"
    kind = request.query.get("kind") or None
    cluster_id = optional_int(request.query, "cluster")
    q = request.query.get("q", "").strip()
    page_number = int_query(request, "page", 1, 1, 10**6)
    async with db(request) as session:
        page = await listing.list_meetings(
            session,
            period=period,
            kind=kind if kind in MeetingKind.__members__ else None,
            cluster_id=cluster_id,
            q=q or None,
            limit=50,
            offset=(page_number - 1) * 50,
        )
        clusters = await sites.list_clusters(session)
    return render(
        request,
        "planning/sessions.html",
        {
            "meetings": page.items,
            "total": page.total,
            "period": period,
            "kind": kind,
            "cluster_id": cluster_id,
            "q": q,
            "clusters": clusters,
            "kinds": list(MeetingKind),
            "page_number": page_number,
            "may_edit": may_edit(request),
        },
    )


# --- create and edit -------------------------------------------------------------------


async def _form_page(
    request: web.Request, state: FormState, *, meeting_id: int | None = None
) -> web.Response:
    clusters, all_sites = await _register(request)
    settings = request.app[settings_key]
    values = {
        **dict.fromkeys(
            (
                "title",
                "description",
                "chair",
                "chair_title",
                "secretary",
                "secretary_title",
                "video_url",
                "starts_at",
                "ends_at",
                "version",
            ),
            "",
        ),
        "host_site_id": None,
        "is_urgent": False,
        "rehearsal_minutes": None,
        "kind": "briefing" if own_cluster(request) is None else "cluster_meeting",
        "timezone": settings.organisation.timezone,
        "location": settings.organisation.hall,
        "site_ids": [],
        **state.values,
    }
    return render(
        request,
        "planning/session_form.html",
        {
            "meeting_id": meeting_id,
            "values": values,
            "state": state,
            "clusters": clusters,
            "sites": all_sites,
            "kinds": list(MeetingKind) if own_cluster(request) is None else CLUSTER_KINDS,
            "zones": COMMON_ZONES,
            "chosen": set(values.get("site_ids") or []),
            "rehearsal_default": settings.scheduler.rehearsal_minutes,
        },
        status=state.status,
    )


@allow(*ORGANISERS)
async def session_new(request: web.Request) -> web.Response:
    cluster = optional_int(request.query, "cluster")
    state = FormState()
    if cluster is not None:
        async with db(request) as session:
            page = await sites.list_sites(session, cluster_id=cluster, limit=sites.MAX_PAGE)
        state.values["site_ids"] = [s.id for s in page.items]
    return await _form_page(request, state)


def _failed(request: web.Request, exc: Exception, values: Mapping[str, Any]) -> FormState:
    state = problems_of(exc, request[translations_key].gettext)
    state.values = form_values(values)
    return state


def _saved(request: web.Request, meeting: MeetingPublic) -> str:
    """'Saved', and a warning for each weekend day or public holiday the session is on."""
    locale = request[locale_key]
    notes = [
        _(request, "Note: {day} is not a working day ({name}).").format(
            day=format_day(w.day, locale), name=day_off_label(w.day, locale)
        )
        for w in meeting.warnings
        if w.code == "non_working_day" and w.day
    ]
    return " ".join([_(request, "The session was saved."), *notes])


@allow(*ORGANISERS)
async def session_create(request: web.Request) -> web.Response:
    form = await request.post()
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k != "_csrf"}
    values["site_ids"] = ids(form, "site_ids")
    try:
        values = meeting_values(form)
        user = current_user(request)
        async with db(request) as session:
            meeting = await planning.create_meeting(
                session,
                MeetingCreate.model_validate(values),
                organiser_id=user.id if user else None,
                default_location=request.app[settings_key].organisation.hall,
                cluster_id=own_cluster(request),
            )
    except (ValidationError, DomainError) as exc:
        return await _form_page(request, _failed(request, exc, values))
    await flash(request, _saved(request, meeting))
    raise web.HTTPSeeOther(url(request, "session", id=meeting.id))


@allow(*ORGANISERS)
async def session_edit(request: web.Request) -> web.Response:
    async with db(request) as session:
        meeting = await planning.get_meeting(session, path_id(request))
        invited = await listing.participations(session, meeting.id)
    values = form_values(meeting.model_dump())
    values["site_ids"] = [p.site_id for p in invited]
    return await _form_page(request, FormState(values=values), meeting_id=meeting.id)


@allow(*ORGANISERS)
async def session_update(request: web.Request) -> web.Response:
    form = await request.post()
    meeting_id = path_id(request)
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k != "_csrf"}
    values["site_ids"] = ids(form, "site_ids")
    try:
        values = {**meeting_values(form), "version": text(form, "version")}
        async with db(request) as session:
            saved = await planning.update_meeting(
                session, meeting_id, MeetingUpdate.model_validate(values)
            )
    except (ValidationError, DomainError) as exc:
        return await _form_page(request, _failed(request, exc, values), meeting_id=meeting_id)
    await flash(request, _saved(request, saved))
    raise web.HTTPSeeOther(url(request, "session", id=meeting_id))


# --- the session page ------------------------------------------------------------------


def _facts(request: web.Request) -> list[overview.FactsProvider]:
    """The parts that know how far a session has got (see keys.session_facts_key)."""
    return request.app[session_facts_key] if session_facts_key in request.app else []


@allow(*ANY_ROLE)
async def session_page(request: web.Request) -> web.Response:
    """Kept per viewer until the next commit or minute: operators keep refreshing it."""
    return await kept_page(request, _session_page)


async def _session_page(request: web.Request) -> web.Response:
    meeting_id = path_id(request)
    async with db(request) as session:
        found = await overview.session_overview(
            session, meeting_id, now=utcnow(), facts=_facts(request)
        )
        history = await golive.history(session, meeting_id)
        known = await site_list.site_list_fingerprint(session, found.meeting)
    meeting = found.meeting
    sections = [*phases.OWN_SECTIONS, *await panels(request, "session", meeting_id)]
    context = {
        "meeting": meeting,
        "phase": found.phase,
        "steps": phases.steps(found.phase),
        "phase_labels": phases.PHASE_LABELS,
        "sections": phases.arrange(sections, found.phase),
        "read_only_session": phases.read_only_reason(meeting.status, "session"),
        "next_meeting": found.next_meeting,
        "may_plan": may_edit(request) and meeting.status != "cancelled",
        "documents": found.documents,
        "deadlines": found.deadlines,
        "may_edit": may_edit(request) and meeting.status not in ("ended", "cancelled"),
        "max_document_mb": request.app[settings_key].documents.max_size_mb,
        "next_status": planning.next_step(meeting.status),
        "live_opens_at": golive.live_opens_at(meeting),
        "is_early": golive.is_early(meeting, utcnow()),
        "history": history,
        "may_cancel": MeetingStatus.cancelled in planning.next_statuses(meeting.status),
        "tz": meeting.timezone,
    }
    context["sites_card"] = await site_list_views.sites_card(request, context, known)
    return render(request, "planning/session.html", context)


def _username(request: web.Request) -> str:
    user = current_user(request)
    return user.username if user else ""


async def _back(request: web.Request, message: str) -> web.Response:
    await flash(request, message)
    raise web.HTTPSeeOther(url(request, "session", id=path_id(request)))


async def _refused(request: web.Request, exc: Exception) -> web.Response:
    return await _back(request, not_saved(request, exc))


@allow(*ORGANISERS)
async def session_status(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        target = MeetingStatus(text(form, "status"))
        async with db(request) as session:
            await planning.change_status(
                session,
                path_id(request),
                target,
                version=optional_int(form, "version"),
                by=_username(request),
                reason=text(form, "early_start_reason"),
            )
    except (ValueError, DomainError) as exc:
        return await _refused(
            request,
            exc
            if isinstance(exc, DomainError)
            else Invalid("bad status", [FieldProblem("status", str(exc))]),
        )
    return await _back(request, _(request, "The status was changed."))


@allow(*ORGANISERS)
async def session_cancel(request: web.Request) -> web.Response:
    reason = text(await request.post(), "reason")
    if not reason:
        return await _back(request, _(request, "Give a reason to cancel the session."))
    async with db(request) as session:
        await planning.cancel_meeting(
            session, path_id(request), reason=reason, by=_username(request)
        )
    return await _back(request, _(request, "The session was cancelled."))


@allow(*ORGANISERS)
async def session_upload(request: web.Request) -> web.Response:
    upload = (await request.post()).get("file")
    if not isinstance(upload, web.FileField) or not upload.filename:
        return await _back(request, _(request, "Choose a file to upload."))
    try:
        await store_upload(request, upload)
    except DomainError as exc:
        return await _refused(request, exc)
    return await _back(request, _(request, "The document was uploaded."))


@allow(*ORGANISERS)
async def session_document_delete(request: web.Request) -> web.Response:
    async with db(request) as session:
        await documents.delete_document(
            session,
            path_id(request),
            path_id(request, "document_id"),
            folder=request.app[settings_key].documents.dir,
        )
    return await _back(request, _(request, "The document was removed."))


# --- a site's answer, from its page ----------------------------------------------------


@public_token
async def site_rsvp_submit(request: web.Request) -> web.StreamResponse:
    """The RSVP form: saved → back to the page at that session; refused → the page again
    with the problems beside the fields and what was typed."""
    meeting_id = path_id(request)
    values = rsvp_values(await request.post())
    try:
        data = rsvp.RsvpIn.model_validate(values)
        async with db(request) as session:
            site = await link_site(request, session)
            await rsvp.answer(session, meeting_id, site.id or 0, data)
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        typed = {k: str(v) if v is not None else "" for k, v in values.items()}
        return await refused_site_form(request, exc, form="rsvp", typed=typed)
    raise back_to_site_page(request, meeting_id, "saved")
