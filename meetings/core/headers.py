"""Security headers, set on every response in one hook so that no handler can forget one.

Pages run no inline script and no inline style (app.js and app.css only); a site's link
(`{site_token}`) never leaves in a Referer; HSTS is sent when the service is reached over
HTTPS: its `[server] public_url` starts with https:// (a proxy terminates TLS), or the
request itself came over TLS. A forwarded header (X-Forwarded-Proto) is not trusted.
"""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web

from meetings.core.keys import settings_key

R = TypeVar("R", bound=web.StreamResponse)

#: Our pages: scripts, styles and frames only from this origin, never framed elsewhere.
PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
#: A self-contained document shown as it is (the minutes as HTML, an e-mail's HTML part in
#: the mail viewer's frame): its own inline styles and nothing else, never a script (the
#: `sandbox` directive also gives it an origin of its own), framed only by our pages.
DOCUMENT_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "frame-ancestors 'self'",
        "form-action 'none'",
        "base-uri 'none'",
        "sandbox",
    )
)
#: One year; subdomains are left out (they may be other services of the organisation).
HSTS = "max-age=31536000"


def as_document(response: R) -> R:
    """Marks a response as a self-contained document (DOCUMENT_POLICY) rather than a page."""
    response.headers["Content-Security-Policy"] = DOCUMENT_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def _over_https(request: web.Request) -> bool:
    return request.secure or request.app[settings_key].server.public_url_is_https


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The app's on_response_prepare hook: what a handler set itself (as_document) stays."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    if "site_token" in request.match_info:
        # The token is in the URL: not even our own pages get it as a Referer.
        headers["Referrer-Policy"] = "no-referrer"
        headers.setdefault("X-Robots-Tag", "noindex, nofollow")
    else:
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if response.content_type == "text/html":
        headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    if _over_https(request):
        headers.setdefault("Strict-Transport-Security", HSTS)
