"""The site page drawn once per link, language, commit marker and minute, then served to
every visitor of the link with their own CSRF token put back in.

Drawing the page (Jinja, ~1 ms) was what was left of a warm visit once the site and its
overview were kept (notify.site.overview). What differs between two visitors of one link
is only their CSRF token (the layout's meta tag): the page is drawn with a placeholder
there and kept as the bytes around it. A visitor whose page differs in more than that is
drawn a page of their own: one just back from a form (`?saved=`, a flash, a refused form
with what was typed), one choosing a language by `?lang=`, one logged in (the top bar).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from aiohttp import web
from aiohttp_jinja2 import REQUEST_CONTEXT_KEY
from markupsafe import escape

from meetings.core.keys import user_key

#: What the page is drawn with in place of the CSRF token: random per process, so no
#: text of a site's data can be taken for it.
PLACEHOLDER = "csrf-" + secrets.token_hex(16)


@dataclass(frozen=True)
class Drawn:
    """A page's bytes, split where the visitor's CSRF token goes."""

    parts: tuple[bytes, ...]

    @classmethod
    def of(cls, html: str) -> Drawn:
        return cls(tuple(html.encode().split(PLACEHOLDER.encode())))

    def response(self, csrf_token: str) -> web.Response:
        body = str(escape(csrf_token)).encode().join(self.parts)
        return web.Response(body=body, content_type="text/html", charset="utf-8")


def layout_csrf_token(request: web.Request) -> str:
    """The visitor's CSRF token, as the layout's context has it (meetings.core.middlewares)."""
    return str((request.get(REQUEST_CONTEXT_KEY) or {}).get("csrf_token", ""))


def same_for_every_visitor(request: web.Request) -> bool:
    """Whether this visitor's page is the link's page but for the CSRF token: no query (a
    form's thanks, `?lang=`), no flash taken from the session, nobody logged in."""
    layout = request.get(REQUEST_CONTEXT_KEY) or {}
    return not request.query and not layout.get("flash") and request.get(user_key) is None
