"""The session page's timeline: what the scheduler will send and do, and what it did."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from meetings.core.keys import settings_key
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.core.web import db
from meetings.planning.phases import ranks
from notify.mail.models import MessageKind
from scheduler import actions
from scheduler.keys import scheduler_key
from scheduler.plan import Action

ACTION_LABELS = {
    Action.dispatch: N_("Invitations go out (chosen send time)"),
    Action.reminder: N_("Reminder to sites that accepted or have not answered"),
    Action.rsvp_chaser: N_("Request for an answer to sites that have not answered"),
    Action.rehearsal: N_("Technical rehearsal notice to technical contacts"),
    Action.go_live: N_("The session goes live"),
    Action.end: N_("The session ends; draft minutes are announced"),
}
#: The timeline on the session page: first on the session's day (rehearsal, start).
RANKS = ranks(50, 50, 20, 40, 50, 70, 70)
KIND_LABELS = {
    MessageKind.reminder: ACTION_LABELS[Action.reminder],
    MessageKind.rsvp_chaser: ACTION_LABELS[Action.rsvp_chaser],
    MessageKind.rehearsal: ACTION_LABELS[Action.rehearsal],
}


async def timeline_panel(request: web.Request, meeting_id: int) -> dict[str, Any]:
    settings = request.app[settings_key]
    now = utcnow()
    async with db(request) as session:
        meeting, dues = await actions.load_plan(session, meeting_id, settings.scheduler, now=now)
        sent = await actions.sendings(session, meeting_id)
    return {
        "template": "scheduler/timeline_panel.html",
        "ranks": RANKS,
        "upcoming": [
            {
                "at": d.at,
                "label": ACTION_LABELS[d.action],
                "action": d.action.value,
                "moved_from": d.moved_from,
            }
            for d in dues
            if d.at > now
        ],
        "done": [{"at": s.at, "label": KIND_LABELS[s.kind], "counts": s.counts} for s in sent],
        # This instance runs it, or stands by while another one does (scheduler.leader).
        "running": scheduler_key in request.app,
        "has_meeting": meeting is not None,
    }
