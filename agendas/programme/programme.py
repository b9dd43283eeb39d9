"""A session's programme: the ordered agenda with its timeline, and the focus items."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.programme.models import (
    AgendaItem,
    AgendaItemIn,
    AgendaItemPublic,
    FocusHistoryEntry,
    FocusItem,
    FocusItemIn,
    FocusItemPublic,
)
from meetings.core.errors import FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.core.store import bump_version, id_of
from meetings.planning import lifecycle as planning
from meetings.planning.models import Meeting, MeetingFollowUp, MeetingPublic
from meetings.planning.phases import refuse_if_read_only
from meetings.planning.series import follow_up


async def agendas_of(
    session: AsyncSession, *, meeting_ids: Collection[int]
) -> dict[int, list[AgendaItem]]:
    """The agenda of each session, in order, in one query (a page or a mail batch shows many)."""
    agendas: dict[int, list[AgendaItem]] = {}
    for item in await session.scalars(
        select(AgendaItem)
        .where(col(AgendaItem.meeting_id).in_(meeting_ids))
        .order_by(col(AgendaItem.meeting_id), col(AgendaItem.position))
    ):
        agendas.setdefault(item.meeting_id, []).append(item)
    return agendas


async def agenda_items(session: AsyncSession, *, meeting_id: int) -> list[AgendaItem]:
    """The session's agenda items in order (the list is the order)."""
    return (await agendas_of(session, meeting_ids=[meeting_id])).get(meeting_id, [])


async def get_agenda(session: AsyncSession, meeting_id: int) -> list[AgendaItemPublic]:
    meeting = await planning.get_meeting_row(session, meeting_id)
    return timeline(meeting, await agenda_items(session, meeting_id=meeting_id))


def timeline(meeting: Meeting, items: Sequence[AgendaItem]) -> list[AgendaItemPublic]:
    """Each item starts at its planned time, or when the previous one ends; an item that
    ends after the session does is flagged, so the organiser sees the overrun."""
    cursor: datetime | None = meeting.starts_at
    published = []
    for item in items:
        start = item.starts_at or cursor
        end = (
            start + timedelta(minutes=item.duration_minutes)
            if start and item.duration_minutes is not None
            else None
        )
        published.append(
            AgendaItemPublic(
                position=item.position,
                title=item.title,
                presenter=item.presenter,
                presenter_title=item.presenter_title,
                kind=item.kind,
                starts_at=item.starts_at,
                duration_minutes=item.duration_minutes,
                planned_start=start,
                planned_end=end,
                overruns=bool(end and end > meeting.ends_at),
            )
        )
        cursor = end or start
    return published


async def replace_agenda(
    session: AsyncSession, meeting_id: int, items: Sequence[AgendaItemIn], *, version: int | None
) -> list[AgendaItemPublic]:
    """The agenda becomes `items`, in their order (the list is the order)."""
    meeting = await editable(session, meeting_id, version)
    problems = [
        FieldProblem(f"{index}.starts_at", N_("is before the session starts"))
        for index, item in enumerate(items)
        if item.starts_at is not None and item.starts_at < meeting.starts_at
    ]
    if problems:
        raise Invalid("agenda item outside the session", problems)
    await session.execute(delete(AgendaItem).where(col(AgendaItem.meeting_id) == meeting_id))
    session.add_all(
        AgendaItem(
            meeting_id=meeting_id,
            position=position,
            **item.model_dump(exclude={"starts_at"}),
            starts_at=item.starts_at.astimezone(UTC) if item.starts_at else None,
        )
        for position, item in enumerate(items, start=1)
    )
    await session.flush()
    return await get_agenda(session, meeting_id)


async def get_focus_items(session: AsyncSession, meeting_id: int) -> list[FocusItemPublic]:
    await planning.get_meeting_row(session, meeting_id)
    items = (
        await session.scalars(
            select(FocusItem)
            .where(col(FocusItem.meeting_id) == meeting_id)
            .order_by(col(FocusItem.number))
        )
    ).all()
    histories = await _histories(session, items)
    return [
        FocusItemPublic.model_validate(item, update={"history": histories.get(item.id or 0, [])})
        for item in items
    ]


async def _histories(
    session: AsyncSession, items: Sequence[FocusItem]
) -> dict[int, list[FocusHistoryEntry]]:
    """Each item's earlier states, newest first, one query per step back in the series."""
    histories: dict[int, list[FocusHistoryEntry]] = {}
    frontier = {id_of(item): item.carried_from_id for item in items if item.carried_from_id}
    seen: set[int] = set()
    while frontier:
        wanted = {previous for previous in frontier.values() if previous not in seen}
        seen.update(wanted)
        rows = (
            await session.execute(
                select(FocusItem, Meeting)
                .join(Meeting, col(Meeting.id) == col(FocusItem.meeting_id))
                .where(col(FocusItem.id).in_(wanted))
            )
        ).all()
        found = {focus.id: (focus, meeting) for focus, meeting in rows}
        next_frontier: dict[int, int] = {}
        for origin, previous in frontier.items():
            if previous not in found:
                continue
            focus, meeting = found[previous]
            histories.setdefault(origin, []).append(
                FocusHistoryEntry(
                    meeting_id=id_of(meeting),
                    meeting_title=meeting.title,
                    starts_at=meeting.starts_at,
                    status=focus.status,
                    summary=focus.summary,
                )
            )
            if focus.carried_from_id and focus.carried_from_id not in seen:
                next_frontier[origin] = focus.carried_from_id
        frontier = next_frontier
    return histories


async def replace_focus_items(
    session: AsyncSession, meeting_id: int, items: Sequence[FocusItemIn], *, version: int | None
) -> list[FocusItemPublic]:
    """The focus items become `items`; an item keeps its history when its number stays."""
    await editable(session, meeting_id, version)
    first_seen: dict[int, int] = {}
    problems = []
    for index, item in enumerate(items):
        if item.number in first_seen:
            problems.append(
                FieldProblem.of(
                    f"{index}.number",
                    N_("number {number} is also item {item}"),
                    number=item.number,
                    item=first_seen[item.number] + 1,
                )
            )
        first_seen.setdefault(item.number, index)
    if problems:
        raise Invalid("duplicate focus item numbers", problems)
    existing = {
        f.number: f
        for f in (
            await session.scalars(select(FocusItem).where(col(FocusItem.meeting_id) == meeting_id))
        ).all()
    }
    for number, focus in existing.items():
        if number not in first_seen:
            await session.delete(focus)
    await session.flush()
    for item in items:
        kept = existing.get(item.number)
        if kept is None:
            session.add(FocusItem(meeting_id=meeting_id, **item.model_dump()))
        else:
            for key, value in item.model_dump().items():
                setattr(kept, key, value)
    await session.flush()
    return await get_focus_items(session, meeting_id)


async def editable(session: AsyncSession, meeting_id: int, version: int | None) -> Meeting:
    meeting = await planning.get_meeting_row(session, meeting_id)
    refuse_if_read_only(meeting.status, "programme")
    await bump_version(session, meeting, meeting.version if version is None else version)
    return meeting


async def copy_programme(session: AsyncSession, *, source_id: int, target_id: int) -> None:
    """Agenda skeleton (no fixed times) and focus items with their status, linked back."""
    agenda = await agenda_items(session, meeting_id=source_id)
    session.add_all(
        AgendaItem(
            meeting_id=target_id,
            position=item.position,
            title=item.title,
            presenter=item.presenter,
            presenter_title=item.presenter_title,
            kind=item.kind,
            duration_minutes=item.duration_minutes,
        )
        for item in agenda
    )
    focus_items = (
        await session.scalars(
            select(FocusItem)
            .where(col(FocusItem.meeting_id) == source_id)
            .order_by(col(FocusItem.number))
        )
    ).all()
    session.add_all(
        FocusItem(
            meeting_id=target_id,
            number=item.number,
            title=item.title,
            detail=item.detail,
            status=item.status,
            carried_from_id=item.id,
        )
        for item in focus_items
    )
    await session.flush()


async def create_follow_up(
    session: AsyncSession, meeting_id: int, data: MeetingFollowUp, *, organiser_id: int | None
) -> MeetingPublic:
    """The next session of a series, made from this one, programme included."""
    meeting = await follow_up(session, meeting_id, data, organiser_id=organiser_id)
    await copy_programme(session, source_id=meeting_id, target_id=meeting.id)
    return meeting
