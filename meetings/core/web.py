"""Small helpers shared by the HTML views and the JSON API (never domain logic)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.core.keys import sessions_key, site_resolver_key
from meetings.core.types import MAX_INT
from meetings.register.models import Site

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=web.StreamResponse)


@asynccontextmanager
async def db(request: web.Request) -> AsyncIterator[AsyncSession]:
    """One transaction for the request's work: committed if the block ends normally."""
    async with request.app[sessions_key]() as session, session.begin():
        yield session


async def json_body(request: web.Request, model: type[M]) -> M:
    """The body as `model`: another media type is a 415, a body that is not JSON a 400
    (bad syntax or bytes, an unknown charset, nesting too deep), wrong values a 422."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send the body as application/json")
    try:
        data = json.loads(await request.text())
    except (ValueError, LookupError, RecursionError) as exc:
        raise web.HTTPBadRequest(text=f"the body is not valid JSON: {exc}") from None
    return model.model_validate(data)


#: What aiohttp's form parser raises on a body that is not the form it claims to be: bad
#: multipart framing or part headers, undecodable text, an unknown charset or encoding.
MALFORMED_FORM = (HttpProcessingError, ValueError, LookupError, RuntimeError, TypeError)


async def form_data(
    request: web.Request,
) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """The posted form, parsed once (aiohttp keeps it for every later `request.post()`);
    a body that is not a well-formed form is the client's fault: 400, not a traceback."""
    try:
        return await request.post()
    except MALFORMED_FORM:
        raise web.HTTPBadRequest(
            text=f"the body is not a well-formed {request.content_type}"
        ) from None


def int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter within [low, high], and never past what the store holds."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"query parameter {name} must be a whole number") from None
    high = min(high, MAX_INT)
    if not low <= value <= high:
        raise web.HTTPBadRequest(text=f"query parameter {name} must be between {low} and {high}")
    return value


def url(
    request: web.Request,
    name: str,
    *,
    query: Mapping[str, str | int] | None = None,
    fragment: str = "",
    **parts: str | int,
) -> str:
    """The path of the route called `name`, so no handler spells out a URL of ours."""
    location = request.app.router[name].url_for(**{key: str(value) for key, value in parts.items()})
    if query:
        location = location.with_query(query)
    return str(location.with_fragment(fragment or None))


def path_id(request: web.Request, name: str = "id") -> int:
    """An id from the path (digits only, see routing); past what the store holds it names
    nothing: 404, as an unknown id would be."""
    raw = request.match_info[name]
    if len(raw) > len(str(MAX_INT)) or not 1 <= int(raw) <= MAX_INT:
        raise web.HTTPNotFound(text=f"nothing has the {name} {raw[:20]}")
    return int(raw)


def model_response(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        body=model.model_dump_json(), status=status, content_type="application/json"
    )


def download(body: bytes, media_type: str, filename: str) -> web.Response:
    """A generated file (a report, an export) to save under `filename` (ASCII), never
    cached: its figures change as the data does."""
    return web.Response(
        body=body,
        headers={
            "Content-Type": media_type,
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def items_json(items: list[Any], total: int) -> str:
    """A collection's JSON: `{"items": [...], "total": N}` (API.md)."""
    return '{"items":[' + ",".join(i.model_dump_json() for i in items) + f'],"total":{total}}}'


def items_response(items: list[Any], total: int) -> web.Response:
    return json_text(items_json(items, total))


def json_text(body: str | bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json")


# --- under a site's link (`/s/{site_token}/…`, `/api/v1/site/{site_token}/…`) ----------

#: On every response to a site's link: a click on the video link must not hand the token
#: to the video platform, and a link pasted somewhere public is not crawled.
PRIVATE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "private, no-store",
}


def site_token(request: web.Request) -> str:
    return request.match_info["site_token"]


async def link_site(request: web.Request, session: AsyncSession) -> Site:
    """The site whose link is in the URL; an unknown or revoked link is not found (404)."""
    return await request.app[site_resolver_key](session, site_token(request))


def private(response: R) -> R:
    response.headers.update(PRIVATE_HEADERS)
    return response


def back_to_site_page(request: web.Request, meeting_id: int, done: str) -> web.HTTPSeeOther:
    """To the site's page at the session, saying what was done there (`?saved=<id>`)."""
    page = url(
        request,
        "site_page",
        site_token=site_token(request),
        query={done: meeting_id},
        fragment=f"m{meeting_id}",
    )
    return web.HTTPSeeOther(page, headers=PRIVATE_HEADERS)
