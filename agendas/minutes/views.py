"""Pages of the record: the secretary's page, the minutes page, the recommendations
register and the chair's page."""

from __future__ import annotations

from aiohttp import web

from agendas.minutes import approval, minutes
from agendas.minutes.api import APPROVERS
from agendas.record import recommendations
from agendas.record.api import author
from agendas.record.models import (
    RecommendationStatus,
)
from agendas.record.views import _may
from meetings.core.access import ANY_ROLE, allow
from meetings.core.errors import DomainError
from meetings.core.forms import problems_of
from meetings.core.keys import settings_key, translations_key
from meetings.core.pages import _, flash, render
from meetings.core.store import utcnow
from meetings.core.web import db, path_id, url
from meetings.planning import lifecycle as planning


@allow(*ANY_ROLE)
async def minutes_page(request: web.Request) -> web.Response:
    meeting_id = path_id(request)
    settings = request.app[settings_key]
    async with db(request) as session:
        meeting = await planning.get_meeting(session, meeting_id)
        versions = await minutes.versions(session, meeting_id)
        now = await approval.current(session, meeting_id, settings.organisation)
    deadline = (
        approval.notice_deadline(meeting.ends_at, meeting.timezone, now=utcnow())
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
            "shown": now.data,
            "changes": now.changes,
            "deadline": deadline,
            "notice_sent": any(v.notice_sent_at for v in versions),
            "may_approve": _may(request, APPROVERS) and meeting.status == "ended" and now.is_draft,
        },
    )


@allow(*APPROVERS)
async def approve(request: web.Request) -> web.Response:
    meeting_id = path_id(request)
    try:
        async with db(request) as session:
            row = await approval.approve(
                session,
                meeting_id,
                request.app[settings_key].organisation,
                approver=author(request),
            )
            number = row.number
    except DomainError as exc:
        state = problems_of(exc, request[translations_key].gettext)
        await flash(request, "; ".join(state.errors.values()) or state.summary)
        raise web.HTTPSeeOther(url(request, "session_minutes", id=meeting_id)) from None
    await flash(
        request,
        _(
            request, "Version {number} was approved; the notice of conclusions is on its way."
        ).format(number=number),
    )
    raise web.HTTPSeeOther(url(request, "session_minutes", id=meeting_id))


@allow(*ANY_ROLE)
async def chair_page(request: web.Request) -> web.Response:
    async with db(request) as session:
        ended = await approval.ended_sessions(
            session, request.app[settings_key].organisation, now=utcnow()
        )
        open_items = await recommendations.recommendations(
            session, status=RecommendationStatus.open, limit=20
        )
    return render(
        request,
        "minutes/chair.html",
        {
            "awaiting": [s for s in ended if s.is_awaiting],
            "done": [s for s in ended if not s.is_awaiting],
            "open_items": open_items,
            "nav": "chair",
        },
    )
