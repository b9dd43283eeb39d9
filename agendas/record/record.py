"""The record of a session: notes, focus outcomes, contributions, recommendations, actions.

Editing follows one rule: the caller names the version it started from; a stale version
is refused with `Conflict` (409), and the current text goes back with it so the editor
can merge. A recommendation is created with its contribution and lives on its own
afterwards: it stays open across sessions until someone answers or closes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agendas.programme.models import AgendaItem, FocusItem, FocusStatus
from agendas.record.models import (
    ActionItem,
    ActionItemIn,
    ActionItemPublic,
    Contribution,
    ContributionIn,
    ContributionKind,
    ContributionPublic,
    NotePublic,
    NotesIn,
    Recommendation,
    RecommendationPublic,
    RecommendationStatus,
    RecommendationUpdate,
    RecordNote,
)
from meetings.core.errors import Conflict, FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.store import bump_version, utcnow
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting, MeetingStatus, Participation
from meetings.register.models import Cluster, Site

SECTIONS_FIXED = ("conclusions", "general")


async def _recordable(session: AsyncSession, meeting_id: int) -> Meeting:
    meeting = await get_meeting_row(session, meeting_id)
    if meeting.status == MeetingStatus.cancelled:
        raise Invalid(
            "cancelled", [FieldProblem("status", N_("A cancelled session has no record"))]
        )
    return meeting


# --- notes -----------------------------------------------------------------------------


def _public(note: RecordNote | None, section: str) -> NotePublic:
    if note is None:
        return NotePublic(section=section, text="", version=0, updated_at=None, updated_by="")
    return NotePublic(
        section=section,
        text=note.text,
        version=note.version,
        updated_at=note.updated_at,
        updated_by=note.updated_by,
    )


async def notes(session: AsyncSession, meeting_id: int) -> dict[str, NotePublic]:
    await get_meeting_row(session, meeting_id)
    rows = await session.scalars(select(RecordNote).where(RecordNote.meeting_id == meeting_id))
    return {row.section: _public(row, row.section) for row in rows}


async def _positions(session: AsyncSession, meeting_id: int) -> set[int]:
    return set(
        (
            await session.scalars(
                select(AgendaItem.position).where(AgendaItem.meeting_id == meeting_id)
            )
        ).all()
    )


async def save_notes(
    session: AsyncSession, meeting_id: int, data: NotesIn, *, author: str
) -> dict[str, NotePublic]:
    """Save the sections sent; all or nothing (one stale section refuses the whole PUT)."""
    await _recordable(session, meeting_id)
    positions = await _positions(session, meeting_id)
    texts: dict[str, str] = {}
    for position, text in data.agenda.items():
        if position not in positions:
            raise Invalid(
                "no such agenda item",
                [FieldProblem(f"agenda.{position}", N_("No agenda item at this position"))],
            )
        texts[f"agenda:{position}"] = text
    if data.conclusions is not None:
        texts["conclusions"] = data.conclusions
    if data.general is not None:
        texts["general"] = data.general
    current = {
        row.section: row
        for row in await session.scalars(
            select(RecordNote).where(
                RecordNote.meeting_id == meeting_id,
                RecordNote.section.in_(texts),  # type: ignore[attr-defined]
            )
        )
    }
    saved = {}
    for section, text in texts.items():
        row = current.get(section)
        expected = data.versions.get(section)
        if row is None:
            if expected not in (None, 0):
                raise _stale(section, None)
            row = RecordNote(meeting_id=meeting_id, section=section, text=text, updated_by=author)
            try:
                async with session.begin_nested():
                    session.add(row)
            except IntegrityError:  # another editor created it in the meantime
                raise _stale(section, None) from None
        else:
            if row.text == text:
                saved[section] = _public(row, section)
                continue
            try:
                await bump_version(session, row, row.version if expected is None else expected)
            except Conflict:
                raise _stale(section, row) from None
            row.text = text
            row.updated_by = author
            row.updated_at = utcnow()
        await session.flush()
        saved[section] = _public(row, section)
    return saved


def _stale(section: str, row: RecordNote | None) -> Conflict:
    who = f" by {row.updated_by}" if row is not None and row.updated_by else ""
    return Conflict(
        f"'{section}' was changed{who} since you opened it; compare with the current text "
        "and save again",
        field=f"notes.{section}",
    )


# --- focus outcomes --------------------------------------------------------------------


async def set_focus_outcome(
    session: AsyncSession, meeting_id: int, number: int, status: FocusStatus, summary: str
) -> FocusItem:
    await _recordable(session, meeting_id)
    item = await session.scalar(
        select(FocusItem).where(FocusItem.meeting_id == meeting_id, FocusItem.number == number)
    )
    if item is None:
        raise NotFound(f"no focus item {number} in session {meeting_id}")
    item.status = status
    item.summary = summary
    await session.flush()
    return item


# --- contributions ---------------------------------------------------------------------


async def _check_site(session: AsyncSession, meeting_id: int, site_id: int | None) -> None:
    if site_id is None:
        return
    invited = await session.scalar(
        select(Participation.id).where(
            Participation.meeting_id == meeting_id, Participation.site_id == site_id
        )
    )
    if invited is None:
        raise Invalid(
            "site not invited",
            [FieldProblem("site_id", N_("This site is not invited to the session"))],
        )


async def add_contribution(
    session: AsyncSession,
    meeting_id: int,
    data: ContributionIn,
    *,
    source: str,
    author: str,
) -> ContributionPublic:
    await _recordable(session, meeting_id)
    await _check_site(session, meeting_id, data.site_id)
    problems = []
    if data.agenda_item is not None and data.agenda_item not in await _positions(
        session, meeting_id
    ):
        problems.append(FieldProblem("agenda_item", N_("No agenda item at this position")))
    if data.focus_item is not None:
        found = await session.scalar(
            select(FocusItem.id).where(
                FocusItem.meeting_id == meeting_id, FocusItem.number == data.focus_item
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


async def contributions(
    session: AsyncSession, meeting_id: int, *, only_id: int | None = None
) -> list[ContributionPublic]:
    query = (
        select(Contribution, Site.name)
        .outerjoin(Site, Site.id == Contribution.site_id)  # type: ignore[arg-type]
        .where(Contribution.meeting_id == meeting_id)
        .order_by(Contribution.id)
    )
    if only_id is not None:
        query = query.where(Contribution.id == only_id)
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
    await _recordable(session, meeting_id)
    row = await session.get(Contribution, contribution_id)
    if row is None or row.meeting_id != meeting_id:
        raise NotFound(f"no contribution {contribution_id} in session {meeting_id}")
    # Its recommendation goes too, unless someone has answered it already.
    await session.execute(
        delete(Recommendation).where(
            Recommendation.contribution_id == contribution_id,  # type: ignore[arg-type]
            Recommendation.status == RecommendationStatus.open,
        )
    )
    await session.delete(row)
    await session.flush()


# --- recommendations -------------------------------------------------------------------


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
    limit: int = 500,
    offset: int = 0,
) -> list[RecommendationPublic]:
    """The register, newest first; `before`+`series_id` give the ones carried into a
    later session of the series."""
    query = (
        select(Recommendation, Meeting.title, Site.name, Cluster.name)
        .join(Meeting, Meeting.id == Recommendation.meeting_id)  # type: ignore[arg-type]
        .outerjoin(Site, Site.id == Recommendation.site_id)  # type: ignore[arg-type]
        .outerjoin(Cluster, Cluster.id == Site.cluster_id)  # type: ignore[arg-type]
    )
    if status is not None:
        query = query.where(Recommendation.status == status)
    if site_id is not None:
        query = query.where(Recommendation.site_id == site_id)
    if cluster_id is not None:
        query = query.where(Site.cluster_id == cluster_id)
    if topic:
        like = f"%{topic.strip()}%"
        query = query.where(
            or_(Recommendation.topic.ilike(like), Recommendation.text.ilike(like))  # type: ignore[attr-defined]
        )
    if meeting_id is not None:
        query = query.where(Recommendation.meeting_id == meeting_id)
    if before is not None:
        query = query.where(Meeting.starts_at < before)
    if series_id is not None:
        query = query.where(Meeting.series_id == series_id)
    rows = await session.execute(
        query.order_by(Recommendation.created_at.desc(), Recommendation.id.desc())  # type: ignore[attr-defined]
        .limit(limit)
        .offset(offset)
    )
    return [
        RecommendationPublic(
            id=rec.id or 0,
            meeting_id=rec.meeting_id,
            meeting_title=title,
            site_id=rec.site_id,
            site_name=site_name,
            cluster_name=cluster_name,
            topic=rec.topic,
            text=rec.text,
            status=rec.status,
            answer=rec.answer,
            answered_by=rec.answered_by,
            answered_at=rec.answered_at,
            created_at=rec.created_at,
            version=rec.version,
        )
        for rec, title, site_name, cluster_name in rows.all()
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
    session: AsyncSession, recommendation_id: int, data: RecommendationUpdate
) -> RecommendationPublic:
    row = await session.get(Recommendation, recommendation_id)
    if row is None:
        raise NotFound(f"no recommendation {recommendation_id}")
    if data.status == RecommendationStatus.answered and not data.response.strip():
        raise Invalid("no answer", [FieldProblem("response", N_("Write the answer"))])
    await bump_version(session, row, row.version if data.version is None else data.version)
    row.status = data.status
    if data.status == RecommendationStatus.open:
        row.answer, row.answered_by, row.answered_at, row.answered_in_id = "", "", None, None
    else:
        row.answer = data.response
        row.answered_by = data.answered_by
        row.answered_at = utcnow()
        row.answered_in_id = data.meeting_id
    await session.flush()
    (found,) = [
        r for r in await recommendations(session, meeting_id=row.meeting_id) if r.id == row.id
    ]
    return found


# --- action items ----------------------------------------------------------------------


async def actions(session: AsyncSession, meeting_id: int) -> list[ActionItemPublic]:
    rows = await session.execute(
        select(ActionItem, Site.name)
        .outerjoin(Site, Site.id == ActionItem.owner_site_id)  # type: ignore[arg-type]
        .where(ActionItem.meeting_id == meeting_id)
        .order_by(ActionItem.id)
    )
    return [
        ActionItemPublic(
            id=row.id or 0,
            text=row.text,
            owner=row.owner_text,
            owner_site_id=row.owner_site_id,
            owner_site_name=name,
            due_date=row.due_on,
            status=row.status,
            version=row.version,
        )
        for row, name in rows.all()
    ]


async def add_action(
    session: AsyncSession, meeting_id: int, data: ActionItemIn
) -> ActionItemPublic:
    meeting = await _recordable(session, meeting_id)
    await _check_site(session, meeting_id, data.owner_site_id)
    if data.due_date is not None and data.due_date < meeting.starts_at.date():
        raise Invalid(
            "due before session",
            [FieldProblem("due_date", N_("The due date is before the session"))],
        )
    row = ActionItem(
        meeting_id=meeting_id,
        text=data.text,
        owner_site_id=data.owner_site_id,
        owner_text=data.owner,
        due_on=data.due_date,
        status=data.status,
    )
    session.add(row)
    await session.flush()
    return [a for a in await actions(session, meeting_id) if a.id == row.id][0]


async def delete_action(session: AsyncSession, meeting_id: int, action_id: int) -> None:
    await _recordable(session, meeting_id)
    row = await session.get(ActionItem, action_id)
    if row is None or row.meeting_id != meeting_id:
        raise NotFound(f"no action item {action_id} in session {meeting_id}")
    await session.delete(row)
    await session.flush()


def by_site(items: Sequence[ContributionPublic]) -> dict[str | None, list[ContributionPublic]]:
    grouped: dict[str | None, list[ContributionPublic]] = {}
    for item in items:
        grouped.setdefault(item.site_name, []).append(item)
    return grouped
