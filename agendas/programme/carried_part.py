"""The agenda part "Kết quả thực hiện kết luận phiên trước": the session reviews what its
series left open (agendas.record.carried), once, early in its agenda.

A part is an agenda item like the others, its title stored in the session's language (the
organisation's, as every typed title); it is known again by that title in any language,
so making it again never adds a second one. What it lists is the carried items as they
stand whenever the agenda is shown (the panel, the giấy mời, the minutes).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agendas.programme import programme
from agendas.programme.models import AgendaItem, AgendaKind
from agendas.record.carried import carried
from meetings.core.i18n import translations
from meetings.core.labels import N_
from meetings.core.settings import LOCALES
from meetings.core.signals import Receiver
from meetings.core.store import utcnow
from meetings.planning.models import Meeting, MeetingFollowUp, MeetingPublic
from meetings.planning.phases import read_only_reason

CARRIED_TITLE = N_("Results of carrying out the previous session's conclusions")


def carried_title(locale: str) -> str:
    return str(translations(locale).gettext(CARRIED_TITLE))


def is_carried_part(title: str) -> bool:
    """`title` is the carried part's, in any of our languages."""
    wanted = " ".join(title.split()).casefold()
    return any(wanted == carried_title(locale).casefold() for locale in LOCALES)


async def ensure_carried_part(
    session: AsyncSession, meeting_id: int, *, locale: str, now: datetime, always: bool = False
) -> bool:
    """The session's agenda has the carried part once: extra copies (a copied agenda) go,
    a missing one is added after the opening items when something is carried (or
    `always`). Says whether the agenda has it now."""
    items = await programme.agenda_items(session, meeting_id=meeting_id)
    parts = [item for item in items if is_carried_part(item.title)]
    if parts:
        for extra in parts[1:]:
            await session.delete(extra)
        parts[0].title = carried_title(locale)
        kept = [item for item in items if item not in parts[1:]]
        for position, item in enumerate(kept, start=1):
            item.position = position
        await session.flush()
        return True
    if not always and not await carried(session, meeting_id, now=now):
        return False
    at = next((n for n, i in enumerate(items) if i.kind != AgendaKind.opening), len(items))
    for item in items[at:]:
        item.position += 1
    session.add(
        AgendaItem(
            meeting_id=meeting_id,
            position=at + 1,
            title=carried_title(locale),
            kind=AgendaKind.report,
        )
    )
    await session.flush()
    return True


async def regenerate_carried_part(
    session: AsyncSession, meeting_id: int, *, locale: str, now: datetime, version: int | None
) -> bool:
    """The organiser's "make the part again": refused once the programme is read-only or
    when the session moved on from `version`; adds the part even with nothing carried."""
    await programme.editable(session, meeting_id, version)
    return await ensure_carried_part(session, meeting_id, locale=locale, now=now, always=True)


async def create_follow_up(
    session: AsyncSession,
    meeting_id: int,
    data: MeetingFollowUp,
    *,
    organiser_id: int | None,
    locale: str,
    now: datetime,
) -> MeetingPublic:
    """The next session of the series, programme included, starting from what the earlier
    ones left open."""
    meeting = await programme.create_follow_up(session, meeting_id, data, organiser_id=organiser_id)
    await ensure_carried_part(session, meeting.id, locale=locale, now=now)
    return meeting


def part_on_creation(locale: str) -> Receiver:
    """The receiver of `meeting_changed` that gives a session created in a series the
    carried part: only a session never changed since (version 1) whose programme is still
    editable, so a part the organiser took out does not come back."""

    async def receive(session: AsyncSession, meeting_id: int) -> None:
        meeting = await session.get(Meeting, meeting_id)
        if meeting is None or meeting.series_id is None or meeting.version != 1:
            return
        if read_only_reason(meeting.status, "programme") is None:
            await ensure_carried_part(session, meeting_id, locale=locale, now=utcnow())

    return receive
