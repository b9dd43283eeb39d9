"""The session page's minutes panel: once the session has ended, where the minutes stand,
the approved versions to download, the notice of conclusions and the action items (first
once approved). Added to the page through meetings.core.keys.panels_key."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agendas.minutes import minutes
from agendas.record import record
from meetings.core.store import utcnow
from meetings.core.web import db
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.phases import ranks
from meetings.planning.workdays import conclusions_deadline

#: Hidden until the session has ended; first once its minutes are approved.
RANKS = ranks(None, None, None, None, 20, 10, 10, cancelled=None)


async def minutes_panel(request: web.Request, meeting_id: int) -> dict[str, Any]:
    async with db(request) as session:
        meeting = await get_meeting_row(session, meeting_id)
        versions = [v for v in await minutes.versions(session, meeting_id) if v.approved_at]
        actions = await record.actions(session, meeting_id)
    return {
        "template": "minutes/minutes_panel.html",
        "ranks": RANKS,
        "approved": versions,
        "notice_sent": next((v.notice_sent_at for v in versions if v.notice_sent_at), None),
        "deadline": conclusions_deadline(
            ends_at=meeting.ends_at, timezone=meeting.timezone, now=utcnow()
        ),
        "actions": actions,
    }
