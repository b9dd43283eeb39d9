"""The programme on the session page: its panel (agenda and focus items), their editors'
form targets, and the next session of the series made from this one."""

from __future__ import annotations

from typing import Any, NoReturn

from aiohttp import web
from pydantic import ValidationError

from agendas.programme import carried_part, programme
from agendas.programme.api import PROGRAMME_EDITORS
from agendas.programme.models import AgendaItemIn, AgendaKind, FocusItemIn, FocusStatus
from meetings.core.access import ORGANISERS, allow, current_user
from meetings.core.errors import DomainError
from meetings.core.forms import local_moment, optional_int, rows, text
from meetings.core.keys import settings_key
from meetings.core.pages import _, flash, not_saved
from meetings.core.scope import acts_as
from meetings.core.store import utcnow
from meetings.core.web import db, path_id, url
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingFollowUp
from meetings.planning.phases import ranks, read_only_reason

#: Among the first while planning, and once the conclusions are followed up.
RANKS = ranks(20, 40, 50, 50, 40, 60, 30)

#: The empty row at the end of each editor, for a new entry.
BLANK_AGENDA = {
    "title": "",
    "presenter": "",
    "kind": "other",
    "duration_minutes": None,
    "planned_start": None,
    "overruns": False,
}
BLANK_FOCUS: dict[str, Any] = {
    "number": None,
    "title": "",
    "status": "new",
    "detail": "",
    "history": [],
}


async def programme_panel(request: web.Request, meeting_id: int) -> dict[str, Any]:
    """The session page's agenda with its timeline and its focus items, editable by the
    programme's editors until the session has ended (read-only then, with the reason)."""
    async with db(request) as session:
        meeting = await planning.get_meeting_row(session, meeting_id)
        agenda = await programme.get_agenda(session, meeting_id)
        focus = await programme.get_focus_items(session, meeting_id)
    read_only = read_only_reason(meeting.status, "programme")
    return {
        "template": "programme/programme_panel.html",
        "ranks": RANKS,
        "read_only": read_only,
        "agenda": agenda,
        "focus": focus,
        "overruns": any(item.overruns for item in agenda),
        "may_edit": acts_as(request, PROGRAMME_EDITORS) and read_only is None,
        "agenda_kinds": list(AgendaKind),
        "focus_statuses": list(FocusStatus),
        "blank_agenda": BLANK_AGENDA,
        "blank_focus": BLANK_FOCUS,
    }


async def _back(request: web.Request, message: str, meeting_id: int | None = None) -> NoReturn:
    """Back to the session page (or the session `meeting_id`) with `message`."""
    await flash(request, message)
    target = meeting_id if meeting_id is not None else path_id(request)
    raise web.HTTPSeeOther(url(request, "session", id=target))


def _whole(value: str) -> int | None:
    digits = value.removeprefix("-")
    return int(value) if digits.isascii() and digits.isdigit() and len(digits) <= 10 else None


@allow(*PROGRAMME_EDITORS)
async def session_agenda(request: web.Request) -> web.Response:
    """The agenda rows as posted, in their order on the page."""
    form = await request.post()
    try:
        items = [
            AgendaItemIn.model_validate(
                {
                    "title": row["title"],
                    "presenter": row["presenter"],
                    "kind": row["kind"] or "other",
                    "duration_minutes": _whole(row["duration"]),
                }
            )
            for row in rows(
                form, "agenda", ("title", "presenter", "kind", "duration"), keys=("title",)
            )
        ]
        async with db(request) as session:
            await programme.replace_agenda(
                session, path_id(request), items, version=optional_int(form, "version")
            )
    except (ValidationError, DomainError) as exc:
        await _back(request, not_saved(request, exc))
    await _back(request, _(request, "The agenda was saved."))


@allow(*PROGRAMME_EDITORS)
async def session_focus(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        items = [
            FocusItemIn.model_validate(
                {
                    "number": _whole(row["number"]) or 0,
                    "title": row["title"],
                    "status": row["status"] or "new",
                    "detail": row["detail"],
                }
            )
            for row in rows(form, "focus", ("number", "title", "status", "detail"), keys=("title",))
        ]
        async with db(request) as session:
            await programme.replace_focus_items(
                session, path_id(request), items, version=optional_int(form, "version")
            )
    except (ValidationError, DomainError) as exc:
        await _back(request, not_saved(request, exc))
    await _back(request, _(request, "The focus items were saved."))


@allow(*ORGANISERS)
async def session_next(request: web.Request) -> web.Response:
    """The next session of the series, with the times typed in this session's zone."""
    form = await request.post()
    meeting_id = path_id(request)
    user = current_user(request)
    try:
        async with db(request) as session:
            zone = (await planning.get_meeting_row(session, meeting_id)).timezone
            data = MeetingFollowUp(
                starts_at=local_moment(text(form, "starts_at"), zone, "starts_at"),
                ends_at=local_moment(text(form, "ends_at"), zone, "ends_at"),
                title=text(form, "title") or None,
            )
            meeting = await carried_part.create_follow_up(
                session,
                meeting_id,
                data,
                organiser_id=user.id if user else None,
                locale=request.app[settings_key].organisation.locale,
                now=utcnow(),
            )
    except (ValidationError, DomainError) as exc:
        await _back(request, not_saved(request, exc))
    await _back(request, _(request, "The next session of the series was created."), meeting.id)
