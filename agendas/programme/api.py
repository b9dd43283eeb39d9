"""JSON API of a session's programme: its agenda, its focus items, and the next session of
the series, made from this one with its programme."""

from __future__ import annotations

from aiohttp import web

from agendas.programme import carried_part, programme
from agendas.programme.schemas import AgendaIn, AgendaOut, FocusItemsIn, FocusItemsOut
from meetings.accounts.models import Role
from meetings.core.access import ANY_ROLE, ORGANISERS, allow, current_user
from meetings.core.keys import settings_key
from meetings.core.store import utcnow
from meetings.core.web import db, int_query, json_body, model_response, path_id
from meetings.planning.models import MeetingFollowUp

#: Who may shape the programme: organisers, and the secretary who records outcomes.
PROGRAMME_EDITORS = (*ORGANISERS, Role.secretary)


def _version(request: web.Request) -> int | None:
    return int_query(request, "version", 0, 0, 2**31) if request.query.get("version") else None


@allow(*ANY_ROLE)
async def get_agenda(request: web.Request) -> web.Response:
    async with db(request) as session:
        items = await programme.get_agenda(session, path_id(request))
    return model_response(AgendaOut(items))


@allow(*PROGRAMME_EDITORS)
async def put_agenda(request: web.Request) -> web.Response:
    data = await json_body(request, AgendaIn)
    async with db(request) as session:
        items = await programme.replace_agenda(
            session, path_id(request), data.root, version=_version(request)
        )
    return model_response(AgendaOut(items))


@allow(*ANY_ROLE)
async def get_focus_items(request: web.Request) -> web.Response:
    async with db(request) as session:
        items = await programme.get_focus_items(session, path_id(request))
    return model_response(FocusItemsOut(items))


@allow(*PROGRAMME_EDITORS)
async def put_focus_items(request: web.Request) -> web.Response:
    data = await json_body(request, FocusItemsIn)
    async with db(request) as session:
        items = await programme.replace_focus_items(
            session, path_id(request), data.root, version=_version(request)
        )
    return model_response(FocusItemsOut(items))


@allow(*ORGANISERS)
async def follow_up(request: web.Request) -> web.Response:
    data = await json_body(request, MeetingFollowUp)
    user = current_user(request)
    async with db(request) as session:
        meeting = await carried_part.create_follow_up(
            session,
            path_id(request),
            data,
            organiser_id=user.id if user else None,
            locale=request.app[settings_key].organisation.locale,
            now=utcnow(),
        )
    return model_response(meeting, status=201)


@allow(*PROGRAMME_EDITORS)
async def put_carried_part(request: web.Request) -> web.Response:
    """The agenda part of what earlier sessions left open, made again (never twice)."""
    meeting_id = path_id(request)
    async with db(request) as session:
        await carried_part.regenerate_carried_part(
            session,
            meeting_id,
            locale=request.app[settings_key].organisation.locale,
            now=utcnow(),
            version=_version(request),
        )
        items = await programme.get_agenda(session, meeting_id)
    return model_response(AgendaOut(items))
