"""The record of a session: what the sites said (contributions) and what was decided (actions).

A contribution of the kind "recommendation" also opens a recommendation, which then lives
on its own in agendas.record.recommendations; the notes and focus outcomes are in
agendas.record.notes. A site named here must be invited to the session.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.programme.models import FocusItem
from agendas.programme.programme import agenda_items
from agendas.record.action_items import actions, check_owners, due_on_of, get_action
from agendas.record.changes import note_change
from agendas.record.models import (
    ActionItem,
    ActionItemIn,
    ActionItemPublic,
    ActionStatus,
    Contribution,
    ContributionIn,
    ContributionKind,
    ContributionPublic,
    Recommendation,
    RecommendationStatus,
    SiteContributionIn,
)
from meetings.core.errors import FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.planning.invited import invitation
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting, MeetingStatus
from meetings.register.models import Site


async def recordable(session: AsyncSession, meeting_id: int) -> Meeting:
    """The session, if it may have a record (a cancelled one has none)."""
    meeting = await get_meeting_row(session, meeting_id)
    if meeting.status == MeetingStatus.cancelled:
        raise Invalid(
            "cancelled", [FieldProblem("status", N_("A cancelled session has no record"))]
        )
    return meeting


async def agenda_positions(session: AsyncSession, meeting_id: int) -> set[int]:
    """The positions a note or a contribution may refer to."""
    return {item.position for item in await agenda_items(session, meeting_id=meeting_id)}


# --- contributions ---------------------------------------------------------------------


async def _check_site(session: AsyncSession, meeting_id: int, site_id: int | None) -> None:
    """A site named on the record is one invited to the session (none: the host speaks)."""
    if site_id is not None:
        await invitation(session, meeting_id=meeting_id, site_id=site_id)


async def add_contribution(
    session: AsyncSession,
    meeting_id: int,
    data: ContributionIn,
    *,
    source: str,
    author: str,
) -> ContributionPublic:
    await recordable(session, meeting_id)
    await _check_site(session, meeting_id, data.site_id)
    problems = []
    if data.agenda_item is not None and data.agenda_item not in await agenda_positions(
        session, meeting_id
    ):
        problems.append(FieldProblem("agenda_item", N_("No agenda item at this position")))
    if data.focus_item is not None:
        found = await session.scalar(
            select(col(FocusItem.id)).where(
                col(FocusItem.meeting_id) == meeting_id, col(FocusItem.number) == data.focus_item
            )
        )
        if found is None:
            problems.append(FieldProblem("focus_item", N_("No focus item with this number")))
    if problems:
        raise Invalid("bad reference", problems)
    row = Contribution(
        meeting_id=meeting_id,
        site_id=data.site_id,
        speaker_name=data.speaker,
        speaker_title=data.speaker_title,
        kind=data.kind,
        text=data.text,
        agenda_position=data.agenda_item,
        focus_number=data.focus_item,
        source=source,
        created_by=author,
    )
    session.add(row)
    await session.flush()
    if data.kind == ContributionKind.recommendation:
        session.add(
            Recommendation(
                meeting_id=meeting_id,
                contribution_id=row.id,
                site_id=data.site_id,
                topic=data.topic,
                text=data.text,
            )
        )
        await session.flush()
    return (await contributions(session, meeting_id, only_id=row.id))[0]


async def add_site_contribution(
    session: AsyncSession, meeting_id: int, data: SiteContributionIn, *, site: Site
) -> ContributionPublic:
    """A site's own contribution through its link: to a session it is invited to, and
    only before and during it (the secretary records the rest)."""
    await invitation(session, meeting_id=meeting_id, site_id=site.id or 0)
    meeting = await get_meeting_row(session, meeting_id)
    if meeting.status not in (MeetingStatus.scheduled, MeetingStatus.live):
        raise Invalid(
            "closed",
            [FieldProblem("text", N_("Contributions are taken before and during the session"))],
        )
    return await add_contribution(
        session,
        meeting_id,
        ContributionIn(site_id=site.id, **data.model_dump()),
        source="site",
        author=site.code,
    )


async def contributions(
    session: AsyncSession, meeting_id: int, *, only_id: int | None = None
) -> list[ContributionPublic]:
    query = (
        select(Contribution, col(Site.name))
        .outerjoin(Site, col(Site.id) == col(Contribution.site_id))
        .where(col(Contribution.meeting_id) == meeting_id)
        .order_by(col(Contribution.id))
    )
    if only_id is not None:
        query = query.where(col(Contribution.id) == only_id)
    return [
        ContributionPublic(
            id=row.id or 0,
            site_id=row.site_id,
            site_name=name,
            speaker=row.speaker_name,
            speaker_title=row.speaker_title,
            kind=row.kind,
            text=row.text,
            agenda_item=row.agenda_position,
            focus_item=row.focus_number,
            source=row.source,
            created_at=row.created_at,
            version=row.version,
        )
        for row, name in (await session.execute(query)).all()
    ]


async def delete_contribution(session: AsyncSession, meeting_id: int, contribution_id: int) -> None:
    await recordable(session, meeting_id)
    row = await session.get(Contribution, contribution_id)
    if row is None or row.meeting_id != meeting_id:
        raise NotFound.of(
            N_("no contribution {contribution_id} in session {meeting_id}"),
            contribution_id=contribution_id,
            meeting_id=meeting_id,
        )
    # Its recommendation goes too, unless someone has answered it already.
    await session.execute(
        delete(Recommendation).where(
            col(Recommendation.contribution_id) == contribution_id,
            col(Recommendation.status) == RecommendationStatus.open,
        )
    )
    await session.delete(row)
    await session.flush()


# --- action items ----------------------------------------------------------------------


async def add_action(
    session: AsyncSession, meeting_id: int, data: ActionItemIn, *, by: str = ""
) -> ActionItemPublic:
    """A new action item, its creation the first line of its history."""
    meeting = await recordable(session, meeting_id)
    await check_owners(
        session, meeting_id, site_id=data.owner_site_id, cluster_id=data.owner_cluster_id
    )
    due_on = due_on_of(meeting, data.due_date, data.due_working_days)
    row = ActionItem(
        meeting_id=meeting_id,
        text=data.text,
        owner_site_id=data.owner_site_id,
        owner_cluster_id=data.owner_cluster_id,
        owner_text=data.owner,
        due_on=due_on,
        status=data.status,
        done_at=utcnow() if data.status == ActionStatus.done else None,
    )
    session.add(row)
    await session.flush()
    note_change(session, row, by=by)
    await session.flush()
    added = [a for a in await actions(session, meeting_id) if a.id == row.id][0]
    if data.due_date is not None and due_on != data.due_date:
        added.due_date_moved_from = data.due_date
    return added


async def delete_action(session: AsyncSession, meeting_id: int, action_id: int) -> None:
    await recordable(session, meeting_id)
    row = await get_action(session, meeting_id, action_id)
    await session.delete(row)
    await session.flush()


def by_site(items: Sequence[ContributionPublic]) -> dict[str | None, list[ContributionPublic]]:
    grouped: dict[str | None, list[ContributionPublic]] = {}
    for item in items:
        grouped.setdefault(item.site_name, []).append(item)
    return grouped
