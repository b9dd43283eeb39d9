"""Typed application keys of accounts: the logins under way, the kept token lookups."""

from __future__ import annotations

from aiohttp import web

from meetings.accounts.callers import Callers
from meetings.accounts.throttle import LoginsUnderWay

#: Counted with the stored failures, so that a burst of guesses is refused before hashing.
logins_key = web.AppKey("logins_under_way", LoginsUnderWay)

#: Bearer tokens' callers, kept while the database has committed nothing (callers.py).
callers_key = web.AppKey("callers", Callers)
