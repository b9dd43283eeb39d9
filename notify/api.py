"""JSON API of notify/: queue invitations, read the outbox, calendar downloads and feeds."""

from __future__ import annotations

from aiohttp import web
from pydantic import AwareDatetime
from sqlalchemy import func, select
from sqlmodel import SQLModel

from meetings.access import ANY_ROLE, ORGANISERS, allow, public_token
from meetings.keys import settings_key
from meetings.meeting_models import Meeting, Participation
from meetings.planning import get_meeting_row
from meetings.store import utcnow
from meetings.web import db, int_query, items_response, json_body, model_response, path_id
from notify import calendars, invitations, tokens
from notify.keys import wake_key
from notify.models import Message, MessagePublic


class InvitationsRequest(SQLModel):
    #: Send at this time instead of now (the scheduler picks it up then).
    send_at: AwareDatetime | None = None


class InvitationsQueued(SQLModel):
    invitations: int
    updates: int
    cancellations: int
    total: int


@allow(*ORGANISERS)
async def queue_invitations(request: web.Request) -> web.Response:
    data = (
        await json_body(request, InvitationsRequest)
        if request.can_read_body
        else InvitationsRequest()
    )
    async with db(request) as session:
        report = await invitations.queue_invitations(
            session,
            path_id(request),
            secret_key=request.app[settings_key].security.secret_key,
            send_after=data.send_at,
        )
    request.app[wake_key].set()  # the delivery worker starts now, not at its next tick
    return model_response(
        InvitationsQueued(
            invitations=report.invitations,
            updates=report.updates,
            cancellations=report.cancellations,
            total=report.total,
        ),
        status=202,
    )


@allow(*ANY_ROLE)
async def list_messages(request: web.Request) -> web.Response:
    meeting_id = path_id(request)
    limit = int_query(request, "limit", 500, 1, 10_000)
    offset = int_query(request, "offset", 0, 0, 2**31)
    async with db(request) as session:
        await get_meeting_row(session, meeting_id)
        total = await session.scalar(select(func.count()).where(Message.meeting_id == meeting_id))
        rows = await session.scalars(
            select(Message)
            .where(Message.meeting_id == meeting_id)
            .order_by(Message.id)
            .limit(limit)
            .offset(offset)
        )
        items = [MessagePublic.model_validate(m) for m in rows]
    return items_response(items, total or 0)


@allow(*ANY_ROLE)
async def meeting_calendar(request: web.Request) -> web.Response:
    settings = request.app[settings_key]
    async with db(request) as session:
        meeting = await get_meeting_row(session, path_id(request))
        data = calendars.meeting_download(meeting, settings=settings, now=utcnow())
    return _ics(data, f"giaoban-{meeting.id}.ics")


@public_token
async def site_feed(request: web.Request) -> web.Response:
    settings = request.app[settings_key]
    async with db(request) as session:
        site = await tokens.site_for_token(session, request.match_info["site_token"])
        meetings = (
            await session.scalars(
                select(Meeting)
                .join(Participation, Participation.meeting_id == Meeting.id)  # type: ignore[arg-type]
                .where(Participation.site_id == site.id)
                .order_by(Meeting.starts_at)
            )
        ).all()
        data = calendars.site_feed(site, list(meetings), settings=settings, now=utcnow())
    return _ics(data, f"giaoban-{site.code}.ics", attachment=False)


def _ics(data: bytes, filename: str, *, attachment: bool = True) -> web.Response:
    disposition = "attachment" if attachment else "inline"
    return web.Response(
        body=data,
        headers={
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "private, max-age=300",
        },
    )
