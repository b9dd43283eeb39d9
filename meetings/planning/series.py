"""A series of sessions: the next one is made from the last, with the same invited sites.

Only the planning side lives here; agendas.programme.programme copies the agenda skeleton
and the focus items on top (`create_follow_up`).
"""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.planning.invited import invited_site_ids, set_participants
from meetings.planning.lifecycle import SELECTION_FIELDS, get_meeting, get_meeting_row
from meetings.planning.models import (
    Meeting,
    MeetingBase,
    MeetingCreate,
    MeetingFollowUp,
    MeetingPublic,
    MeetingStatus,
    Series,
    SeriesPublic,
)


async def follow_up(
    session: AsyncSession, meeting_id: int, data: MeetingFollowUp, *, organiser_id: int | None
) -> MeetingPublic:
    """The next session of the series with the same sites (a session without a series
    starts one under its title)."""
    previous = await get_meeting_row(session, meeting_id)
    if previous.series_id is None:
        series = Series(name=previous.title)
        session.add(series)
        await session.flush()
        previous.series_id = series.id
    fields = MeetingCreate.model_validate(
        {
            **{name: getattr(previous, name) for name in MeetingBase.model_fields},
            "host_site_id": previous.host_site_id,
            "title": data.title or previous.title,
            "starts_at": data.starts_at,
            "ends_at": data.ends_at,
        }
    )
    meeting = Meeting(
        **fields.model_dump(
            exclude={*SELECTION_FIELDS, "series_name", "series_id", "starts_at", "ends_at"}
        ),
        starts_at=data.starts_at.astimezone(UTC),
        ends_at=data.ends_at.astimezone(UTC),
        series_id=previous.series_id,
        previous_id=previous.id,
        organiser_id=organiser_id,
        cluster_id=previous.cluster_id,
    )
    meeting.refresh_search_text()
    session.add(meeting)
    await session.flush()
    new_id = meeting.id or 0  # set by the flush
    sites = await invited_site_ids(session, meeting_id=meeting_id)
    await set_participants(session, meeting_id=new_id, site_ids=sites)
    return await get_meeting(session, new_id)


async def successor(session: AsyncSession, meeting_id: int) -> MeetingPublic | None:
    """The session made from `meeting_id` (the next of its series), if one was made."""
    found = await session.scalar(
        select(col(Meeting.id))
        .where(
            col(Meeting.previous_id) == meeting_id,
            col(Meeting.status) != MeetingStatus.cancelled,
        )
        .order_by(col(Meeting.starts_at))
        .limit(1)
    )
    return None if found is None else await get_meeting(session, found)


async def all_series(session: AsyncSession) -> list[SeriesPublic]:
    """Every series by name (the pages' series selectors)."""
    rows = await session.scalars(select(Series).order_by(col(Series.name), col(Series.id)))
    return [SeriesPublic.model_validate(s) for s in rows.all()]
