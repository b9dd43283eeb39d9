"""The site register: clusters and their bridge points (sites) with contacts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.errors import Conflict, FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.store import bump_version, id_of, key_col, table_of
from meetings.core.types import search_key, word_conditions
from meetings.planning.models import Participation
from meetings.register import bounces
from meetings.register.models import (
    Cluster,
    ClusterCreate,
    ClusterPublic,
    ClusterUpdate,
    Contact,
    ContactIn,
    ContactPublic,
    Site,
    SiteCreate,
    SitePublic,
    SiteUpdate,
)

MAX_PAGE = 1000


@dataclass(frozen=True)
class SitePage:
    """One page of sites in register order (cluster, then name) and the total that matched."""

    items: list[SitePublic]
    total: int
    limit: int
    offset: int


# --- clusters --------------------------------------------------------------------------


async def list_clusters(session: AsyncSession) -> list[ClusterPublic]:
    counts = dict(
        (
            await session.execute(
                select(col(Site.cluster_id), func.count()).group_by(col(Site.cluster_id))
            )
        ).all()
    )
    clusters = (await session.scalars(select(Cluster).order_by(col(Cluster.code)))).all()
    return [
        ClusterPublic.model_validate(c, update={"site_count": counts.get(c.id, 0)})
        for c in clusters
    ]


async def get_cluster(session: AsyncSession, cluster_id: int) -> Cluster:
    cluster = await session.get(Cluster, cluster_id)
    if cluster is None:
        raise NotFound.of(N_("no cluster with id {cluster_id}"), cluster_id=cluster_id)
    return cluster


async def cluster_by_code(session: AsyncSession) -> dict[str, Cluster]:
    return {c.code: c for c in (await session.scalars(select(Cluster))).all()}


async def create_cluster(session: AsyncSession, data: ClusterCreate) -> ClusterPublic:
    await _check_cluster_code_free(session, data.code)
    await _check_sites_exist(session, data.leader_site_id, data.deputy_site_id)
    cluster = Cluster.model_validate(data)
    session.add(cluster)
    await session.flush()
    return ClusterPublic.model_validate(cluster)


async def update_cluster(
    session: AsyncSession, cluster_id: int, data: ClusterUpdate
) -> ClusterPublic:
    cluster = await get_cluster(session, cluster_id)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if "code" in changes and changes["code"] != cluster.code:
        await _check_cluster_code_free(session, changes["code"])
    await _check_sites_exist(session, changes.get("leader_site_id"), changes.get("deputy_site_id"))
    await bump_version(session, cluster, data.version)
    for key, value in changes.items():
        setattr(cluster, key, value)
    await session.flush()
    count = await session.scalar(select(func.count()).where(col(Site.cluster_id) == cluster.id))
    return ClusterPublic.model_validate(cluster, update={"site_count": count or 0})


async def delete_cluster(session: AsyncSession, cluster_id: int) -> None:
    cluster = await get_cluster(session, cluster_id)
    members = await session.scalar(select(func.count()).where(col(Site.cluster_id) == cluster_id))
    if members:
        raise Conflict.of(
            N_("cluster {code} still has {members} sites; move them first"),
            code=cluster.code,
            members=members,
        )
    await session.delete(cluster)


async def _check_cluster_code_free(session: AsyncSession, code: str) -> None:
    if await session.scalar(select(col(Cluster.id)).where(col(Cluster.code) == code)) is not None:
        raise Conflict.at("code", N_("a cluster with code {code} already exists"), code=repr(code))


async def _check_sites_exist(session: AsyncSession, *site_ids: int | None) -> None:
    for field, site_id in zip(("leader_site_id", "deputy_site_id"), site_ids, strict=True):
        if site_id is not None and await session.get(Site, site_id) is None:
            raise Invalid(
                "unknown site",
                [FieldProblem.of(field, N_("no site with id {site_id}"), site_id=site_id)],
            )


# --- sites -----------------------------------------------------------------------------


def _site_filter(q: str | None, cluster_id: int | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if cluster_id is not None:
        conditions.append(col(Site.cluster_id) == cluster_id)
    conditions.extend(word_conditions(col(Site.search_text), q))
    return conditions


async def list_sites(
    session: AsyncSession,
    *,
    q: str | None = None,
    cluster_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> SitePage:
    """Sites in register order: by cluster code (sites without a cluster first), then name."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    conditions = _site_filter(q, cluster_id)
    total = await session.scalar(select(func.count()).select_from(Site).where(*conditions)) or 0
    rows = (
        await session.scalars(
            select(Site)
            .outerjoin(Cluster, col(Site.cluster_id) == col(Cluster.id))
            .where(*conditions)
            .order_by(
                col(Cluster.code).nulls_first(),
                col(Site.search_text),
                col(Site.id),
            )
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return SitePage(items=await _publish(session, rows), total=total, limit=limit, offset=offset)


async def cluster_counts(
    session: AsyncSession, *, q: str | None = None, cluster_id: int | None = None
) -> list[tuple[int | None, int]]:
    """How many sites of the register (as `list_sites` filters it) each cluster has, in
    register order (None: the sites without a cluster, first)."""
    counted = await session.execute(
        select(col(Site.cluster_id), func.count())
        .select_from(Site)
        .outerjoin(Cluster, col(Site.cluster_id) == col(Cluster.id))
        .where(*_site_filter(q, cluster_id))
        .group_by(col(Site.cluster_id), col(Cluster.code))
        .order_by(col(Cluster.code).nulls_first())
    )
    return [(cluster, count) for cluster, count in counted]


async def all_sites(session: AsyncSession) -> list[SitePublic]:
    """Every site in register order, for exports; fetched in one pass, not page by page."""
    page = await list_sites(session, limit=MAX_PAGE)
    items = list(page.items)
    while len(items) < page.total:
        more = await list_sites(session, limit=MAX_PAGE, offset=len(items))
        if not more.items:
            break
        items.extend(more.items)
    return items


async def get_site(session: AsyncSession, site_id: int) -> SitePublic:
    return (await _publish(session, [await _get_site_row(session, site_id)]))[0]


async def _get_site_row(session: AsyncSession, site_id: int) -> Site:
    site = await session.get(Site, site_id)
    if site is None:
        raise NotFound.of(N_("no site with id {site_id}"), site_id=site_id)
    return site


async def create_site(session: AsyncSession, data: SiteCreate) -> SitePublic:
    await _check_site_code_free(session, data.code)
    await _check_cluster_exists(session, data.cluster_id)
    site = Site.model_validate(data.model_dump(exclude={"contacts"}))
    site.search_text = search_key(site.name, site.province, site.code)
    session.add(site)
    await session.flush()
    site_id = id_of(site)
    await _replace_contacts(session, site_id, data.contacts)
    return await get_site(session, site_id)


async def update_site(session: AsyncSession, site_id: int, data: SiteUpdate) -> SitePublic:
    site = await _get_site_row(session, site_id)
    changes = data.model_dump(exclude_unset=True, exclude={"version", "contacts"})
    if "code" in changes and changes["code"] != site.code:
        await _check_site_code_free(session, changes["code"])
    if "cluster_id" in changes:
        await _check_cluster_exists(session, changes["cluster_id"])
    await bump_version(session, site, data.version)
    for key, value in changes.items():
        setattr(site, key, value)
    site.search_text = search_key(site.name, site.province, site.code)
    if data.contacts is not None:
        await _replace_contacts(session, site_id, data.contacts)
    await session.flush()
    return await get_site(session, site_id)


async def clear_bounce(
    session: AsyncSession, site_id: int, contact_id: int, *, version: int
) -> SitePublic:
    """The site fixed the mailbox that bounced (a full one, say): its address is mailed
    again, kept as it is. Every contact of this site at that address is cleared; another
    site sharing the address keeps its flag until its own page says so. An edit of the
    site, so a stale `version` is a Conflict."""
    site = await _get_site_row(session, site_id)
    chosen = await session.get(Contact, contact_id)
    if chosen is None or chosen.site_id != site_id:
        raise NotFound.of(N_("no contact with id {contact_id} at this site"), contact_id=contact_id)
    await bump_version(session, site, version)
    address = chosen.email.lower()
    for contact in await session.scalars(select(Contact).where(col(Contact.site_id) == site_id)):
        if contact.email.lower() == address:
            contact.bounced_at, contact.bounce_reason = None, ""
    await session.flush()
    return await get_site(session, site_id)


async def delete_site(session: AsyncSession, site_id: int, *, version: int | None = None) -> None:
    site = await _get_site_row(session, site_id)
    if version is not None and version != site.version:
        raise Conflict.at(
            "version", N_("site changed meanwhile (version {version})"), version=site.version
        )
    sessions = await session.scalar(
        select(func.count()).where(col(Participation.site_id) == site_id)
    )
    if sessions:
        raise Conflict.of(
            N_(
                "site {code} was invited to {sessions} session(s); its record stays. "
                "Remove it from those sessions first."
            ),
            code=site.code,
            sessions=sessions,
        )
    await session.delete(site)
    await session.flush()


async def _check_site_code_free(session: AsyncSession, code: str) -> None:
    if await session.scalar(select(col(Site.id)).where(col(Site.code) == code)) is not None:
        raise Conflict.at("code", N_("a site with code {code} already exists"), code=repr(code))


async def _check_cluster_exists(session: AsyncSession, cluster_id: int | None) -> None:
    if cluster_id is not None and await session.get(Cluster, cluster_id) is None:
        raise Invalid(
            "unknown cluster",
            [
                FieldProblem.of(
                    "cluster_id", N_("no cluster with id {cluster_id}"), cluster_id=cluster_id
                )
            ],
        )


async def _replace_contacts(
    session: AsyncSession, site_id: int, contacts: Sequence[ContactIn]
) -> None:
    """The site's contacts become `contacts`; an address that bounced stays flagged."""
    bounced = await bounces.bounced_contacts(session, [site_id])
    await session.execute(delete(Contact).where(col(Contact.site_id) == site_id))
    session.add_all(
        Contact(
            site_id=site_id,
            position=index,
            **contact.model_dump(),
            **bounces.carried(bounced, site_id, contact.email),
        )
        for index, contact in enumerate(contacts)
    )
    await session.flush()


#: What a published contact reads of its row, and the site it belongs to.
CONTACT_COLUMNS = [table_of(Contact).c[name] for name in (*ContactPublic.model_fields, "site_id")]


async def _publish(session: AsyncSession, sites: Sequence[Site]) -> list[SitePublic]:
    """Sites with their clusters and contacts, in two queries however many sites there are."""
    if not sites:
        return []
    ids = [s.id for s in sites]
    contacts: dict[int, list[ContactPublic]] = {}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        rows = await session.execute(
            select(*CONTACT_COLUMNS)  # columns, not ORM objects: nothing to track
            .where(col(Contact.site_id).in_(chunk))
            .order_by(col(Contact.site_id), col(Contact.position))
        )
        for row in rows.mappings():
            contacts.setdefault(row["site_id"], []).append(ContactPublic.of_stored(row))
    cluster_ids = {s.cluster_id for s in sites if s.cluster_id is not None}
    clusters = (
        {
            c.id: c
            for c in await session.scalars(select(Cluster).where(col(Cluster.id).in_(cluster_ids)))
        }
        if cluster_ids
        else {}
    )
    return [
        SitePublic.of_stored(
            site,
            contacts.get(site.id or 0, []),
            clusters.get(site.cluster_id) if site.cluster_id is not None else None,
        )
        for site in sites
    ]


async def site_names(session: AsyncSession, site_ids: set[int]) -> dict[int, str]:
    """Names of the given sites only (cluster leaders, say), without their contacts."""
    if not site_ids:
        return {}
    rows = await session.execute(
        select(key_col(Site.id), col(Site.name)).where(col(Site.id).in_(site_ids))
    )
    return dict(rows.all())


async def count_sites(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Site)) or 0
