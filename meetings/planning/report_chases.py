"""Chasing the sites that have not sent a requested report (issue #16): in one click from
the request's page, or by the request's schedule.

A chase is a round: the request's `chases` counter goes up by a conditional UPDATE (so a
double click, or two scheduler processes, make one round), every invited site without a
report gets a `ReportChase` row of that round, and `report_chased` tells the receivers
(notify/ mails each of those sites' reachable contacts). A site that sent — in time or
late — is never chased.

The schedule a request may carry, both at 08:00 in the session's time zone:
- `remind_days_before` = N: the sites not yet sent are reminded N working days before
  the deadline's day;
- `auto_chase`: the sites still missing are chased on the first working day after it.
Each happens once (its mark, set by a conditional UPDATE), even when the scheduler was
down at that time and runs later — on a working day, from 08:00, never on a day off.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core import signals
from meetings.core.errors import Conflict
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting, MeetingStatus
from meetings.planning.report_requests import get_request, invited_with_reports
from meetings.planning.request_models import ChasePublic, ReportChase, ReportRequest, SiteReport
from meetings.planning.workdays import working_day_at, working_days_after, working_days_before
from meetings.register.models import Site

#: A second click within this time is refused: the sites were just reminded.
CHASE_PAUSE = timedelta(minutes=5)
#: The scheduled chases go out at this local time of their working day.
CHASE_TIME = time(8, 0)


async def missing_sites(session: AsyncSession, row: ReportRequest) -> list[int]:
    """The invited sites that have sent nothing for the request yet."""
    query = invited_with_reports(row).where(col(SiteReport.id).is_(None))
    return [i or 0 for i in await session.scalars(query.with_only_columns(col(Site.id)))]


async def _chase(
    session: AsyncSession, row: ReportRequest, *, by: str, now: datetime, pause: timedelta | None
) -> int:
    """One round: the missing sites marked and told; 0 (and no round) when none is missing.
    With `pause`, refused while the last round is more recent than that."""
    site_ids = await missing_sites(session, row)
    if not site_ids:
        return 0
    claim = update(ReportRequest).where(col(ReportRequest.id) == row.id)
    if pause is not None:
        claim = claim.where(
            or_(
                col(ReportRequest.last_chased_at).is_(None),
                col(ReportRequest.last_chased_at) <= now - pause,
            )
        )
    done = await session.execute(
        claim.values(chases=col(ReportRequest.chases) + 1, last_chased_at=now)
    )
    if cast(CursorResult[Any], done).rowcount != 1:
        raise Conflict.at(
            "chase",
            N_("the sites were reminded less than {minutes} minutes ago; try again later"),
            minutes=int((pause or CHASE_PAUSE).total_seconds() // 60),
        )
    round_ = await session.scalar(
        select(col(ReportRequest.chases)).where(col(ReportRequest.id) == row.id)
    )
    await session.execute(
        insert(ReportChase),
        [
            {"request_id": row.id, "site_id": s, "round": round_, "chased_at": now, "by": by}
            for s in site_ids
        ],
    )
    await signals.of(session).report_chased.send(session, row.id or 0)
    return len(site_ids)


async def chase_request(
    session: AsyncSession,
    meeting_id: int,
    request_id: int,
    *,
    by: str,
    now: datetime | None = None,
) -> ChasePublic:
    """The one click: every invited site that has not sent is reminded, once."""
    meeting = await get_meeting_row(session, meeting_id)
    row = await get_request(session, meeting_id, request_id)
    if meeting.status == MeetingStatus.cancelled:
        raise Conflict.at("chase", N_("the session is cancelled: no one is reminded"))
    at = now or utcnow()
    chased = await _chase(session, row, by=by, now=at, pause=CHASE_PAUSE)
    if not chased:
        raise Conflict.at("chase", N_("every site has sent this report: no one to remind"))
    await session.refresh(row)
    return ChasePublic(chased=chased, at=at, chases=row.chases)


def scheduled_times(row: ReportRequest, timezone: str) -> tuple[datetime | None, datetime | None]:
    """When the request's reminder before and chase after its deadline are due (None: not
    asked), at CHASE_TIME on their working day in the session's time zone."""
    zone = ZoneInfo(timezone)
    due_day = row.due_at.astimezone(zone).date()
    before = after = None
    if row.remind_days_before > 0:
        day = working_days_before(due_day, row.remind_days_before)
        before = datetime.combine(day, CHASE_TIME, tzinfo=zone)
    if row.auto_chase:
        after = datetime.combine(working_days_after(due_day, 1), CHASE_TIME, tzinfo=zone)
    return before, after


async def _claim_mark(session: AsyncSession, row: ReportRequest, mark: str, now: datetime) -> bool:
    """Set the request's mark if nobody has: True for the one process that did."""
    column = col(getattr(ReportRequest, mark))
    done = await session.execute(
        update(ReportRequest)
        .where(col(ReportRequest.id) == row.id, column.is_(None))
        .values({mark: now})
    )
    return cast(CursorResult[Any], done).rowcount == 1


async def chase_late_reports(session: AsyncSession, now: datetime) -> int:
    """The scheduler's chaser (scheduler.service.Chaser): every scheduled reminder or chase
    due by `now` and not done yet, each once. Returns how many sites were reminded (each
    gets one e-mail per reachable contact)."""
    rows = await session.execute(
        select(ReportRequest, col(Meeting.timezone))
        .join(Meeting, col(Meeting.id) == col(ReportRequest.meeting_id))
        .where(
            col(Meeting.status) != MeetingStatus.cancelled,
            or_(
                (col(ReportRequest.remind_days_before) > 0)
                & col(ReportRequest.reminded_at).is_(None)
                & (col(ReportRequest.due_at) > now),
                col(ReportRequest.auto_chase) & col(ReportRequest.auto_chased_at).is_(None),
            ),
        )
        .order_by(col(ReportRequest.id))
    )
    chased = 0
    for row, timezone in rows.all():
        if working_day_at(now, timezone, from_hour=CHASE_TIME.hour) is None:
            continue  # mailed on working days only, from the office's hour
        before, after = scheduled_times(row, timezone)
        if after is not None and row.auto_chased_at is None and after <= now:
            if await _claim_mark(session, row, "auto_chased_at", now):
                chased += await _chase(session, row, by="", now=now, pause=None)
        elif before is not None and before <= now < row.due_at and row.reminded_at is None:
            if await _claim_mark(session, row, "reminded_at", now):
                chased += await _chase(session, row, by="", now=now, pause=None)
    return chased
