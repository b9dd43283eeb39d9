"""HTML pages: thin handlers that parse the form, call the domain, and render."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from pydantic import ValidationError

from meetings.accounts import accounts, cookies
from meetings.accounts.keys import logins_key
from meetings.accounts.models import Role, UserCreate, UserPublic, UserUpdate
from meetings.accounts.throttle import LoginPolicy
from meetings.core.access import ANY_ROLE, allow, public, require_user
from meetings.core.errors import DomainError, TooManyAttempts
from meetings.core.forms import FormState, problems_of, text
from meetings.core.keys import settings_key, translations_key
from meetings.core.pages import _, flash, render, safe_next
from meetings.core.web import db, path_id, url
from meetings.register import sites


@public
async def login_form(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template(
        "accounts/login.html",
        request,
        {"next": safe_next(request, request.query.get("next")), "error": None, "username": ""},
    )


@public
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    username = str(form.get("username", "")).strip()
    target = safe_next(request, str(form.get("next", "")))
    security = request.app[settings_key].security
    policy = LoginPolicy(
        max_failures=security.login_max_failures,
        max_failures_per_address=security.login_max_failures_per_address,
        window=timedelta(minutes=security.login_window_minutes),
    )
    address = request.remote or "unknown"
    try:
        # Under way until its failure is committed: a burst is refused before hashing.
        with request.app[logins_key].attempt(username=username, address=address) as turn:
            async with db(request) as session:
                user = await accounts.authenticate(
                    session, turn=turn, password=str(form.get("password", "")), policy=policy
                )
    except TooManyAttempts as exc:
        error = _(request, "Too many failed attempts. Wait a few minutes and try again.")
        return _login_again(request, target, username, error, 429, exc.retry_after_seconds)
    if user is None:
        error = _(request, "Wrong user name or password.")
        return _login_again(request, target, username, error, 401)
    await cookies.sign_in(request, user)
    raise web.HTTPSeeOther(target)


def _login_again(
    request: web.Request,
    target: str,
    username: str,
    error: str,
    status: int,
    retry_after: int | None = None,
) -> web.Response:
    response = aiohttp_jinja2.render_template(
        "accounts/login.html",
        request,
        {"next": target, "error": error, "username": username},
        status=status,
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@allow(*ANY_ROLE)
async def logout(request: web.Request) -> web.Response:
    await cookies.sign_out(request, require_user(request))
    raise web.HTTPSeeOther(url(request, "login"))


async def _users_page(request: web.Request, state: FormState) -> web.Response:
    async with db(request) as session:
        users = await accounts.list_users(session)
        clusters = await sites.list_clusters(session)
    return render(
        request,
        "accounts/users.html",
        {"users": users, "state": state, "roles": list(Role), "clusters": clusters},
        status=state.status,
    )


@allow(Role.admin)
async def user_list(request: web.Request) -> web.Response:
    return await _users_page(request, FormState())


@allow(Role.admin)
async def user_create(request: web.Request) -> web.Response:
    form = await request.post()
    values: dict[str, str | None] = {
        name: text(form, name) for name in ("username", "full_name", "role", "password")
    }
    values["email"] = text(form, "email") or None
    values["cluster_id"] = text(form, "cluster_id") or None
    try:
        async with db(request) as session:
            await accounts.create_user(session, UserCreate.model_validate(values))
    except (ValidationError, DomainError) as exc:
        state = problems_of(exc, request[translations_key].gettext)
        state.values = {**values, "password": ""}
        return await _users_page(request, state)
    await flash(request, _(request, "The account was created."))
    raise web.HTTPSeeOther(url(request, "users"))


async def _user_form(request: web.Request, user_id: int, state: FormState) -> web.Response:
    async with db(request) as session:
        user = await accounts.get_user(session, user_id)
        clusters = await sites.list_clusters(session)
    values = {**UserPublic.model_validate(user).model_dump(), **state.values}
    return render(
        request,
        "accounts/user_form.html",
        {
            "account": user,
            "values": values,
            "state": state,
            "roles": list(Role),
            "clusters": clusters,
        },
        status=state.status,
    )


@allow(Role.admin)
async def user_edit(request: web.Request) -> web.Response:
    return await _user_form(request, path_id(request), FormState())


@allow(Role.admin)
async def user_update(request: web.Request) -> web.Response:
    form = await request.post()
    values: dict[str, Any] = {
        "version": text(form, "version"),
        "full_name": text(form, "full_name"),
        "email": text(form, "email") or None,
        "role": text(form, "role"),
        "is_active": form.get("is_active") == "on",
        "cluster_id": text(form, "cluster_id") or None,
    }
    if text(form, "password"):
        values["password"] = text(form, "password")
    user_id = path_id(request)
    try:
        async with db(request) as session:
            await accounts.update_user(session, user_id, UserUpdate.model_validate(values))
            if user_id == require_user(request).id:  # a new password ends the others only
                cookies.keep_signed_in(
                    await get_session(request), await accounts.get_user(session, user_id)
                )
    except (ValidationError, DomainError) as exc:
        state = problems_of(exc, request[translations_key].gettext)
        state.values = {**values, "password": ""}
        return await _user_form(request, user_id, state)
    await flash(request, _(request, "The account was saved."))
    raise web.HTTPSeeOther(url(request, "users"))
