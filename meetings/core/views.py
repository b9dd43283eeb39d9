"""HTML pages: thin handlers that parse the form, call the domain, and render."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp_session import get_session

from meetings.core.access import (
    ANY_ROLE,
    allow,
    public,
)
from meetings.core.keys import settings_key
from meetings.core.pages import render, safe_next
from meetings.core.settings import LOCALES
from meetings.core.web import db
from meetings.planning import listing
from meetings.register import sites


@public
async def choose_language(request: web.Request) -> web.Response:
    locale = request.match_info["locale"]
    if locale not in LOCALES:
        raise web.HTTPNotFound()
    session = await get_session(request)
    session["locale"] = locale
    raise web.HTTPSeeOther(safe_next(request, request.query.get("next")))


@allow(*ANY_ROLE)
async def dashboard(request: web.Request) -> web.Response:
    async with db(request) as session:
        site_count = await sites.count_sites(session)
        clusters = await sites.list_clusters(session)
        upcoming = await listing.list_meetings(session, period="upcoming", limit=5)
        recent = await listing.list_meetings(session, period="past", limit=5)
    return render(
        request,
        "core/dashboard.html",
        {
            "site_count": site_count,
            "clusters": clusters,
            "upcoming": upcoming.items,
            "upcoming_total": upcoming.total,
            "recent": recent.items,
            "today": datetime.now(ZoneInfo(request.app[settings_key].organisation.timezone)),
        },
    )
