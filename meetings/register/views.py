"""HTML pages: thin handlers that parse the form, call the domain, and render."""

from __future__ import annotations

import asyncio
import math
import re

from aiohttp import web
from pydantic import ValidationError

from meetings.core.access import (
    ANY_ROLE,
    ORGANISERS,
    allow,
)
from meetings.core.errors import Conflict, DomainError, FieldProblem
from meetings.core.forms import FormState, optional_int, problems_of, text
from meetings.core.keys import settings_key, translations_key
from meetings.core.labels import N_
from meetings.core.pages import PAGE_SIZE, _, flash, may_edit, panels, render
from meetings.core.problems import in_language, problem_text
from meetings.core.web import db, int_query, path_id, url
from meetings.register import files, imports, sites, uploads
from meetings.register.forms import SITE_FIELDS, site_values
from meetings.register.groups import page_groups
from meetings.register.labels import LIMIT_MESSAGES
from meetings.register.models import (
    ClusterCreate,
    ClusterUpdate,
    ContactRole,
    SiteCreate,
    SiteUpdate,
)


@allow(*ANY_ROLE)
async def site_list(request: web.Request) -> web.Response:
    """One page of the register, grouped by cluster; one query whatever the register's size."""
    q = request.query.get("q", "").strip()
    cluster_id = optional_int(request.query, "cluster")
    page_number = int_query(request, "page", 1, 1, 10**6)
    async with db(request) as session:
        page = await sites.list_sites(
            session,
            q=q or None,
            cluster_id=cluster_id,
            limit=PAGE_SIZE,
            offset=(page_number - 1) * PAGE_SIZE,
        )
        clusters = await sites.list_clusters(session)
        counts = await sites.cluster_counts(session, q=q or None, cluster_id=cluster_id)
    # A group's heading counts the whole cluster, and says which pages hold the rest of it.
    groups = page_groups(page.items, counts=counts, offset=page.offset)
    return render(
        request,
        "register/sites.html",
        {
            "groups": groups,
            "page": page,
            "q": q,
            "cluster_id": cluster_id,
            "clusters": clusters,
            "page_number": page_number,
            "page_count": max(1, math.ceil(page.total / PAGE_SIZE)),
            "first": page.offset + 1 if page.items else 0,
            "last": page.offset + len(page.items),
            "may_edit": may_edit(request),
        },
    )


@allow(*ANY_ROLE)
async def site_detail(request: web.Request) -> web.Response:
    async with db(request) as session:
        site = await sites.get_site(session, path_id(request))
    return render(
        request,
        "register/site.html",
        {
            "site": site,
            "may_edit": may_edit(request),
            "problem": None,
            "panels": await panels(request, "site", site.id),
        },
    )


async def _site_form(
    request: web.Request, state: FormState, *, site_id: int | None = None
) -> web.Response:
    async with db(request) as session:
        clusters = await sites.list_clusters(session)
    values = {**dict.fromkeys(SITE_FIELDS), "contacts": [], **state.values}
    return render(
        request,
        "register/site_form.html",
        {
            "site_id": site_id,
            "values": values,
            "state": state,
            "clusters": clusters,
            "roles": list(ContactRole),
        },
        status=state.status,
    )


@allow(*ORGANISERS)
async def site_new(request: web.Request) -> web.Response:
    cluster = optional_int(request.query, "cluster")
    return await _site_form(request, FormState(values={"cluster_id": cluster}))


@allow(*ORGANISERS)
async def site_create(request: web.Request) -> web.Response:
    values = site_values(await request.post())
    try:
        async with db(request) as session:
            site = await sites.create_site(session, SiteCreate.model_validate(values))
    except (ValidationError, DomainError) as exc:
        state = problems_of(exc, request[translations_key].gettext)
        state.values = values
        return await _site_form(request, state)
    await flash(request, _(request, "The site was saved."))
    raise web.HTTPSeeOther(url(request, "site", id=site.id))


@allow(*ORGANISERS)
async def site_edit(request: web.Request) -> web.Response:
    async with db(request) as session:
        site = await sites.get_site(session, path_id(request))
    values = site.model_dump()
    return await _site_form(request, FormState(values=values), site_id=site.id)


@allow(*ORGANISERS)
async def site_update(request: web.Request) -> web.Response:
    form = await request.post()
    values = site_values(form)
    site_id = path_id(request)
    try:
        update = SiteUpdate.model_validate({**values, "version": text(form, "version")})
        async with db(request) as session:
            await sites.update_site(session, site_id, update)
    except (ValidationError, DomainError) as exc:
        state = problems_of(exc, request[translations_key].gettext)
        state.values = {**values, "version": text(form, "version")}
        return await _site_form(request, state, site_id=site_id)
    await flash(request, _(request, "The site was saved."))
    raise web.HTTPSeeOther(url(request, "site", id=site_id))


@allow(*ORGANISERS)
async def site_delete(request: web.Request) -> web.Response:
    form = await request.post()
    site_id = path_id(request)
    try:
        async with db(request) as session:
            await sites.delete_site(session, site_id, version=optional_int(form, "version"))
    except Conflict as exc:  # changed meanwhile, or already invited to sessions
        if exc.field == "version":
            problem = _(
                request, "Someone else changed this site meanwhile; check it and delete again."
            )
        else:
            problem = _(
                request,
                "This site was invited to sessions, so its record stays. "
                "Remove it from those sessions first.",
            )
        async with db(request) as session:
            site = await sites.get_site(session, site_id)
        return render(
            request,
            "register/site.html",
            {
                "site": site,
                "may_edit": True,
                "problem": problem,
                "panels": await panels(request, "site", site_id),
            },
            status=409,
        )
    await flash(request, _(request, "The site was deleted."))
    raise web.HTTPSeeOther(url(request, "sites"))


_UPLOAD_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _shown(request: web.Request, problem: FieldProblem) -> dict[str, object]:
    """A file's problem as the page lists it: line, column (the file's own name, or where
    it is in words) and what is wrong, in the page's language."""
    column = problem.field
    if number := re.fullmatch(r"column (\d+)", column):
        column = _(request, "column {number}").format(number=number[1])
    elif column in ("file", "row"):
        column = _(request, "the file") if column == "file" else _(request, "the row")
    text = problem_text(problem, request[translations_key].gettext)
    return {"line": problem.line, "column": column, "text": text}


def _import_refused(
    request: web.Request, exc: DomainError, *, filename: str | None
) -> web.Response:
    """The upload form again, with the file's problems, or the limit it passed said in
    the page's language; nothing was written."""
    gettext = request[translations_key].gettext
    problems = [_shown(request, p) for p in getattr(exc, "problems", [])]
    error = in_language(exc.message, gettext, N_("The file cannot be read."))
    if isinstance(exc, files.OverLimit):
        problems, error = [], _(request, LIMIT_MESSAGES[exc.key]).format(limit=exc.limit)
    return render(
        request,
        "register/import.html",
        {
            "report": None,
            "problems": problems,
            "token": None,
            "error": error,
            "filename": filename,
        },
        status=exc.status if exc.status >= 400 else 422,
    )


@allow(*ORGANISERS)
async def import_form(request: web.Request) -> web.Response:
    return render(
        request,
        "register/import.html",
        {"report": None, "problems": [], "token": None, "error": None},
    )


@allow(*ORGANISERS)
async def import_preview(request: web.Request) -> web.Response:
    """A dry run of the uploaded file; the file waits under var/ for the confirmation."""
    limits = request.app[settings_key].imports
    await asyncio.to_thread(uploads.forget_old, uploads.folder(request))
    try:
        upload = await uploads.receive(request, limits, from_page=True)
    except uploads.NoFile:
        return render(
            request,
            "register/import.html",
            {
                "report": None,
                "problems": [],
                "token": None,
                "error": _(request, "Choose a CSV or XLSX file."),
            },
            status=422,
        )
    except DomainError as exc:  # past [imports] max_size_mb, or neither .csv nor .xlsx
        return _import_refused(request, exc, filename=None)
    try:
        async with db(request) as session:
            report = await imports.import_sites(
                session, content=upload.path, kind=upload.kind, dry_run=True, limits=limits
            )
    except DomainError as exc:
        upload.path.unlink(missing_ok=True)
        return _import_refused(request, exc, filename=upload.filename)
    return render(
        request,
        "register/import.html",
        {
            "report": report,
            "problems": [],
            "token": upload.path.stem,
            "error": None,
            "filename": upload.filename,
        },
    )


@allow(*ORGANISERS)
async def import_confirm(request: web.Request) -> web.Response:
    token = text(await request.post(), "token")
    if not _UPLOAD_TOKEN.match(token):
        raise web.HTTPBadRequest(text="bad upload token")
    matches = [
        p for p in uploads.folder(request).glob(f"{token}.*") if p.suffix in (".csv", ".xlsx")
    ]
    if not matches:
        await flash(request, _(request, "That upload has expired; choose the file again."))
        raise web.HTTPSeeOther(url(request, "site_import"))
    path = matches[0]
    try:
        async with db(request) as session:
            report = await imports.import_sites(
                session,
                content=path,
                kind=files.kind_from_name(path.name),
                dry_run=False,
                limits=request.app[settings_key].imports,
            )
    except DomainError as exc:  # the register changed since the preview
        return _import_refused(request, exc, filename=None)
    finally:
        path.unlink(missing_ok=True)
    await flash(
        request,
        _(request, "Imported: {created} new, {updated} changed, {unchanged} unchanged.").format(
            created=report.created, updated=report.updated, unchanged=report.unchanged
        ),
    )
    raise web.HTTPSeeOther(url(request, "sites"))


async def _clusters_page(request: web.Request, state: FormState) -> web.Response:
    async with db(request) as session:
        clusters = await sites.list_clusters(session)
        leaders = {c.leader_site_id for c in clusters} | {c.deputy_site_id for c in clusters}
        names = await sites.site_names(session, {i for i in leaders if i is not None})
    return render(
        request,
        "register/clusters.html",
        {
            "clusters": clusters,
            "site_names": names,
            "state": state,
            "may_edit": may_edit(request),
            "panels": await panels(request, "clusters", 0),
        },
        status=state.status,
    )


@allow(*ANY_ROLE)
async def cluster_list(request: web.Request) -> web.Response:
    return await _clusters_page(request, FormState())


@allow(*ORGANISERS)
async def cluster_create(request: web.Request) -> web.Response:
    form = await request.post()
    values = {"code": text(form, "code"), "name": text(form, "name")}
    try:
        async with db(request) as session:
            await sites.create_cluster(session, ClusterCreate.model_validate(values))
    except (ValidationError, DomainError) as exc:
        state = problems_of(exc, request[translations_key].gettext)
        state.values = values
        return await _clusters_page(request, state)
    await flash(request, _(request, "The cluster was saved."))
    raise web.HTTPSeeOther(url(request, "clusters"))


async def _cluster_form(request: web.Request, cluster_id: int, state: FormState) -> web.Response:
    async with db(request) as session:
        cluster = await sites.get_cluster(session, cluster_id)
        members = await sites.list_sites(session, cluster_id=cluster_id, limit=sites.MAX_PAGE)
    values = {**cluster.model_dump(), **state.values}
    return render(
        request,
        "register/cluster_form.html",
        {
            "cluster": cluster,
            "values": values,
            "members": members.items,
            "state": state,
        },
        status=state.status,
    )


@allow(*ORGANISERS)
async def cluster_edit(request: web.Request) -> web.Response:
    return await _cluster_form(request, path_id(request), FormState())


@allow(*ORGANISERS)
async def cluster_update(request: web.Request) -> web.Response:
    form = await request.post()
    values = {
        "version": text(form, "version"),
        "code": text(form, "code"),
        "name": text(form, "name"),
        "leader_site_id": optional_int(form, "leader_site_id"),
        "deputy_site_id": optional_int(form, "deputy_site_id"),
        "leader_year": optional_int(form, "leader_year"),
    }
    cluster_id = path_id(request)
    try:
        async with db(request) as session:
            await sites.update_cluster(session, cluster_id, ClusterUpdate.model_validate(values))
    except (ValidationError, DomainError) as exc:
        state = problems_of(exc, request[translations_key].gettext)
        state.values = values
        return await _cluster_form(request, cluster_id, state)
    await flash(request, _(request, "The cluster was saved."))
    raise web.HTTPSeeOther(url(request, "clusters"))
