"""Pages' forms of action items' progress: the site reports from its page, the office
accepts or returns a report from the session's record page."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from agendas.record import progress
from agendas.record.api import RECORD_KEEPERS, author
from agendas.record.progress_api import read_report, submit_report
from meetings.core.access import allow, public_token
from meetings.core.errors import DomainError
from meetings.core.forms import text
from meetings.core.pages import _, flash, not_saved, refused_site_form
from meetings.core.web import PRIVATE_HEADERS, db, link_site, path_id, site_token, url

#: The site page's form name for a report; its errors are keyed by the item's id.
REPORT_FORM = "action_report"


@public_token
async def site_report_submit(request: web.Request) -> web.StreamResponse:
    """The report form of one item on the site's page; a refused one comes back beside
    the item with what was typed (the item's id stands where a session's would)."""
    async with db(request) as session:
        await link_site(request, session)  # a wrong link is 404 whatever the body
    form = await request.post()
    typed = {"text": str(form.get("text", "")), "done": form.get("done") in ("1", "on")}
    try:
        data, upload = await read_report(request)
        await submit_report(request, data, upload)
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        return await refused_site_form(request, exc, form=REPORT_FORM, typed=typed)
    page = url(
        request,
        "site_page",
        site_token=site_token(request),
        query={"reported": path_id(request)},
        fragment=f"a{path_id(request)}",
    )
    raise web.HTTPSeeOther(page, headers=PRIVATE_HEADERS)


@allow(*RECORD_KEEPERS)
async def decide_report(request: web.Request) -> web.Response:
    """Accept or return a report from the record page (`decision` = accept | return)."""
    form = await request.post()
    accept = text(form, "decision") == "accept"
    try:
        async with db(request) as session:
            await progress.get_report(session, path_id(request), path_id(request, "report_id"))
            await progress.decide_report(
                session,
                path_id(request, "report_id"),
                accept=accept,
                comment=str(form.get("comment", "")).strip()[:20_000],
                by=author(request),
            )
        await flash(
            request,
            _(request, "The report was accepted.")
            if accept
            else _(request, "The report was returned."),
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        await flash(request, not_saved(request, exc))
    back = request.headers.get("Referer", "")
    raise web.HTTPSeeOther(back if back.startswith(("/", "http")) else "/")
