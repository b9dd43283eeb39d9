"""A site's personal page `/s/<token>`: no account, the link is the key.

The page lists the site's sessions with their documents and a form each to answer, check
in and contribute (those forms belong to meetings.planning, meetings.attendance and
agendas.record; a refused one comes back here through `refused_form_page`). Every
response carries the private headers of meetings.core.web (no referrer for the video
link, no indexing). An unknown or revoked token is a plain 404, so a guess learns nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy.ext.asyncio import AsyncSession

from agendas.record.labels import REPORT_STATUS_LABELS
from meetings.attendance import video
from meetings.core.access import public_token
from meetings.core.i18n import translations
from meetings.core.keys import RefusedSiteForm, locale_key, settings_key, translations_key
from meetings.core.store import utcnow
from meetings.core.web import db, path_id, private, site_token
from meetings.planning.api import document_response
from meetings.register.models import Site
from notify.mail.api import letter_response
from notify.site import drawn, tokens
from notify.site.links import site_feed_url
from notify.site.overview import Seen, SiteOverview, kept_overview, site_overview
from notify.site.sessions import site_session

#: The kinds of contribution a site may send from its page, in the form's order.
SITE_KINDS = ("recommendation", "opinion", "question", "report")


async def _site(session: AsyncSession, request: web.Request) -> Site:
    return await tokens.site_for_token(session, site_token(request))


# --- the page --------------------------------------------------------------------------


async def _site_language(request: web.Request, site: Site) -> dict[str, Any]:
    """The page speaks the site's language unless the visitor chose one (?lang=, VI/EN).
    Returned as context: the layout's context was computed before the handler ran."""
    chosen = "lang" in request.query or "locale" in await get_session(request)
    if not site.locale or chosen:
        return {}
    request[locale_key] = site.locale
    request[translations_key] = translations(site.locale)
    return {"locale": site.locale, "translations": request[translations_key]}


def _context(request: web.Request, site: Site, shown: SiteOverview) -> dict[str, Any]:
    settings = request.app[settings_key]
    token = site_token(request)
    feed = site_feed_url(settings.server.public_url, token)
    return {
        "site": site,
        "sessions": shown.sessions,
        "agenda": shown.agenda,
        "files": shown.files,
        "report_requests": shown.report_requests,
        "site_reports": shown.site_reports,
        "uploaded": request.query.get("uploaded", ""),
        "max_document_mb": settings.documents.max_size_mb,
        "actions": shown.actions,
        "reported": request.query.get("reported", ""),
        "report_labels": REPORT_STATUS_LABELS,
        # The provider's personal join link (Jitsi room, BigBlueButton join URL).
        "join": {s.meeting.id: video.join_url(settings, s.meeting, site) for s in shown.sessions},
        "token": token,
        "feed_url": feed,
        "webcal_url": "webcal://" + feed.split("://", 1)[-1],
        "site_tz": site.timezone or None,
        "saved": request.query.get("saved", ""),
        "checked": request.query.get("checked", ""),
        "sent": request.query.get("sent", ""),
        "kinds": SITE_KINDS,
        "now": utcnow(),
        "window": timedelta(hours=settings.attendance.window_hours),
    }


async def _page(request: web.Request, refused: RefusedSiteForm | None = None) -> web.StreamResponse:
    async def read() -> Seen:
        async with db(request) as session:
            site = await _site(session, request)
            return Seen(site, await site_overview(session, site, now=utcnow()))

    # Shared with the other requests of this link: read-only from here on (but its pages).
    seen = await kept_overview(request, site_token(request), read)
    language = await _site_language(request, seen.site)
    if refused is None and drawn.same_for_every_visitor(request):
        return private(_shared_page(request, seen, language))
    context = _context(request, seen.site, seen.shown)
    context["errors"] = {refused.meeting_id: {refused.form: refused.errors}} if refused else {}
    context["typed"] = {refused.meeting_id: {refused.form: refused.typed}} if refused else {}
    response = aiohttp_jinja2.render_template(
        "site/site.html", request, {**context, **language}, status=422 if refused else 200
    )
    return private(response)


def _shared_page(request: web.Request, seen: Seen, language: dict[str, Any]) -> web.Response:
    """The link's page in this language, drawn by its first visitor since the last commit
    (this minute), with this visitor's CSRF token."""
    locale = str(language.get("locale") or request[locale_key])
    page = seen.pages.get(locale)
    if page is None:
        context = {**_context(request, seen.site, seen.shown), "errors": {}, "typed": {}}
        context |= {**language, "csrf_token": drawn.PLACEHOLDER}
        page = drawn.Drawn.of(aiohttp_jinja2.render_string("site/site.html", request, context))
        seen.pages[locale] = page
    return page.response(drawn.layout_csrf_token(request))


@public_token
async def site_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def refused_form_page(request: web.Request, refused: RefusedSiteForm) -> web.StreamResponse:
    """The page again after one of its forms was refused: the problems beside the fields,
    what was typed kept (meetings.core.keys.site_form_page_key)."""
    return await _page(request, refused)


@public_token
async def site_document(request: web.Request) -> web.StreamResponse:
    """A session document, for a site that may see that session only (else 404)."""
    meeting_id = path_id(request)
    async with db(request) as session:
        site = await _site(session, request)
        await site_session(session, meeting_id=meeting_id, site_id=site.id or 0)
    return private(await document_response(request, meeting_id, path_id(request, "document_id")))


@public_token
async def site_letter(request: web.Request) -> web.StreamResponse:
    """The giấy mời addressed to this site (404 unless it may see the session)."""
    async with db(request) as session:
        site = await _site(session, request)
        await site_session(session, meeting_id=path_id(request), site_id=site.id or 0)
    return private(await letter_response(request, path_id(request), site.id))
