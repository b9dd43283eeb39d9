"""The dashboard's sections from agendas/: what the chair approves and follows up, and
the sessions the secretary has still to record."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from agendas.minutes import approval
from agendas.record import followup, recommendations
from agendas.record.models import RecommendationStatus
from meetings.accounts.models import Role, User
from meetings.core.keys import settings_key
from meetings.core.store import utcnow
from meetings.core.web import db

#: How far ahead the chair sees action items falling due.
ACTIONS_AHEAD = timedelta(days=14)
#: The ended sessions the dashboards follow up (the latest ones).
ENDED_LISTED = 10


async def chair_sections(request: web.Request, user: User) -> list[dict[str, Any]]:
    """Minutes awaiting approval, the deadlines (notices of conclusions, action items)
    and the open recommendations."""
    if user.role != Role.chair:
        return []
    organisation = request.app[settings_key].organisation
    now = utcnow()
    today = datetime.now(ZoneInfo(organisation.timezone)).date()
    async with db(request) as session:
        ended = await approval.ended_sessions(session, organisation, now=now, limit=ENDED_LISTED)
        due, due_total = await followup.actions_due(session, until=today + ACTIONS_AHEAD)
        overdue = await followup.overdue_count(session, today=today)
        open_total = await followup.open_recommendation_count(session)
        open_items = await recommendations.recommendations(
            session, status=RecommendationStatus.open, limit=5
        )
    notices_due = sorted(
        (s for s in ended if s.approved is None or s.approved.notice_sent_at is None),
        key=lambda s: s.deadline.due_on,
    )
    return [
        {
            "template": "minutes/dashboard_awaiting.html",
            "order": 10,
            "awaiting": [s for s in ended if s.is_awaiting],
        },
        {
            "template": "minutes/dashboard_deadlines.html",
            "order": 15,
            "notices_due": notices_due,
            "actions": due,
            "actions_total": due_total,
            "overdue_total": overdue,
            "today": today,
        },
        {
            "template": "minutes/dashboard_recommendations.html",
            "order": 40,
            "recommendations": open_items,
            "total": open_total,
        },
    ]


async def organiser_sections(request: web.Request, user: User) -> list[dict[str, Any]]:
    """The organisers' follow-up: action items falling due, the overdue ones first."""
    if user.role not in (Role.organiser, Role.admin):
        return []
    today = datetime.now(ZoneInfo(request.app[settings_key].organisation.timezone)).date()
    async with db(request) as session:
        due, due_total = await followup.actions_due(session, until=today + ACTIONS_AHEAD)
        overdue = await followup.overdue_count(session, today=today)
    return [
        {
            "template": "minutes/dashboard_deadlines.html",
            "order": 15,
            "actions": due,
            "actions_total": due_total,
            "overdue_total": overdue,
            "today": today,
        }
    ]


async def secretary_sections(request: web.Request, user: User) -> list[dict[str, Any]]:
    """Ended sessions whose minutes are not approved (or changed since): to record."""
    if user.role != Role.secretary:
        return []
    organisation = request.app[settings_key].organisation
    async with db(request) as session:
        ended = await approval.ended_sessions(
            session, organisation, now=utcnow(), limit=ENDED_LISTED
        )
    return [
        {
            "template": "minutes/dashboard_to_record.html",
            "order": 10,
            "sessions": [s for s in ended if s.is_awaiting],
        }
    ]
