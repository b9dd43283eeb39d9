"""Who may call a route: each handler declares it; the middleware enforces it.

A handler without a declaration is refused for everyone (fail closed), and a test walks
every route to prove that nothing is reachable anonymously unless declared public.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from meetings.accounts.models import Role, User
from meetings.core.keys import user_key

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Callable[..., Any])

ACCESS_ATTR = "__giaoban_access__"
CSRF_SESSION_KEY = "csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "_csrf"
#: Roles for reading the register and sessions: every account.
ANY_ROLE = frozenset(Role)
#: Roles that plan and run sessions and keep the register.
ORGANISERS = frozenset({Role.admin, Role.organiser})
#: The roles whose routes a cluster leader may call, on its own cluster's records only.
LEADER_POWERS = frozenset({Role.organiser, Role.secretary, Role.chair, Role.cluster_leader})


@dataclass(frozen=True)
class Access:
    """Either public, or the set of roles admitted (admin is always admitted)."""

    is_public: bool
    roles: frozenset[Role]
    #: Public routes authorised by something other than the session (a site's token)
    #: take no cookie, so they need no CSRF token either.
    csrf_exempt: bool = False
    #: No cookie session (the health check, whose answer depends on no one; a site's link
    #: API route, authorised by its link): the middlewares read no session, identify no
    #: caller and set no cookie.
    sessionless: bool = False

    def admits(self, user: User | None) -> bool:
        if self.is_public:
            return True
        if user is None or not user.is_active:
            return False
        if user.role == Role.cluster_leader:
            # Acts as organiser, secretary and chair, only where meetings.core.scope lets it.
            return bool(self.roles & LEADER_POWERS)
        return user.role == Role.admin or Role(user.role) in self.roles


def allow(*roles: Role) -> Callable[[H], H]:
    """Admit logged-in users with one of `roles` (admins always)."""

    def mark(handler: H) -> H:
        setattr(handler, ACCESS_ATTR, Access(is_public=False, roles=frozenset(roles)))
        return handler

    return mark


def public(handler: H) -> H:
    """Anyone may call this handler (login page, health check, static files)."""
    setattr(handler, ACCESS_ATTR, Access(is_public=True, roles=frozenset()))
    return handler


def public_token(handler: H) -> H:
    """Anyone holding the secret in the URL (a site's token); no cookie, no CSRF."""
    setattr(handler, ACCESS_ATTR, Access(is_public=True, roles=frozenset(), csrf_exempt=True))
    return handler


def public_sessionless(handler: H) -> H:
    """Anyone, and the answer is the same for everyone: no session, caller or cookie."""
    access = Access(is_public=True, roles=frozenset(), csrf_exempt=True, sessionless=True)
    setattr(handler, ACCESS_ATTR, access)
    return handler


def public_link(handler: H) -> H:
    """Anyone holding a site's link, for the API: the link in the URL is the only credential
    and the answer (that site's own data, in the API's language) is the handler's to
    authorise, not the same for everyone. Like `public_sessionless` the middlewares read no
    cookie session, identify no caller and set no cookie: a burst of 5,000 sites' calls
    paid for both, and a site has no account to be identified as."""
    access = Access(is_public=True, roles=frozenset(), csrf_exempt=True, sessionless=True)
    setattr(handler, ACCESS_ATTR, access)
    return handler


def access_of(handler: object) -> Access | None:
    return getattr(handler, ACCESS_ATTR, None)


def current_user(request: web.Request) -> User | None:
    return request.get(user_key)


def require_user(request: web.Request) -> User:
    user = current_user(request)
    if user is None:
        raise web.HTTPUnauthorized()
    return user


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and secrets.compare_digest(str(expected), str(given))
