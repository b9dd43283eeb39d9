"""What a due job does, against the database: queue site messages, change status.

Every action checks the session's current plan first, so a job left over from an
earlier plan (the session moved, the store was stale) does nothing. Site messages carry
a unique key (session, site, kind, due time, address): two scheduler processes, or a
job that runs twice, queue each message once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core import signals
from meetings.core.settings import SchedulerSettings
from meetings.core.store import utcnow
from meetings.planning import lifecycle as planning
from meetings.planning.models import Meeting, MeetingStatus, Participation, Rsvp
from meetings.register.bounces import reachable
from meetings.register.models import Contact, ContactRole
from notify.mail.models import Message, MessageKind, MessageStatus
from scheduler.plan import Action, Due, plan

log = logging.getLogger(__name__)

#: Who each site message goes to, by the site's answer.
AUDIENCE = {
    Action.reminder: (Rsvp.accepted, Rsvp.tentative, Rsvp.needs_action),
    Action.rsvp_chaser: (Rsvp.needs_action,),
    Action.rehearsal: (Rsvp.accepted, Rsvp.tentative, Rsvp.needs_action),
}
KINDS = {
    Action.reminder: MessageKind.reminder,
    Action.rsvp_chaser: MessageKind.rsvp_chaser,
    Action.rehearsal: MessageKind.rehearsal,
}
SKIPPED_WHY = "the session had started when this came due (the service was not running)"
SUPERSEDED_WHY = "missed while the service was not running; a later one was sent instead"


async def load_plan(
    session: AsyncSession, meeting_id: int, config: SchedulerSettings, *, now: datetime
) -> tuple[Meeting | None, list[Due]]:
    """The session and its plan, with the dispatch of invitations queued for later."""
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        return None, []
    dispatch_at = await session.scalar(
        select(func.min(col(Message.send_after))).where(
            col(Message.meeting_id) == meeting_id,
            col(Message.status) == MessageStatus.queued,
            col(Message.send_after) > now,
        )
    )
    return meeting, plan(meeting, config, dispatch_at=dispatch_at)


@dataclass(frozen=True)
class Sending:
    """One sending of the scheduler's (a reminder, a chaser, a rehearsal notice)."""

    kind: MessageKind
    #: When it was due.
    at: datetime
    #: Its messages by status.
    counts: dict[str, int]


async def sendings(session: AsyncSession, meeting_id: int) -> list[Sending]:
    """What the scheduler queued for the session and how it went, oldest first."""
    rows = await session.execute(
        select(col(Message.kind), col(Message.send_after), col(Message.status), func.count())
        .where(col(Message.meeting_id) == meeting_id, col(Message.kind).in_(KINDS.values()))
        .group_by(col(Message.kind), col(Message.send_after), col(Message.status))
        .order_by(col(Message.send_after))
    )
    counts: dict[tuple[MessageKind, datetime], dict[str, int]] = {}
    for kind, at, status, count in rows.all():
        counts.setdefault((MessageKind(kind), at), {})[status] = count
    return [Sending(kind, at, by_status) for (kind, at), by_status in counts.items()]


async def still_planned(
    session: AsyncSession, due: Due, config: SchedulerSettings
) -> Meeting | None:
    """The session, if `due` is part of its current plan."""
    meeting = await session.get(Meeting, due.meeting_id)
    if meeting is None:
        return None
    current = {(d.action, d.at) for d in plan(meeting, config, dispatch_at=due.at)}
    return meeting if (due.action, due.at) in current else None


async def run(
    session: AsyncSession,
    due: Due,
    config: SchedulerSettings,
    *,
    now: datetime | None = None,
    superseded: bool = False,
) -> str:
    """Do what `due` asks, inside the caller's transaction; returns what happened.
    `superseded`: a later message of the same kind is due too; record this one skipped."""
    now = now or utcnow()
    meeting = await still_planned(session, due, config)
    if meeting is None:
        return "stale"
    if due.action in KINDS:
        queued, skipped = await queue_site_messages(
            session, meeting, due, now=now, superseded=superseded
        )
        return f"queued {queued}, skipped {skipped}"
    if due.action == Action.go_live:
        await planning.change_status(session, due.meeting_id, MeetingStatus.live, now=now)
        return "live"
    if due.action == Action.end:
        if meeting.status == MeetingStatus.scheduled:  # it never went live (service down)
            await planning.change_status(session, due.meeting_id, MeetingStatus.live, now=now)
        await planning.change_status(session, due.meeting_id, MeetingStatus.ended, now=now)
        # The hook for the minutes (#7): their draft is announced to the secretary and chair.
        await signals.of(session).minutes_due.send(session, due.meeting_id)
        return "ended"
    return "wake"  # dispatch: the delivery worker sends what came due


async def _recipients(
    session: AsyncSession, meeting_id: int, action: Action
) -> list[tuple[int, str, str]]:
    """(site id, name, address) of the contacts this action speaks to: of those mail can
    reach, so a rehearsal notice goes to a site's first reachable contact when its
    technical contact's address bounced."""
    rows = (
        await session.execute(
            select(col(Contact.site_id), col(Contact.name), col(Contact.email), col(Contact.role))
            .join(Participation, col(Participation.site_id) == col(Contact.site_id))
            .where(
                col(Participation.meeting_id) == meeting_id,
                col(Participation.rsvp).in_(AUDIENCE[action]),
                reachable(),
            )
            .order_by(col(Contact.site_id), col(Contact.position))
        )
    ).all()
    by_site: dict[int, list[tuple[str, str, str]]] = {}
    for site_id, name, email, role in rows:
        by_site.setdefault(site_id, []).append((name, email.lower(), role))
    found = []
    for site_id, contacts in by_site.items():
        if action == Action.rehearsal:
            # The technical contact; a site without one hears through its first contact.
            technical = [c for c in contacts if c[2] == ContactRole.technical]
            contacts = technical or contacts[:1]
        seen: set[str] = set()
        for name, email, _role in contacts:
            if email not in seen:
                seen.add(email)
                found.append((site_id, name, email))
    return found


def dedupe_key(due: Due, site_id: int, email: str) -> str:
    return f"{due.action}:{due.meeting_id}:{site_id}:{due.at:%Y%m%dT%H%M%S}:{email}"[:200]


async def queue_site_messages(
    session: AsyncSession, meeting: Meeting, due: Due, *, now: datetime, superseded: bool = False
) -> tuple[int, int]:
    """One message per recipient, or a `skipped` row for each when the session has
    already started (a reminder after the start helps nobody, but the record says so)."""
    late = now >= meeting.starts_at or superseded
    why = SUPERSEDED_WHY if superseded and now < meeting.starts_at else SKIPPED_WHY
    rows = [
        {
            "meeting_id": due.meeting_id,
            "site_id": site_id,
            "recipient": email,
            "recipient_name": name,
            "kind": KINDS[due.action],
            "status": MessageStatus.skipped if late else MessageStatus.queued,
            "sequence": meeting.sequence,
            "attempts": 0,
            "last_error": why if late else "",
            "send_after": due.at,
            "message_id": "",
            "dedupe_key": dedupe_key(due, site_id, email),
            "created_at": now,
        }
        for site_id, name, email in await _recipients(session, due.meeting_id, due.action)
    ]
    if not rows:
        return 0, 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted = 0
    for start in range(0, len(rows), 1000):
        result = await session.execute(
            insert(Message)
            .values(rows[start : start + 1000])
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(col(Message.id))
        )
        inserted += len(result.all())
    if late:
        log.warning("%s of session %s skipped: %s", due.action, meeting.id, why)
        return 0, inserted
    return inserted, 0
