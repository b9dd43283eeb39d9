"""The session page's list of invited sites with their answers, read once per version of
the session and of its sites and shared by every operator who opens the page (a
10,000-site session's list is most of the page's work).

A list is kept under the session's fingerprint (`site_list_fingerprint`: the participation
rows' count, versions and newest id, their sites' and clusters' versions, the answers
given, and the session's own version and the columns the list shows of it), read by each
page in one query: any committed change to what the list shows, by any process, gives
another fingerprint, so a stale list is never served (meetings.core.shared). Its rendered
HTML is kept beside it, per language and phase (site_list_views).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.shared import Shared
from meetings.planning import listing
from meetings.planning.models import MeetingPublic, Participation, ParticipationPublic
from meetings.planning.overview import Answers, answer_histories, tally_answers
from meetings.planning.rsvp_models import RsvpChange, RsvpChangePublic
from meetings.register.models import Cluster, Site

#: What a session's invited sites look like, in one number each (the board's snapshot is
#: keyed by it too: meetings.attendance.states.fingerprint); built once.
PARTICIPATIONS_FINGERPRINT = (
    select(
        func.count(),
        func.coalesce(func.sum(col(Participation.version)), 0),
        func.coalesce(func.max(col(Participation.id)), 0),
        func.coalesce(func.sum(col(Participation.site_id)), 0),
        func.coalesce(func.sum(col(Site.version)), 0),
        func.coalesce(func.sum(col(Cluster.version)), 0),
    )
    .select_from(Participation)
    .join(Site, col(Site.id) == col(Participation.site_id))
    .outerjoin(Cluster, col(Cluster.id) == col(Site.cluster_id))
    .where(col(Participation.meeting_id) == bindparam("meeting_id"))
)

#: The same, with the answers given (one not taken changes no participation).
_SITE_LIST_FINGERPRINT = PARTICIPATIONS_FINGERPRINT.add_columns(
    *(
        select(aggregate)
        .where(col(RsvpChange.meeting_id) == bindparam("meeting_id"))
        .scalar_subquery()
        for aggregate in (
            func.count(col(RsvpChange.id)),
            func.coalesce(func.max(col(RsvpChange.id)), 0),
        )
    )
)


@dataclass(eq=False)
class SiteList:
    """Shared and read-only: pages never change its lists."""

    invited: list[ParticipationPublic]
    answers: Answers
    #: Every answer each site gave, oldest first (site id → its history).
    histories: dict[int, list[RsvpChangePublic]]
    #: The list as HTML, per what it depends on besides the list (views.session_page).
    pages: dict[tuple[object, ...], str] = field(default_factory=dict)


class SiteLists(Shared[SiteList]):
    """One app's session site lists, never shared between sessions."""


#: The app's site lists (set up by meetings.core.app).
site_lists_key = web.AppKey("site_lists", SiteLists)


async def site_list_fingerprint(session: AsyncSession, meeting: MeetingPublic) -> Hashable:
    """Changes whenever a committed change alters the list: an answer, a site invited or
    no longer, a site or cluster edited, the session's times, zone, host or status."""
    row = (await session.execute(_SITE_LIST_FINGERPRINT, {"meeting_id": meeting.id})).one()
    shown = (meeting.starts_at, meeting.ends_at, meeting.timezone, meeting.host_site_id)
    return (*(int(v) for v in row), meeting.version, str(meeting.status), *shown)


async def read_site_list(session: AsyncSession, meeting_id: int) -> SiteList:
    """The session's invited sites, their answers tallied and each one's history."""
    invited = await listing.participations(session, meeting_id)
    return SiteList(invited, tally_answers(invited), await answer_histories(session, meeting_id))
