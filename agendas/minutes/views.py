"""Pages of the record: the secretary's page, the minutes page, the recommendations
register and the chair's page."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from agendas.minutes import minutes
from agendas.minutes.api import APPROVERS
from agendas.record import record
from agendas.record.api import author
from agendas.record.models import (
    Minutes,
    RecommendationStatus,
)
from agendas.record.views import _may, render
from meetings.core.access import ANY_ROLE, allow
from meetings.core.errors import DomainError
from meetings.core.forms import problems_of
from meetings.core.keys import settings_key
from meetings.core.pages import _, flash
from meetings.core.store import utcnow
from meetings.core.web import db, path_id
from meetings.planning import lifecycle as planning
from meetings.planning.models import Meeting, MeetingStatus


@allow(*ANY_ROLE)
async def minutes_page(request: web.Request) -> web.Response:
    meeting_id = path_id(request)
    settings = request.app[settings_key]
    async with db(request) as session:
        meeting = await planning.get_meeting(session, meeting_id)
        versions = await minutes.versions(session, meeting_id)
        draft = await minutes.build(session, meeting_id, settings.organisation)
    deadline = (
        minutes.notice_deadline(meeting.ends_at, meeting.timezone, now=utcnow())
        if meeting.status == "ended"
        else None
    )
    return render(
        request,
        "minutes/minutes_page.html",
        {
            "meeting": meeting,
            "tz": meeting.timezone,
            "versions": versions,
            "draft": draft,
            "deadline": deadline,
            "notice_sent": any(v.notice_sent_at for v in versions),
            "may_approve": _may(request, APPROVERS) and meeting.status == "ended",
        },
    )


@allow(*APPROVERS)
async def approve(request: web.Request) -> web.Response:
    meeting_id = path_id(request)
    try:
        async with db(request) as session:
            row = await minutes.approve(
                session,
                meeting_id,
                request.app[settings_key].organisation,
                approver=author(request),
            )
            number = row.number
    except DomainError as exc:
        state = problems_of(exc, request["translations"].gettext)
        await flash(request, "; ".join(state.errors.values()) or state.summary)
        raise web.HTTPSeeOther(f"/sessions/{meeting_id}/minutes") from None
    await flash(
        request,
        _(
            request, "Version {number} was approved; the notice of conclusions is on its way."
        ).format(number=number),
    )
    raise web.HTTPSeeOther(f"/sessions/{meeting_id}/minutes")


@allow(*ANY_ROLE)
async def chair_page(request: web.Request) -> web.Response:
    now = utcnow()
    async with db(request) as session:
        ended = (
            await session.scalars(
                select(Meeting)
                .where(Meeting.status == MeetingStatus.ended)
                .order_by(Meeting.ends_at.desc())  # type: ignore[attr-defined]
                .limit(50)
            )
        ).all()
        approved_rows = (
            await session.scalars(
                select(Minutes).where(
                    Minutes.meeting_id.in_([m.id for m in ended])  # type: ignore[attr-defined]
                )
            )
        ).all()
        open_items = await record.recommendations(
            session, status=RecommendationStatus.open, limit=20
        )
    latest: dict[int, Minutes] = {}
    for row in approved_rows:
        if row.meeting_id not in latest or row.number > latest[row.meeting_id].number:
            latest[row.meeting_id] = row
    sessions = [
        {
            "meeting": m,
            "approved": latest.get(m.id or 0),
            "deadline": minutes.notice_deadline(m.ends_at, m.timezone, now=now),
        }
        for m in ended
    ]
    return render(
        request,
        "minutes/chair.html",
        {
            "awaiting": [s for s in sessions if s["approved"] is None],
            "done": [s for s in sessions if s["approved"] is not None],
            "open_items": open_items,
            "nav": "chair",
        },
    )
