"""What an inbound e-mail changes: calendar replies set a site's RSVP with their source
and history (not when they answer an older version, not from a stranger, not twice),
counter-proposals wait, bounces mark the message and flag the address (the next sending
leaves it out and names the site), plain replies are attached. On SQLite and PostgreSQL;
a batch of 2,000 mails in a bounded number of statements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.core.errors import Conflict
from meetings.core.settings import DatabaseSettings
from meetings.core.store import create_engine, session_maker, utcnow
from meetings.planning import lifecycle, rsvp
from meetings.planning.models import MeetingUpdate, Participation, Rsvp, RsvpSource
from meetings.planning.rsvp_models import RsvpChange
from meetings.register import imports, sites
from meetings.register.models import Contact, ContactIn, Site, SiteUpdate
from notify.inbound.addresses import return_path
from notify.inbound.apply import take_in, take_in_batch, take_in_one
from notify.inbound.models import InboundMail
from notify.inbound.parse import understand
from notify.inbound.parsed import (
    Bounce,
    CalendarAnswer,
    Envelope,
    Mail,
    Meaning,
    PlainReply,
    Unreadable,
)
from notify.mail import invitations
from notify.mail.models import Message, MessageStatus
from tests.conftest import TEST_SECRET
from tests.factories import login, make_scheduled_meeting, make_site, make_user
from tests.notify.inbound.samples import sample

INBOUND = "giaoban@inbound.example.gov.vn"
A = "vanphong@xa-a.example.vn"
B = "ketoan@xa-b.example.vn"
NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
async def maker(database_url: str) -> AsyncIterator[Any]:
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    yield session_maker(engine)
    await engine.dispose()


class Setup:
    """Two sites invited to a scheduled session (A's contact typed with capitals), and a
    third site that is not invited."""

    meeting_id: int
    uid: str
    site_a: int
    site_b: int
    site_c: int


@pytest.fixture
async def setup(maker: Any) -> Setup:
    found = Setup()
    async with maker() as session, session.begin():
        found.site_a = (await make_site(session, contacts=[contact("VanPhong@xa-a.example.vn")])).id
        found.site_b = (await make_site(session, contacts=[contact(B)])).id
        found.site_c = (await make_site(session, contacts=[contact("ngoai@xa-c.example.vn")])).id
        found.meeting_id = await make_scheduled_meeting(
            session, starts_at=utcnow() + timedelta(days=7), site_ids=[found.site_a, found.site_b]
        )
        found.uid = (await lifecycle.get_meeting_row(session, found.meeting_id)).uid
    return found


def contact(email: str, name: str = "Văn phòng") -> ContactIn:
    return ContactIn(name=name, email=email)


_keys = iter(range(1, 1_000_000))


def mail(meaning: Meaning, *, key: str | None = None, **envelope: Any) -> Mail:
    return Mail(
        Envelope(
            key=key or f"<m{next(_keys)}@mail.example.net>",
            sender=envelope.pop("sender", A),
            subject=envelope.pop("subject", "Accepted: Giao ban"),
            date=envelope.pop("date", NOW),
            **envelope,
        ),
        meaning,
    )


def reply(uid: str, partstat: str, *, attendee: str = A, sequence: int = 0, **more: Any) -> Mail:
    key = more.pop("key", None)
    return mail(
        CalendarAnswer("REPLY", uid, sequence, attendee, partstat, **more), key=key, sender=attendee
    )


async def take(maker: Any, *mails: Mail) -> list[InboundMail]:
    async with maker() as session, session.begin():
        return await take_in(session, mails, inbound_address=INBOUND, secret=TEST_SECRET, now=NOW)


async def answer_of(maker: Any, setup: Setup, site_id: int) -> Participation:
    async with maker() as session:
        row = await session.scalar(
            select(Participation).where(
                Participation.meeting_id == setup.meeting_id, Participation.site_id == site_id
            )
        )
        assert row is not None
        return row


async def history(maker: Any, setup: Setup, site_id: int) -> list[Any]:
    async with maker() as session:
        return await rsvp.history(session, setup.meeting_id, site_id)


async def count(maker: Any, model: Any) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- calendar replies --------------------------------------------------------------------


async def test_accept_decline_and_tentative_set_the_rsvp_from_the_calendar(
    maker: Any, setup: Setup
):
    for partstat, expected in (
        ("ACCEPTED", Rsvp.accepted),
        ("DECLINED", Rsvp.declined),
        ("TENTATIVE", Rsvp.tentative),
    ):
        (row,) = await take(maker, reply(setup.uid, partstat, comment="Đồng chí Hùng dự"))
        assert (row.kind, row.outcome, row.response) == ("reply", "applied", partstat.lower())
        assert (row.meeting_id, row.site_id, row.attendee) == (setup.meeting_id, setup.site_a, A)
        answer = await answer_of(maker, setup, setup.site_a)
        assert answer.rsvp == expected
        assert (answer.rsvp_source, answer.rsvp_sequence) == ("calendar", 0)
        assert answer.responded_at == NOW and answer.rsvp_note == "Đồng chí Hùng dự"
        assert answer.expected_delegates is None  # the calendar says nothing of delegates
    assert (await answer_of(maker, setup, setup.site_a)).version == 4
    assert (await answer_of(maker, setup, setup.site_b)).rsvp == Rsvp.needs_action
    changes = await history(maker, setup, setup.site_a)
    assert [(c.response, c.source, c.source_detail, c.applied) for c in changes] == [
        ("accepted", "calendar", A, True),
        ("declined", "calendar", A, True),
        ("tentative", "calendar", A, True),
    ]


async def test_a_reply_to_an_older_version_is_recorded_but_does_not_overturn(
    maker: Any, setup: Setup
):
    async with maker() as session, session.begin():  # the session moves: SEQUENCE 1
        meeting = await lifecycle.get_meeting_row(session, setup.meeting_id)
        await lifecycle.update_meeting(
            session,
            setup.meeting_id,
            MeetingUpdate(
                version=meeting.version, starts_at=meeting.starts_at + timedelta(hours=1)
            ),
        )
        assert (await lifecycle.get_meeting_row(session, setup.meeting_id)).sequence == 1
    await take(maker, reply(setup.uid, "ACCEPTED", sequence=1))
    (late,) = await take(maker, reply(setup.uid, "DECLINED", sequence=0))
    assert (late.outcome, late.sequence) == ("stale", 0)
    answer = await answer_of(maker, setup, setup.site_a)
    assert (answer.rsvp, answer.rsvp_sequence, answer.version) == (Rsvp.accepted, 1, 2)
    changes = await history(maker, setup, setup.site_a)
    assert [(c.response, c.sequence, c.applied) for c in changes] == [
        ("accepted", 1, True),
        ("declined", 0, False),
    ]
    # The same version answered again: the later answer wins.
    (again,) = await take(maker, reply(setup.uid, "TENTATIVE", sequence=1))
    assert again.outcome == "applied"
    assert (await answer_of(maker, setup, setup.site_a)).rsvp == Rsvp.tentative


async def test_the_site_page_and_the_calendar_answer_in_turn(maker: Any, setup: Setup):
    # An update raised the recipient's SEQUENCE above the session's (a new title alone).
    await take(maker, reply(setup.uid, "DECLINED", sequence=2))
    async with maker() as session, session.begin():
        await rsvp.answer(
            session,
            setup.meeting_id,
            setup.site_a,
            rsvp.RsvpIn(response="accepted", expected_delegates=12, note="12 đại biểu"),
        )
    answer = await answer_of(maker, setup, setup.site_a)
    assert (answer.rsvp, answer.rsvp_source, answer.rsvp_sequence) == ("accepted", "site_page", 2)
    assert answer.expected_delegates == 12
    # The calendar's answer to the first invitation, arriving late: the page's stays.
    (late,) = await take(maker, reply(setup.uid, "DECLINED", sequence=0))
    assert late.outcome == "stale"
    # The calendar's answer to the latest version: it is the later answer, it wins, and
    # an acceptance keeps the number of delegates the page gave.
    await take(maker, reply(setup.uid, "TENTATIVE", sequence=2))
    answer = await answer_of(maker, setup, setup.site_a)
    assert (answer.rsvp, answer.rsvp_source, answer.expected_delegates) == (
        "tentative",
        "calendar",
        12,
    )
    changes = await history(maker, setup, setup.site_a)
    assert [(c.source, c.response, c.applied) for c in changes] == [
        (RsvpSource.calendar, "declined", True),
        (RsvpSource.site_page, "accepted", True),
        (RsvpSource.calendar, "declined", False),
        (RsvpSource.calendar, "tentative", True),
    ]


async def test_a_reply_from_an_address_not_invited_is_not_applied(maker: Any, setup: Setup):
    unknown, other_site = await take(
        maker,
        reply(setup.uid, "ACCEPTED", attendee="ai.do@gmail.example.com"),
        reply(setup.uid, "ACCEPTED", attendee="ngoai@xa-c.example.vn"),  # a site not invited
    )
    for row in (unknown, other_site):
        assert (row.outcome, row.meeting_id, row.site_id) == ("stranger", setup.meeting_id, None)
    for site_id in (setup.site_a, setup.site_b, setup.site_c):
        assert await history(maker, setup, site_id) == []
    assert (await answer_of(maker, setup, setup.site_a)).rsvp == Rsvp.needs_action


async def test_the_attendee_counts_not_the_sender(maker: Any, setup: Setup):
    shared = mail(
        CalendarAnswer("REPLY", setup.uid, 0, B, "ACCEPTED"), sender="hopthu-chung@example.vn"
    )
    (row,) = await take(maker, shared)
    assert (row.outcome, row.site_id, row.sender) == (
        "applied",
        setup.site_b,
        "hopthu-chung@example.vn",
    )
    assert (await answer_of(maker, setup, setup.site_b)).rsvp == Rsvp.accepted


async def test_an_unknown_uid_matches_nothing(maker: Any, setup: Setup):
    (row,) = await take(maker, reply("khac@calendar.example.com", "ACCEPTED"))
    assert (row.outcome, row.meeting_id, row.site_id) == ("unmatched", None, None)


async def test_the_same_mail_twice_changes_nothing_the_second_time(maker: Any, setup: Setup):
    once = reply(setup.uid, "ACCEPTED", key="<mot-lan@mail.example.net>")
    (first,) = await take(maker, once)
    before = await answer_of(maker, setup, setup.site_a)
    counts = [await count(maker, m) for m in (InboundMail, RsvpChange)]
    (second,) = await take(maker, once)
    assert second.id == first.id
    assert (await answer_of(maker, setup, setup.site_a)).version == before.version == 2
    assert [await count(maker, m) for m in (InboundMail, RsvpChange)] == counts == [1, 1]
    # Twice in one batch (two copies in the mailbox): taken in once.
    twice = reply(setup.uid, "DECLINED", key="<hai-ban@mail.example.net>")
    rows = await take(maker, twice, twice)
    assert rows[0].id == rows[1].id
    assert [await count(maker, m) for m in (InboundMail, RsvpChange)] == [2, 2]


async def test_a_delegation_is_recorded_and_leaves_the_answer(maker: Any, setup: Setup):
    (row,) = await take(
        maker, reply(setup.uid, "DELEGATED", delegated_to="phochutich@xa-a.example.vn")
    )
    assert (row.outcome, row.response, row.delegated_to) == (
        "applied",
        "delegated",
        "phochutich@xa-a.example.vn",
    )
    answer = await answer_of(maker, setup, setup.site_a)
    assert (answer.rsvp, answer.version) == (Rsvp.needs_action, 1)
    (change,) = await history(maker, setup, setup.site_a)
    assert (change.response, change.delegated_to) == ("delegated", "phochutich@xa-a.example.vn")


async def test_answers_to_a_cancelled_session_are_recorded_only(maker: Any, setup: Setup):
    async with maker() as session, session.begin():
        await lifecycle.cancel_meeting(session, setup.meeting_id, reason="Hoãn")
    (row,) = await take(maker, reply(setup.uid, "ACCEPTED"))
    assert (row.outcome, row.site_id) == ("closed", setup.site_a)
    assert (await answer_of(maker, setup, setup.site_a)).rsvp == Rsvp.needs_action
    assert await history(maker, setup, setup.site_a) == []


async def test_one_person_coordinating_two_sites_answers_for_both(maker: Any, setup: Setup):
    async with maker() as session, session.begin():
        site = await sites.get_site(session, setup.site_b)
        await sites.update_site(
            session,
            setup.site_b,
            SiteUpdate(version=site.version, contacts=[contact(A), contact(B)]),
        )
    (row,) = await take(maker, reply(setup.uid, "ACCEPTED"))
    assert (row.outcome, row.site_id) == ("applied", setup.site_a)
    for site_id in (setup.site_a, setup.site_b):
        assert (await answer_of(maker, setup, site_id)).rsvp == Rsvp.accepted


async def test_two_answers_of_one_site_in_a_batch_count_as_two(maker: Any, setup: Setup):
    """Each answer taken raises the version once, as it would one batch after another."""
    rows = await take(
        maker,
        reply(setup.uid, "ACCEPTED", comment="Dự"),
        reply(setup.uid, "DECLINED", comment="Bận"),
        reply(setup.uid, "TENTATIVE", attendee=B),
    )
    assert [row.outcome for row in rows] == ["applied"] * 3
    answer = await answer_of(maker, setup, setup.site_a)
    assert (answer.rsvp, answer.rsvp_note, answer.version) == (Rsvp.declined, "Bận", 3)
    assert (await answer_of(maker, setup, setup.site_b)).version == 2
    assert [c.response for c in await history(maker, setup, setup.site_a)] == [
        "accepted",
        "declined",
    ]


async def test_the_worker_gets_back_what_it_needs_of_each_mail(maker: Any, setup: Setup):
    once = reply(setup.uid, "ACCEPTED", key="<da-co@mail.example.net>")
    await take(maker, once)
    async with maker() as session, session.begin():
        taken = await take_in_batch(
            session,
            [once, reply("khac@calendar.example.com", "ACCEPTED"), mail(Unreadable("x"))],
            inbound_address=INBOUND,
            secret=TEST_SECRET,
            now=NOW,
        )
    assert [(t.kind, t.outcome) for t in taken] == [
        ("reply", "applied"),  # taken in before: what became of it then
        ("reply", "unmatched"),
        ("unreadable", "unreadable"),
    ]
    assert taken[0].key == "<da-co@mail.example.net>"
    assert await count(maker, InboundMail) == 3


async def test_an_answer_changed_since_the_batch_read_it_is_not_overwritten(
    maker: Any, setup: Setup, database_url: str
):
    """Another writer (the site's page) answers between the batch's read and its write:
    the batch is refused whole (the worker then takes its mails one at a time)."""
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    changed: list[str] = []

    def meanwhile(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE PARTICIPATION") and not changed:
            changed.append(statement)
            cursor.execute("UPDATE participation SET version = version + 1")

    event.listen(engine.sync_engine, "before_cursor_execute", meanwhile)
    try:
        with pytest.raises(Conflict):
            await take(session_maker(engine), reply(setup.uid, "ACCEPTED"))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", meanwhile)
        await engine.dispose()
    assert changed
    assert (await answer_of(maker, setup, setup.site_a)).rsvp == Rsvp.needs_action
    assert await count(maker, InboundMail) == 0


async def test_a_counter_proposal_waits_for_the_organiser(maker: Any, setup: Setup):
    starts = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    counter = CalendarAnswer(
        "COUNTER",
        setup.uid,
        0,
        B,
        "NEEDS-ACTION",
        comment="Xin lùi sang chiều",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
    )
    (row,) = await take(maker, mail(counter, sender=B))
    assert (row.kind, row.outcome, row.site_id) == ("counter", "pending", setup.site_b)
    assert (row.proposed_starts_at, row.proposed_ends_at) == (starts, starts + timedelta(hours=2))
    assert row.comment == "Xin lùi sang chiều"
    answer = await answer_of(maker, setup, setup.site_b)
    assert (answer.rsvp, answer.version) == (Rsvp.needs_action, 1)


# --- bounces -----------------------------------------------------------------------------


async def sent_invitations(maker: Any, setup: Setup) -> dict[str, Message]:
    """The invitations queued and delivered (each with its Message-ID), by recipient."""
    async with maker() as session, session.begin():
        await invitations.queue_invitations(session, setup.meeting_id, secret_key=TEST_SECRET)
        rows = (await session.scalars(select(Message))).all()
        for row in rows:
            row.status = MessageStatus.sent
            row.message_id = f"<moi-{row.id}@giaoban.example.gov.vn>"
        return {row.recipient.lower(): row for row in rows}


def bounce(
    *, outbox_id: int | None = None, original: str = "", recipient: str = A, status: str = "5.1.1"
) -> Mail:
    return mail(
        Bounce(
            outbox_id=outbox_id,
            original_message_id=original,
            recipient=recipient,
            status=status,
            permanent=status.startswith("5"),
            diagnostic="smtp; 550 5.1.1 <vanphong@xa-a.example.vn>: user unknown",
        ),
        sender="mailer-daemon@mx.example.vn",
        subject="Undelivered Mail Returned to Sender",
    )


async def test_a_permanent_bounce_marks_the_message_and_flags_the_address(maker: Any, setup: Setup):
    sent = await sent_invitations(maker, setup)
    original = sent[A.lower()]
    (row,) = await take(maker, bounce(original=original.message_id.strip("<>")))
    assert (row.kind, row.outcome, row.bounce_status) == ("bounce", "applied", "5.1.1")
    assert (row.message_id, row.meeting_id, row.site_id) == (
        original.id,
        setup.meeting_id,
        setup.site_a,
    )
    async with maker() as session:
        message = await session.get_one(Message, original.id)
        assert message.status == MessageStatus.bounced
        assert message.last_error.startswith("5.1.1 smtp; 550 5.1.1")
        flagged = (
            await session.scalars(select(Contact).where(Contact.site_id == setup.site_a))
        ).one()
        assert flagged.bounced_at == NOW and "user unknown" in flagged.bounce_reason
        assert row.contact_id == flagged.id
        # The next sending leaves the address out and names the site it cannot reach.
        plan = await invitations.invitation_plan(session, setup.meeting_id)
    assert [p.email for p in plan.planned] == []
    (far,) = plan.unreachable
    assert (far.site_id, far.reason) == (setup.site_a, "bounced")
    assert "user unknown" in far.detail


async def test_a_bounce_is_matched_by_its_outbox_row(maker: Any, setup: Setup):
    sent = await sent_invitations(maker, setup)
    (row,) = await take(maker, bounce(outbox_id=sent[B].id, recipient=B))
    assert (row.outcome, row.site_id) == ("applied", setup.site_b)
    async with maker() as session:
        assert (await session.get_one(Message, sent[B].id)).status == MessageStatus.bounced
        assert (await session.get_one(Message, sent[A.lower()].id)).status == MessageStatus.sent


async def test_a_bounce_is_matched_by_the_return_path_it_came_back_to(maker: Any, setup: Setup):
    sent = await sent_invitations(maker, setup)
    verp = return_path(INBOUND, sent[B].id or 0, TEST_SECRET)
    forged = return_path(INBOUND, sent[A.lower()].id or 0, "not-our-secret-0123456789")
    (row, other) = await take(
        maker,
        mail(bounce(recipient=B).meaning, delivered_to=verp.upper()),
        mail(bounce().meaning, delivered_to=forged),
    )
    assert (row.outcome, row.message_id) == ("applied", sent[B].id)
    assert (other.outcome, other.message_id) == ("unmatched", None)


async def test_a_transient_bounce_notes_the_delay_and_flags_nothing(maker: Any, setup: Setup):
    sent = await sent_invitations(maker, setup)
    (row,) = await take(maker, bounce(outbox_id=sent[B].id, recipient=B, status="4.2.2"))
    assert (row.outcome, row.site_id) == ("transient", setup.site_b)
    async with maker() as session:
        message = await session.get_one(Message, sent[B].id)
        assert message.status == MessageStatus.sent and message.last_error.startswith("4.2.2")
        assert (
            await session.scalar(select(func.count()).where(Contact.bounced_at.is_not(None))) == 0
        )


async def test_a_bounce_of_something_else_matches_nothing(maker: Any, setup: Setup):
    await sent_invitations(maker, setup)
    (row,) = await take(maker, bounce(original="khac@example.net", recipient=B))
    assert (row.outcome, row.message_id) == ("unmatched", None)
    async with maker() as session:
        statuses = set((await session.scalars(select(Message.status))).all())
    assert statuses == {MessageStatus.sent}


async def test_a_new_address_clears_the_flag_and_an_edit_keeps_it(maker: Any, setup: Setup):
    async with maker() as session, session.begin():
        await session.execute(
            update(Contact).values(bounced_at=NOW, bounce_reason="5.1.1 user unknown")
        )
        for site_id, emails in ((setup.site_a, [A, "them@xa-a.example.vn"]), (setup.site_b, [B])):
            site = await sites.get_site(session, site_id)
            await sites.update_site(
                session,
                site_id,
                SiteUpdate(version=site.version, contacts=[contact(e) for e in emails]),
            )
    async with maker() as session:
        flags = {c.email.lower(): c.bounce_reason for c in await session.scalars(select(Contact))}
    assert flags == {
        A: "5.1.1 user unknown",  # the same address (whatever its case): still flagged
        "them@xa-a.example.vn": "",
        B: "5.1.1 user unknown",
        "ngoai@xa-c.example.vn": "5.1.1 user unknown",
    }
    # The register import replaces contacts too: the same rule.
    async with maker() as session:
        codes = {s.id: s.code for s in await session.scalars(select(Site))}
    sheet = (
        "code,name,contact1_name,contact1_email\r\n"
        f"{codes[setup.site_b]},Xã B,Kế toán,{B}\r\n"
        f"{codes[setup.site_c]},Xã C,Ngoài,moi@xa-c.example.vn\r\n"
    ).encode()
    async with maker() as session, session.begin():
        await imports.import_sites(session, content=sheet, kind="csv", dry_run=False)
    async with maker() as session:
        flags = {c.email.lower(): c.bounce_reason for c in await session.scalars(select(Contact))}
    assert flags[B] == "5.1.1 user unknown" and flags["moi@xa-c.example.vn"] == ""


async def test_the_invitations_panel_and_preview_name_the_sites_mail_cannot_reach(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="tochuc")
        bounced = await make_site(session, name="Xã Trả Lại", contacts=[contact(A)])
        nobody = await make_site(session, name="Xã Không Thư", contacts=[])
        fine = await make_site(session, name="Xã Tốt", contacts=[contact(B)])
        meeting_id = await make_scheduled_meeting(
            session,
            starts_at=utcnow() + timedelta(days=7),
            site_ids=[bounced.id, nobody.id, fine.id],
        )
        await session.execute(
            update(Contact)
            .where(Contact.site_id == bounced.id)
            .values(bounced_at=NOW, bounce_reason="5.1.1 user unknown")
        )
    await login(client, "tochuc")
    page = await (await client.get(f"/sessions/{meeting_id}")).text()
    warning = page[page.index('data-testid="unreachable"') :]
    warning = warning[: warning.index("</div>")]
    assert "Xã Trả Lại" in warning and "5.1.1 user unknown" in warning
    assert "Xã Không Thư" in warning and "Xã Tốt" not in warning
    assert page.index('data-testid="unreachable"') < page.index("data-send-form")
    preview = await (await client.get(f"/api/v1/meetings/{meeting_id}/invitations/preview")).json()
    assert [i["recipient"] for i in preview["items"]] == [B] and preview["total"] == 1
    assert [(u["site_id"], u["reason"]) for u in preview["unreachable"]] == [
        (nobody.id, "no_address"),
        (bounced.id, "bounced"),
    ]


# --- plain replies and unreadable mail ----------------------------------------------------


async def test_a_plain_reply_is_attached_to_what_it_answers(maker: Any, setup: Setup):
    sent = await sent_invitations(maker, setup)
    answering, by_sender, unknown = await take(
        maker,
        mail(
            PlainReply("Xã B xin dự với 5 đại biểu."),
            sender="cuc.tran@gmail.example.com",
            answers=("<khong-ro@example.net>", sent[B].message_id),
        ),
        mail(PlainReply("Chúng tôi sẽ tham dự."), sender=A),
        mail(PlainReply("Mua hàng giảm giá!"), sender="quangcao@example.com"),
    )
    assert (answering.outcome, answering.meeting_id, answering.site_id) == (
        "applied",
        setup.meeting_id,
        setup.site_b,
    )
    assert answering.message_id == sent[B].id and answering.text == "Xã B xin dự với 5 đại biểu."
    assert answering.contact_id is not None  # the recipient of the message it answers
    assert (by_sender.outcome, by_sender.meeting_id, by_sender.site_id) == (
        "applied",
        None,
        setup.site_a,
    )
    assert (unknown.kind, unknown.outcome, unknown.site_id) == ("plain", "unmatched", None)


async def test_an_unreadable_mail_is_kept_with_its_reason(maker: Any, setup: Setup):
    (row,) = await take(maker, mail(Unreadable("no text part"), sender=""))
    assert (row.kind, row.outcome, row.reason) == ("unreadable", "unreadable", "no text part")
    async with maker() as session:
        assert (await session.get_one(InboundMail, row.id)).key == row.key


async def test_take_in_one(maker: Any, setup: Setup):
    async with maker() as session, session.begin():
        row = await take_in_one(
            session,
            reply(setup.uid, "ACCEPTED", attendee=B),
            inbound_address=INBOUND,
            secret=TEST_SECRET,
            now=NOW,
        )
    assert (row.outcome, row.site_id) == ("applied", setup.site_b)


# --- through the parser, one real-shaped e-mail per client --------------------------------


@pytest.mark.parametrize(
    ("name", "rsvp_after", "outcome"),
    [
        ("outlook_accept", Rsvp.accepted, "applied"),
        ("google_decline", Rsvp.declined, "applied"),
        ("apple_tentative", Rsvp.tentative, "applied"),
        ("thunderbird_accept", Rsvp.accepted, "applied"),
        ("header_method_only", Rsvp.accepted, "applied"),
        ("delegated_reply", Rsvp.needs_action, "applied"),
        ("outlook_counter", Rsvp.needs_action, "pending"),
    ],
)
async def test_each_clients_answer_read_and_applied(
    maker: Any, setup: Setup, name: str, rsvp_after: Rsvp, outcome: str
):
    raw = sample(name, uid=setup.uid, attendee=A)
    (row,) = await take(maker, understand(raw))
    assert (row.outcome, row.site_id) == (outcome, setup.site_a)
    assert (await answer_of(maker, setup, setup.site_a)).rsvp == rsvp_after


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("dsn_5_1_1", "applied"),
        ("dsn_4_2_2", "transient"),
        ("postfix_plain", "applied"),
        ("exim_failed", "applied"),
        ("qmail", "applied"),
        ("o365_ndr", "applied"),
        ("gmail_bounce", "applied"),
    ],
)
async def test_each_servers_bounce_read_and_applied(
    maker: Any, setup: Setup, name: str, outcome: str
):
    sent = await sent_invitations(maker, setup)
    original = sent[A.lower()]
    raw = sample(
        name,
        attendee=A,
        in_reply_to=original.message_id.strip("<>"),
        return_path=return_path(INBOUND, original.id or 0, TEST_SECRET),
    )
    (row,) = await take(maker, understand(raw))
    assert (row.kind, row.outcome, row.message_id) == ("bounce", outcome, original.id)
    async with maker() as session:
        flagged = await session.scalar(select(Contact).where(Contact.site_id == setup.site_a))
    assert flagged is not None and (flagged.bounced_at is not None) == (outcome == "applied")


@pytest.mark.parametrize("name", ["plain_reply", "outlook_plain_reply"])
async def test_each_plain_reply_read_and_attached(maker: Any, setup: Setup, name: str):
    sent = await sent_invitations(maker, setup)
    raw = sample(name, attendee=A, in_reply_to=sent[A.lower()].message_id.strip("<>"))
    (row,) = await take(maker, understand(raw))
    assert (row.kind, row.outcome, row.meeting_id, row.site_id) == (
        "plain",
        "applied",
        setup.meeting_id,
        setup.site_a,
    )
    assert row.text and ">" not in row.text.splitlines()[0]


async def test_a_malformed_mail_is_kept_as_unreadable(maker: Any, setup: Setup):
    (row,) = await take(maker, understand(sample("malformed")))
    assert (row.kind, row.outcome) == ("unreadable", "unreadable") and row.reason


# --- scale ---------------------------------------------------------------------------------


async def many_sites(session: AsyncSession, count: int) -> list[int]:
    """`count` sites with one contact each, inserted in bulk."""
    now = utcnow()
    rows = [
        {"code": f"B{n}", "name": f"Xã {n}", "search_text": f"xa {n}", "created_at": now}
        for n in range(count)
    ]
    result = await session.execute(insert(Site).returning(Site.id), rows)
    ids = list(result.scalars())
    await session.execute(
        insert(Contact),
        [{"site_id": i, "name": "VP", "email": f"vp{n}@xa.example.vn"} for n, i in enumerate(ids)],
    )
    return ids


async def test_2000_mails_take_a_bounded_number_of_statements(maker: Any, database_url: str):
    async with maker() as session, session.begin():
        ids = await many_sites(session, 2_000)
        meeting_id = await make_scheduled_meeting(
            session, starts_at=utcnow() + timedelta(days=7), site_ids=ids
        )
        uid = (await lifecycle.get_meeting_row(session, meeting_id)).uid
        await invitations.queue_invitations(session, meeting_id, secret_key=TEST_SECRET)
        await session.execute(
            update(Message).values(
                status=MessageStatus.sent, message_id="<m-" + Message.recipient + ">"
            )
        )
    partstats = ("ACCEPTED", "DECLINED", "TENTATIVE")
    mails: list[Mail] = []
    for n in range(2_000):
        address = f"vp{n}@xa.example.vn"
        if n % 10 == 7:
            mails.append(bounce(original=f"m-{address}", recipient=address))
        elif n % 10 == 8:
            mails.append(
                mail(PlainReply("Xin cảm ơn"), sender=address, answers=(f"<m-{address}>",))
            )
        else:
            mails.append(reply(uid, partstats[n % 3], attendee=address))
    statements: list[str] = []

    def counted(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    event.listen(engine.sync_engine, "before_cursor_execute", counted)
    per_batch = []
    try:
        counting = session_maker(engine)
        for start in range(0, len(mails), 500):
            statements.clear()
            rows = await take(counting, *mails[start : start + 500])
            per_batch.append(len(statements))
            assert {r.outcome for r in rows} == {"applied"}
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", counted)
        await engine.dispose()
    # Keys taken (2 chunks), sessions, participations, messages, contacts, the updates
    # (participations, messages, contacts), the inserts, the rows read back (2 chunks).
    assert max(per_batch) <= 15, (per_batch, statements)
    async with maker() as session:
        answered = await session.scalar(
            select(func.count()).where(
                Participation.meeting_id == meeting_id, Participation.rsvp != Rsvp.needs_action
            )
        )
        bounced = await session.scalar(
            select(func.count()).where(Message.status == MessageStatus.bounced)
        )
    assert (answered, bounced) == (1_600, 200)
    assert await count(maker, InboundMail) == 2_000
