"""The login cookie: whose it is, of which session generation, and when it was last used.

The cookie is encrypted and signed, but a copy of it would stay valid for its whole
lifetime: so it carries the user's session generation, which logout, a new password and
a disabled account raise (every copy dies), and the time of its last use, so that a
session left idle longer than `[security] idle_minutes` ends.
"""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp_session import Session, get_session, new_session

from meetings.accounts import accounts
from meetings.accounts.keys import callers_key
from meetings.accounts.models import User
from meetings.core.access import CSRF_SESSION_KEY, new_csrf_token
from meetings.core.commits import commits_key
from meetings.core.keys import sessions_key, settings_key
from meetings.core.store import id_of

USER = "user_id"
GENERATION = "generation"
SEEN = "seen"
#: The last use is rewritten at most this often (seconds), so that not every response
#: sends a new cookie; the idle timeout is that much coarse.
SEEN_EVERY = 60


async def sign_in(request: web.Request, user: User) -> None:
    """A fresh cookie (and CSRF token) for `user`, keeping only the chosen language."""
    locale = (await get_session(request)).get("locale")
    cookie = await new_session(request)
    keep_signed_in(cookie, user)
    cookie[CSRF_SESSION_KEY] = new_csrf_token()
    if locale:
        cookie["locale"] = locale


def keep_signed_in(cookie: Session, user: User) -> None:
    """The cookie names `user` at the generation stored now (after a change of their own)."""
    cookie[USER] = id_of(user)
    cookie[GENERATION] = user.session_generation
    cookie[SEEN] = int(time.time())


async def sign_out(request: web.Request, user: User) -> None:
    """Ends this cookie and every copy of it: the user's generation moves on."""
    async with request.app[sessions_key]() as session, session.begin():
        await accounts.end_sessions(session, user_id=id_of(user))
    (await get_session(request)).invalidate()


async def cookie_user(request: web.Request, cookie: Session) -> User | None:
    """The active user the cookie names, if its generation is current and it was used
    within the idle timeout; otherwise the cookie forgets the user (None). The user is
    read again after any commit only (accounts.callers)."""
    user_id = cookie.get(USER)
    if user_id is None:
        return None
    now = int(time.time())
    seen = cookie.get(SEEN)
    idle = now - seen if isinstance(seen, int) else None
    fresh = idle is not None and idle <= request.app[settings_key].security.idle_minutes * 60
    user = None
    if fresh:
        marker = await request.app[commits_key].read()
        user = await request.app[callers_key].user(request.app[sessions_key], user_id, marker)
    if user is None or not user.is_active or cookie.get(GENERATION) != user.session_generation:
        for key in (USER, GENERATION, SEEN):
            cookie.pop(key, None)
        return None
    if idle is not None and idle >= SEEN_EVERY:
        cookie[SEEN] = now
    return user
