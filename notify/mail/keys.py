"""Typed application keys of notify/."""

from __future__ import annotations

import asyncio

from aiohttp import web

#: Set when messages were queued, so the delivery worker starts at once.
wake_key = web.AppKey("notify_wake", asyncio.Event)
#: Set after each delivery pass (tests and health checks wait on it).
delivered_key = web.AppKey("notify_delivered", asyncio.Event)
