"""Reports requested from sites: the organiser's API and pages (create, follow, download
all as a ZIP) and the site's upload form on its page. Thin: the rules live in
meetings.planning.report_requests."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import ValidationError

from meetings.core.access import ANY_ROLE, ORGANISERS, allow, current_user, public_token
from meetings.core.errors import DomainError, FieldProblem, Invalid
from meetings.core.forms import text
from meetings.core.keys import settings_key
from meetings.core.labels import N_
from meetings.core.pages import _, flash, may_edit, not_saved, refused_site_form, render
from meetings.core.web import (
    back_to_site_page,
    db,
    int_query,
    items_response,
    json_body,
    link_site,
    model_response,
    path_id,
    url,
)
from meetings.planning import report_chases
from meetings.planning import report_requests as reports
from meetings.planning.documents import content_disposition
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.phases import ranks
from meetings.planning.request_models import ReportRequestCreate, RequestSitesPublic

#: Sites per page of a request's follow-up.
PAGE_SIZE = 100
#: Beside the documents on the session page while it is planned; lower once it is over.
RANKS = ranks(61, 61, 61, 81, 81, 86, 86)


def _username(request: web.Request) -> str:
    user = current_user(request)
    return user.username if user else ""


# --- API -------------------------------------------------------------------------------


@allow(*ANY_ROLE)
async def list_requests(request: web.Request) -> web.Response:
    async with db(request) as session:
        items = await reports.list_requests(session, path_id(request))
    return items_response(items, len(items))


@allow(*ORGANISERS)
async def create_request(request: web.Request) -> web.Response:
    data = await json_body(request, ReportRequestCreate)
    async with db(request) as session:
        created = await reports.create_request(
            session, path_id(request), data, by=_username(request)
        )
    return model_response(created, status=201)


async def _follow_up(request: web.Request, *, limit: int) -> tuple[Any, RequestSitesPublic]:
    state = request.query.get("state") or None
    async with db(request) as session:
        row = await reports.get_request(session, path_id(request), path_id(request, "request_id"))
        counts = await reports.request_counts(session, row)
        page = await reports.request_sites(
            session,
            row,
            state=state,
            limit=limit,
            offset=int_query(request, "offset", 0, 0, 2**31),
        )
    return row, RequestSitesPublic(counts=counts, items=page.items, total=page.total)


@allow(*ANY_ROLE)
async def request_sites(request: web.Request) -> web.Response:
    _row, found = await _follow_up(request, limit=int_query(request, "limit", 100, 1, 1000))
    return model_response(found)


@allow(*ANY_ROLE)
async def download_reports(request: web.Request) -> web.StreamResponse:
    """Every received report in one ZIP, streamed as it is built."""
    folder = request.app[settings_key].documents.dir
    async with db(request) as session:
        row = await reports.get_request(session, path_id(request), path_id(request, "request_id"))
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/zip",
                "Content-Disposition": content_disposition(f"{row.title}.zip"),
            }
        )
        await response.prepare(request)
        try:
            async for chunk in reports.zip_chunks(session, row, folder=folder):
                if chunk:
                    await response.write(chunk)
        except Exception:
            # Too late for an error page: cut the connection so the download fails visibly.
            if request.transport is not None:
                request.transport.close()
            raise
    await response.write_eof()
    return response


@allow(*ORGANISERS)
async def chase_request(request: web.Request) -> web.Response:
    """Remind every invited site that has not sent the report (one round per click)."""
    async with db(request) as session:
        done = await report_chases.chase_request(
            session, path_id(request), path_id(request, "request_id"), by=_username(request)
        )
    return model_response(done)


# --- the session page ------------------------------------------------------------------


async def report_requests_panel(request: web.Request, meeting_id: int) -> dict[str, Any]:
    """The session page's card: each request with its counts, and the form for a new one."""
    async with db(request) as session:
        rows = (await reports.requests_of(session, meeting_ids=[meeting_id])).get(meeting_id, [])
        counts = {r.id: await reports.request_counts(session, r) for r in rows}
    return {
        "template": "planning/report_requests_card.html",
        "ranks": RANKS,
        "report_requests": rows,
        "report_counts": counts,
    }


def _due_at(value: str, timezone: str) -> datetime | None:
    """The form's day (YYYY-MM-DD) as the end of that day in the session's time zone."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid(
            "bad date", [FieldProblem("due_at", N_("give the deadline as a date"))]
        ) from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(timezone))


@allow(*ORGANISERS)
async def session_request_create(request: web.Request) -> web.Response:
    meeting_id = path_id(request)
    form = await request.post()
    try:
        async with db(request) as session:
            meeting = await get_meeting_row(session, meeting_id)
            data = ReportRequestCreate.model_validate(
                {
                    "title": text(form, "title"),
                    "due_at": _due_at(text(form, "due_at"), meeting.timezone),
                    "auto_chase": bool(form.get("auto_chase")),
                    "remind_days_before": text(form, "remind_days_before") or 0,
                }
            )
            await reports.create_request(session, meeting_id, data, by=_username(request))
    except (ValidationError, DomainError) as exc:
        await flash(request, not_saved(request, exc))
    else:
        await flash(request, _(request, "The report was requested from the sites."))
    raise web.HTTPSeeOther(url(request, "session", id=meeting_id))


@allow(*ORGANISERS)
async def session_request_chase(request: web.Request) -> web.Response:
    """The page's one click: the sites still missing are reminded, or why not."""
    meeting_id, request_id = path_id(request), path_id(request, "request_id")
    try:
        async with db(request) as session:
            done = await report_chases.chase_request(
                session, meeting_id, request_id, by=_username(request)
            )
    except DomainError as exc:
        await flash(request, not_saved(request, exc))
    else:
        message = _(request, "Reminders were queued for {count} sites.")
        await flash(request, message.format(count=done.chased))
    raise web.HTTPSeeOther(
        url(request, "session_report_request", id=meeting_id, request_id=request_id)
    )


@allow(*ANY_ROLE)
async def session_request_page(request: web.Request) -> web.Response:
    """Who sent, who was late, who is missing: counts and a page of sites."""
    number = int_query(request, "page", 1, 1, 10**6)
    request_offset = (number - 1) * PAGE_SIZE
    state = request.query.get("state") or None
    async with db(request) as session:
        meeting = await get_meeting_row(session, path_id(request))
        row = await reports.get_request(session, path_id(request), path_id(request, "request_id"))
        counts = await reports.request_counts(session, row)
        page = await reports.request_sites(
            session,
            row,
            state=state if state in reports.STATES else None,
            limit=PAGE_SIZE,
            offset=request_offset,
        )
    return render(
        request,
        "planning/report_request.html",
        {
            "meeting": meeting,
            "report": row,
            "counts": counts,
            "sites": page.items,
            "total": page.total,
            "state": state if state in reports.STATES else "",
            "page": number,
            "pages": max(1, -(-page.total // PAGE_SIZE)),
            "may_edit": may_edit(request),
            "tz": meeting.timezone,
        },
    )


# --- the site's page -------------------------------------------------------------------


@public_token
async def site_report_upload(request: web.Request) -> web.StreamResponse:
    """A site's file for a request: saved → back to its page at that session; refused →
    the page again with the problem beside the file field."""
    meeting_id = path_id(request)
    request_id = path_id(request, "request_id")
    settings = request.app[settings_key].documents
    async with db(request) as session:
        site = await link_site(request, session)  # a wrong link is 404 whatever the body
    upload = (await request.post()).get("file")
    try:
        if not isinstance(upload, web.FileField) or not upload.filename:
            raise Invalid("no file", [FieldProblem("file", N_("choose the file to send"))])
        async with db(request) as session:
            await reports.submit_report(
                session,
                meeting_id,
                request_id,
                site.id or 0,
                filename=upload.filename,
                content=upload.file.read(),
                folder=settings.dir,
                max_bytes=settings.max_bytes,
            )
    except DomainError as exc:
        if exc.status == 404:
            raise
        if not isinstance(exc, Invalid):  # too large: said beside the file field too
            problem = FieldProblem("file", exc.message, template=exc.template, params=exc.params)
            exc = Invalid(exc.message, [problem])
        return await refused_site_form(request, exc, form=f"report-{request_id}", typed={})
    raise back_to_site_page(request, meeting_id, "uploaded")
