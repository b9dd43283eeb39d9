"""HTML pages for planning sessions: the list, the form, and the session page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from pydantic import ValidationError

from agendas.programme import programme
from agendas.programme.models import AgendaItemIn, AgendaKind, FocusItemIn, FocusStatus
from meetings.core.access import ANY_ROLE, ORGANISERS, allow, current_user
from meetings.core.errors import DomainError, FieldProblem, Invalid
from meetings.core.forms import FormData, FormState, optional_int, problems_of, rows, text
from meetings.core.keys import settings_key
from meetings.core.labels import N_
from meetings.core.pages import _, flash, may_edit, panels, render
from meetings.core.store import utcnow
from meetings.core.web import db, int_query, path_id
from meetings.planning import documents
from meetings.planning import lifecycle as planning
from meetings.planning.api import PROGRAMME_EDITORS, store_upload
from meetings.planning.models import (
    MeetingCreate,
    MeetingFollowUp,
    MeetingKind,
    MeetingStatus,
    MeetingUpdate,
)
from meetings.planning.workdays import planning_deadlines
from meetings.register import sites

PERIODS = ("upcoming", "past", "cancelled")
COMMON_ZONES = (
    "Asia/Ho_Chi_Minh",
    "Asia/Bangkok",
    "Asia/Tokyo",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Moscow",
    "America/New_York",
    "UTC",
)


def _local_input(moment: datetime | None, zone: str) -> str:
    """A UTC time as the value of an <input type="datetime-local"> in `zone`."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _aware(value: str, zone: str, field: str) -> datetime:
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("bad time", [FieldProblem(field, N_("Enter a date and time"))]) from None
    return naive.replace(tzinfo=ZoneInfo(zone))


def meeting_values(form: FormData) -> dict[str, Any]:
    """The session form as the API's body (times read in the chosen time zone)."""
    zone = text(form, "timezone") or "Asia/Ho_Chi_Minh"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("bad zone", [FieldProblem("timezone", N_("Unknown time zone"))]) from None
    values: dict[str, Any] = {
        name: text(form, name)
        for name in (
            "title",
            "kind",
            "description",
            "location",
            "chair",
            "secretary",
            "video_url",
            "timezone",
        )
    }
    values["timezone"] = zone
    values["description"] = str(form.get("description", "")).strip()
    values["is_urgent"] = form.get("is_urgent") == "on"
    values["rehearsal_minutes"] = text(form, "rehearsal_minutes") or None
    values["host_site_id"] = optional_int(form, "host_site_id")
    values["site_ids"] = sorted({int(v) for v in form.getall("site_ids", []) if str(v).isdigit()})
    problems = []
    for field in ("starts_at", "ends_at"):
        try:
            values[field] = _aware(text(form, field), zone, field)
        except Invalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise Invalid("bad times", problems)
    return values


async def _register(request: web.Request) -> tuple[list[Any], list[Any]]:
    """Clusters and every site, for the invitation picker (grouped by cluster)."""
    async with db(request) as session:
        return await sites.list_clusters(session), await sites.all_sites(session)


# --- list ------------------------------------------------------------------------------


@allow(*ANY_ROLE)
async def session_list(request: web.Request) -> web.Response:
    period = request.query.get("period", "upcoming")
    period = period if period in PERIODS else "upcoming"
    kind = request.query.get("kind") or None
    cluster_id = optional_int(request.query, "cluster")
    q = request.query.get("q", "").strip()
    page_number = int_query(request, "page", 1, 1, 10**6)
    async with db(request) as session:
        page = await planning.list_meetings(
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
                "secretary",
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
        "kind": "briefing",
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
            "kinds": list(MeetingKind),
            "zones": COMMON_ZONES,
            "chosen": set(values.get("site_ids") or []),
            "rehearsal_default": settings.scheduler.rehearsal_minutes,
        },
        status=state.status,
    )


def _form_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values to re-show in the form: times back in the form's local notation."""
    shown = dict(values)
    zone = shown.get("timezone") or "Asia/Ho_Chi_Minh"
    for field in ("starts_at", "ends_at"):
        if isinstance(shown.get(field), datetime):
            shown[field] = _local_input(shown[field], zone)
    return shown


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
    state = problems_of(exc, request["translations"].gettext)
    state.values = _form_values(values)
    return state


@allow(*ORGANISERS)
async def session_create(request: web.Request) -> web.Response:
    form = await request.post()
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k != "_csrf"}
    values["site_ids"] = [int(v) for v in form.getall("site_ids", []) if str(v).isdigit()]
    try:
        values = meeting_values(form)
        user = current_user(request)
        async with db(request) as session:
            meeting = await planning.create_meeting(
                session,
                MeetingCreate.model_validate(values),
                organiser_id=user.id if user else None,
                default_location=request.app[settings_key].organisation.hall,
            )
    except (ValidationError, DomainError) as exc:
        return await _form_page(request, _failed(request, exc, values))
    await flash(request, _(request, "The session was saved."))
    raise web.HTTPSeeOther(f"/sessions/{meeting.id}")


@allow(*ORGANISERS)
async def session_edit(request: web.Request) -> web.Response:
    async with db(request) as session:
        meeting = await planning.get_meeting(session, path_id(request))
        invited = await planning.participations(session, meeting.id)
    values = _form_values(meeting.model_dump())
    values["site_ids"] = [p.site_id for p in invited]
    return await _form_page(request, FormState(values=values), meeting_id=meeting.id)


@allow(*ORGANISERS)
async def session_update(request: web.Request) -> web.Response:
    form = await request.post()
    meeting_id = path_id(request)
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k != "_csrf"}
    values["site_ids"] = [int(v) for v in form.getall("site_ids", []) if str(v).isdigit()]
    try:
        values = {**meeting_values(form), "version": text(form, "version")}
        async with db(request) as session:
            await planning.update_meeting(session, meeting_id, MeetingUpdate.model_validate(values))
    except (ValidationError, DomainError) as exc:
        return await _form_page(request, _failed(request, exc, values), meeting_id=meeting_id)
    await flash(request, _(request, "The session was saved."))
    raise web.HTTPSeeOther(f"/sessions/{meeting_id}")


# --- the session page ------------------------------------------------------------------


@allow(*ANY_ROLE)
async def session_page(request: web.Request) -> web.Response:
    meeting_id = path_id(request)
    settings = request.app[settings_key]
    async with db(request) as session:
        meeting = await planning.get_meeting(session, meeting_id)
        invited = await planning.participations(session, meeting_id)
        agenda = await programme.get_agenda(session, meeting_id)
        focus = await programme.get_focus_items(session, meeting_id)
        files = await documents.list_documents(session, meeting_id)
    groups: list[dict[str, Any]] = []
    for participation in invited:
        if not groups or groups[-1]["cluster_id"] != participation.cluster_id:
            groups.append(
                {
                    "cluster_id": participation.cluster_id,
                    "name": participation.cluster_name,
                    "sites": [],
                }
            )
        groups[-1]["sites"].append(participation)
    for group in groups:
        group["accepted"] = sum(1 for p in group["sites"] if p.rsvp == "accepted")
        group["delegates"] = sum(
            p.expected_delegates or 0 for p in group["sites"] if p.rsvp != "declined"
        )
    counts = dict.fromkeys(("accepted", "tentative", "declined", "needs_action"), 0)
    for participation in invited:
        counts[participation.rsvp] += 1
    answers = {"counts": counts, "delegates": sum(g["delegates"] for g in groups)}
    user = current_user(request)
    first_upload = min((d.uploaded_at for d in files), default=None)
    deadlines = (
        planning_deadlines(
            starts_at=meeting.starts_at,
            timezone=meeting.timezone,
            now=utcnow(),
            is_urgent=meeting.is_urgent,
        )
        if meeting.status in ("draft", "scheduled")
        else []
    )
    # Documents count as sent once uploaded (sites see them through their link); the
    # invitations deadline is judged once sending is recorded (#invitations).
    deadlines = [d.met_by(first_upload) if d.kind == "documents" else d for d in deadlines]
    return render(
        request,
        "planning/session.html",
        {
            "meeting": meeting,
            "groups": groups,
            "invited": invited,
            "answers": answers,
            "panels": await panels(request, "session", meeting_id),
            "agenda": agenda,
            "focus": focus,
            "documents": files,
            "deadlines": deadlines,
            "overruns": any(item.overruns for item in agenda),
            "may_edit": may_edit(request) and meeting.status not in ("ended", "cancelled"),
            "may_edit_programme": user is not None
            and user.role in PROGRAMME_EDITORS
            and meeting.status != "cancelled",
            "agenda_kinds": list(AgendaKind),
            "focus_statuses": list(FocusStatus),
            "max_document_mb": settings.documents.max_size_mb,
            "next_status": {"draft": "scheduled", "scheduled": "live", "live": "ended"}.get(
                meeting.status
            ),
            "tz": meeting.timezone,
            # The empty row at the end of each editor, for a new entry.
            "blank_agenda": {
                "title": "",
                "presenter": "",
                "kind": "other",
                "duration_minutes": None,
                "planned_start": None,
                "overruns": False,
            },
            "blank_focus": {
                "number": None,
                "title": "",
                "status": "new",
                "detail": "",
                "history": [],
            },
        },
    )


async def _back(request: web.Request, message: str) -> web.Response:
    await flash(request, message)
    raise web.HTTPSeeOther(f"/sessions/{path_id(request)}")


async def _refused(request: web.Request, exc: Exception) -> web.Response:
    state = problems_of(exc, request["translations"].gettext)
    details = "; ".join(f"{v}" for v in state.errors.values()) or state.summary
    return await _back(request, _(request, "Not saved: {details}").format(details=details))


@allow(*ORGANISERS)
async def session_status(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        target = MeetingStatus(text(form, "status"))
        async with db(request) as session:
            await planning.change_status(
                session, path_id(request), target, version=optional_int(form, "version")
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
        await planning.cancel_meeting(session, path_id(request), reason=reason)
    return await _back(request, _(request, "The session was cancelled."))


@allow(*ORGANISERS)
async def session_next(request: web.Request) -> web.Response:
    form = await request.post()
    meeting_id = path_id(request)
    try:
        async with db(request) as session:
            previous = await planning.get_meeting_row(session, meeting_id)
            data = MeetingFollowUp(
                starts_at=_aware(text(form, "starts_at"), previous.timezone, "starts_at"),
                ends_at=_aware(text(form, "ends_at"), previous.timezone, "ends_at"),
                title=text(form, "title") or None,
            )
            user = current_user(request)
            meeting = await programme.create_follow_up(
                session, meeting_id, data, organiser_id=user.id if user else None
            )
    except (ValidationError, DomainError) as exc:
        return await _refused(request, exc)
    await flash(request, _(request, "The next session of the series was created."))
    raise web.HTTPSeeOther(f"/sessions/{meeting.id}")


@allow(*PROGRAMME_EDITORS)
async def session_agenda(request: web.Request) -> web.Response:
    """The agenda rows as posted, in their order on the page."""
    form = await request.post()
    try:
        items = [
            AgendaItemIn(
                title=row["title"],
                presenter=row["presenter"],
                kind=row["kind"] or "other",
                duration_minutes=int(row["duration"]) if _is_int(row["duration"]) else None,
            )
            for row in rows(
                form, "agenda", ("title", "presenter", "kind", "duration"), keys=("title",)
            )
        ]
        async with db(request) as session:
            await programme.replace_agenda(
                session, path_id(request), items, version=optional_int(form, "version")
            )
    except (ValidationError, DomainError) as exc:
        return await _refused(request, exc)
    return await _back(request, _(request, "The agenda was saved."))


@allow(*PROGRAMME_EDITORS)
async def session_focus(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        items = [
            FocusItemIn(
                number=int(row["number"]) if _is_int(row["number"]) else 0,
                title=row["title"],
                status=row["status"] or "new",
                detail=row["detail"],
            )
            for row in rows(form, "focus", ("number", "title", "status", "detail"), keys=("title",))
        ]
        async with db(request) as session:
            await programme.replace_focus_items(
                session, path_id(request), items, version=optional_int(form, "version")
            )
    except (ValidationError, DomainError) as exc:
        return await _refused(request, exc)
    return await _back(request, _(request, "The focus items were saved."))


def _is_int(value: str) -> bool:
    return value.lstrip("-").isdigit()


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
