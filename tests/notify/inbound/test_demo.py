"""The demo shows what sites send back without a mailbox: calendar answers with their
source on the coming session, a proposal of another time waiting for the organiser, and
an answer from an address that was not invited; loading the demo twice adds nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from meetings.core import demo, demo_sessions
from meetings.core.settings import Settings
from meetings.core.store import utcnow
from meetings.planning.models import Meeting, Participation, Rsvp
from notify.inbound import demo as demo_mail
from notify.inbound.models import InboundKind, InboundMail, InboundOutcome


async def test_the_demo_session_has_answers_by_calendar_and_a_proposal_once(
    session_factory: Any, settings: Settings
):
    for expected_new in (6, 0):
        async with session_factory() as session, session.begin():
            await demo.load_demo(session)
            await demo_sessions.load_reference_sessions(
                session, hall=settings.organisation.hall, now=utcnow()
            )
            assert await demo_mail.load_demo_mail(session, now=utcnow()) == expected_new
    async with session_factory() as session:
        upcoming = await session.scalar(
            select(Meeting).where(Meeting.uid == demo_sessions.NEXT_UID)
        )
        assert upcoming is not None
        outcomes = dict(
            (
                await session.execute(
                    select(InboundMail.outcome, func.count()).group_by(InboundMail.outcome)
                )
            ).all()
        )
        answers = (
            await session.execute(
                select(Participation.rsvp, Participation.rsvp_source).where(
                    Participation.meeting_id == upcoming.id,
                    Participation.rsvp != Rsvp.needs_action,
                )
            )
        ).all()
        counter = await session.scalar(
            select(InboundMail).where(InboundMail.kind == InboundKind.counter)
        )
    assert outcomes == {
        InboundOutcome.applied: 4,
        InboundOutcome.pending: 1,
        InboundOutcome.stranger: 1,
    }
    assert sorted(answers) == sorted(
        [
            (Rsvp.accepted, "calendar"),
            (Rsvp.accepted, "calendar"),
            (Rsvp.tentative, "calendar"),
            (Rsvp.declined, "calendar"),
        ]
    )
    assert counter is not None and counter.meeting_id == upcoming.id
    assert counter.proposed_starts_at is not None
    assert counter.proposed_starts_at > upcoming.starts_at
