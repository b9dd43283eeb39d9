"""JSON API of action items' progress (thin: parse, call agendas.record.progress, answer)."""

from __future__ import annotations

from aiohttp import web

from agendas.record import progress
from agendas.record.api import RECORD_KEEPERS, author
from agendas.record.progress_models import ActionReportIn, ActionReportPublic, ReportDecisionIn
from meetings.core.access import allow, public_token
from meetings.core.errors import FieldProblem, Invalid
from meetings.core.keys import settings_key
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.core.web import (
    db,
    form_data,
    items_response,
    json_body,
    link_site,
    model_response,
    path_id,
    private,
)


async def read_report(request: web.Request) -> tuple[ActionReportIn, progress.Upload | None]:
    """The report from JSON, or from the page's multipart form with an optional `file`."""
    if request.content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return await json_body(request, ActionReportIn), None
    form = await form_data(request)
    values = {"text": str(form.get("text", "")).strip(), "done": form.get("done") in ("1", "on")}
    data = ActionReportIn.model_validate(values)  # a problem is a 422 naming the field
    upload = form.get("file")
    if upload is None or (isinstance(upload, str) and not upload):
        return data, None
    if not isinstance(upload, web.FileField):
        raise Invalid(
            "no file", [FieldProblem("file", N_("send the file in a field named 'file'"))]
        )
    return data, progress.Upload(upload.filename or "", upload.file.read())


async def submit_report(
    request: web.Request, data: ActionReportIn, upload: progress.Upload | None
) -> ActionReportPublic:
    """Store the report of the site whose link is in the URL (API and page alike)."""
    documents = request.app[settings_key].documents
    async with db(request) as session:
        site = await link_site(request, session)
        return await progress.report_progress(
            session,
            path_id(request),
            site.id or 0,
            data,
            upload=upload,
            folder=documents.dir,
            max_bytes=documents.max_bytes,
        )


@public_token
async def list_site_actions(request: web.Request) -> web.StreamResponse:
    async with db(request) as session:
        site = await link_site(request, session)
        items = await progress.site_actions(session, site.id or 0, now=utcnow())
    return private(items_response(items, len(items)))


@public_token
async def post_site_report(request: web.Request) -> web.StreamResponse:
    async with db(request) as session:
        await link_site(request, session)  # a wrong link is 404 whatever the body
    data, upload = await read_report(request)
    return private(model_response(await submit_report(request, data, upload), status=201))


async def _decide(request: web.Request, *, accept: bool) -> web.Response:
    data = await json_body(request, ReportDecisionIn)
    async with db(request) as session:
        await progress.get_report(session, path_id(request), path_id(request, "report_id"))
        report = await progress.decide_report(
            session,
            path_id(request, "report_id"),
            accept=accept,
            comment=data.comment,
            by=author(request),
        )
    return model_response(report)


@allow(*RECORD_KEEPERS)
async def accept_report(request: web.Request) -> web.Response:
    return await _decide(request, accept=True)


@allow(*RECORD_KEEPERS)
async def return_report(request: web.Request) -> web.Response:
    return await _decide(request, accept=False)
