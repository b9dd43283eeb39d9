"""Other live sessions at the same time that share a session's invited sites.

The statement is built once, at import, with bound parameters: a request only binds the
session's id and times (building the aliased self-join per request was a quarter of the
board page's time, issue #17), and SQLAlchemy's compiled cache serves its SQL.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from meetings.planning.models import Meeting, MeetingStatus, Participation, Warning

_MINE = aliased(Participation)
_THEIRS = aliased(Participation)
_OVERLAPS = (
    select(col(Meeting.id), col(Meeting.title), func.count())
    .select_from(_MINE)
    .join(_THEIRS, col(_THEIRS.site_id) == col(_MINE.site_id))
    .join(Meeting, col(Meeting.id) == col(_THEIRS.meeting_id))
    .where(
        col(_MINE.meeting_id) == bindparam("meeting_id"),
        col(Meeting.id) != bindparam("meeting_id"),
        col(Meeting.status) != MeetingStatus.cancelled,
        col(Meeting.starts_at) < bindparam("ends_at"),
        col(Meeting.ends_at) > bindparam("starts_at"),
    )
    .group_by(col(Meeting.id), col(Meeting.title))
    .order_by(col(Meeting.id))
)


async def overlap_warnings(session: AsyncSession, meeting: Meeting) -> list[Warning]:
    """Other live sessions at the same time that share invited sites: one line each."""
    if meeting.status == MeetingStatus.cancelled:
        return []
    rows = (
        await session.execute(
            _OVERLAPS,
            {"meeting_id": meeting.id, "starts_at": meeting.starts_at, "ends_at": meeting.ends_at},
        )
    ).all()
    return [
        Warning(
            code="overlap",
            meeting_id=other_id,
            message=f"{shared} invited site(s) are also invited to '{title}' at the same time",
            site_count=shared,
            meeting_title=title,
        )
        for other_id, title, shared in rows
    ]
