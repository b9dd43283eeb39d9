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
from sqlalchemy import bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.shared import KEPT, KeptRows, Newest, Shared
from meetings.planning import listing
from meetings.planning.models import MeetingPublic, Participation, ParticipationPublic, Rsvp
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

#: The same, with the answers given (one not taken changes no participation), and where
#: each answer stands (the rows' ids per answer: an answer written by another program that
#: bumps no version still moves an id from one sum to another).
_SITE_LIST_FINGERPRINT = PARTICIPATIONS_FINGERPRINT.add_columns(
    *(
        func.coalesce(
            func.sum(case((col(Participation.rsvp) == answer, col(Participation.id)), else_=0)), 0
        )
        for answer in (Rsvp.accepted, Rsvp.tentative, Rsvp.declined)
    ),
    *(
        select(aggregate)
        .where(col(RsvpChange.meeting_id) == bindparam("meeting_id"))
        .scalar_subquery()
        for aggregate in (
            func.count(col(RsvpChange.id)),
            func.coalesce(func.max(col(RsvpChange.id)), 0),
        )
    ),
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

    def __init__(self, kept: int = KEPT) -> None:
        super().__init__(kept)
        #: The lists' rows as HTML (site_list_views.sites_card).
        self.rows = KeptRows(kept)
        #: Each session's invited sites as last read (read_site_list).
        self.invited: Newest[int, KeptInvited] = Newest(kept)


#: The app's site lists (set up by meetings.core.app).
site_lists_key = web.AppKey("site_lists", SiteLists)


async def site_list_fingerprint(session: AsyncSession, meeting: MeetingPublic) -> Hashable:
    """Changes whenever a committed change alters the list: an answer, a site invited or
    no longer, a site or cluster edited, the session's times, zone, host or status."""
    row = (await session.execute(_SITE_LIST_FINGERPRINT, {"meeting_id": meeting.id})).one()
    shown = (meeting.starts_at, meeting.ends_at, meeting.timezone, meeting.host_site_id)
    return (*(int(v) for v in row), meeting.version, str(meeting.status), *shown)


#: Each invited site's versions and answer, in the list's order, and its cluster's leader.
_VERSIONS = listing.invited_sites(
    col(Site.id),
    col(Participation.version),
    col(Site.version),
    col(Cluster.version),
    col(Participation.rsvp),
    col(Cluster.leader_site_id),
)

#: Beyond this share of the sites changed, all of them are read again at once.
_REREAD_SHARE = 4


@dataclass(eq=False)
class KeptInvited:
    """A session's invited sites as last read, by site id with the versions and answer
    each was read at, under the session's values the rows show (its version, host, times
    and zone): site_list_views keeps the newest per session."""

    shown: Hashable
    rows: dict[int, tuple[tuple[object, ...], ParticipationPublic]]


async def read_site_list(
    session: AsyncSession, meeting: MeetingPublic, kept: KeptInvited | None = None
) -> tuple[SiteList, KeptInvited]:
    """The session's invited sites, their answers tallied and each one's history; with
    `kept`, only the sites whose versions or answer changed since are read again (one
    check-in during a live session changes one site of 10,000)."""
    shown: Hashable = (meeting.version, meeting.host_site_id, meeting.timezone)
    shown = (shown, meeting.starts_at, meeting.ends_at)
    connection = await session.connection()  # plain columns: no ORM result handling
    order = (await connection.execute(_VERSIONS, {"meeting_id": meeting.id})).all()
    before = kept.rows if kept is not None and kept.shown == shown else {}
    changed: list[int] | None = [
        row[0] for row in order if (was := before.get(row[0])) is None or was[0] != row[1:5]
    ]
    if changed is not None and len(changed) * _REREAD_SHARE > len(order):
        before, changed = {}, None
    versions = {row[0]: row[1:5] for row in order}
    fresh = dict(before)
    for site_id in changed or ():
        fresh.pop(site_id, None)
    if len(fresh) > len(versions):  # sites no longer invited
        fresh = {k: was for k, was in fresh.items() if k in versions}
    leaders = {row[5] for row in order if row[5] is not None}
    for p in await listing.participations(session, meeting.id, changed):
        if p.is_cluster_leader != (p.site_id in leaders):
            p = p.model_copy(update={"is_cluster_leader": p.site_id in leaders})
        fresh[p.site_id] = (versions.get(p.site_id, ()), p)
    invited = [fresh[row[0]][1] for row in order if row[0] in fresh]
    histories = await answer_histories(session, meeting.id)
    return SiteList(invited, tally_answers(invited), histories), KeptInvited(shown, fresh)
