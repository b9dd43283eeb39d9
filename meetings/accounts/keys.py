"""Typed application keys of accounts: the logins under way in this process."""

from __future__ import annotations

from aiohttp import web

from meetings.accounts.throttle import LoginsUnderWay

#: Counted with the stored failures, so that a burst of guesses is refused before hashing.
logins_key = web.AppKey("logins_under_way", LoginsUnderWay)
