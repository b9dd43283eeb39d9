"""Guessing at sites' links: requests under unknown links are counted per address, and
past `[security] site_link_max_failures_per_address` within the window, that address's
unknown links answer 429 with Retry-After instead of 404. A valid link keeps working,
even from that address (an office behind one address may hold a stale link as well).

A link carries 256 random bits, so it cannot be guessed; the limit keeps a prober from
loading the service and makes the probing visible. The counts live in this process's
memory, and each one is told to the other instances (PostgreSQL: NOTIFY giaoban_guard,
meetings.core.live_channel), so an address is refused on every instance alike.
"""

from __future__ import annotations

from aiohttp import web

from meetings.core.access import Handler
from meetings.core.errors import NotFound, TooManyAttempts
from meetings.core.keys import (
    engine_key,
    link_failures_key,
    sessions_key,
    site_resolver_key,
    translations_key,
)
from meetings.core.labels import N_
from meetings.core.live_channel import GUARD_CHANNEL, is_postgres, tell_others
from meetings.core.middlewares import is_api


async def _is_known(request: web.Request) -> bool:
    async with request.app[sessions_key]() as session:
        try:
            await request.app[site_resolver_key](session, request.match_info["site_token"])
        except NotFound:
            return False
    return True


async def _note_if_unknown(request: web.Request, address: str) -> None:
    if not await _is_known(request):
        request.app[link_failures_key].add(address)
        if is_postgres(request.app[engine_key]):  # the other instances count it too
            async with request.app[sessions_key]() as session, session.begin():
                await tell_others(session, GUARD_CHANNEL, address)


@web.middleware
async def site_link_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts 404s under unknown site links per address; past the limit, refuses them."""
    if "site_token" not in request.match_info:
        return await handler(request)
    address = request.remote or "unknown"
    wait = request.app[link_failures_key].wait(address)
    if wait and not await _is_known(request):
        message = "too many requests under unknown site links; wait before trying again"
        if not is_api(request):
            message = request[translations_key].gettext(
                N_("Too many attempts with links that do not exist. Wait and try again.")
            )
        raise TooManyAttempts(message, retry_after_seconds=wait)
    try:
        response = await handler(request)
    except (NotFound, web.HTTPNotFound):
        await _note_if_unknown(request, address)
        raise
    if response.status == 404:
        await _note_if_unknown(request, address)
    return response
