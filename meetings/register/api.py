"""JSON API handlers for the register and accounts: parse, call the domain, respond."""

from __future__ import annotations

from aiohttp import web

from meetings.core.access import ANY_ROLE, ORGANISERS, allow
from meetings.core.commits import kept
from meetings.core.keys import settings_key
from meetings.core.web import (
    db,
    int_query,
    items_json,
    items_response,
    json_body,
    json_text,
    model_response,
    path_id,
)
from meetings.register import export, imports, sites, uploads
from meetings.register.models import (
    BounceClear,
    ClusterCreate,
    ClusterUpdate,
    SiteCreate,
    SiteUpdate,
)


@allow(*ANY_ROLE)
async def list_clusters(request: web.Request) -> web.Response:
    async with db(request) as session:
        items = await sites.list_clusters(session)
    return items_response(items, len(items))


@allow(*ORGANISERS)
async def create_cluster(request: web.Request) -> web.Response:
    data = await json_body(request, ClusterCreate)
    async with db(request) as session:
        cluster = await sites.create_cluster(session, data)
    return model_response(cluster, status=201)


@allow(*ANY_ROLE)
async def get_cluster(request: web.Request) -> web.Response:
    async with db(request) as session:
        clusters = await sites.list_clusters(session)
    wanted = path_id(request)
    for cluster in clusters:
        if cluster.id == wanted:
            return model_response(cluster)
    raise web.HTTPNotFound(text=f"no cluster with id {wanted}")


@allow(*ORGANISERS)
async def update_cluster(request: web.Request) -> web.Response:
    data = await json_body(request, ClusterUpdate)
    async with db(request) as session:
        cluster = await sites.update_cluster(session, path_id(request), data)
    return model_response(cluster)


@allow(*ORGANISERS)
async def delete_cluster(request: web.Request) -> web.Response:
    async with db(request) as session:
        await sites.delete_cluster(session, path_id(request))
    return web.Response(status=204)


@allow(*ANY_ROLE)
async def list_sites(request: web.Request) -> web.Response:
    """The same for every caller: kept until the next commit (meetings.core.commits)."""
    cluster = request.query.get("cluster_id")
    q = request.query.get("q")
    cluster_id = int_query(request, "cluster_id", 0, 1, 2**31) if cluster else None
    limit = int_query(request, "limit", 100, 1, sites.MAX_PAGE)
    offset = int_query(request, "offset", 0, 0, 2**31)

    async def read() -> bytes:
        async with db(request) as session:
            page = await sites.list_sites(
                session, q=q, cluster_id=cluster_id, limit=limit, offset=offset
            )
        return items_json(page.items, page.total).encode()

    return json_text(await kept(request, ("sites", q, cluster_id, limit, offset), read))


@allow(*ORGANISERS)
async def create_site(request: web.Request) -> web.Response:
    data = await json_body(request, SiteCreate)
    async with db(request) as session:
        site = await sites.create_site(session, data)
    return model_response(site, status=201)


@allow(*ANY_ROLE)
async def get_site(request: web.Request) -> web.Response:
    async with db(request) as session:
        site = await sites.get_site(session, path_id(request))
    return model_response(site)


@allow(*ORGANISERS)
async def update_site(request: web.Request) -> web.Response:
    data = await json_body(request, SiteUpdate)
    async with db(request) as session:
        site = await sites.update_site(session, path_id(request), data)
    return model_response(site)


@allow(*ORGANISERS)
async def clear_bounce(request: web.Request) -> web.Response:
    data = await json_body(request, BounceClear)
    async with db(request) as session:
        site = await sites.clear_bounce(
            session, path_id(request), path_id(request, "contact_id"), version=data.version
        )
    return model_response(site)


@allow(*ORGANISERS)
async def delete_site(request: web.Request) -> web.Response:
    version = request.query.get("version")
    async with db(request) as session:
        await sites.delete_site(
            session,
            path_id(request),
            version=int_query(request, "version", 0, 0, 2**31) if version else None,
        )
    return web.Response(status=204)


@allow(*ORGANISERS)
async def import_sites(request: web.Request) -> web.Response:
    """The file is streamed to disk within [imports] max_size_mb, then read off the event
    loop within the other limits; it is removed once imported or refused."""
    dry_run = int_query(request, "dry_run", 0, 0, 1) == 1
    limits = request.app[settings_key].imports
    upload = await uploads.receive(request, limits)
    try:
        async with db(request) as session:
            report = await imports.import_sites(
                session, content=upload.path, kind=upload.kind, dry_run=dry_run, limits=limits
            )
    finally:
        upload.path.unlink(missing_ok=True)
    return model_response(report)


@allow(*ANY_ROLE)
async def export_sites(request: web.Request) -> web.Response:
    async with db(request) as session:
        data = await export.export_sites_csv(session)
    return web.Response(
        body=data,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="sites.csv"',
        },
    )
