"""Action items that live after their session: the owning site reports progress through
its page (text, and a file checked like a session document), the office accepts or
returns each report, and accepting one that says "done" marks the item done.

Only the owning site (for a cluster's item, the site that leads the cluster) may report
on an item; for any other site the item simply does not exist (404), so a link learns
nothing about other sites' work. Overdue is derived from the due date in the session's
zone, never stored.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.record.changes import set_status
from agendas.record.models import ActionItem, ActionStatus
from agendas.record.progress_models import (
    ActionReport,
    ActionReportIn,
    ActionReportPublic,
    ReportStatus,
    SiteActionPublic,
)
from meetings.core.errors import Conflict, NotFound
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.planning.documents import KINDS, checked_file, stored_file
from meetings.planning.models import Meeting
from meetings.register.models import Cluster, Site

#: The folder under the documents' folder where report files are kept.
REPORTS_FOLDER = "action-reports"


def is_overdue(status: ActionStatus, due_on: date | None, zone: str, now: datetime) -> bool:
    """Still open past its due date, the date read in the session's zone."""
    if status == ActionStatus.done or due_on is None:
        return False
    return due_on < now.astimezone(ZoneInfo(zone)).date()


class Upload:
    """A file sent with a report: its name as the browser gave it and its bytes."""

    def __init__(self, filename: str, content: bytes) -> None:
        self.filename = filename
        self.content = content


def _public(report: ActionReport, site_name: str | None = None) -> ActionReportPublic:
    return ActionReportPublic.model_validate(report, update={"site_name": site_name})


def owned_by(site_id: int) -> ColumnElement[bool]:
    """The items a site answers for: its own, and its cluster's when it leads the cluster."""
    led = select(col(Cluster.id)).where(col(Cluster.leader_site_id) == site_id)
    return or_(col(ActionItem.owner_site_id) == site_id, col(ActionItem.owner_cluster_id).in_(led))


async def _owned_item(session: AsyncSession, item_id: int, site_id: int) -> ActionItem:
    item = await session.scalar(
        select(ActionItem).where(col(ActionItem.id) == item_id, owned_by(site_id))
    )
    if item is None:
        raise NotFound.of(N_("no action item {item_id} for your site"), item_id=item_id)
    return item


async def report_progress(
    session: AsyncSession,
    item_id: int,
    site_id: int,
    data: ActionReportIn,
    *,
    upload: Upload | None = None,
    folder: Path,
    max_bytes: int,
) -> ActionReportPublic:
    """The owning site's report on its item; the file, if any, is checked before anything
    is written and removed again if the row cannot be written."""
    item = await _owned_item(session, item_id, site_id)
    if item.status == ActionStatus.done:
        raise Conflict.of(N_("action item {item_id} is already done"), item_id=item_id)
    report = ActionReport(action_item_id=item_id, site_id=site_id, text=data.text, done=data.done)
    if upload is None or not (upload.filename or upload.content):
        session.add(report)
        await session.flush()
        return _public(report)
    name, ext = checked_file(upload.filename, upload.content, max_bytes=max_bytes)
    report.stored_name = f"{REPORTS_FOLDER}/{item_id}/{secrets.token_hex(16)}.{ext}"
    report.filename, report.content_type = name, KINDS[ext][0]
    report.size = len(upload.content)
    async with stored_file(folder / report.stored_name, upload.content):
        session.add(report)
        await session.flush()
    return _public(report)


async def decide_report(
    session: AsyncSession, report_id: int, *, accept: bool, comment: str, by: str
) -> ActionReportPublic:
    """Accept or return a submitted report; accepting one that says done marks the item
    done, and another moves an open item to in progress. A report decided already is
    refused (409), so two officers never both decide."""
    report = await session.get(ActionReport, report_id)
    if report is None:
        raise NotFound.of(N_("no progress report {report_id}"), report_id=report_id)
    if report.status != ReportStatus.submitted:
        raise Conflict.of(
            N_("progress report {report_id} was decided already"), report_id=report_id
        )
    report.status = ReportStatus.accepted if accept else ReportStatus.returned
    report.comment, report.decided_by, report.decided_at = comment, by, utcnow()
    item = await session.get(ActionItem, report.action_item_id) if accept else None
    # Accepted, a report moves its item on: "done" marks it done, the first other one
    # (still open) puts it in progress; each move is written to the item's history with
    # the office's comment.
    if item is not None and item.status != ActionStatus.done:
        status = ActionStatus.done if report.done else ActionStatus.in_progress
        if set_status(session, item, status, by=by, note=comment):
            item.version += 1
    await session.flush()
    return _public(report)


async def get_report(session: AsyncSession, item_id: int, report_id: int) -> ActionReport:
    report = await session.get(ActionReport, report_id)
    if report is None or report.action_item_id != item_id:
        raise NotFound.of(
            N_("no progress report {report_id} on action item {item_id}"),
            report_id=report_id,
            item_id=item_id,
        )
    return report


async def reports_of(
    session: AsyncSession, item_ids: Collection[int]
) -> dict[int, list[ActionReportPublic]]:
    """The reports on each item, oldest first, with the site's name, in one query."""
    found: dict[int, list[ActionReportPublic]] = {}
    if not item_ids:
        return found
    rows = await session.execute(
        select(ActionReport, col(Site.name))
        .join(Site, col(Site.id) == col(ActionReport.site_id))
        .where(col(ActionReport.action_item_id).in_(item_ids))
        .order_by(col(ActionReport.action_item_id), col(ActionReport.id))
    )
    for report, site_name in rows.all():
        found.setdefault(report.action_item_id, []).append(_public(report, site_name))
    return found


async def meeting_reports(
    session: AsyncSession, meeting_id: int
) -> dict[int, list[ActionReportPublic]]:
    """Action item id → its reports, for the session's record page."""
    ids = (
        await session.scalars(
            select(col(ActionItem.id)).where(col(ActionItem.meeting_id) == meeting_id)
        )
    ).all()
    return await reports_of(session, [i for i in ids if i is not None])


async def site_actions(
    session: AsyncSession, site_id: int, *, now: datetime
) -> list[SiteActionPublic]:
    """The site's open action items across all sessions, soonest due first (undated last),
    with their reports: two queries whatever their number."""
    rows = (
        await session.execute(
            select(ActionItem, col(Meeting.title), col(Meeting.timezone))
            .join(Meeting, col(Meeting.id) == col(ActionItem.meeting_id))
            .where(
                owned_by(site_id),
                col(ActionItem.status) != ActionStatus.done,
            )
            .order_by(col(ActionItem.due_on).is_(None), col(ActionItem.due_on), col(ActionItem.id))
        )
    ).all()
    reports = await reports_of(session, [item.id for item, _, _ in rows if item.id is not None])
    return [
        SiteActionPublic(
            id=item.id or 0,
            meeting_id=item.meeting_id,
            meeting_title=title,
            timezone=zone,
            text=item.text,
            due_date=item.due_on,
            status=item.status,
            overdue=is_overdue(item.status, item.due_on, zone, now),
            reports=reports.get(item.id or 0, []),
        )
        for item, title, zone in rows
    ]
