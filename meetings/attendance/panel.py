"""The session page's attendance panel: the totals and each site's attendance, first
while the session is live and once it has ended (attendance as it happened, not the
answers given before). Added to the page through meetings.core.keys.panels_key."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from meetings.attendance.keys import hub_key
from meetings.attendance.report import ABSENCE_LABELS, STATUS_LABELS, build_report
from meetings.attendance.snapshots import shared_snapshot
from meetings.core.store import utcnow
from meetings.core.web import db
from meetings.planning.phases import ranks

#: Hidden while the session is planned; first on its day, while live and once ended.
RANKS = ranks(None, None, 10, 10, 10, 40, 60, cancelled=None)


async def attendance_panel(request: web.Request, meeting_id: int) -> dict[str, Any]:
    # The boards' read of the sites, not another one.
    shared = await shared_snapshot(request, request.app[hub_key].snapshots, meeting_id)
    async with db(request) as session:
        report = await build_report(session, meeting_id, now=utcnow(), states=shared.sites)
    return {
        "template": "attendance/session_panel.html",
        "ranks": RANKS,
        "report": report,
        "status_labels": STATUS_LABELS,
        "absence_labels": ABSENCE_LABELS,
    }
