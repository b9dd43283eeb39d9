"""Notices to the office's own people: when a session ends, its chair and secretary hear
that the draft minutes are ready, by e-mail (through the outbox) and on their dashboards.

The receiver runs in the transaction that ends the session, whoever ends it (the
scheduler at the end time, a person on the session page). A unique notice row per
session makes it idempotent: a second end seen (a restart, a second scheduler instance,
the scheduler after a person) inserts nothing and queues nothing.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.accounts.models import Role, User
from meetings.core.store import utcnow
from meetings.planning.models import Meeting, MeetingStatus
from notify.mail.models import Message, MessageKind, MessageStatus, Notice, NoticeKind

#: Who hears that the draft minutes are ready, and the session's field naming that person.
MINUTES_READY_ROLES = {Role.chair: "chair", Role.secretary: "secretary"}


def _same_name(one: str, other: str) -> bool:
    def folded(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).casefold().split())

    return bool(one.strip()) and folded(one) == folded(other)


async def minutes_ready_recipients(
    session: AsyncSession, meeting: Meeting
) -> list[tuple[str, str]]:
    """(name, address) of the chair and the secretary: per role, the accounts the session
    names (its `chair` / `secretary` is an account's full name), else every active
    account of that role; only accounts with an e-mail address are mailed."""
    users = (
        await session.scalars(
            select(User)
            .where(
                col(User.role).in_(list(MINUTES_READY_ROLES)),
                col(User.is_active).is_(True),
            )
            .order_by(col(User.id))
        )
    ).all()
    found: dict[str, str] = {}
    for role, field in MINUTES_READY_ROLES.items():
        of_role = [u for u in users if u.role == role]
        named = [u for u in of_role if _same_name(u.full_name, getattr(meeting, field))]
        for user in named or of_role:
            if user.email:
                found.setdefault(user.email.lower(), user.full_name or user.username)
    return [(name, email) for email, name in found.items()]


async def announce_minutes_ready(session: AsyncSession, meeting_id: int) -> int:
    """The receiver of `minutes_due` and `meeting_changed`: once a session has ended, tell
    its chair and secretary once. Returns how many e-mails it queued."""
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None or meeting.status != MeetingStatus.ended:
        return 0
    now = utcnow()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = await session.execute(
        insert(Notice)
        .values(meeting_id=meeting_id, kind=NoticeKind.minutes_ready, created_at=now)
        .on_conflict_do_nothing(index_elements=["meeting_id", "kind"])
        .returning(col(Notice.id))
    )
    if created.first() is None:
        return 0  # told already
    rows = [
        {
            "meeting_id": meeting_id,
            "site_id": None,
            "recipient": email,
            "recipient_name": name,
            "kind": MessageKind.minutes_ready,
            "status": MessageStatus.queued,
            "sequence": meeting.sequence,
            "attempts": 0,
            "last_error": "",
            "send_after": now,
            "message_id": "",
            "dedupe_key": f"minutes_ready:{meeting_id}:{email}"[:200],
            "created_at": now,
        }
        for name, email in await minutes_ready_recipients(session, meeting)
    ]
    if not rows:
        return 0
    queued = await session.execute(
        insert(Message)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(Message.id))
    )
    return len(queued.all())


@dataclass(frozen=True)
class Told:
    """A notice as a dashboard lists it."""

    meeting_id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    kind: NoticeKind
    created_at: datetime


async def latest_notices(session: AsyncSession, *, limit: int = 10) -> list[Told]:
    """The latest notices to the chair and secretary, newest first (one query)."""
    rows = await session.execute(
        select(
            col(Notice.meeting_id),
            col(Meeting.title),
            col(Meeting.starts_at),
            col(Meeting.ends_at),
            col(Meeting.timezone),
            col(Notice.kind),
            col(Notice.created_at),
        )
        .join(Meeting, col(Meeting.id) == col(Notice.meeting_id))
        .order_by(col(Notice.created_at).desc(), col(Notice.id).desc())
        .limit(limit)
    )
    return [Told(m, t, s, e, z, NoticeKind(k), c) for m, t, s, e, z, k, c in rows.all()]
