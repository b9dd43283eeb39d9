"""The dashboard's sections from notify/: the organiser's upcoming sessions with their
invitations and answers, and the chair's and secretary's notices."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from meetings.accounts.models import Role, User
from meetings.core.access import ORGANISERS
from meetings.core.store import utcnow
from meetings.core.web import db
from meetings.planning import dashboard
from notify.mail import notices, progress

#: Who reads the notices of draft minutes (notify.mail.notices).
NOTICE_READERS = frozenset({Role.chair, Role.secretary})


async def organiser_sections(request: web.Request, user: User) -> list[dict[str, Any]]:
    """Upcoming sessions, each with where its invitations stand and who has answered."""
    if user.role not in ORGANISERS:
        return []
    async with db(request) as session:
        upcoming, total = await dashboard.upcoming_sessions(session, now=utcnow(), limit=10)
        ids = [m.id for m in upcoming]
        answers = await dashboard.rsvp_tallies(session, ids)
        sent = await progress.invitation_progress(session, upcoming)
    return [
        {
            "template": "mail/dashboard_upcoming.html",
            "order": 20,
            "rows": [
                {
                    "meeting": m,
                    "answers": answers.get(m.id, dashboard.RsvpTally()),
                    "invitations": sent[m.id],
                }
                for m in upcoming
            ],
            "total": total,
            "state_labels": progress.INVITATION_STATE_LABELS,
        }
    ]


async def notice_sections(request: web.Request, user: User) -> list[dict[str, Any]]:
    """The latest "draft minutes ready" notices, for the chair and the secretary."""
    if user.role not in NOTICE_READERS:
        return []
    async with db(request) as session:
        latest = await notices.latest_notices(session, limit=10)
    return [{"template": "mail/dashboard_notices.html", "order": 30, "notices": latest}]
