"""The site page's "the address works again" button: a thin handler over
`sites.clear_bounce` (a page of its own module: the register's views are full)."""

from __future__ import annotations

from aiohttp import web

from meetings.core.access import ORGANISERS, allow
from meetings.core.errors import Conflict
from meetings.core.forms import optional_int
from meetings.core.pages import _, flash, panels, render
from meetings.core.web import db, path_id, url
from meetings.register import sites


@allow(*ORGANISERS)
async def contact_bounce_clear(request: web.Request) -> web.Response:
    """Clears the contact's bounce flag; a site changed meanwhile is shown again (409)."""
    form = await request.post()
    site_id = path_id(request)
    try:
        async with db(request) as session:
            await sites.clear_bounce(
                session,
                site_id,
                path_id(request, "contact_id"),
                version=optional_int(form, "version") or 0,
            )
    except Conflict:
        async with db(request) as session:
            site = await sites.get_site(session, site_id)
        problem = _(request, "Someone else changed this site meanwhile; check it and try again.")
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
    await flash(request, _(request, "The address will be mailed again."))
    raise web.HTTPSeeOther(url(request, "site", id=site_id))
