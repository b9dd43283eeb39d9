"""Whole pages kept per viewer while the database is unchanged, for the pages that operators
keep refreshing (the session page, the board): a refresh of an unchanged session costs one
commit marker read (meetings.core.commits) instead of some forty queries and a render.

A kept page is only ever served to the request that would render it byte for byte: the
key holds the cookie session's CSRF token (so another browser, even of the same user,
never gets it), the user and what its controls follow (role, cluster), the language,
the path and query, the commit marker read *before* the page is rendered (never staler
than the database) and the current minute (the page shows times relative to now). A
request carrying a flash message renders afresh: the message is shown once, then gone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp_jinja2 import REQUEST_CONTEXT_KEY

from meetings.core.access import current_user
from meetings.core.commits import kept_in
from meetings.core.keys import locale_key
from meetings.core.shared import Shared

#: Pages kept (the least recently read is dropped first): a 10,000-site session's page or
#: board is some 3 MB, so at most ~50 MB however many viewers.
KEPT_SESSION_PAGES = 16
session_pages_key = web.AppKey("session_pages", Shared[bytes])
Page = Callable[[web.Request], Awaitable[web.Response]]


async def kept_page(request: web.Request, page: Page) -> web.Response:
    """`page`'s answer to `request`, kept for the same viewer until the next commit or
    minute; anything but a plain 200 HTML page (a redirect, an error) is never kept."""
    # The layout's context (meetings.core.middlewares.page_context) is read before the
    # handler: it holds the CSRF token and the flash message, taken from the session.
    layout = request.get(REQUEST_CONTEXT_KEY) or {}
    user = current_user(request)
    token = layout.get("csrf_token")
    if layout.get("flash") or user is None or not token or session_pages_key not in request.app:
        return await page(request)
    key = (
        token,
        user.id,
        user.role,
        user.cluster_id,
        request.get(locale_key),
        request.path_qs,
    )

    async def read() -> bytes:
        response = await page(request)
        if response.status != 200 or not isinstance(response.body, bytes):
            raise _NotKept(response)
        return response.body

    try:
        store = request.app[session_pages_key]
        body = await kept_in(request, store, key, read, per_minute=True)
    except _NotKept as refused:
        return refused.response
    return web.Response(body=body, content_type="text/html", charset="utf-8")


class _NotKept(Exception):
    """A page's answer that is not kept (a failed read is dropped by Shared): returned
    as it is to the request that read it."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response
