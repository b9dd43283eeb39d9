"""Attendance over HTTP: operators' events, the rehearsal, the board's data and stream."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from meetings.attendance import live
from meetings.attendance import tracking as attendance
from meetings.attendance.models import AttendanceBoard, AttendanceIn, Author, EventKind, RehearsalIn
from meetings.core.access import ANY_ROLE, ORGANISERS, allow, current_user
from meetings.core.keys import settings_key
from meetings.core.store import utcnow
from meetings.core.web import db, json_body, model_response, path_id
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


async def board_data(
    request: web.Request, meeting_id: int, *, events: int = 200
) -> AttendanceBoard:
    async with db(request) as session:
        await get_meeting_row(session, meeting_id)
        return AttendanceBoard(
            summary=await attendance.summary(session, meeting_id),
            sites=await attendance.sites(session, meeting_id),
            events=await attendance.events(session, meeting_id, limit=events) if events else [],
        )


@allow(*ANY_ROLE)
async def get_attendance(request: web.Request) -> web.Response:
    return model_response(await board_data(request, path_id(request)))


@allow(*ANY_ROLE)
async def live_stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: `snapshot` on connect, then `update` with the changed sites."""
    meeting_id = path_id(request)
    async with db(request) as session:
        await get_meeting_row(session, meeting_id)  # 404 before the stream starts

    async def snapshot() -> dict[str, Any]:
        board = await board_data(request, meeting_id, events=0)
        return board.model_dump(mode="json", exclude={"events"})

    return await live.stream(request, meeting_id, snapshot)
