"""HTML pages: thin handlers that parse the form, call the domain, and render."""

from __future__ import annotations

from datetime import timedelta

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session

from meetings import accounts, sites
from meetings.access import ANY_ROLE, CSRF_SESSION_KEY, ORGANISERS, allow, new_csrf_token, public
from meetings.errors import TooManyAttempts
from meetings.keys import settings_key
from meetings.models import Role
from meetings.settings import LOCALES
from meetings.web import db


def _(request: web.Request, message: str) -> str:
    """Translate a UI message into the request's language."""
    return str(request["translations"].gettext(message))


def safe_next(target: str | None) -> str:
    """Only same-site paths may be redirected to after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


# --- login, logout, language -----------------------------------------------------------


@public
async def login_form(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template(
        "meetings/login.html",
        request,
        {"next": safe_next(request.query.get("next")), "error": None, "username": ""},
    )


@public
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")))
    security = request.app[settings_key].security
    policy = accounts.LoginPolicy(
        max_failures=security.login_max_failures,
        max_failures_per_address=security.login_max_failures_per_address,
        window=timedelta(minutes=security.login_window_minutes),
    )
    error = None
    status = 200
    try:
        async with db(request) as session:
            user = await accounts.authenticate(
                session,
                username=username,
                password=password,
                address=request.remote or "unknown",
                policy=policy,
            )
    except TooManyAttempts:
        user = None
        error = _(request, "Too many failed attempts. Wait a few minutes and try again.")
        status = 429
    if user is None:
        error = error or _(request, "Wrong user name or password.")
        return aiohttp_jinja2.render_template(
            "meetings/login.html",
            request,
            {"next": target, "error": error, "username": username},
            status=status if status != 200 else 401,
        )
    old = await get_session(request)
    locale = old.get("locale")
    session = await new_session(request)  # a fresh session (and CSRF token) at each login
    session["user_id"] = user.id
    session[CSRF_SESSION_KEY] = new_csrf_token()
    if locale:
        session["locale"] = locale
    raise web.HTTPSeeOther(target)


@allow(*ANY_ROLE)
async def logout(request: web.Request) -> web.Response:
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPSeeOther("/login")


@public
async def choose_language(request: web.Request) -> web.Response:
    locale = request.match_info["locale"]
    if locale not in LOCALES:
        raise web.HTTPNotFound()
    session = await get_session(request)
    session["locale"] = locale
    raise web.HTTPSeeOther(safe_next(request.query.get("next")))


# --- dashboard -------------------------------------------------------------------------


@allow(*ANY_ROLE)
@aiohttp_jinja2.template("meetings/dashboard.html")
async def dashboard(request: web.Request) -> dict[str, object]:
    async with db(request) as session:
        site_count = await sites.count_sites(session)
        clusters = await sites.list_clusters(session)
    return {"site_count": site_count, "clusters": clusters, "upcoming": [], "recent": []}


# --- pages still to build --------------------------------------------------------------


def _todo(*roles: Role):  # type: ignore[no-untyped-def]
    @allow(*roles)
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPNotImplemented()

    return handler


site_list = _todo(*ANY_ROLE)
site_new = _todo(*ORGANISERS)
site_create = _todo(*ORGANISERS)
import_form = _todo(*ORGANISERS)
import_preview = _todo(*ORGANISERS)
import_confirm = _todo(*ORGANISERS)
site_detail = _todo(*ANY_ROLE)
site_edit = _todo(*ORGANISERS)
site_update = _todo(*ORGANISERS)
site_delete = _todo(*ORGANISERS)
cluster_list = _todo(*ANY_ROLE)
cluster_create = _todo(*ORGANISERS)
cluster_edit = _todo(*ORGANISERS)
cluster_update = _todo(*ORGANISERS)
user_list = _todo(Role.admin)
user_create = _todo(Role.admin)
user_edit = _todo(Role.admin)
user_update = _todo(Role.admin)
