"""Typed keys: every long-lived resource the app holds, and what a request carries."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from babel.support import Translations
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from meetings.accounts.models import User
from meetings.core.later import Later
from meetings.core.limits import FailureWindow
from meetings.core.settings import Settings
from meetings.core.signals import Signals
from meetings.core.store import SessionMaker
from meetings.register.models import Site

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
sessions_key = web.AppKey("sessions", SessionMaker)

#: A page's extra panels from other packages, registered by the composition root:
#: page name ("session", "site") → providers (request, record id) → the panel's context,
#: which names its template under "template". Keeps meetings/ free of imports from them.
PanelProvider = Callable[[web.Request, int], Awaitable[dict[str, Any]]]
panels_key = web.AppKey("panels", dict[str, list[PanelProvider]])
#: What other parts know of a session's progress, for its phase (meetings.planning.phases):
#: providers (session, meeting id) → flags such as {"invitations_sent": True}.
FactsProvider = Callable[[AsyncSession, int], Awaitable[dict[str, bool]]]
session_facts_key = web.AppKey("session_facts", list[FactsProvider])
#: The dashboard's sections from other packages, registered by the composition root:
#: providers (request, user) → the sections for that user's role, each a dict naming its
#: template under "template" and its place under "order" (lower first).
DashboardProvider = Callable[[web.Request, User], Awaitable[list[dict[str, Any]]]]
dashboard_key = web.AppKey("dashboard", list[DashboardProvider])
#: This app's receivers of domain events (its session maker puts them in every session).
signals_key = web.AppKey("signals", Signals)
#: Best-effort work beside requests (a token's last use), awaited at shutdown.
later_key = web.AppKey("later", Later)
#: Requests under unknown site links, per address (meetings.core.link_guard).
link_failures_key = web.AppKey("link_failures", FailureWindow)
#: Set once the server's sockets listen (by `giaoban serve`): start-up checks wait for it.
listening_key = web.AppKey("listening", asyncio.Event)

#: A site's page and the handlers under its link (`{site_token}`) live in different parts
#: (RSVP in planning, check-in in attendance, contributions in agendas.record), but only
#: notify.site knows the links: the composition root sets these from it, so meetings/
#: need not import notify. The link → its site (an unknown or revoked one: NotFound).
SiteResolver = Callable[[AsyncSession, str], Awaitable[Site]]
site_resolver_key = web.AppKey[SiteResolver]("site_resolver")


@dataclass(frozen=True)
class RefusedSiteForm:
    """A form on a site's page that was refused, to show again at its session."""

    meeting_id: int
    #: Which of the session's forms: "rsvp", "checkin" or "contribution".
    form: str
    errors: dict[str, str]
    #: What was typed, shown again in the fields.
    typed: dict[str, Any]


#: The site's page again, with a refused form shown at its session (status 422).
SiteFormPage = Callable[[web.Request, RefusedSiteForm], Awaitable[web.StreamResponse]]
site_form_page_key = web.AppKey[SiteFormPage]("site_form_page")

# --- a request's keys (set by the middlewares) -------------------------------------------

#: The logged-in account, or None (anonymous, or a site's link).
user_key: web.RequestKey[User | None] = web.RequestKey("user")
#: How the caller proved who it is: "none", "cookie" or "bearer" (no CSRF for bearer).
auth_kind_key = web.RequestKey("auth_kind", str)
#: The language of the page or message.
locale_key = web.RequestKey("locale", str)
#: The catalog of that language.
translations_key = web.RequestKey("translations", Translations)
