"""Answers to recommendations, as numbers and documents (issue #16): the JSON API of the
numbers per cluster and series, the answer's document (send, download), and the panel
that shows the numbers on the register's clusters page. Thin: the rules live in
agendas.record.recommendations and agendas.record.answer_documents."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiMapping

from agendas.minutes.api import APPROVERS
from agendas.record import answer_documents, recommendations
from agendas.record.api import RECORD_KEEPERS
from meetings.core.access import ANY_ROLE, allow
from meetings.core.errors import FieldProblem, Invalid
from meetings.core.forms import optional_int
from meetings.core.keys import settings_key
from meetings.core.labels import N_
from meetings.core.web import db, model_response, path_id
from meetings.planning.documents import content_disposition
from meetings.planning.series import all_series


def upload_of(request: web.Request, field: Any) -> answer_documents.Upload | None:
    """A file field of a form as the answer's document (None when no file was chosen)."""
    if not isinstance(field, web.FileField) or not field.filename:
        return None
    settings = request.app[settings_key].documents
    return answer_documents.Upload(
        field.filename, field.file.read(), settings.dir, settings.max_bytes
    )


async def _numbers(request: web.Request, query: MultiMapping[str]) -> recommendations.AnswerReport:
    async with db(request) as session:
        return await recommendations.answer_numbers(
            session,
            series_id=optional_int(query, "series_id"),
            unit=query.get("unit") or None,
        )


@allow(*ANY_ROLE)
async def answer_numbers(request: web.Request) -> web.Response:
    return model_response(await _numbers(request, request.query))


@allow(*RECORD_KEEPERS, *APPROVERS)
async def attach_document(request: web.Request) -> web.Response:
    """multipart/form-data with a `file` field: the answer's document, new or replaced."""
    if request.content_type != "multipart/form-data":
        raise web.HTTPUnsupportedMediaType(text="send multipart/form-data with a field 'file'")
    form = await request.post()
    upload = upload_of(request, form.get("file"))
    if upload is None:
        raise Invalid(
            "no file", [FieldProblem("file", N_("send the file in a field named 'file'"))]
        )
    async with db(request) as session:
        await answer_documents.attach(
            session, path_id(request), upload, version=optional_int(form, "version")
        )
        (found,) = await recommendations.recommendations(
            session, recommendation_id=path_id(request)
        )
    return model_response(found)


@allow(*ANY_ROLE)
async def download_document(request: web.Request) -> web.StreamResponse:
    async with db(request) as session:
        row = await answer_documents.document_of(session, path_id(request))
    return web.FileResponse(
        request.app[settings_key].documents.dir / row.answer_stored_name,
        headers={
            "Content-Type": row.answer_content_type,
            "Content-Disposition": content_disposition(row.answer_filename),
        },
    )


async def clusters_panel(request: web.Request, record_id: int) -> dict[str, Any]:
    """The register's clusters page: recommendations raised and answered per cluster, in
    one series (the `series_id` of the page's query) or in all."""
    numbers = await _numbers(request, request.query)
    async with db(request) as session:
        series = await all_series(session)
    return {
        "template": "record/answer_numbers_panel.html",
        "numbers": numbers,
        "series": series,
    }
