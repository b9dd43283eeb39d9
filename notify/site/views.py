"""A site's personal page `/s/<token>` and its JSON twin: no account, the link is the key.

The page lists the site's sessions with their documents and an RSVP form each. Every
response carries `Referrer-Policy: no-referrer` (a click on the video link must not hand
the token to the video platform) and `noindex` (a link pasted somewhere public is not
crawled). An unknown or revoked token is a plain 404, so a guess learns nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from pydantic import ValidationError
from sqlalchemy import select

from agendas.programme.models import AgendaItem
from agendas.record import record
from agendas.record.models import ContributionIn, ContributionPublic, SiteContributionIn
from meetings.attendance import video
from meetings.attendance.checkin import CheckInBatcher
from meetings.attendance.models import CheckIn, SiteAttendance
from meetings.core.access import public_token
from meetings.core.errors import DomainError, FieldProblem, Invalid
from meetings.core.forms import FormData, problems_of, text
from meetings.core.i18n import translations
from meetings.core.keys import checkin_key, settings_key
from meetings.core.labels import N_
from meetings.core.middlewares import LOCALE_KEY
from meetings.core.store import utcnow
from meetings.core.web import db, json_body, model_response, path_id
from meetings.planning import rsvp
from meetings.planning.api import document_response
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Document
from meetings.register.models import Site
from notify.mail.api import letter_response
from notify.mail.models import Message
from notify.site import tokens

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
    errors: dict[int, dict[str, dict[str, str]]] | None = None,
    typed: dict[int, dict[str, dict[str, Any]]] | None = None,
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
        "site/site.html",
        request,
        {
            "site": site,
            "sessions": found,
            "agenda": agenda,
            "files": files,
            # The provider's personal join link (Jitsi room, BigBlueButton join URL).
            "join": {s.meeting.id: video.join_url(settings, s.meeting, site) for s in found},
            "token": token,
            "feed_url": feed,
            "webcal_url": "webcal://" + feed.split("://", 1)[-1],
            "site_tz": site.timezone or None,
            "errors": errors or {},
            "typed": typed or {},
            "saved": request.query.get("saved", ""),
            "checked": request.query.get("checked", ""),
            "sent": request.query.get("sent", ""),
            "kinds": ("recommendation", "opinion", "question", "report"),
            "now": utcnow(),
            "window": timedelta(hours=settings.attendance.window_hours),
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
            request,
            errors={meeting_id: {"rsvp": state.errors}},
            typed={meeting_id: {"rsvp": typed}},
            status=422,
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


# --- check-in --------------------------------------------------------------------------


async def _check_in(request: web.Request, data: CheckIn) -> SiteAttendance:
    """The check-in joins the session's next group commit (attendance.checkin): the link, the
    invitation and the values are checked there, for this request alone."""
    batcher: CheckInBatcher = request.app[checkin_key]  # type: ignore[assignment]
    return await batcher.submit(path_id(request), _token(request), data, at=utcnow())


@public_token
async def post_site_check_in(request: web.Request) -> web.StreamResponse:
    """The site says it is connected, with its delegates; pressing twice changes nothing."""
    try:
        data = await json_body(request, CheckIn)
    except (web.HTTPException, ValidationError):
        async with db(request) as session:
            await _site(session, request)  # a wrong link is 404 whatever the body
        raise
    return _private(model_response(await _check_in(request, data)))


@public_token
async def site_check_in_submit(request: web.Request) -> web.StreamResponse:
    meeting_id = path_id(request)
    form = await request.post()
    values = {
        "delegates_present": text(form, "delegates_present") or None,
        "officials_present": [
            line.strip()
            for line in str(form.get("officials_present", "")).splitlines()
            if line.strip()
        ]
        or None,
    }
    try:
        await _check_in(request, CheckIn.model_validate(values))
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        state = problems_of(exc, request["translations"].gettext)
        typed = {"delegates_present": str(values["delegates_present"] or "")}
        return await _page(
            request,
            errors={meeting_id: {"checkin": state.errors}},
            typed={meeting_id: {"checkin": typed}},
            status=422,
        )
    raise web.HTTPSeeOther(f"/s/{_token(request)}?checked={meeting_id}#m{meeting_id}")


# --- contributions ---------------------------------------------------------------------


async def _contribute(request: web.Request, data: SiteContributionIn) -> ContributionPublic:
    async with db(request) as session:
        site = await _site(session, request)
        meeting_id = path_id(request)
        await rsvp.get_answer(session, meeting_id, site.id or 0)  # 404 unless invited
        meeting = await get_meeting_row(session, meeting_id)
        if meeting.status not in ("scheduled", "live"):
            raise Invalid(
                "closed",
                [FieldProblem("text", N_("Contributions are taken before and during the session"))],
            )
        return await record.add_contribution(
            session,
            meeting_id,
            ContributionIn(site_id=site.id, **data.model_dump()),
            source="site",
            author=site.code,
        )


@public_token
async def post_site_contribution(request: web.Request) -> web.StreamResponse:
    async with db(request) as session:
        await _site(session, request)  # a wrong link is 404 whatever the body
    data = await json_body(request, SiteContributionIn)
    return _private(model_response(await _contribute(request, data), status=201))


@public_token
async def site_contribution_submit(request: web.Request) -> web.StreamResponse:
    meeting_id = path_id(request)
    form = await request.post()
    values = {
        "speaker": text(form, "speaker"),
        "speaker_title": text(form, "speaker_title"),
        "kind": text(form, "kind") or "recommendation",
        "text": str(form.get("text", "")).strip(),
        "topic": text(form, "topic"),
    }
    try:
        await _contribute(request, SiteContributionIn.model_validate(values))
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        state = problems_of(exc, request["translations"].gettext)
        return await _page(
            request,
            errors={meeting_id: {"contribution": state.errors}},
            typed={meeting_id: {"contribution": values}},
            status=422,
        )
    raise web.HTTPSeeOther(f"/s/{_token(request)}?sent={meeting_id}#m{meeting_id}")
