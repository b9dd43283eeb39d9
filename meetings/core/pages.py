"""HTML pages: thin handlers that parse the form, call the domain, and render."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from meetings.core.access import (
    ORGANISERS,
    current_user,
)
from meetings.core.commits import kept_in
from meetings.core.forms import problems_of
from meetings.core.keys import (
    RefusedSiteForm,
    locale_key,
    panels_key,
    site_form_page_key,
    translations_key,
)
from meetings.core.labels import N_
from meetings.core.scope import acts_as
from meetings.core.shared import Shared
from meetings.core.web import url

PAGE_SIZE = 50


FLASH_KEY = "flash"


#: Messages the domain puts on a form field (it speaks English to the API), listed so
#: that they are extracted into the catalogs: the form shows them translated.
FIELD_MESSAGES = (
    N_("may not be empty"),
    N_("the last active admin must stay an admin"),
)


def _(request: web.Request, message: str) -> str:
    """Translate a UI message into the request's language."""
    return str(request[translations_key].gettext(message))


def translated(request: web.Request, labels: Mapping[str, str]) -> dict[str, str]:
    """`labels` in the request's language, once for a page that shows them in every row
    of a 10,000-site session rather than once a row."""
    return {key: _(request, label) for key, label in labels.items()}


async def flash(request: web.Request, message: str) -> None:
    """A one-time message shown on the next page (after a redirect)."""
    (await get_session(request))[FLASH_KEY] = message


def not_saved(request: web.Request, exc: Exception) -> str:
    """A refused form's flash message: what was wrong, in the request's language."""
    state = problems_of(exc, request[translations_key].gettext)
    details = "; ".join(state.errors.values()) or state.summary
    return _(request, "Not saved: {details}").format(details=details)


async def refused_site_form(
    request: web.Request, exc: Exception, *, form: str, typed: dict[str, Any]
) -> web.StreamResponse:
    """The site's page again, with the form's problems beside its fields and what was
    typed (422); the session is the one in the URL (see keys.site_form_page_key)."""
    state = problems_of(exc, request[translations_key].gettext)
    refused = RefusedSiteForm(int(request.match_info["id"]), form, state.errors, typed)
    return await request.app[site_form_page_key](request, refused)


#: Pages' panels kept while the database is unchanged (the least recently read is dropped
#: first): a 10,000-site session's panels cost some thirty queries and ~100 ms a view.
KEPT_PANELS = 32
Panels = list[dict[str, Any]]
kept_panels_key = web.AppKey("kept_panels", Shared[Panels])


def panels_viewer(request: web.Request) -> tuple[object, ...]:
    """All that the panels read of a request besides the record, the database and the
    minute (they show times relative to now: due, overdue): who (controls follow the
    role, and a cluster leader's powers its cluster), the language, the query."""
    user = current_user(request)
    return (
        (user.role, user.cluster_id) if user is not None else None,
        request.get(locale_key),
        request.query_string,
    )


async def panels(request: web.Request, page: str, record_id: int) -> Panels:
    """The panels other packages add to `page` (see meetings.core.keys.panels_key), read
    once per viewer (panels_viewer) and commit marker (meetings.core.commits, read *before*
    the panels, so they are never staler than the database): an operator refreshing an
    unchanged session, or fifty watching it, makes no panel query."""
    providers = request.app[panels_key].get(page, []) if panels_key in request.app else []

    async def read() -> Panels:
        return [await provide(request, record_id) for provide in providers]

    if not providers or kept_panels_key not in request.app:
        return await read()
    key = (page, record_id, panels_viewer(request))
    return await kept_in(request, request.app[kept_panels_key], key, read, per_minute=True)


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    return aiohttp_jinja2.render_template(template, request, context, status=status)


def may_edit(request: web.Request) -> bool:
    return acts_as(request, ORGANISERS)


#: A path of this site as a redirect may name it: "/", then not a second "/" nor a
#: backslash (browsers read it as "/"), and only printable ASCII without backslashes
#: (browsers drop tabs and line breaks from a URL, so "/<TAB>/evil.example" becomes
#: "//evil.example"; our own paths come percent-encoded, so anything else is a lookalike).
_OWN_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")


def is_own_path(target: str) -> bool:
    """`target` leads to a page of this site however a browser or a proxy reads it."""
    decoded = re.sub(r"[\x00-\x20\x7f]", "", unquote(target))
    return bool(_OWN_PATH.fullmatch(target)) and not decoded.startswith(("//", "/\\"))


def safe_next(request: web.Request, target: str | None) -> str:
    """Only same-site paths may be redirected to after login (no open redirect)."""
    return target if target and is_own_path(target) else url(request, "dashboard")
