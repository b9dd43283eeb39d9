"""The secretary's notes of a session (one text per agenda item, the conclusions and the
general part) and the outcome of each focus item.

Editing follows one rule: the caller names the version it started from; a stale version
is refused with `Conflict` (409), and the current text goes back with it so the editor
can merge.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.programme.models import FocusItem, FocusStatus
from agendas.record.models import NotePublic, NotesIn, RecordNote
from agendas.record.record import agenda_positions, recordable
from meetings.core.errors import Conflict, FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.store import bump_version, utcnow
from meetings.planning.lifecycle import get_meeting_row


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
    rows = await session.scalars(select(RecordNote).where(col(RecordNote.meeting_id) == meeting_id))
    return {row.section: _public(row, row.section) for row in rows}


async def save_notes(
    session: AsyncSession, meeting_id: int, data: NotesIn, *, author: str
) -> dict[str, NotePublic]:
    """Save the sections sent; all or nothing (one stale section refuses the whole PUT)."""
    await recordable(session, meeting_id)
    positions = await agenda_positions(session, meeting_id)
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
                col(RecordNote.meeting_id) == meeting_id,
                col(RecordNote.section).in_(texts),
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
    field = f"notes.{section}"
    if row is not None and row.updated_by:
        return Conflict.at(
            field,
            N_(
                "'{section}' was changed by {who} since you opened it; compare with the "
                "current text and save again"
            ),
            section=section,
            who=row.updated_by,
        )
    return Conflict.at(
        field,
        N_(
            "'{section}' was changed since you opened it; compare with the current text "
            "and save again"
        ),
        section=section,
    )


async def set_focus_outcome(
    session: AsyncSession, meeting_id: int, number: int, status: FocusStatus, summary: str
) -> FocusItem:
    await recordable(session, meeting_id)
    item = await session.scalar(
        select(FocusItem).where(
            col(FocusItem.meeting_id) == meeting_id, col(FocusItem.number) == number
        )
    )
    if item is None:
        raise NotFound.of(
            N_("no focus item {number} in session {meeting_id}"),
            number=number,
            meeting_id=meeting_id,
        )
    item.status = status
    item.summary = summary
    await session.flush()
    return item
