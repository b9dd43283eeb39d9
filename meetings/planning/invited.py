"""Invited sites: whom a selection means, the participant rows, and the one answer to
"is this site invited to this session?".

Every caller asks that question through `invitation` (one site) or `invited_site_ids` (a
batch), and a site that is not invited gets one error everywhere: `NotInvited`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.errors import FieldProblem, Forbidden, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.store import key_col, utcnow
from meetings.planning.models import Participation, SiteSelection
from meetings.register.models import Cluster, Site


class NotInvited(NotFound, Forbidden):
    """The site is not invited to the session: refused, and answered as not found (404),
    so that a site's link cannot tell a session it is not invited to from none at all."""

    def __init__(self, *, meeting_id: int, site_id: int) -> None:
        super().__init__(f"site {site_id} is not invited to session {meeting_id}")


def _invited(meeting_id: int, site_ids: Collection[int] | None) -> tuple[Any, ...]:
    of_meeting = col(Participation.meeting_id) == meeting_id
    return (
        (of_meeting,)
        if site_ids is None
        else (of_meeting, col(Participation.site_id).in_(site_ids))
    )


async def invitation(session: AsyncSession, *, meeting_id: int, site_id: int) -> Participation:
    """The site's row in the session (its answer, its attendance), or NotInvited."""
    row = await session.scalar(select(Participation).where(*_invited(meeting_id, [site_id])))
    if row is None:
        raise NotInvited(meeting_id=meeting_id, site_id=site_id)
    return row


async def invited_site_ids(
    session: AsyncSession, *, meeting_id: int, site_ids: Collection[int] | None = None
) -> set[int]:
    """Which of `site_ids` (None: of all sites) are invited to the session, in one query."""
    found = await session.scalars(
        select(col(Participation.site_id)).where(*_invited(meeting_id, site_ids))
    )
    return set(found.all())


async def resolve_selection(
    session: AsyncSession, selection: SiteSelection, *, cluster_id: int | None = None
) -> set[int]:
    """The site ids a selection means; unknown clusters or sites are named, not ignored.
    For a cluster's own meeting (`cluster_id`), "all" is all of its sites, and another
    cluster or a site of another cluster is refused, naming the field."""
    chosen: set[int] = set()
    if cluster_id is not None:
        await check_in_cluster(session, cluster_id, "site_ids", selection.site_ids)
        if others := sorted(set(selection.cluster_ids) - {cluster_id}):
            raise Invalid(
                "outside the cluster",
                [FieldProblem.of("cluster_ids", OTHER_CLUSTER, cluster_id=others[0])],
            )
    if selection.all_sites:
        everything = select(key_col(Site.id))
        if cluster_id is not None:
            everything = everything.where(col(Site.cluster_id) == cluster_id)
        chosen.update((await session.scalars(everything)).all())
    if selection.cluster_ids:
        wanted = set(selection.cluster_ids)
        known = set(
            (
                await session.scalars(
                    select(key_col(Cluster.id)).where(col(Cluster.id).in_(wanted))
                )
            ).all()
        )
        if missing := sorted(wanted - known):
            raise Invalid(
                "unknown cluster",
                [FieldProblem.of("cluster_ids", N_("no cluster {cluster_id}"), cluster_id=missing)],
            )
        chosen.update(
            (
                await session.scalars(
                    select(key_col(Site.id)).where(col(Site.cluster_id).in_(wanted))
                )
            ).all()
        )
    if selection.site_ids:
        wanted = set(selection.site_ids)
        known = await _existing_site_ids(session, wanted)
        if missing := sorted(wanted - known):
            shown = ", ".join(str(i) for i in missing[:10])
            raise Invalid(
                "unknown site",
                [FieldProblem.of("site_ids", N_("no site with id {site_id}"), site_id=shown)],
            )
        chosen.update(wanted)
    return chosen - set(selection.exclude_site_ids)


OTHER_CLUSTER = N_(
    "a cluster's meeting invites only its own cluster's sites: not cluster {cluster_id}"
)
OTHER_SITE = N_("a cluster's meeting invites only its own cluster's sites: not site {site_id}")


async def check_in_cluster(
    session: AsyncSession, cluster_id: int | None, field: str, site_ids: Collection[int | None]
) -> None:
    """A cluster's own meeting invites (and is hosted by) its cluster's sites only; the
    first other one is named under `field`. No cluster (an office session): anyone."""
    wanted = {i for i in site_ids if i is not None}
    if cluster_id is None or not wanted:
        return
    own = select(key_col(Site.id)).where(col(Site.cluster_id) == cluster_id)
    if outside := sorted(wanted - set((await session.scalars(own)).all())):
        raise Invalid(
            "outside the cluster", [FieldProblem.of(field, OTHER_SITE, site_id=outside[0])]
        )


async def _existing_site_ids(session: AsyncSession, ids: set[int]) -> set[int]:
    found: set[int] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        found.update(
            (await session.scalars(select(key_col(Site.id)).where(col(Site.id).in_(chunk)))).all()
        )
    return found


async def set_participants(session: AsyncSession, *, meeting_id: int, site_ids: set[int]) -> None:
    """Make the invited sites exactly `site_ids`, keeping the rows (and RSVPs) of those kept."""
    current = await invited_site_ids(session, meeting_id=meeting_id)
    removed = current - site_ids
    if removed:
        for start in range(0, len(removed), 1000):
            chunk = sorted(removed)[start : start + 1000]
            await session.execute(
                delete(Participation).where(
                    col(Participation.meeting_id) == meeting_id,
                    col(Participation.site_id).in_(chunk),
                )
            )
    added = sorted(site_ids - current)
    now = utcnow()
    for start in range(0, len(added), 1000):
        await session.execute(
            insert(Participation),
            [
                {
                    "meeting_id": meeting_id,
                    "site_id": site_id,
                    "rsvp": "needs_action",
                    "endpoint": "",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for site_id in added[start : start + 1000]
            ],
        )


async def add_participant(session: AsyncSession, *, meeting_id: int, site_id: int) -> None:
    """Invite one more site (the host hall), unless it is invited already."""
    if not await invited_site_ids(session, meeting_id=meeting_id, site_ids=[site_id]):
        session.add(Participation(meeting_id=meeting_id, site_id=site_id))
