"""The register of recommendations (kiến nghị): raised with a contribution, open until answered.

A recommendation lives on its own after the session that raised it: it stays open across
the sessions of its series (each shows those carried in) until someone answers or closes it.
"""

from __future__ import annotations

from datetime import datetime
from statistics import fmean, median

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from agendas.record import answer_documents
from agendas.record.models import (
    Recommendation,
    RecommendationPublic,
    RecommendationStatus,
    RecommendationUpdate,
)
from meetings.core import signals
from meetings.core.errors import FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.store import bump_version, utcnow
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting
from meetings.register.models import Cluster, Site


def _public(
    rec: Recommendation, title: str, site_name: str | None, cluster_name: str | None
) -> RecommendationPublic:
    return RecommendationPublic(
        id=rec.id or 0,
        meeting_id=rec.meeting_id,
        meeting_title=title,
        site_id=rec.site_id,
        site_name=site_name,
        cluster_name=cluster_name,
        topic=rec.topic,
        text=rec.text,
        status=rec.status,
        assigned_unit=rec.assigned_unit,
        answer=rec.answer,
        answered_by=rec.answered_by,
        answered_at=rec.answered_at,
        answered_in_id=rec.answered_in_id,
        contribution_id=rec.contribution_id,
        answer_filename=rec.answer_filename,
        answer_size=rec.answer_size,
        created_at=rec.created_at,
        version=rec.version,
    )


async def recommendations(
    session: AsyncSession,
    *,
    status: RecommendationStatus | None = None,
    site_id: int | None = None,
    cluster_id: int | None = None,
    topic: str | None = None,
    meeting_id: int | None = None,
    before: datetime | None = None,
    series_id: int | None = None,
    unit: str | None = None,
    recommendation_id: int | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[RecommendationPublic]:
    """The register, newest first; `before`+`series_id` give the ones carried into a
    later session of the series."""
    query = (
        select(Recommendation, col(Meeting.title), col(Site.name), col(Cluster.name))
        .join(Meeting, col(Meeting.id) == col(Recommendation.meeting_id))
        .outerjoin(Site, col(Site.id) == col(Recommendation.site_id))
        .outerjoin(Cluster, col(Cluster.id) == col(Site.cluster_id))
    )
    if status is not None:
        query = query.where(col(Recommendation.status) == status)
    if site_id is not None:
        query = query.where(col(Recommendation.site_id) == site_id)
    if cluster_id is not None:
        query = query.where(col(Site.cluster_id) == cluster_id)
    if topic:
        like = f"%{topic.strip()}%"
        query = query.where(
            or_(col(Recommendation.topic).ilike(like), col(Recommendation.text).ilike(like))
        )
    if meeting_id is not None:
        query = query.where(col(Recommendation.meeting_id) == meeting_id)
    if unit:
        query = query.where(col(Recommendation.assigned_unit) == unit.strip())
    if before is not None:
        query = query.where(col(Meeting.starts_at) < before)
    if series_id is not None:
        query = query.where(col(Meeting.series_id) == series_id)
    if recommendation_id is not None:
        query = query.where(col(Recommendation.id) == recommendation_id)
    rows = await session.execute(
        query.order_by(col(Recommendation.created_at).desc(), col(Recommendation.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return [_public(*row) for row in rows.all()]


async def open_at(session: AsyncSession, meeting: Meeting) -> list[RecommendationPublic]:
    """Those of earlier sessions of the series still open when `meeting` ended (whatever
    became of them since), newest first: what its minutes carry forward, the same later."""
    if meeting.series_id is None:
        return []
    carried = await recommendations(
        session, series_id=meeting.series_id, before=meeting.starts_at, limit=10_000
    )
    return [
        r
        for r in carried
        if r.status == RecommendationStatus.open
        or r.answered_in_id == meeting.id
        or (r.answered_at is not None and r.answered_at > meeting.ends_at)
    ]


async def open_from_earlier(session: AsyncSession, meeting_id: int) -> list[RecommendationPublic]:
    """Open recommendations raised in earlier sessions of this session's series."""
    meeting = await get_meeting_row(session, meeting_id)
    if meeting.series_id is None:
        return []
    return await recommendations(
        session,
        status=RecommendationStatus.open,
        series_id=meeting.series_id,
        before=meeting.starts_at,
    )


async def update_recommendation(
    session: AsyncSession,
    recommendation_id: int,
    data: RecommendationUpdate,
    *,
    document: answer_documents.Upload | None = None,
) -> RecommendationPublic:
    """Route, answer, close or reopen; a document given goes with the answer (and its mail)."""
    row = await session.get(Recommendation, recommendation_id)
    if row is None:
        raise NotFound.of(
            N_("no recommendation {recommendation_id}"), recommendation_id=recommendation_id
        )
    if data.status == RecommendationStatus.answered and not data.response.strip():
        raise Invalid("no answer", [FieldProblem("response", N_("Write the answer"))])
    if data.meeting_id is not None and await session.get(Meeting, data.meeting_id) is None:
        problem = FieldProblem.of(
            "meeting_id", N_("no session {meeting_id}"), meeting_id=data.meeting_id
        )
        raise Invalid("unknown session", [problem])
    await bump_version(session, row, row.version if data.version is None else data.version)
    if data.assigned_unit is not None:
        row.assigned_unit = data.assigned_unit
    # Saving only the unit keeps the answer's date (and mails nothing again).
    changed = row.status != data.status or row.answer != data.response or document is not None
    answered = data.status == RecommendationStatus.answered and changed
    row.status = data.status
    if data.status == RecommendationStatus.open:
        row.answer, row.answered_by, row.answered_at, row.answered_in_id = "", "", None, None
    elif changed:
        row.answer = data.response
        row.answered_by = data.answered_by
        row.answered_at = utcnow()
        row.answered_in_id = data.meeting_id
    async with answer_documents.kept(row, document):
        await session.flush()
    if answered:  # a new or changed answer goes to the site that raised it
        await signals.of(session).recommendation_answered.send(session, row.id or 0)
    (found,) = [
        r for r in await recommendations(session, meeting_id=row.meeting_id) if r.id == row.id
    ]
    return found


async def units(session: AsyncSession) -> list[str]:
    """The units recommendations are routed to, by name (the page's filter offers them:
    SQLite lowers no Vietnamese capital, so the filter matches the name as written)."""
    rows = await session.scalars(
        select(col(Recommendation.assigned_unit))
        .where(col(Recommendation.assigned_unit) != "")
        .distinct()
        .order_by(col(Recommendation.assigned_unit))
    )
    return list(rows.all())


class AnswerNumbers(SQLModel):
    """How a group of recommendations fared: raised, answered, and the median and average
    days from raising to answer (None while none is answered)."""

    name: str
    cluster_id: int | None = None
    raised: int
    answered: int
    median_days: float | None
    mean_days: float | None


class AnswerReport(SQLModel):
    """The numbers per cluster (sites without one, and the central hall, as "") and all
    of them together, for one series (None: every session)."""

    series_id: int | None = None
    clusters: list[AnswerNumbers]
    total: AnswerNumbers


def _numbers(name: str, cluster_id: int | None, spans: list[float | None]) -> AnswerNumbers:
    days = [d for d in spans if d is not None]
    return AnswerNumbers(
        name=name,
        cluster_id=cluster_id,
        raised=len(spans),
        answered=len(days),
        median_days=median(days) if days else None,
        mean_days=fmean(days) if days else None,
    )


async def answer_numbers(
    session: AsyncSession, *, series_id: int | None = None, unit: str | None = None
) -> AnswerReport:
    """Raised, answered and median and average days to answer per cluster and in all, for
    a series (or every session) and a unit (or all): one query, whatever the number of
    sites."""
    query = (
        select(
            col(Cluster.id),
            col(Cluster.name),
            col(Recommendation.status),
            col(Recommendation.created_at),
            col(Recommendation.answered_at),
        )
        .join(Meeting, col(Meeting.id) == col(Recommendation.meeting_id))
        .outerjoin(Site, col(Site.id) == col(Recommendation.site_id))
        .outerjoin(Cluster, col(Cluster.id) == col(Site.cluster_id))
    )
    if series_id is not None:
        query = query.where(col(Meeting.series_id) == series_id)
    if unit:
        query = query.where(col(Recommendation.assigned_unit) == unit.strip())
    spans: dict[tuple[str, int | None], list[float | None]] = {}
    for cluster_id, cluster, status, raised, answered_at in (await session.execute(query)).all():
        days = (
            (answered_at - raised).total_seconds() / 86_400
            if status == RecommendationStatus.answered and answered_at is not None
            else None
        )
        spans.setdefault((cluster or "", cluster_id), []).append(days)
    clusters = [
        _numbers(name, cluster_id, spans[name, cluster_id])
        for name, cluster_id in sorted(spans, key=lambda k: (not k[0], k[0]))
    ]
    every = [d for s in spans.values() for d in s]
    return AnswerReport(series_id=series_id, clusters=clusters, total=_numbers("", None, every))
