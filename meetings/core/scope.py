"""What a cluster leader (cụm trưởng) may reach: its own cluster, nothing else.

One rule, checked by the access middleware after the route's roles, so that routes added
later stay closed to leaders unless they are cluster-scoped by their path:

- a session's routes (`/sessions/{id}…`, `/api/v1/meetings/{id}…`) when the session is
  one of its cluster's own meetings; there it acts as the organiser, secretary and chair
  (handlers check the child ids in the path against the session);
- reading one of its cluster's sites, or its cluster;
- the few routes named in `LEADER_ROUTES` (its home, creating a meeting, its account),
  whose handlers limit what they show or do to its cluster.

Anything else is refused (403); a session, site or cluster of another cluster, or of the
office, is not found (404), so ids leak nothing.
"""

from __future__ import annotations

import re

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.accounts.models import Role, User
from meetings.core.access import LEADER_POWERS, current_user
from meetings.core.labels import N_
from meetings.core.web import db
from meetings.planning.models import Meeting
from meetings.register.models import Cluster, Site

#: Routes beyond its cluster's records; their handlers keep to the leader's cluster.
LEADER_ROUTES = frozenset(
    {
        "session_new",
        "session_create",
        "api_create_meeting",
        "api_list_meetings",
    }
)
#: Routes a leader keeps even when its cluster has been removed.
ACCOUNT_ROUTES = frozenset({"dashboard", "api_me", "logout"})
_ID = r"\{id(?::[^}]*)?\}"
_MEETING_PATH = re.compile(rf"^/(?:sessions|api/v1/meetings)/{_ID}(?:/|$)")
_SITE_PATH = re.compile(rf"^/(?:sites|api/v1/sites)/{_ID}$")
_CLUSTER_PATH = re.compile(rf"^/api/v1/clusters/{_ID}$")
NOT_YOURS = N_("This page does not exist.")


def is_leader(user: User | None) -> bool:
    return user is not None and user.role == Role.cluster_leader


def own_cluster(request: web.Request) -> int | None:
    """The cluster the caller is scoped to: a leader's cluster, None for the office."""
    user = current_user(request)
    if not is_leader(user) or user is None:
        return None
    # 0 matches nothing: a leader whose cluster was removed sees nothing.
    return user.cluster_id if user.cluster_id is not None else 0


def _route_path(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else ""


def on_own_meeting(request: web.Request) -> bool:
    """The request is on a session's route (a leader reaches only its own sessions')."""
    return bool(_MEETING_PATH.match(_route_path(request)))


def acts_as(request: web.Request, roles: frozenset[Role] | tuple[Role, ...]) -> bool:
    """The caller has one of `roles` here: its own role (admins have every one), or, for a
    cluster leader on its own cluster's session, the organiser's, secretary's, chair's."""
    user = current_user(request)
    if user is None:
        return False
    if user.role == Role.admin or user.role in roles:
        return True
    return is_leader(user) and on_own_meeting(request) and bool(LEADER_POWERS & set(roles))


async def _cluster_of(
    session: AsyncSession, model: type[Meeting] | type[Site], key: int
) -> int | None:
    row: Meeting | Site | None = await session.get(model, key)
    if row is None:
        raise web.HTTPNotFound(text=NOT_YOURS)
    return row.cluster_id


async def check(request: web.Request, user: User) -> None:
    """Refuse a cluster leader what is not its cluster's (see the module's rule)."""
    if not is_leader(user):
        return
    name = request.match_info.route.name
    path = _route_path(request)
    raw = request.match_info.get("id", "")
    if name in ACCOUNT_ROUTES or (name in LEADER_ROUTES and user.cluster_id is not None):
        return
    if user.cluster_id is None or not raw.isdigit() or len(raw) > 18:
        raise web.HTTPForbidden(text=N_("your role may not use this"))
    key, reading = int(raw), request.method in ("GET", "HEAD")
    async with db(request) as session:
        if _MEETING_PATH.match(path):
            found = await _cluster_of(session, Meeting, key)
        elif _SITE_PATH.match(path) and reading:
            found = await _cluster_of(session, Site, key)
        elif _CLUSTER_PATH.match(path) and reading:
            found = key if await session.get(Cluster, key) is not None else None
        else:
            raise web.HTTPForbidden(text=N_("your role may not use this"))
    if found != user.cluster_id:
        raise web.HTTPNotFound(text=NOT_YOURS)
