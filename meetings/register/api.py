"""JSON API handlers for the register and accounts: parse, call the domain, respond."""

from __future__ import annotations

from aiohttp import web

from meetings.core.access import ANY_ROLE, ORGANISERS, allow
from meetings.core.errors import FieldProblem, Invalid
from meetings.core.web import db, int_query, items_response, json_body, model_response, path_id
from meetings.register import export, files, imports, sites
from meetings.register.models import ClusterCreate, ClusterUpdate, SiteCreate, SiteUpdate


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
    cluster_id = request.query.get("cluster_id")
    async with db(request) as session:
        page = await sites.list_sites(
            session,
            q=request.query.get("q"),
            cluster_id=int_query(request, "cluster_id", 0, 1, 2**31) if cluster_id else None,
            limit=int_query(request, "limit", 100, 1, sites.MAX_PAGE),
            offset=int_query(request, "offset", 0, 0, 2**31),
        )
    return items_response(page.items, page.total)


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
    kinds: dict[str, files.FileKind] = {
        "text/csv": "csv",
        "application/csv": "csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    }
    dry_run = int_query(request, "dry_run", 0, 0, 1) == 1
    if request.content_type in kinds:
        kind = kinds[request.content_type]
        content = await request.read()
    elif request.content_type == "multipart/form-data":
        upload = (await request.post()).get("file")
        if not isinstance(upload, web.FileField):
            raise Invalid(
                "no file", [FieldProblem("file", "send the file in a form field named 'file'")]
            )
        if upload.filename or upload.content_type not in kinds:
            kind = files.kind_from_name(upload.filename or "")
        else:
            kind = kinds[upload.content_type]
        content = upload.file.read()
    else:
        raise web.HTTPUnsupportedMediaType(
            text="send the file as text/csv, as application/vnd.openxmlformats-officedocument"
            ".spreadsheetml.sheet, or as multipart/form-data with a field named 'file'"
        )
    async with db(request) as session:
        report = await imports.import_sites(session, content=content, kind=kind, dry_run=dry_run)
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
