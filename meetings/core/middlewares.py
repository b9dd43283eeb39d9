"""Middlewares: errors to the API's error shape, then who is calling and may they."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import Session, get_session
from pydantic import ValidationError

from meetings.accounts import accounts, cookies
from meetings.accounts.callers import Callers
from meetings.accounts.keys import callers_key
from meetings.accounts.models import User
from meetings.core import scope
from meetings.core.access import (
    CSRF_FIELD,
    CSRF_HEADER,
    CSRF_SESSION_KEY,
    Handler,
    access_of,
    csrf_matches,
    new_csrf_token,
)
from meetings.core.commits import commits_key
from meetings.core.errors import Conflict, DomainError, FieldProblem, Invalid, TooManyAttempts
from meetings.core.i18n import pick_locale, translations
from meetings.core.keys import (
    auth_kind_key,
    later_key,
    locale_key,
    sessions_key,
    settings_key,
    translations_key,
    user_key,
)
from meetings.core.labels import N_
from meetings.core.problems import in_language, problem_text, pydantic_problem
from meetings.core.store import SessionMaker, utcnow
from meetings.core.types import check_characters
from meetings.core.web import form_data, url

log = logging.getLogger(__name__)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CONTROL_CHARACTERS = N_("Must not contain control characters")


HTTP_CODES = {
    400: "malformed",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


def _http_message(request: web.Request, exc: web.HTTPException) -> str:
    """A sentence for the HTML error page, in the page's language."""
    messages = {
        400: N_("The form could not be read. Reload the page and try again."),
        403: N_("You may not open this page with your role."),
        404: N_("This page does not exist."),
        405: N_("This action is not available here."),
        413: N_("The file is too large."),
        415: N_("This kind of content is not accepted here."),
    }
    message = messages.get(exc.status, N_("This cannot be done."))
    return _translate(request, message)


def _translate(request: web.Request, message: str) -> str:
    return str((request.get(translations_key) or translations("en")).gettext(message))


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def error_body(code: str, message: str, details: list[dict[str, object]] | None = None) -> dict:
    error: dict[str, object] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def problems_from_validation(exc: ValidationError) -> list[FieldProblem]:
    """Pydantic's errors as field problems: `contacts.0.email`, not a Python repr."""
    return [
        pydantic_problem(dict(error), ".".join(str(part) for part in error["loc"]) or "body")
        for error in exc.errors(include_url=False)
    ]


def json_error(status: int, code: str, message: str, details: list | None = None) -> web.Response:
    return web.json_response(error_body(code, message, details), status=status)


#: What a page says of a refusal whose own message has no translation, by status.
REFUSALS = {
    403: N_("You may not do this with your role."),
    404: N_("What you are looking for does not exist or has been deleted."),
    409: N_("Someone else changed this in the meantime. Reload the page."),
    413: N_("The file is too large."),
    422: N_("This cannot be done."),
    429: N_("Too many attempts. Wait a moment, then try again."),
}


def _refusal(request: web.Request, exc: DomainError) -> str:
    """The domain's message in the page's language (a general one when it has none); an
    invalid value whose summary has no translation is said by its problems."""
    gettext = (request.get(translations_key) or translations("en")).gettext
    fallback = REFUSALS.get(exc.status, N_("This cannot be done."))
    if isinstance(exc, Invalid) and exc.problems and gettext(exc.message) == exc.message:
        return "; ".join(dict.fromkeys(problem_text(p, gettext) for p in exc.problems))
    if exc.template is None:
        return in_language(exc.message, gettext, fallback)
    try:
        return in_language(exc.template, gettext, fallback).format(**dict(exc.params))
    except (KeyError, IndexError, ValueError):
        return gettext(fallback)


def _for_a_page(request: web.Request) -> bool:
    """A page's own script calls the API with the cookie: it shows the errors as they
    come, so they come in the page's language (scripts with a token get English)."""
    return request.get(auth_kind_key) == "cookie"


async def domain_error_response(request: web.Request, exc: DomainError) -> web.Response:
    details: list[dict[str, object]] | None = None
    gettext = (request.get(translations_key) or translations("en")).gettext
    if isinstance(exc, Invalid):
        details = [
            {**p.as_dict(), "message": problem_text(p, gettext)}
            if _for_a_page(request)
            else p.as_dict()
            for p in exc.problems
        ]
    elif isinstance(exc, Conflict) and exc.field:
        message = _refusal(request, exc) if _for_a_page(request) else exc.message
        details = [{"field": exc.field, "message": message}]
    headers = {}
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    if is_api(request):
        message = _refusal(request, exc) if _for_a_page(request) else exc.message
        response = json_error(exc.status, exc.code, message, details)
        response.headers.update(headers)
        return response
    return await error_page(request, exc.status, _refusal(request, exc), headers=headers)


async def page_context(request: web.Request) -> dict[str, object]:
    """What every page's layout needs: user, locale, CSRF token, organisation. API calls
    render no page: they skip it (and must not consume the flash meant for a page)."""
    if is_api(request):
        return {}
    session = await get_session(request)
    settings = request.app[settings_key]
    locale = request.get(locale_key, settings.organisation.locale)
    return {
        "request": request,
        "user": request.get(user_key),
        "locale": locale,
        "translations": request.get(translations_key) or translations(locale),
        "csrf_token": session.get(CSRF_SESSION_KEY, ""),
        "organisation": settings.organisation,
        "flash": session.pop("flash", None),
        "nav": request.path.split("/")[1] if request.path != "/" else "",
    }


async def layout_context(request: web.Request) -> dict[str, object]:
    """The templates' context processor: page_context, but none for static files and
    sessionless routes (the health check), which render no page and read no session."""
    return {} if is_sessionless(request) else await page_context(request)


async def error_page(
    request: web.Request, status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    # Rendered with its own context: the error may come before the context processors ran.
    context = {**await page_context(request), "status": status, "message": message}
    response = aiohttp_jinja2.render_template("core/error.html", request, context, status=status)
    response.headers.update(headers or {})
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain errors and validation errors become 4xx with the documented shape."""
    try:
        return await handler(request)
    except DomainError as exc:
        return await domain_error_response(request, exc)
    except ValidationError as exc:
        problems = problems_from_validation(exc)
        return await domain_error_response(request, Invalid("the request is not valid", problems))
    except json.JSONDecodeError as exc:
        return json_error(400, "malformed", f"the body is not valid JSON: {exc.msg} at {exc.pos}")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if not is_api(request):
            return await error_page(request, exc.status, _http_message(request, exc))
        text = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        if _for_a_page(request):  # the page's script shows it: in the page's language
            text = in_language(text, request[translations_key].gettext, _http_message(request, exc))
        response = json_error(exc.status, HTTP_CODES.get(exc.status, "error"), text)
        for name in ("Allow", "WWW-Authenticate", "Retry-After"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_api(request):
            return json_error(500, "internal_error", "internal error; it has been logged")
        return await error_page(
            request, 500, _translate(request, N_("Internal error; it has been logged."))
        )


#: Bodies that aiohttp parses as a form (`request.post()`).
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


async def refuse_bad_input(request: web.Request) -> None:
    """Input no handler should see, refused once for all, after access is checked (by
    `auth_middleware`, which calls this last: one middleware layer less on every request):
    a body that is not the form it claims to be (400), and control characters in a query
    parameter or a posted field (422 naming it; multi-line fields keep tabs and breaks)."""
    fields = list(request.query.items())
    if request.method in UNSAFE_METHODS and request.content_type in FORM_TYPES:
        form = await form_data(request)
        fields += [(name, value) for name, value in form.items() if isinstance(value, str)]
    problems = []
    for name, value in fields:
        try:
            check_characters(value, multiline=True)
        except ValueError as exc:
            problems.append(FieldProblem(name, str(exc), template=CONTROL_CHARACTERS))
    if problems:
        raise Invalid(N_("Text may not contain control characters."), problems)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Identify the caller (bearer token or session cookie), pick the locale, then enforce
    the route's declared access and, for cookie-authenticated unsafe requests, CSRF.
    Static files and sessionless routes (the health check) skip all of that; then the
    input every route refuses (`refuse_bad_input`)."""
    settings = request.app[settings_key]
    if is_sessionless(request):
        _nobody(request)
        await refuse_bad_input(request)
        return await handler(request)
    session = await get_session(request)
    user = await _identify(request, session)
    request[user_key] = user
    locale = pick_locale(
        request.query.get("lang"), session.get("locale"), default=settings.organisation.locale
    )
    request[locale_key] = locale
    request[translations_key] = translations(locale)
    if (
        CSRF_SESSION_KEY not in session
        and request[auth_kind_key] != "bearer"
        and not (is_api(request) and "site_token" in request.match_info)
    ):
        # Scripts with a token, and sites' API calls by their link, get no cookie.
        session[CSRF_SESSION_KEY] = new_csrf_token()

    access = access_of(request.match_info.handler)
    if access is None:
        # No declaration: fail closed. 404/405 routes have no handler of ours either.
        if request.match_info.http_exception is not None:
            raise request.match_info.http_exception
        raise web.HTTPForbidden(text=N_("this route declares no access"))
    if not access.admits(user):
        if user is None:
            if is_api(request):
                raise web.HTTPUnauthorized(
                    text="log in or send Authorization: Bearer <token>",
                    headers={"WWW-Authenticate": 'Bearer realm="giaoban"'},
                )
            raise web.HTTPSeeOther(url(request, "login", query={"next": request.path_qs}))
        raise web.HTTPForbidden(text=N_("your role may not use this"))
    if user is not None and not access.is_public:
        await scope.check(request, user)  # a cluster leader: its own cluster only
    if (
        request.method in UNSAFE_METHODS
        and request[auth_kind_key] != "bearer"
        and not access.csrf_exempt
    ):
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            posted = (await form_data(request)).get(CSRF_FIELD)
            given = posted if isinstance(posted, str) else None
        if not csrf_matches(session.get(CSRF_SESSION_KEY), given):
            raise web.HTTPForbidden(text=N_("missing or wrong CSRF token; reload the page"))
    await refuse_bad_input(request)
    return await handler(request)


def is_sessionless(request: web.Request) -> bool:
    """A static file, or a route that reads no cookie: the health check
    (`public_sessionless`) and the sites' API calls by their link (`public_link`)."""
    if isinstance(request.match_info.route.resource, web.StaticResource):
        return True
    access = access_of(request.match_info.handler)
    return access is not None and access.sessionless


def _nobody(request: web.Request) -> None:
    """No session read, nobody identified, the default locale."""
    locale = request.app[settings_key].organisation.locale
    request[auth_kind_key] = "none"
    request[user_key] = None
    request[locale_key] = locale
    request[translations_key] = translations(locale)


async def _identify(request: web.Request, session: Session) -> User | None:
    request[auth_kind_key] = "none"
    header = request.headers.get("Authorization", "")
    if header:
        return await _bearer(request, header)
    user = await cookies.cookie_user(request, session)
    if user is not None:
        request[auth_kind_key] = "cookie"
    return user


async def _bearer(request: web.Request, header: str) -> User:
    """The token's user (looked up again after any commit, see accounts.callers); reading
    with a token writes nothing (its last use is noted at most every TOKEN_USE_EVERY,
    beside the request, in a transaction of its own)."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise web.HTTPUnauthorized(text="Authorization must be 'Bearer <token>'")
    maker = request.app[sessions_key]
    marker = await request.app[commits_key].read()
    callers = request.app[callers_key]
    caller = await callers.caller(maker, token.strip(), marker)
    if caller is None:
        raise web.HTTPUnauthorized(text="unknown or revoked token")
    now = utcnow()
    if callers.use_to_note(caller, now):
        note = _note_token_use(maker, callers, caller.token_id, now)
        request.app[later_key].start(note, what="noting a token's last use")
    request[auth_kind_key] = "bearer"
    return caller.user


async def _note_token_use(
    maker: SessionMaker, callers: Callers, token_id: int, at: datetime
) -> None:
    try:
        async with maker() as db, db.begin():
            await accounts.record_token_use(db, token_id=token_id, at=at)
    finally:
        callers.noted(token_id)
