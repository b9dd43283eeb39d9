"""A cluster leader's home (its dashboard): its cluster's own meetings, coming and past,
its sites, and what other parts add for it (its sites' action items)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from meetings.accounts.models import User
from meetings.core.keys import settings_key
from meetings.core.pages import render
from meetings.core.web import db
from meetings.planning import listing
from meetings.register import sites
from meetings.register.models import Cluster

#: How many of its meetings the home lists, coming and past.
LISTED = 20


async def cluster_home(
    request: web.Request, user: User, sections: list[dict[str, Any]]
) -> web.Response:
    own = user.cluster_id or 0  # a leader whose cluster was removed sees an empty home
    async with db(request) as session:
        cluster = await session.get(Cluster, own)
        members = await sites.list_sites(session, cluster_id=own, limit=sites.MAX_PAGE)
        upcoming = await listing.list_meetings(
            session, period="upcoming", own_cluster_id=own, limit=LISTED
        )
        past = await listing.list_meetings(session, period="past", own_cluster_id=own, limit=LISTED)
    zone = ZoneInfo(request.app[settings_key].organisation.timezone)
    return render(
        request,
        "core/cluster_home.html",
        {
            "cluster": cluster,
            "members": members.items if cluster is not None else [],
            "upcoming": upcoming.items,
            "recent": past.items,
            "sections": sections,
            "today": datetime.now(zone),
        },
    )
