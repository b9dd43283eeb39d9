"""The session page's attendance panel: the totals and each site's attendance, first
while the session is live and once it has ended (attendance as it happened, not the
answers given before). Added to the page through meetings.core.keys.panels_key."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from meetings.attendance.keys import hub_key
from meetings.attendance.report import ABSENCE_LABELS, STATUS_LABELS, build_report
from meetings.attendance.snapshots import board_facts, shared_snapshot
from meetings.core.keys import locale_key, settings_key
from meetings.core.store import utcnow
from meetings.core.web import db
from meetings.planning.phases import ranks

#: Hidden while the session is planned; first on its day, while live and once ended.
RANKS = ranks(None, None, 10, 10, 10, 40, 60, cancelled=None)


async def attendance_panel(request: web.Request, meeting_id: int) -> dict[str, Any]:
    # The boards' read of the sites, not another one, and the report made of it once per
    # version of the session (its title, zone, times and status are in the report; the
    # time it was made is not shown here).
    hub = request.app[hub_key]
    meeting, known = await board_facts(request, hub.snapshots, meeting_id)
    shared = await shared_snapshot(request, hub.snapshots, meeting_id, known=known)
    report = shared.reports.get((meeting.version, meeting.status))
    if report is None:
        async with db(request) as session:
            report = await build_report(
                session,
                meeting_id,
                now=utcnow(),
                states=shared.sites,
                kept=hub.snapshots.rows_of(meeting_id),
            )
        shared.reports[(meeting.version, meeting.status)] = report
    # Each site's row kept by exactly what it shows (the report's row, frozen) and the
    # language, across reports: after one check-in only that site's row is rendered
    # again. Kept now: the set fills as this panel renders, for the next panel's.
    locale = request.get(locale_key, request.app[settings_key].organisation.locale)
    rows = hub.snapshots.panel_rows.rows((meeting_id, locale))
    rows.keep()
    return {
        "row": lambda row, make: rows.row(row, lambda: make(row)),
        "template": "attendance/session_panel.html",
        "ranks": RANKS,
        "report": report,
        "status_labels": STATUS_LABELS,
        "absence_labels": ABSENCE_LABELS,
    }
