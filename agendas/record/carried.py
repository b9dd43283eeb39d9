"""What a session carries from the earlier sessions of its series: the action items not
done and the recommendations still open, with where each came from and how it stands.

The next session starts from the last one: its page, its giấy mời, the agenda part
"Kết quả thực hiện kết luận phiên trước" and its minutes all show this one list. Only
sessions of the same series that started before it and were not cancelled count. Five
queries, whatever the number of items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.record.models import (
    ActionChange,
    ActionItem,
    ActionStatus,
    Recommendation,
    RecommendationStatus,
)
from agendas.record.progress import is_overdue
from agendas.record.progress_models import ActionReport
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting, MeetingStatus
from meetings.register.models import Cluster, Site


@dataclass(frozen=True)
class CarriedAction:
    """An action item of an earlier session, as it stands now."""

    id: int
    text: str
    owner: str
    due_on: date | None
    #: An ActionStatus value, or "overdue" (still not done past its due date): keys of
    #: agendas.record.labels.CARRIED_STATE_LABELS.
    state: str
    meeting_id: int
    meeting_title: str
    #: The latest progress reported (a site's report, or a note on a change of status).
    progress: str = ""


@dataclass(frozen=True)
class CarriedRecommendation:
    """A recommendation raised in an earlier session."""

    id: int
    text: str
    topic: str
    site_name: str | None
    #: "still_open", "answered" or "closed" (keys of CARRIED_STATE_LABELS).
    state: str
    meeting_id: int
    meeting_title: str
    assigned_unit: str = ""


@dataclass(frozen=True)
class Carried:
    actions: list[CarriedAction] = field(default_factory=list)
    recommendations: list[CarriedRecommendation] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.actions) + len(self.recommendations)

    def __bool__(self) -> bool:
        return self.count > 0


def _earlier(meeting: Meeting) -> ColumnElement[bool]:
    """The sessions of `meeting`'s series that started before it and were not cancelled."""
    return and_(
        col(Meeting.series_id) == meeting.series_id,
        col(Meeting.starts_at) < meeting.starts_at,
        col(Meeting.status) != MeetingStatus.cancelled,
    )


async def carried(
    session: AsyncSession, meeting_id: int, *, now: datetime, since_start: bool = False
) -> Carried:
    """What `meeting_id` carries from earlier sessions of its series, oldest first.

    `since_start`: also those settled since the session started (done, answered, closed),
    so that its minutes report what became of each item it carried."""
    meeting = await get_meeting_row(session, meeting_id)
    if meeting.series_id is None:
        return Carried()
    return Carried(
        actions=await _actions(session, meeting, now=now, since_start=since_start),
        recommendations=await _recommendations(session, meeting, since_start=since_start),
    )


async def _actions(
    session: AsyncSession, meeting: Meeting, *, now: datetime, since_start: bool
) -> list[CarriedAction]:
    pending: ColumnElement[bool] = col(ActionItem.status) != ActionStatus.done
    if since_start:
        pending = or_(pending, col(ActionItem.done_at) >= meeting.starts_at)
    rows = (
        await session.execute(
            select(ActionItem, Meeting, col(Site.name), col(Cluster.name))
            .join(Meeting, col(Meeting.id) == col(ActionItem.meeting_id))
            .outerjoin(Site, col(Site.id) == col(ActionItem.owner_site_id))
            .outerjoin(Cluster, col(Cluster.id) == col(ActionItem.owner_cluster_id))
            .where(_earlier(meeting), pending)
            .order_by(col(Meeting.starts_at), col(ActionItem.id))
        )
    ).all()
    progress = await latest_progress(session, [item.id or 0 for item, *_ in rows])
    return [
        CarriedAction(
            id=item.id or 0,
            text=item.text,
            owner=item.owner_text or site or cluster or "",
            due_on=item.due_on,
            state="overdue"
            if is_overdue(item.status, item.due_on, origin.timezone, now)
            else item.status,
            meeting_id=item.meeting_id,
            meeting_title=origin.title,
            progress=progress.get(item.id or 0, ""),
        )
        for item, origin, site, cluster in rows
    ]


async def latest_progress(session: AsyncSession, item_ids: list[int]) -> dict[int, str]:
    """Each item's latest word on its progress: its last report from the site or its last
    change of status with a note, whichever came later (two queries)."""
    if not item_ids:
        return {}
    last_report = (
        select(func.max(col(ActionReport.id)))
        .where(col(ActionReport.action_item_id).in_(item_ids))
        .group_by(col(ActionReport.action_item_id))
    )
    last_change = (
        select(func.max(col(ActionChange.id)))
        .where(col(ActionChange.action_item_id).in_(item_ids), col(ActionChange.note) != "")
        .group_by(col(ActionChange.action_item_id))
    )
    said: dict[int, tuple[datetime, str]] = {}
    for report in await session.scalars(
        select(ActionReport).where(col(ActionReport.id).in_(last_report))
    ):
        said[report.action_item_id] = (report.created_at, report.text)
    for change in await session.scalars(
        select(ActionChange).where(col(ActionChange.id).in_(last_change))
    ):
        earlier = said.get(change.action_item_id)
        if earlier is None or earlier[0] <= change.at:
            said[change.action_item_id] = (change.at, change.note)
    return {item_id: " ".join(text.split()) for item_id, (_, text) in said.items()}


async def _recommendations(
    session: AsyncSession, meeting: Meeting, *, since_start: bool
) -> list[CarriedRecommendation]:
    pending: ColumnElement[bool] = col(Recommendation.status) == RecommendationStatus.open
    if since_start:
        pending = or_(
            pending,
            col(Recommendation.answered_in_id) == meeting.id,
            col(Recommendation.answered_at) >= meeting.starts_at,
        )
    rows = await session.execute(
        select(Recommendation, col(Meeting.title), col(Site.name))
        .join(Meeting, col(Meeting.id) == col(Recommendation.meeting_id))
        .outerjoin(Site, col(Site.id) == col(Recommendation.site_id))
        .where(_earlier(meeting), pending)
        .order_by(col(Meeting.starts_at), col(Recommendation.id))
    )
    return [
        CarriedRecommendation(
            id=rec.id or 0,
            text=rec.text,
            topic=rec.topic,
            site_name=site,
            state="still_open" if rec.status == RecommendationStatus.open else rec.status,
            meeting_id=rec.meeting_id,
            meeting_title=title,
            assigned_unit=rec.assigned_unit,
        )
        for rec, title, site in rows.all()
    ]
