"""Typed application keys of attendance: the app's live hub and its check-in batcher."""

from __future__ import annotations

from aiohttp import web

from meetings.attendance.checkin import CheckInBatcher
from meetings.attendance.live import Hub
from meetings.core.live_channel import Listener

#: The open live boards of this app (committed attendance changes reach them).
hub_key = web.AppKey("live_hub", Hub)
#: Group commit of sites' check-ins.
checkin_key = web.AppKey("checkin", CheckInBatcher)
#: On PostgreSQL, what other instances commit reaches this app's boards through it.
listener_key = web.AppKey("live_listener", Listener)
