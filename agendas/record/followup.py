"""What the record leaves open across sessions, for the chair's dashboard: action items
falling due and open recommendations (a fixed number of queries, whatever their number)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.record.models import ActionItem, ActionStatus, Recommendation, RecommendationStatus
from meetings.planning.models import Meeting
from meetings.register.models import Cluster, Site


@dataclass(frozen=True)
class DueAction:
    """An action item not done, with a due date, and the session it came from."""

    id: int
    text: str
    owner: str
    due_on: date
    status: ActionStatus
    meeting_id: int
    meeting_title: str

    def is_overdue(self, today: date) -> bool:
        return self.due_on < today


async def actions_due(
    session: AsyncSession, *, until: date, limit: int = 10
) -> tuple[list[DueAction], int]:
    """Action items not done (open or in progress) due on or before `until` (overdue ones
    included), soonest first, and how many there are in all."""
    conditions = (
        col(ActionItem.status) != ActionStatus.done,
        col(ActionItem.due_on).is_not(None),
        col(ActionItem.due_on) <= until,
    )
    total = await session.scalar(select(func.count()).select_from(ActionItem).where(*conditions))
    rows = await session.execute(
        select(ActionItem, col(Meeting.title), col(Site.name), col(Cluster.name))
        .join(Meeting, col(Meeting.id) == col(ActionItem.meeting_id))
        .outerjoin(Site, col(Site.id) == col(ActionItem.owner_site_id))
        .outerjoin(Cluster, col(Cluster.id) == col(ActionItem.owner_cluster_id))
        .where(*conditions)
        .order_by(col(ActionItem.due_on), col(ActionItem.id))
        .limit(limit)
    )
    found = [
        DueAction(
            id=item.id or 0,
            text=item.text,
            owner=item.owner_text or site_name or cluster_name or "",
            due_on=item.due_on,
            status=item.status,
            meeting_id=item.meeting_id,
            meeting_title=title,
        )
        for item, title, site_name, cluster_name in rows.all()
        if item.due_on is not None
    ]
    return found, total or 0


async def overdue_count(session: AsyncSession, *, today: date) -> int:
    """Action items not done whose due date has passed."""
    found = await session.scalar(
        select(func.count())
        .select_from(ActionItem)
        .where(col(ActionItem.status) != ActionStatus.done, col(ActionItem.due_on) < today)
    )
    return found or 0


async def open_recommendation_count(session: AsyncSession) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(Recommendation)
            .where(col(Recommendation.status) == RecommendationStatus.open)
        )
        or 0
    )
