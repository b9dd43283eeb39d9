"""The session page's card of invited sites: its list (meetings.planning.site_list) read and
rendered once for every operator who opens the page alike."""

from __future__ import annotations

from collections.abc import Hashable
from functools import partial
from operator import attrgetter
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from meetings.core.keys import locale_key, settings_key
from meetings.core.pages import translated
from meetings.core.web import db
from meetings.planning.labels import RSVP_LABELS, RSVP_SOURCE_LABELS
from meetings.planning.models import MeetingPublic, ParticipationPublic
from meetings.planning.rsvp_models import RsvpChangePublic
from meetings.planning.site_list import SiteList, read_site_list, site_lists_key


async def sites_card(request: web.Request, page: dict[str, Any], known: Hashable) -> Markup:
    """The invited sites' card of the session page `page` (its context): the list read and
    rendered once for every page that shows it alike (per fingerprint, language, phase)."""
    meeting: MeetingPublic = page["meeting"]

    lists = request.app[site_lists_key]

    async def read() -> SiteList:
        async with db(request) as session:
            found, kept = await read_site_list(session, meeting, lists.invited.get(meeting.id))
        lists.invited.put(meeting.id, kept)
        return found

    shared = await lists.get(meeting.id, known, read)
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
        html = _render(request, shared, context, key[0])
        shared.pages[key] = html
    # The autoescaped output of our own template: every value in it was escaped then.
    return Markup(html)  # noqa: S704


def _render(request: web.Request, shared: SiteList, context: dict[str, Any], locale: str) -> str:
    """The card, each row kept by exactly the values it shows (`_row_key`) and what it is
    shown in (the session, its zone and start, the language): after one check-in or
    answer, only the rows that changed are rendered again."""
    meeting: MeetingPublic = context["meeting"]
    kept = request.app[site_lists_key].rows.rows(
        (meeting.id, locale, context["tz"], meeting.starts_at)
    )
    context = {**request.get(aiohttp_jinja2.REQUEST_CONTEXT_KEY, {}), **context}
    env = aiohttp_jinja2.get_env(request.app)
    module = env.get_template("planning/site_row.html").make_module(context)
    macro = vars(module)["row"]  # the template's macro

    def rows(sites: list[ParticipationPublic]) -> Markup:
        # As a loop of the template would join them, with its line breaks and indents.
        made = "".join(
            f"\n        {kept.row(_row_key(p, histories.get(p.site_id, [])), partial(macro, p))}"
            "\n      "
            for p in sites
        )
        return Markup(made)  # noqa: S704  (our own template's rows, escaped then)

    histories = shared.histories
    html = aiohttp_jinja2.render_string(
        "planning/sites_list.html", request, {**context, "rows": rows}
    )
    kept.keep()
    return html


#: Every value of a site its row shows (planning/site_row.html), read in one call.
_SHOWN = attrgetter(
    "site_id",
    "site_name",
    "is_host",
    "is_cluster_leader",
    "timezone",
    "local_starts_at",
    "rsvp",
    "rsvp_source",
    "responded_at",
    "expected_delegates",
    "technical_contact",
    "rsvp_note",
)
#: Every value of an answer its row shows.
_ANSWER = attrgetter("at", "response", "source", "source_detail", "delegated_to", "applied")


def _row_key(p: ParticipationPublic, history: list[RsvpChangePublic]) -> Hashable:
    """Every value of `p` and its answers its row shows (planning/site_row.html)."""
    return (_SHOWN(p), tuple(map(_ANSWER, history))) if history else _SHOWN(p)
