"""Typed application keys of notify.inbound."""

from __future__ import annotations

import asyncio

from aiohttp import web

#: Set after each pass over the mailbox (tests and health checks wait on it).
passed_key = web.AppKey("inbound_passed", asyncio.Event)
#: Set while the worker listens for new mail (IDLE confirmed, or its poll sleep begun).
listening_key = web.AppKey("inbound_listening", asyncio.Event)
