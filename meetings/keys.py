"""Typed application keys: every long-lived resource the app holds, in one place."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from meetings.settings import Settings
from meetings.store import SessionMaker

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
sessions_key = web.AppKey("sessions", SessionMaker)
