"""HTML pages: thin handlers that parse the form, call the domain, and render."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp_session import get_session

from meetings.accounts.models import Role, User
from meetings.core.access import (
    ANY_ROLE,
    ORGANISERS,
    allow,
    public,
    require_user,
)
from meetings.core.cluster_views import cluster_home
from meetings.core.keys import dashboard_key, settings_key
from meetings.core.pages import render, safe_next
from meetings.core.settings import LOCALES
from meetings.core.store import utcnow
from meetings.core.web import db
from meetings.planning import dashboard as dashboard_lists
from meetings.planning import listing
from meetings.register import health, sites


@public
async def choose_language(request: web.Request) -> web.Response:
    locale = request.match_info["locale"]
    if locale not in LOCALES:
        raise web.HTTPNotFound()
    session = await get_session(request)
    session["locale"] = locale
    raise web.HTTPSeeOther(safe_next(request, request.query.get("next")))


async def _sections(request: web.Request, user: User) -> list[dict[str, Any]]:
    """The sections other packages give this user's dashboard, in their order."""
    providers = request.app[dashboard_key] if dashboard_key in request.app else []
    found = [section for provide in providers for section in await provide(request, user)]
    return sorted(found, key=lambda section: section.get("order", 50))


@allow(*ANY_ROLE)
async def dashboard(request: web.Request) -> web.Response:
    """Live sessions first for everyone, then what the user's role works on (the
    sections of other packages), then the upcoming and recent sessions and the register."""
    user = require_user(request)
    if user.role == Role.cluster_leader:
        return await cluster_home(request, user, await _sections(request, user))
    is_organiser = user.role in ORGANISERS
    async with db(request) as session:
        live = await dashboard_lists.live_sessions(session)
        upcoming, upcoming_total = await dashboard_lists.upcoming_sessions(
            session, now=utcnow(), limit=5
        )
        recent = await listing.list_meetings(session, period="past", limit=5)
        site_count = await sites.count_sites(session)
        clusters = await sites.list_clusters(session)
        register = await health.register_health(session) if user.role == Role.admin else None
    return render(
        request,
        "core/dashboard.html",
        {
            "live": live,
            "sections": await _sections(request, user),
            "site_count": site_count,
            "clusters": clusters,
            "upcoming": upcoming,
            "upcoming_total": upcoming_total,
            "recent": recent.items,
            "register": register,
            "is_organiser": is_organiser,
            "today": datetime.now(ZoneInfo(request.app[settings_key].organisation.timezone)),
        },
    )
