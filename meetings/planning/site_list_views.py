"""The session page's card of invited sites: its list (meetings.planning.site_list) read and
rendered once for every operator who opens the page alike."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from meetings.core.keys import locale_key, settings_key
from meetings.core.pages import translated
from meetings.core.web import db
from meetings.planning.labels import RSVP_LABELS, RSVP_SOURCE_LABELS
from meetings.planning.models import MeetingPublic
from meetings.planning.site_list import SiteList, read_site_list, site_lists_key


async def sites_card(request: web.Request, page: dict[str, Any], known: Hashable) -> Markup:
    """The invited sites' card of the session page `page` (its context): the list read and
    rendered once for every page that shows it alike (per fingerprint, language, phase)."""
    meeting: MeetingPublic = page["meeting"]

    async def read() -> SiteList:
        async with db(request) as session:
            return await read_site_list(session, meeting.id)

    shared = await request.app[site_lists_key].get(meeting.id, known, read)
    key = (
        request.get(locale_key, request.app[settings_key].organisation.locale),
        str(page["phase"]),
    )
    html = shared.pages.get(key)
    if html is None:
        context = {
            **{k: page[k] for k in ("meeting", "phase", "read_only_session", "tz")},
            "groups": shared.answers.clusters,
            "invited": shared.invited,
            "answers": shared.answers,
            "histories": shared.histories,
            "words": {
                "rsvp": translated(request, RSVP_LABELS),
                "rsvp_source": translated(request, RSVP_SOURCE_LABELS),
            },
        }
        html = aiohttp_jinja2.render_string("planning/sites_list.html", request, context)
        shared.pages[key] = html
    # The autoescaped output of our own template: every value in it was escaped then.
    return Markup(html)  # noqa: S704
