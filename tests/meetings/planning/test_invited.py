"""Is this site invited to this session? One answer and one error for every part that asks:
the RSVP, attendance, the record and the letter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agendas.record import record
from agendas.record.models import ContributionIn, ContributionKind
from meetings.attendance import tracking as attendance
from meetings.attendance.models import AttendanceStatus, Author, EventKind
from meetings.core.errors import Forbidden, NotFound
from meetings.core.settings import AttendanceSettings, Settings
from meetings.planning import lifecycle as planning
from meetings.planning import rsvp
from meetings.planning.invited import NotInvited, invitation, invited_site_ids
from meetings.planning.models import MeetingCreate
from notify.mail import letter
from tests.factories import make_site

START = datetime(2030, 4, 19, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


async def test_every_part_refuses_a_site_not_invited_with_one_error(
    store_session, settings: Settings
):
    async with store_session.begin():
        guest = await make_site(store_session)
        outsider = await make_site(store_session)
        meeting = await planning.create_meeting(
            store_session,
            MeetingCreate(
                title="Giao ban",
                starts_at=START,
                ends_at=START + timedelta(hours=3),
                site_ids=[guest.id],
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
    mid = meeting.id
    async with store_session.begin():
        assert (
            await invitation(store_session, meeting_id=mid, site_id=guest.id)
        ).site_id == guest.id
        assert await invited_site_ids(
            store_session, meeting_id=mid, site_ids=[guest.id, outsider.id]
        ) == {guest.id}
    change = attendance.Change(
        kind=EventKind.attendance,
        status=AttendanceStatus.connected,
        at=START,
        author_kind=Author.operator,
        author="op",
    )
    config = AttendanceSettings(max_delegates_per_site=500, late_after_minutes=15, window_hours=24)
    opinion = ContributionIn(site_id=outsider.id, kind=ContributionKind.opinion, text="Ý kiến")
    declined = rsvp.RsvpIn(response="declined")
    asks: dict[str, Callable[[], Awaitable[object]]] = {
        "invitation": lambda: invitation(store_session, meeting_id=mid, site_id=outsider.id),
        "rsvp": lambda: rsvp.get_answer(store_session, mid, outsider.id),
        "answer": lambda: rsvp.answer(store_session, mid, outsider.id, declined),
        "attendance": lambda: attendance.record(store_session, mid, outsider.id, change, config),
        "record": lambda: record.add_contribution(
            store_session, mid, opinion, source="secretary", author="tk"
        ),
        "letter": lambda: letter.load_letter(
            store_session, mid, site_id=outsider.id, settings=settings, issued_on=START.date()
        ),
    }
    for part, ask in asks.items():
        with pytest.raises(NotInvited) as refused:
            async with store_session.begin():
                await ask()
        assert refused.value.status == 404 and refused.value.code == "not_found", part
        # A refusal, and to a site's link the same as a session that does not exist.
        assert isinstance(refused.value, Forbidden) and isinstance(refused.value, NotFound)
