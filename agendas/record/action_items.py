"""Action items as the record keeps them: who owns one (an invited site, a cluster whose
leading site answers for it, or a unit of the central office by name), when it is due (a
date, moved off a day off, or "N working days" after the session's day), and the
secretary's changes to it, each change of status written to its history
(agendas.record.changes). Overdue is derived, never stored (progress.is_overdue).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.record.changes import histories, set_status
from agendas.record.models import (
    ActionChangePublic,
    ActionItem,
    ActionItemPublic,
    ActionItemUpdate,
)
from agendas.record.progress import is_overdue
from meetings.core.errors import FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.store import bump_version, utcnow
from meetings.planning.invited import invitation
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting
from meetings.planning.workdays import (
    working_days_after,
    working_days_between,
    working_due_date,
)
from meetings.register.models import Cluster, Site


def session_day(meeting: Meeting) -> date:
    """The session's day in its own zone: working days are counted from it."""
    return meeting.starts_at.astimezone(ZoneInfo(meeting.timezone)).date()


def due_on_of(meeting: Meeting, due_date: date | None, working_days: int | None) -> date | None:
    """The due date to store: `working_days` after the session's day, or `due_date`
    moved off a weekend or public holiday (to the working day before it, unless that is
    before the session)."""
    if due_date is not None and working_days is not None:
        raise Invalid(
            "two due dates",
            [FieldProblem("due_working_days", N_("Give a due date or working days, not both"))],
        )
    if working_days is not None:
        return working_days_after(session_day(meeting), working_days)
    if due_date is None:
        return None
    if due_date < meeting.starts_at.date():
        raise Invalid(
            "due before session",
            [FieldProblem("due_date", N_("The due date is before the session"))],
        )
    return working_due_date(due_date, not_before=session_day(meeting))


async def check_owners(
    session: AsyncSession, meeting_id: int, *, site_id: int | None, cluster_id: int | None
) -> None:
    """An owner site is one invited to the session; an owner cluster exists and, for a
    cluster's own meeting, is that cluster (its leader gives no tasks to other clusters)."""
    if site_id is not None:
        await invitation(session, meeting_id=meeting_id, site_id=site_id)
    if cluster_id is None:
        return
    if await session.get(Cluster, cluster_id) is None:
        raise Invalid(
            "no cluster", [FieldProblem("owner_cluster_id", N_("No cluster with this id"))]
        )
    meeting = await get_meeting_row(session, meeting_id)
    if meeting.cluster_id is not None and meeting.cluster_id != cluster_id:
        raise Invalid(
            "other cluster",
            [
                FieldProblem(
                    "owner_cluster_id", N_("A cluster's meeting owes tasks to its cluster only")
                )
            ],
        )


async def actions(session: AsyncSession, meeting_id: int) -> list[ActionItemPublic]:
    """The session's action items with their owners' names, due dates in both forms and
    whether each is overdue now."""
    meeting = await get_meeting_row(session, meeting_id)
    rows = await session.execute(
        select(ActionItem, col(Site.name), col(Cluster.name))
        .outerjoin(Site, col(Site.id) == col(ActionItem.owner_site_id))
        .outerjoin(Cluster, col(Cluster.id) == col(ActionItem.owner_cluster_id))
        .where(col(ActionItem.meeting_id) == meeting_id)
        .order_by(col(ActionItem.id))
    )
    now, day = utcnow(), session_day(meeting)
    return [
        public(row, meeting, site_name, cluster_name, now=now, day=day)
        for row, site_name, cluster_name in rows.all()
    ]


def public(
    row: ActionItem,
    meeting: Meeting,
    site_name: str | None,
    cluster_name: str | None,
    *,
    now: datetime,
    day: date,
) -> ActionItemPublic:
    return ActionItemPublic(
        id=row.id or 0,
        text=row.text,
        owner=row.owner_text,
        owner_site_id=row.owner_site_id,
        owner_site_name=site_name,
        owner_cluster_id=row.owner_cluster_id,
        owner_cluster_name=cluster_name,
        due_date=row.due_on,
        due_working_days=working_days_between(day, row.due_on) if row.due_on else None,
        status=row.status,
        overdue=is_overdue(row.status, row.due_on, meeting.timezone, now),
        done_at=row.done_at,
        chased_on=row.chased_on,
        version=row.version,
    )


async def get_action(session: AsyncSession, meeting_id: int, action_id: int) -> ActionItem:
    row = await session.get(ActionItem, action_id)
    if row is None or row.meeting_id != meeting_id:
        raise NotFound.of(
            N_("no action item {action_id} in session {meeting_id}"),
            action_id=action_id,
            meeting_id=meeting_id,
        )
    return row


async def update_action(
    session: AsyncSession, meeting_id: int, action_id: int, data: ActionItemUpdate, *, by: str
) -> ActionItemPublic:
    """Change what was sent; a new status is written to the item's history."""
    meeting = await get_meeting_row(session, meeting_id)
    row = await get_action(session, meeting_id, action_id)
    sent = data.model_fields_set
    await check_owners(
        session,
        meeting_id,
        site_id=data.owner_site_id if "owner_site_id" in sent else None,
        cluster_id=data.owner_cluster_id if "owner_cluster_id" in sent else None,
    )
    await bump_version(session, row, row.version if data.version is None else data.version)
    if data.text is not None:
        row.text = data.text
    if data.owner is not None:
        row.owner_text = data.owner
    if "owner_site_id" in sent:
        row.owner_site_id = data.owner_site_id
    if "owner_cluster_id" in sent:
        row.owner_cluster_id = data.owner_cluster_id
    if sent & {"due_date", "due_working_days"}:
        row.due_on = due_on_of(meeting, data.due_date, data.due_working_days)
        row.chased_on = None  # a new due date: overdue (and chased) afresh
    if data.status is not None:
        set_status(session, row, data.status, by=by, note=data.note)
    await session.flush()
    return [a for a in await actions(session, meeting_id) if a.id == action_id][0]


async def history(
    session: AsyncSession, meeting_id: int, action_id: int
) -> list[ActionChangePublic]:
    """The item's changes of status, oldest first."""
    await get_action(session, meeting_id, action_id)
    return (await histories(session, [action_id])).get(action_id, [])


async def meeting_histories(
    session: AsyncSession, meeting_id: int
) -> dict[int, list[ActionChangePublic]]:
    """Action item id → its history, for the session's record page."""
    ids = (
        await session.scalars(
            select(col(ActionItem.id)).where(col(ActionItem.meeting_id) == meeting_id)
        )
    ).all()
    return await histories(session, [i for i in ids if i is not None])
