"""Typed application keys: every long-lived resource the app holds, in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from meetings.core.settings import Settings
from meetings.core.store import SessionMaker

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
sessions_key = web.AppKey("sessions", SessionMaker)

#: A page's extra panels from other packages, registered by the composition root:
#: page name ("session", "site") → providers (request, record id) → the panel's context,
#: which names its template under "template". Keeps meetings/ free of imports from them.
PanelProvider = Callable[[web.Request, int], Awaitable[dict[str, Any]]]
panels_key = web.AppKey("panels", dict[str, list[PanelProvider]])

#: Group commit of sites' check-ins (meetings.attendance.CheckInBatcher).
checkin_key = web.AppKey("checkin", object)
