"""The session page's panel of what earlier sessions of the series left open (action items
not done, recommendations not answered), with the button that makes the agenda part on
them again. Added to the page through meetings.core.keys.panels_key."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agendas.programme import carried_part, programme
from agendas.programme.api import PROGRAMME_EDITORS
from agendas.record.carried import carried
from agendas.record.labels import CARRIED_STATE_LABELS
from meetings.core.access import allow
from meetings.core.errors import DomainError
from meetings.core.forms import optional_int
from meetings.core.keys import settings_key
from meetings.core.pages import _, flash, not_saved
from meetings.core.scope import acts_as
from meetings.core.store import utcnow
from meetings.core.web import db, path_id, url
from meetings.planning import lifecycle as planning
from meetings.planning.phases import ranks, read_only_reason

#: Next to the agenda while planning; lower once the session is under way.
RANKS = ranks(22, 42, 52, 55, 45, 62, 32, cancelled=None)
#: Nothing carried: no panel.
HIDDEN = ranks(None, None, None, None, None, None, None, cancelled=None)


async def carried_panel(request: web.Request, meeting_id: int) -> dict[str, Any]:
    async with db(request) as session:
        meeting = await planning.get_meeting_row(session, meeting_id)
        found = await carried(session, meeting_id, now=utcnow())
        agenda = await programme.agenda_items(session, meeting_id=meeting_id)
    return {
        "template": "programme/carried_panel.html",
        "ranks": RANKS if found else HIDDEN,
        "carried": found,
        "states": CARRIED_STATE_LABELS,
        "version": meeting.version,
        "has_part": any(carried_part.is_carried_part(item.title) for item in agenda),
        "may_edit": acts_as(request, PROGRAMME_EDITORS)
        and read_only_reason(meeting.status, "programme") is None,
    }


@allow(*PROGRAMME_EDITORS)
async def session_carried_part(request: web.Request) -> web.Response:
    form = await request.post()
    meeting_id = path_id(request)
    try:
        async with db(request) as session:
            await carried_part.regenerate_carried_part(
                session,
                meeting_id,
                locale=request.app[settings_key].organisation.locale,
                now=utcnow(),
                version=optional_int(form, "version"),
            )
        message = _(request, "The agenda part on the earlier sessions' conclusions was made.")
    except DomainError as exc:
        message = not_saved(request, exc)
    await flash(request, message)
    raise web.HTTPSeeOther(url(request, "session", id=meeting_id, fragment="carried"))
