"""A site's own links, absolute: e-mails, letters and calendars carry them, and no request.

Each path is declared here once; the routes mount the same constants, so a link and the
route it points to cannot drift apart. Pages with a request use the route names instead.
"""

from __future__ import annotations

from urllib.parse import quote

#: The site's personal page (route `site_page`).
SITE_PAGE = "/s/{site_token}"
#: The site's calendar subscription (route `api_site_feed`).
SITE_FEED = "/api/v1/site/{site_token}/calendar.ics"


def site_page_url(public_url: str, token: str) -> str:
    """The link every invitation, letter and calendar entry gives the site."""
    return public_url + SITE_PAGE.format(site_token=quote(token, safe=""))


def site_feed_url(public_url: str, token: str) -> str:
    """The calendar subscription shown on the site's page."""
    return public_url + SITE_FEED.format(site_token=quote(token, safe=""))
