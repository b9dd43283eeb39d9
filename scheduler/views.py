"""The session page's timeline: what the scheduler will send and do, and what it did."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from meetings.core.keys import settings_key
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.core.web import db
from notify.mail.models import Message, MessageKind
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
SENT_KINDS = (MessageKind.reminder, MessageKind.rsvp_chaser, MessageKind.rehearsal)
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
        rows = (
            await session.execute(
                select(Message.kind, Message.send_after, Message.status, func.count())
                .where(
                    Message.meeting_id == meeting_id,
                    Message.kind.in_(SENT_KINDS),  # type: ignore[attr-defined]
                )
                .group_by(Message.kind, Message.send_after, Message.status)
                .order_by(Message.send_after)
            )
        ).all()
    done: dict[tuple[str, Any], dict[str, int]] = {}
    for kind, at, status, count in rows:
        done.setdefault((kind, at), {})[status] = count
    return {
        "template": "scheduler/timeline_panel.html",
        "upcoming": [
            {"at": d.at, "label": ACTION_LABELS[d.action], "action": d.action.value}
            for d in dues
            if d.at > now
        ],
        "done": [
            {"at": at, "label": KIND_LABELS[MessageKind(kind)], "counts": counts}
            for (kind, at), counts in done.items()
        ],
        "running": scheduler_key in request.app,
        "has_meeting": meeting is not None,
    }
