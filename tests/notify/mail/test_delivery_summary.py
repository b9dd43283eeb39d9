"""The invitations panel's counts, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate
from notify.mail import invitations, messages
from tests.conftest import TEST_SECRET
from tests.factories import make_site


async def test_the_summary_counts_messages_now_and_later_on_every_store(
    store_session: AsyncSession,
):
    """PostgreSQL once refused the summary's query (the session page answered 500 there)."""
    now = datetime(2030, 4, 1, tzinfo=UTC)
    async with store_session.begin():
        sites = [await make_site(store_session) for _ in range(3)]
        meeting = await planning.create_meeting(
            store_session,
            MeetingCreate(
                title="Giao ban",
                starts_at=now + timedelta(days=18),
                ends_at=now + timedelta(days=18, hours=3),
                site_ids=[s.id for s in sites],
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
        empty = await messages.delivery_summary(store_session, meeting.id, now=now)
        await invitations.queue_invitations(
            store_session, meeting.id, secret_key=TEST_SECRET, send_after=now + timedelta(hours=1)
        )
        summary = await messages.delivery_summary(store_session, meeting.id, now=now)
    assert (empty.total, empty.queued, empty.waiting) == (0, 0, 0)
    assert (summary.total, summary.queued, summary.waiting, summary.sent) == (3, 3, 3, 0)
