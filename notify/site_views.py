"""A site's personal page `/s/<token>` and its JSON twin: no account, the link is the key.

The page lists the site's sessions with their documents and an RSVP form each. Every
response carries `Referrer-Policy: no-referrer` (a click on the video link must not hand
the token to the video platform) and `noindex` (a link pasted somewhere public is not
crawled). An unknown or revoked token is a plain 404, so a guess learns nothing.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from pydantic import ValidationError
from sqlalchemy import select

from agendas.models import AgendaItem
from meetings import rsvp
from meetings.access import public_token
from meetings.errors import DomainError
from meetings.forms import FormData, problems_of, text
from meetings.i18n import translations
from meetings.keys import settings_key
from meetings.meeting_models import Document
from meetings.middlewares import LOCALE_KEY
from meetings.models import Site
from meetings.planning_api import document_response
from meetings.store import utcnow
from meetings.web import db, json_body, model_response, path_id
from notify import tokens
from notify.api import letter_response
from notify.models import Message

PRIVATE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "private, no-store",
}


def _token(request: web.Request) -> str:
    return request.match_info["site_token"]


async def _site(session: Any, request: web.Request) -> Site:
    return await tokens.site_for_token(session, _token(request))


def _private(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.update(PRIVATE_HEADERS)
    return response


# --- the page --------------------------------------------------------------------------


async def _site_language(request: web.Request, site: Site) -> dict[str, Any]:
    """The page speaks the site's language unless the visitor chose one (?lang=, VI/EN).
    Returned as context: the layout's context was computed before the handler ran."""
    chosen = "lang" in request.query or "locale" in await get_session(request)
    if not site.locale or chosen:
        return {}
    request[LOCALE_KEY] = site.locale
    request["translations"] = translations(site.locale)
    return {"locale": site.locale, "translations": request["translations"]}


async def _page(
    request: web.Request,
    *,
    errors: dict[int, dict[str, str]] | None = None,
    typed: dict[int, dict[str, str]] | None = None,
    status: int = 200,
) -> web.StreamResponse:
    settings = request.app[settings_key]
    async with db(request) as session:
        site = await _site(session, request)
        language = await _site_language(request, site)
        invited = set(
            (
                await session.scalars(
                    select(Message.meeting_id).where(Message.site_id == site.id).distinct()
                )
            ).all()
        )
        found = await rsvp.site_sessions(
            session,
            site.id or 0,
            now=utcnow(),
            invited_ids={i for i in invited if i is not None},
        )
        ids = [s.meeting.id for s in found]
        agenda: dict[int, list[AgendaItem]] = {}
        for item in await session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id.in_(ids))  # type: ignore[attr-defined]
            .order_by(AgendaItem.meeting_id, AgendaItem.position)
        ):
            agenda.setdefault(item.meeting_id, []).append(item)
        files: dict[int, list[Document]] = {}
        for document in await session.scalars(
            select(Document)
            .where(Document.meeting_id.in_(ids))  # type: ignore[attr-defined]
            .order_by(Document.meeting_id, Document.uploaded_at)
        ):
            files.setdefault(document.meeting_id, []).append(document)
    token = _token(request)
    feed = f"{settings.server.public_url}/api/v1/site/{token}/calendar.ics"
    response = aiohttp_jinja2.render_template(
        "notify/site.html",
        request,
        {
            "site": site,
            "sessions": found,
            "agenda": agenda,
            "files": files,
            "token": token,
            "feed_url": feed,
            "webcal_url": "webcal://" + feed.split("://", 1)[-1],
            "site_tz": site.timezone or None,
            "errors": errors or {},
            "typed": typed or {},
            "saved": request.query.get("saved", ""),
            **language,
        },
        status=status,
    )
    return _private(response)


@public_token
async def site_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def rsvp_values(form: FormData) -> dict[str, Any]:
    delegates = text(form, "expected_delegates")
    return {
        "response": text(form, "response"),
        "expected_delegates": delegates or None,
        "technical_contact": text(form, "technical_contact"),
        "note": str(form.get("note", "")).strip(),
    }


@public_token
async def site_rsvp_submit(request: web.Request) -> web.StreamResponse:
    """The RSVP form: saved → back to the page at that session; refused → the page again
    with the problems beside the fields and what was typed."""
    meeting_id = path_id(request)
    values = rsvp_values(await request.post())
    try:
        data = rsvp.RsvpIn.model_validate(values)
        async with db(request) as session:
            site = await _site(session, request)
            await rsvp.answer(session, meeting_id, site.id or 0, data)
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status == 404:
            raise
        state = problems_of(exc, request["translations"].gettext)
        typed = {k: str(v) if v is not None else "" for k, v in values.items()}
        return await _page(
            request, errors={meeting_id: state.errors}, typed={meeting_id: typed}, status=422
        )
    raise web.HTTPSeeOther(f"/s/{_token(request)}?saved={meeting_id}#m{meeting_id}")


@public_token
async def site_document(request: web.Request) -> web.StreamResponse:
    """A session document, for a site invited to that session only."""
    meeting_id = path_id(request)
    async with db(request) as session:
        site = await _site(session, request)
        await rsvp.get_answer(session, meeting_id, site.id or 0)  # 404 unless invited
    return _private(await document_response(request, meeting_id, path_id(request, "document_id")))


# --- JSON ------------------------------------------------------------------------------


@public_token
async def get_site_rsvp(request: web.Request) -> web.StreamResponse:
    async with db(request) as session:
        site = await _site(session, request)
        found = await rsvp.get_answer(session, path_id(request), site.id or 0)
    return _private(model_response(found))


@public_token
async def post_site_rsvp(request: web.Request) -> web.StreamResponse:
    async with db(request) as session:
        site = await _site(session, request)  # a wrong link is 404 whatever the body
    data = await json_body(request, rsvp.RsvpIn)
    async with db(request) as session:
        found = await rsvp.answer(session, path_id(request), site.id or 0, data)
    return _private(model_response(found))


@public_token
async def site_letter(request: web.Request) -> web.StreamResponse:
    """The giấy mời addressed to this site (404 unless it is invited)."""
    async with db(request) as session:
        site = await _site(session, request)
    return _private(await letter_response(request, path_id(request), site.id))
