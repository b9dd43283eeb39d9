"""What a cluster leader follows: the action items its cluster's sites (or the cluster
itself) owe, from every session, the office's included; read-only but in its own
cluster's meetings. One query whatever their number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.record.models import ActionItem, ActionStatus
from agendas.record.progress import is_overdue
from meetings.planning.models import Meeting
from meetings.register.models import Site

#: How many items the leader's home lists (the most urgent first).
LISTED = 50


@dataclass(frozen=True)
class ClusterAction:
    """An open action item of one of the cluster's sites (or of the cluster)."""

    id: int
    text: str
    owner: str
    due_on: date | None
    status: str
    overdue: bool
    meeting_id: int
    meeting_title: str
    #: The cluster's own meeting: its leader opens its record; the office's: read here.
    is_own_meeting: bool


async def cluster_actions(
    session: AsyncSession, cluster_id: int, *, now: datetime, limit: int = LISTED
) -> list[ClusterAction]:
    """The open items owned by the cluster or its sites, soonest due first (undated last)."""
    members = select(col(Site.id)).where(col(Site.cluster_id) == cluster_id)
    rows = await session.execute(
        select(ActionItem, Meeting, col(Site.name))
        .join(Meeting, col(Meeting.id) == col(ActionItem.meeting_id))
        .outerjoin(Site, col(Site.id) == col(ActionItem.owner_site_id))
        .where(
            col(ActionItem.status) != ActionStatus.done,
            or_(
                col(ActionItem.owner_site_id).in_(members),
                col(ActionItem.owner_cluster_id) == cluster_id,
            ),
        )
        .order_by(col(ActionItem.due_on).is_(None), col(ActionItem.due_on), col(ActionItem.id))
        .limit(limit)
    )
    return [
        ClusterAction(
            id=item.id or 0,
            text=item.text,
            owner=site_name or item.owner_text,
            due_on=item.due_on,
            status=item.status,
            overdue=is_overdue(item.status, item.due_on, meeting.timezone, now),
            meeting_id=item.meeting_id,
            meeting_title=meeting.title,
            is_own_meeting=meeting.cluster_id == cluster_id,
        )
        for item, meeting, site_name in rows.all()
    ]
