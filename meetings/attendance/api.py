"""Attendance over HTTP: operators' events, the rehearsal, the board's data and stream,
and a site's check-in through its link."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from meetings.attendance import live
from meetings.attendance import tracking as attendance
from meetings.attendance.keys import checkin_key, hub_key
from meetings.attendance.models import (
    AttendanceBoard,
    AttendanceIn,
    Author,
    CheckIn,
    EventKind,
    RehearsalIn,
    SiteAttendance,
)
from meetings.attendance.snapshots import Snapshot, shared_snapshot
from meetings.core.access import ANY_ROLE, ORGANISERS, allow, current_user, public_link
from meetings.core.keys import settings_key
from meetings.core.observe import observed_key
from meetings.core.store import utcnow
from meetings.core.web import (
    db,
    json_body,
    link_site,
    model_response,
    path_id,
    private,
    site_token,
)
from meetings.planning.lifecycle import get_meeting_row


def _author(request: web.Request) -> str:
    user = current_user(request)
    return user.username if user else ""


@allow(*ORGANISERS)
async def record_attendance(request: web.Request) -> web.Response:
    data = await json_body(request, AttendanceIn)
    change = attendance.Change(
        kind=EventKind.attendance,
        status=data.status,
        at=data.at or utcnow(),
        author_kind=Author.operator,
        author=_author(request),
        delegates_present=data.delegates_present,
        officials_present=data.officials_present,
        note=data.note,
    )
    async with db(request) as session:
        state = await attendance.record(
            session,
            path_id(request),
            data.site_id,
            change,
            request.app[settings_key].attendance,
        )
    return model_response(state)


@allow(*ORGANISERS)
async def record_rehearsal(request: web.Request) -> web.Response:
    data = await json_body(request, RehearsalIn)
    change = attendance.rehearsal_change(data.status, data.note, author=_author(request))
    async with db(request) as session:
        state = await attendance.record(
            session,
            path_id(request),
            data.site_id,
            change,
            request.app[settings_key].attendance,
        )
    return model_response(state)


async def board_snapshot(request: web.Request, meeting_id: int) -> Snapshot:
    """The session's sites and totals, shared by every board, page and stream of it."""
    return await shared_snapshot(request, request.app[hub_key].snapshots, meeting_id)


async def board_data(
    request: web.Request, meeting_id: int, *, events: int = 200
) -> AttendanceBoard:
    shared = await board_snapshot(request, meeting_id)
    async with db(request) as session:
        logged = await attendance.events(session, meeting_id, limit=events) if events else []
    return AttendanceBoard(summary=shared.summary, sites=shared.sites, events=logged)


@allow(*ANY_ROLE)
async def get_attendance(request: web.Request) -> web.Response:
    return model_response(await board_data(request, path_id(request)))


@allow(*ANY_ROLE)
async def live_stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: `snapshot` on connect, then `update` with the changed sites."""
    meeting_id = path_id(request)
    async with db(request) as session:
        await get_meeting_row(session, meeting_id)  # 404 before the stream starts

    async def snapshot() -> str:
        return (await board_snapshot(request, meeting_id)).json

    return await live.stream(request, request.app[hub_key], meeting_id, snapshot)


# --- a site checks itself in, through its link -------------------------------------------


async def check_in(request: web.Request, data: CheckIn) -> SiteAttendance:
    """The check-in joins the session's next group commit (attendance.checkin): the link, the
    invitation and the values are checked there, for this request alone."""
    batcher = request.app[checkin_key]
    with request.app[observed_key].checkin_seconds.time():
        return await batcher.submit(path_id(request), site_token(request), data, at=utcnow())


@public_link
async def post_site_check_in(request: web.Request) -> web.StreamResponse:
    """The site says it is connected, with its delegates; pressing twice changes nothing."""
    try:
        data = await json_body(request, CheckIn)
    except (web.HTTPException, ValidationError):
        async with db(request) as session:
            await link_site(request, session)  # a wrong link is 404 whatever the body
        raise
    return private(model_response(await check_in(request, data)))
