"""The app's ear for other instances: on PostgreSQL, one listening connection per app
(meetings.core.live_channel.Listener) hands what another instance committed to the live
hub, which reads those sites' states and sends them to its boards (after a lost
connection is open again, every board reloads its snapshot), and the requests under
unknown site links another instance saw to this one's count (meetings.core.link_guard).
On SQLite: nothing to hear.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from meetings.attendance.keys import hub_key, listener_key
from meetings.core.keys import engine_key, link_failures_key
from meetings.core.live_channel import (
    CHANNEL,
    GUARD_CHANNEL,
    Listener,
    from_others,
    is_postgres,
    others,
)
from meetings.core.observe import observed_key


async def listener_context(app: web.Application) -> AsyncIterator[None]:
    """After the database context (its engine names the database to listen on)."""
    engine = app[engine_key]
    if not is_postgres(engine):
        yield
        return
    hub = app[hub_key]
    guard = app[link_failures_key]
    channels = {CHANNEL: others(hub.heard), GUARD_CHANNEL: from_others(guard.add)}
    listener = Listener(engine.url, channels, hub.resync_all)
    app[listener_key] = listener
    observed = app[observed_key]

    async def listening(_app: web.Application) -> str:
        return "ok" if listener.connected else "not listening"

    async def connected(_app: web.Application) -> float:
        return 1.0 if listener.connected else 0.0

    observed.checks["listener"] = listening
    observed.gauge("giaoban_live_listener_connected", "1 while this instance listens", connected)
    listener.start()
    yield
    await listener.stop()
