"""JSON API of notify.inbound: a session's inbox, the inbox of mail naming no session,
and the organiser's decision on a proposal of another time."""

from __future__ import annotations

from aiohttp import web
from sqlmodel import SQLModel

from meetings.core.access import ORGANISERS, allow, current_user
from meetings.core.keys import settings_key
from meetings.core.types import Count
from meetings.core.web import db, int_query, items_response, json_body, model_response, path_id
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import MeetingPublic
from notify.inbound import counters, inbox, strangers
from notify.inbound.inbox import InboundMailPublic
from notify.mail.keys import wake_key
from notify.mail.models import MessagePublic


def _page(request: web.Request) -> tuple[inbox.Filter, int, int]:
    only = inbox.Filter.of(request.query.get("kind"), request.query.get("outcome"))
    limit = int_query(request, "limit", 100, 1, 1000)
    offset = int_query(request, "offset", 0, 0, 2**31)
    return only, limit, offset


@allow(*ORGANISERS)
async def session_inbox(request: web.Request) -> web.Response:
    only, limit, offset = _page(request)
    async with db(request) as session:
        meeting = await get_meeting_row(session, path_id(request))
        found = await inbox.inbox_page(
            session, meeting_id=meeting.id, only=only, limit=limit, offset=offset
        )
    return items_response(found.items, found.total)


@allow(*ORGANISERS)
async def service_inbox(request: web.Request) -> web.Response:
    only, limit, offset = _page(request)
    async with db(request) as session:
        found = await inbox.inbox_page(
            session, meeting_id=None, only=only, limit=limit, offset=offset
        )
    return items_response(found.items, found.total)


class CounterAccept(SQLModel):
    #: The session's version the organiser saw: a session changed since is a 409.
    version: Count


class CounterAccepted(SQLModel):
    """The session at its new time, the proposal decided, the updates queued."""

    meeting: MeetingPublic
    counter: InboundMailPublic
    invitations: int
    updates: int
    cancellations: int


class CounterDeclined(SQLModel):
    """The proposal decided, and the METHOD:DECLINECOUNTER queued to its sender."""

    counter: InboundMailPublic
    message: MessagePublic


def _by(request: web.Request) -> str:
    user = current_user(request)
    return user.username if user else ""


async def _public(request: web.Request, inbound_id: int) -> InboundMailPublic:
    async with db(request) as session:
        row = await counters.get_counter(session, path_id(request), inbound_id)
        return InboundMailPublic.model_validate(row)


@allow(*ORGANISERS)
async def accept_counter(request: web.Request) -> web.Response:
    data = await json_body(request, CounterAccept)
    inbound_id = path_id(request, "inbound_id")
    async with db(request) as session:
        done = await counters.accept_counter(
            session,
            path_id(request),
            inbound_id,
            version=data.version,
            by=_by(request),
            secret_key=request.app[settings_key].security.secret_key,
        )
    request.app[wake_key].set()
    return model_response(
        CounterAccepted(
            meeting=done.meeting,
            counter=await _public(request, inbound_id),
            invitations=done.queued.invitations,
            updates=done.queued.updates,
            cancellations=done.queued.cancellations,
        )
    )


@allow(*ORGANISERS)
async def decline_counter(request: web.Request) -> web.Response:
    inbound_id = path_id(request, "inbound_id")
    async with db(request) as session:
        message = await counters.decline_counter(
            session, path_id(request), inbound_id, by=_by(request)
        )
        queued = MessagePublic.model_validate(message)
    request.app[wake_key].set()
    return model_response(
        CounterDeclined(counter=await _public(request, inbound_id), message=queued), status=202
    )


@allow(*ORGANISERS)
async def apply_stranger(request: web.Request) -> web.Response:
    """A stranger's calendar answer taken as the chosen invited site's."""
    data = await json_body(request, strangers.StrangerApply)
    async with db(request) as session:
        done = await strangers.apply_stranger(
            session,
            path_id(request),
            path_id(request, "inbound_id"),
            site_id=data.site_id,
            by=_by(request),
        )
    return model_response(done)
