"""JSON API for planning sessions: meetings, invited sites, documents, and a site's answer
through its link (RSVP)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from meetings.core.access import ANY_ROLE, ORGANISERS, allow, current_user, public_token
from meetings.core.commits import kept
from meetings.core.errors import FieldProblem, Invalid
from meetings.core.keys import settings_key
from meetings.core.labels import N_
from meetings.core.scope import own_cluster
from meetings.core.web import (
    db,
    int_query,
    items_json,
    items_response,
    json_body,
    json_text,
    link_site,
    model_response,
    path_id,
    private,
)
from meetings.planning import documents, golive, listing, rsvp
from meetings.planning import lifecycle as planning
from meetings.planning.document_models import DocumentPublic
from meetings.planning.models import (
    MeetingCancel,
    MeetingCreate,
    MeetingUpdate,
)


def _user_id(request: web.Request) -> int | None:
    user = current_user(request)
    return user.id if user else None


def _username(request: web.Request) -> str:
    """Who acts, for the session's history."""
    user = current_user(request)
    return user.username if user else ""


#: The periods whose sessions change only by a commit ("upcoming" and "past" move with the
#: clock): their lists are kept until the next commit (meetings.core.commits).
TIMELESS = frozenset({"all", "cancelled"})


@allow(*ANY_ROLE)
async def list_meetings(request: web.Request) -> web.Response:
    period = listing.as_period(request.query.get("period", "all"))
    if period is None:
        raise Invalid(
            "bad period",
            [FieldProblem.of("period", N_("one of {choices}"), choices=", ".join(listing.PERIODS))],
        )
    cluster = request.query.get("cluster_id")
    query: dict[str, Any] = {
        "period": period,
        "kind": request.query.get("kind") or None,
        "cluster_id": int_query(request, "cluster_id", 0, 1, 2**31) if cluster else None,
        "q": request.query.get("q"),
        "limit": int_query(request, "limit", 50, 1, 500),
        "offset": int_query(request, "offset", 0, 0, 2**31),
        "own_cluster_id": own_cluster(request),
    }

    async def read() -> bytes:
        async with db(request) as session:
            page = await listing.list_meetings(session, **query)
        return items_json(page.items, page.total).encode()

    if period in TIMELESS:  # the others change as time passes, not only by commits
        return json_text(await kept(request, ("meetings", *query.values()), read))
    return json_text(await read())


@allow(*ORGANISERS)
async def create_meeting(request: web.Request) -> web.Response:
    data = await json_body(request, MeetingCreate)
    async with db(request) as session:
        meeting = await planning.create_meeting(
            session,
            data,
            organiser_id=_user_id(request),
            default_location=request.app[settings_key].organisation.hall,
            cluster_id=own_cluster(request),
        )
    return model_response(meeting, status=201)


@allow(*ANY_ROLE)
async def get_meeting(request: web.Request) -> web.Response:
    async with db(request) as session:
        meeting = await planning.get_meeting(session, path_id(request))
    return model_response(meeting)


@allow(*ORGANISERS)
async def update_meeting(request: web.Request) -> web.Response:
    data = await json_body(request, MeetingUpdate)
    async with db(request) as session:
        meeting = await planning.update_meeting(
            session, path_id(request), data, by=_username(request)
        )
    return model_response(meeting)


@allow(*ORGANISERS)
async def cancel_meeting(request: web.Request) -> web.Response:
    data = await json_body(request, MeetingCancel)
    async with db(request) as session:
        meeting = await planning.cancel_meeting(
            session, path_id(request), reason=data.reason, by=_username(request)
        )
    return model_response(meeting)


@allow(*ANY_ROLE)
async def list_participations(request: web.Request) -> web.Response:
    async with db(request) as session:
        items = await listing.participations(session, path_id(request))
    return items_response(items, len(items))


@allow(*ANY_ROLE)
async def list_status_changes(request: web.Request) -> web.Response:
    async with db(request) as session:
        await planning.get_meeting_row(session, path_id(request))  # 404 for no session
        items = await golive.history(session, path_id(request))
    return items_response(items, len(items))


@allow(*ANY_ROLE)
async def list_documents(request: web.Request) -> web.Response:
    async with db(request) as session:
        items = await documents.list_documents(session, path_id(request))
    return items_response(items, len(items))


@allow(*ORGANISERS)
async def upload_document(request: web.Request) -> web.Response:
    """multipart/form-data with a `file` field (the upload form sends this)."""
    if request.content_type != "multipart/form-data":
        raise web.HTTPUnsupportedMediaType(text="send multipart/form-data with a field 'file'")
    upload = (await request.post()).get("file")
    if not isinstance(upload, web.FileField):
        raise Invalid(
            "no file", [FieldProblem("file", N_("send the file in a field named 'file'"))]
        )
    return model_response(await store_upload(request, upload), status=201)


async def store_upload(request: web.Request, upload: web.FileField) -> DocumentPublic:
    """An uploaded file as a document of the session in the URL (API and page alike)."""
    settings = request.app[settings_key].documents
    user = current_user(request)
    async with db(request) as session:
        return await documents.add_document(
            session,
            path_id(request),
            filename=upload.filename or "",
            content=upload.file.read(),
            folder=settings.dir,
            max_bytes=settings.max_bytes,
            uploaded_by=user.username if user else "",
        )


@allow(*ANY_ROLE)
async def download_document(request: web.Request) -> web.StreamResponse:
    return await document_response(request, path_id(request), path_id(request, "document_id"))


async def document_response(
    request: web.Request, meeting_id: int, document_id: int
) -> web.StreamResponse:
    """The stored file with its name and type (shared by the API and the site page)."""
    async with db(request) as session:
        document = await documents.get_document(session, meeting_id, document_id)
    path = request.app[settings_key].documents.dir / document.stored_name
    return web.FileResponse(
        path,
        headers={
            "Content-Type": document.content_type,
            "Content-Disposition": documents.content_disposition(document.filename),
        },
    )


@allow(*ORGANISERS)
async def delete_document(request: web.Request) -> web.Response:
    async with db(request) as session:
        await documents.delete_document(
            session,
            path_id(request),
            path_id(request, "document_id"),
            folder=request.app[settings_key].documents.dir,
        )
    return web.Response(status=204)


# --- a site's answer, through its link ---------------------------------------------------


@public_token
async def get_site_rsvp(request: web.Request) -> web.StreamResponse:
    async with db(request) as session:
        site = await link_site(request, session)
        found = await rsvp.get_answer(session, path_id(request), site.id or 0)
    return private(model_response(found))


@public_token
async def post_site_rsvp(request: web.Request) -> web.StreamResponse:
    async with db(request) as session:
        site = await link_site(request, session)  # a wrong link is 404 whatever the body
    data = await json_body(request, rsvp.RsvpIn)
    async with db(request) as session:
        found = await rsvp.answer(session, path_id(request), site.id or 0, data)
    return private(model_response(found))
