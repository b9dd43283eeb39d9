"""At start-up, a warning when the configured public address reaches no server.

Links in e-mails and on pages are built from `[server] public_url`; a stale value (the
port changed, a proxy moved) sends every recipient nowhere. Once the server listens, one
GET to that address with a short timeout tells whether anything answers there. The
answer is only logged: start-up never waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from meetings.core.config import WILDCARD_HOSTS, listening_url
from meetings.core.keys import listening_key, settings_key

log = logging.getLogger(__name__)

#: How long the check waits for an answer.
TIMEOUT_SECONDS = 5.0


async def probe(url: str, *, seconds: float = TIMEOUT_SECONDS) -> int | str:
    """The HTTP status `url` answers with (any status: something is there), or why
    nothing answered."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as client,
            client.get(url + "/", allow_redirects=False) as response,
        ):
            return response.status
    except TimeoutError:
        return f"no answer within {seconds:g} s"
    except aiohttp.ClientError as exc:
        return str(exc) or type(exc).__name__


async def check_public_url(url: str, *, derived: str, seconds: float = TIMEOUT_SECONDS) -> bool:
    """Log whether `url` answers; a clear warning when it does not. `derived` is where
    links would point if it were not set."""
    found = await probe(url, seconds=seconds)
    if isinstance(found, int):
        log.info("[server] public_url %s answers (HTTP %s)", url, found)
        return True
    log.warning(
        "[server] public_url %s does not answer (%s): every link in e-mails and on pages "
        "points there. Set it to the address people use, or leave it empty to follow the "
        "server's host and port (%s).",
        url,
        found,
        derived,
    )
    return False


async def _when_listening(app: web.Application, url: str, derived: str) -> None:
    await app[listening_key].wait()
    await check_public_url(url, derived=derived)


async def public_url_context(app: web.Application) -> AsyncIterator[None]:
    """Check a set public_url once the server listens; say where derived links point
    when the server listens on every interface."""
    server = app[settings_key].server
    task = None
    if server.public_url_is_set:
        derived = listening_url(server.host, server.port)
        task = asyncio.create_task(_when_listening(app, server.public_url, derived))
    elif server.host in WILDCARD_HOSTS:
        log.warning(
            "[server] public_url is empty and the server listens on every interface: links "
            "point at %s; set public_url to the address people use.",
            server.public_url,
        )
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
