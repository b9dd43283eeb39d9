"""A cluster's own meetings (planned by its leader, `Meeting.cluster_id`): their kinds,
and the series they may join. Which sites they invite: `invited.check_in_cluster`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.errors import FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.planning.invited import check_in_cluster
from meetings.planning.models import Meeting, MeetingCreate, MeetingKind

#: The kinds of a cluster's own meetings: its briefings (the default) and seminars.
CLUSTER_KINDS = (MeetingKind.cluster_meeting, MeetingKind.seminar)


def as_cluster_meeting(data: MeetingCreate, cluster_id: int | None) -> MeetingCreate:
    """A new cluster's meeting is a cluster meeting unless it says it is a seminar."""
    if cluster_id is None:
        return data
    if "kind" not in data.model_fields_set:
        return data.model_copy(update={"kind": MeetingKind.cluster_meeting})
    check_cluster_kind(data.kind, cluster_id)
    return data


def check_cluster_kind(kind: str | None, cluster_id: int | None) -> None:
    if cluster_id is not None and kind is not None and kind not in CLUSTER_KINDS:
        raise Invalid(
            "not a cluster's kind",
            [FieldProblem("kind", N_("a cluster holds cluster meetings and seminars"))],
        )


async def check_cluster_changes(
    session: AsyncSession, cluster_id: int | None, changes: dict[str, Any]
) -> None:
    """A cluster's meeting, changed, stays its cluster's: its kind, host and series."""
    check_cluster_kind(changes.get("kind"), cluster_id)
    await check_in_cluster(session, cluster_id, "host_site_id", [changes.get("host_site_id")])
    await check_cluster_series(session, changes.get("series_id"), cluster_id)


async def check_cluster_series(
    session: AsyncSession, series_id: int | None, cluster_id: int | None
) -> None:
    """A cluster's meeting joins only a series of its cluster's meetings: any other is
    answered as unknown, so it learns nothing of it."""
    if series_id is None or cluster_id is None:
        return
    others = select(func.count()).where(
        col(Meeting.series_id) == series_id,
        or_(col(Meeting.cluster_id).is_(None), col(Meeting.cluster_id) != cluster_id),
    )
    if await session.scalar(others):
        raise Invalid(
            "other series",
            [FieldProblem.of("series_id", N_("no series {series_id}"), series_id=series_id)],
        )
