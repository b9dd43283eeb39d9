"""The live board page, its form for operators without JavaScript, and the check-in form
on a site's page."""

from __future__ import annotations

from functools import partial
from operator import attrgetter
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup
from pydantic import ValidationError

from meetings.attendance import tracking as attendance
from meetings.attendance.api import check_in
from meetings.attendance.keys import hub_key
from meetings.attendance.labels import ATTENDANCE_LABELS, REHEARSAL_LABELS
from meetings.attendance.models import (
    AttendanceStatus,
    Author,
    CheckIn,
    EventKind,
    RehearsalStatus,
    SiteAttendance,
)
from meetings.attendance.snapshots import Snapshot, board_facts, shared_snapshot
from meetings.core.access import ANY_ROLE, ORGANISERS, allow, current_user, public_token
from meetings.core.errors import DomainError
from meetings.core.forms import optional_int, problems_of, text
from meetings.core.kept_pages import kept_page
from meetings.core.keys import locale_key, settings_key, translations_key
from meetings.core.pages import _, flash, may_edit, refused_site_form, render, translated
from meetings.core.store import utcnow
from meetings.core.web import back_to_site_page, db, path_id, url
from meetings.planning.labels import RSVP_LABELS, RSVP_SOURCE_LABELS
from meetings.planning.models import Meeting


@allow(*ANY_ROLE)
async def board_page(request: web.Request) -> web.Response:
    """Kept per viewer until the next commit or minute, like the session page: the board
    then follows by its stream, and a reload of an unchanged session costs no render."""
    return await kept_page(request, _board_page)


async def _board_page(request: web.Request) -> web.Response:
    meeting_id = path_id(request)
    hub = request.app[hub_key]
    # The row alone (the page shows none of the counts and warnings of get_meeting), shared
    # read-only with the other boards while the database is unchanged.
    meeting, known = await board_facts(request, hub.snapshots, meeting_id)
    shared = await shared_snapshot(request, hub.snapshots, meeting_id, known=known)
    may_act = may_edit(request) and meeting.status != "cancelled"
    return render(
        request,
        "attendance/board.html",
        {
            "meeting": meeting,
            "groups": shared.groups,
            "tiles": _tiles(request, shared, meeting, may_act),
            "summary": shared.summary,
            "tz": meeting.timezone,
            "rehearsal": meeting.status in ("draft", "scheduled"),
            "may_act": may_act,
            "statuses": list(AttendanceStatus),
            "rehearsal_statuses": list(RehearsalStatus),
            # The script's words, in the page's language.
            "js_labels": {
                "status": translated(request, ATTENDANCE_LABELS),
                "rehearsal": translated(request, REHEARSAL_LABELS),
                "none": _(request, "Not connected"),
                "failed": _(request, "Not saved: {details}"),
                "offline": _(request, "no connection to the server; try again"),
                "refused": _(request, "the server refused the change"),
            },
        },
    )


def _tiles(request: web.Request, shared: Snapshot, meeting: Meeting, may_act: bool) -> Markup:
    """The tiles of the session's snapshot, rendered once for every board page that shows
    them alike: per language, role (may act or not), and the session's status and zone.
    Each tile is kept by the values of its site it shows (`_tile_key`), across snapshots:
    after one check-in, one tile is rendered again and the rest are joined as they were."""
    locale = request.get(locale_key, request.app[settings_key].organisation.locale)
    key = (locale, may_act, str(meeting.status), meeting.timezone)
    html = shared.pages.get(key)
    if html is None:
        snapshots = request.app[hub_key].snapshots
        context = {
            "meeting": meeting,
            "groups": shared.groups,
            "zone": ZoneInfo(meeting.timezone),
            "rehearsal": meeting.status in ("draft", "scheduled"),
            "may_act": may_act,
            # Once per render, not once per tile (10,000 tiles): the action's path without
            # its last part, the site's id, and the words in the reader's language.
            "action_prefix": url(request, "session_board_action", id=meeting.id or 0, site_id=0)[
                :-1
            ],
            "words": {
                "attendance": translated(request, ATTENDANCE_LABELS),
                "rehearsal": translated(request, REHEARSAL_LABELS),
                "rsvp": translated(request, RSVP_LABELS),
                "rsvp_source": translated(request, RSVP_SOURCE_LABELS),
                "none": _(request, "Not connected"),
            },
        }
        # Never another session's tiles: its id is in the key (the action's path is too).
        kept = snapshots.tiles.rows((meeting.id, *key))
        template = aiohttp_jinja2.get_env(request.app).get_template("attendance/tile.html")
        macro = vars(template.make_module(context))["tile"]  # the template's macro

        def tiles(sites: list[SiteAttendance]) -> Markup:
            # As a loop of the template would join them, with its line breaks and indents.
            made = "".join(
                f"\n      {kept.row(_tile_key(s), partial(macro, s))}\n    " for s in sites
            )
            return Markup(made)  # noqa: S704  (our own template's rows, escaped then)

        html = aiohttp_jinja2.render_string(
            "attendance/tiles.html", request, {**context, "tiles": tiles}
        )
        kept.keep()
        shared.pages[key] = html
    # The autoescaped output of our own template: every value in it was escaped then.
    return Markup(html)  # noqa: S704


#: Every value of a site its tile shows (attendance/tile.html), and only those.
_tile_key = attrgetter(
    "site_id",
    "site_name",
    "attendance_status",
    "rehearsal_status",
    "delegates_present",
    "expected_delegates",
    "changed_at",
    "rsvp",
    "rsvp_source",
)


@allow(*ORGANISERS)
async def board_action(request: web.Request) -> web.Response:
    """One operator action from the board's form (the page's script uses the JSON API)."""
    meeting_id = path_id(request)
    form = await request.post()
    user = current_user(request)
    value = text(form, "status")
    try:
        if value.startswith("rehearsal:"):
            change = attendance.rehearsal_change(
                RehearsalStatus(value.split(":", 1)[1]),
                text(form, "note"),
                author=user.username if user else "",
            )
        else:
            change = attendance.Change(
                kind=EventKind.attendance,
                status=AttendanceStatus(value),
                at=utcnow(),
                author_kind=Author.operator,
                author=user.username if user else "",
                delegates_present=optional_int(form, "delegates_present"),
                note=text(form, "note"),
            )
        async with db(request) as session:
            await attendance.record(
                session,
                meeting_id,
                path_id(request, "site_id"),
                change,
                request.app[settings_key].attendance,
            )
    except (ValueError, ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status == 403:
            raise
        message = str(exc)
        if isinstance(exc, DomainError | ValidationError):
            state = problems_of(exc, request[translations_key].gettext)
            message = "; ".join(state.errors.values()) or state.summary
        await flash(request, _(request, "Not saved: {details}").format(details=message))
    site = path_id(request, "site_id")
    raise web.HTTPSeeOther(url(request, "session_board", id=meeting_id, fragment=f"site-{site}"))


@public_token
async def site_check_in_submit(request: web.Request) -> web.StreamResponse:
    meeting_id = path_id(request)
    form = await request.post()
    values = {
        "delegates_present": text(form, "delegates_present") or None,
        "officials_present": [
            line.strip()
            for line in str(form.get("officials_present", "")).splitlines()
            if line.strip()
        ]
        or None,
    }
    try:
        await check_in(request, CheckIn.model_validate(values))
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status in (403, 404):
            raise
        typed = {"delegates_present": str(values["delegates_present"] or "")}
        return await refused_site_form(request, exc, form="checkin", typed=typed)
    raise back_to_site_page(request, meeting_id, "checked")
