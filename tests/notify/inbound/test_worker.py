"""The mailbox read for real: answers delivered into a Dovecot mailbox are applied by a
pass of the worker and moved out, each once — read twice, read by two workers at once,
read again after a crash between the commit and the move — and a malformed one is moved
aside without holding up the rest. The worker inside the app hears new mail by IDLE.
On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from meetings.core.settings import DatabaseSettings, Settings
from meetings.core.store import SessionMaker, create_engine, session_maker, utcnow
from meetings.planning import lifecycle
from meetings.planning.models import Participation, Rsvp
from meetings.planning.rsvp_models import RsvpChange
from meetings.register.models import Contact, ContactIn
from notify.inbound import intake, mailbox, worker
from notify.inbound.addresses import return_path
from notify.inbound.keys import listening_key, passed_key
from notify.inbound.models import InboundMail
from notify.inbound.parse import understand
from notify.mail import invitations
from notify.mail.models import Message, MessageStatus
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import make_scheduled_meeting, make_site
from tests.notify.inbound.dovecot import Mailbox
from tests.notify.inbound.samples import sample

#: Generous for a loaded machine; the tests wait on events and finish as soon as they fire.
DEADLINE = 60.0
PROCESSED = "giaoban-processed"
UNREADABLE = "giaoban-unreadable"


def inbound_settings(tmp_path: Path, database_url: str, box: Mailbox, **inbound: Any) -> Settings:
    return make_settings(
        tmp_path, database_url, environ=box.environ(), inbound=box.inbound(**inbound)
    )


@dataclass
class World:
    """A scheduled session inviting `sites` sites of one contact each (vp<n>@…), whose
    invitations went out (each with its Message-ID)."""

    meeting_id: int
    uid: str
    site_ids: list[int]
    addresses: list[str]
    #: By recipient: the outbox row id and its Message-ID (without <>).
    sent: dict[str, tuple[int, str]]


async def make_world(maker: SessionMaker, sites: int) -> World:
    async with maker() as session, session.begin():
        addresses = [f"vp{n}@xa{n}.example.vn" for n in range(sites)]
        site_ids = [
            (await make_site(session, contacts=[ContactIn(name="Văn phòng", email=address)])).id
            for address in addresses
        ]
        meeting_id = await make_scheduled_meeting(
            session, starts_at=utcnow() + timedelta(days=7), site_ids=site_ids
        )
        uid = (await lifecycle.get_meeting_row(session, meeting_id)).uid
        await invitations.queue_invitations(session, meeting_id, secret_key=TEST_SECRET)
        rows = (await session.scalars(select(Message))).all()
        sent = {}
        for row in rows:
            row.status = MessageStatus.sent
            row.message_id = f"<moi-{row.id}@giaoban.example.gov.vn>"
            sent[row.recipient.lower()] = (row.id or 0, row.message_id.strip("<>"))
    return World(meeting_id, uid, site_ids, addresses, sent)


@pytest.fixture
async def maker(database_url: str) -> AsyncIterator[SessionMaker]:
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    yield session_maker(engine)
    await engine.dispose()


async def one_pass(settings: Settings, maker: SessionMaker) -> intake.PassReport:
    async with mailbox.connect(settings.inbound) as box:
        return await intake.take_in_pass(box, maker, settings)


async def answers(maker: SessionMaker, world: World) -> dict[int, tuple[Rsvp, str]]:
    """Each site's RSVP in force and where it came from."""
    async with maker() as session:
        rows = (
            await session.scalars(
                select(Participation).where(Participation.meeting_id == world.meeting_id)
            )
        ).all()
    return {row.site_id: (row.rsvp, row.rsvp_source) for row in rows}


async def count(maker: SessionMaker, model: Any) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def reply(world: World, n: int, name: str = "outlook_accept", **values: str) -> bytes:
    """Site n's answer by the client `name`, with a Message-ID of its own."""
    values.setdefault("message_id", f"{name}-{n}@client.example.net")
    return sample(name, uid=world.uid, attendee=world.addresses[n], **values)


async def test_every_clients_answer_in_the_mailbox_is_applied_in_one_pass(
    tmp_path: Path, database_url: str, maker: SessionMaker, dovecot: Mailbox
) -> None:
    world = await make_world(maker, 10)
    settings = inbound_settings(tmp_path, database_url, dovecot)
    bounced_id, _ = world.sent[world.addresses[7]]
    _, answered = world.sent[world.addresses[8]]
    dovecot.deliver_many(
        [
            reply(world, 0, "outlook_accept"),
            reply(world, 1, "google_decline"),
            reply(world, 2, "apple_tentative"),
            reply(world, 3, "thunderbird_accept"),
            reply(world, 4, "header_method_only"),
            reply(world, 5, "delegated_reply"),
            reply(world, 6, "outlook_counter"),
            sample(
                "dsn_5_1_1",
                attendee=world.addresses[7],
                in_reply_to=world.sent[world.addresses[7]][1],
                return_path=return_path(settings.inbound.address, bounced_id, TEST_SECRET),
            ),
            sample("plain_reply", attendee=world.addresses[8], in_reply_to=answered),
            sample("malformed"),
        ]
    )

    report = await one_pass(settings, maker)

    assert (report.read, report.moved) == (10, 10)
    rsvp = await answers(maker, world)
    sites = world.site_ids
    assert rsvp[sites[0]] == (Rsvp.accepted, "calendar")
    assert rsvp[sites[1]] == (Rsvp.declined, "calendar")
    assert rsvp[sites[2]] == (Rsvp.tentative, "calendar")
    assert rsvp[sites[3]] == (Rsvp.accepted, "calendar")
    assert rsvp[sites[4]] == (Rsvp.accepted, "calendar")
    assert rsvp[sites[5]][0] == Rsvp.needs_action  # delegated: the delegate is to answer
    assert rsvp[sites[6]][0] == Rsvp.needs_action  # a proposal waits for the organiser
    async with maker() as session:
        rows = {row.site_id: row for row in (await session.scalars(select(InboundMail))).all()}
        message = await session.get(Message, bounced_id)
        flagged = await session.scalar(select(Contact).where(Contact.site_id == sites[7]))
    assert (rows[sites[5]].response, rows[sites[6]].outcome) == ("delegated", "pending")
    assert message is not None and message.status == MessageStatus.bounced
    assert flagged is not None and flagged.bounced_at is not None
    assert rows[sites[8]].kind == "plain" and rows[sites[8]].meeting_id == world.meeting_id
    assert rows[None].kind == "unreadable" and rows[None].reason
    # Done mail left the folder: the malformed one aside, the rest as processed.
    assert dovecot.folder_count("INBOX") == 0
    assert dovecot.folder_count(PROCESSED) == 9
    assert dovecot.messages(UNREADABLE) == [sample("malformed")]


async def test_the_same_message_delivered_twice_is_applied_once(
    tmp_path: Path, database_url: str, maker: SessionMaker, dovecot: Mailbox
) -> None:
    world = await make_world(maker, 1)
    settings = inbound_settings(tmp_path, database_url, dovecot)
    dovecot.deliver_many([reply(world, 0), reply(world, 0)])  # one chunk
    await one_pass(settings, maker)
    dovecot.deliver(reply(world, 0))  # and once more, later
    await one_pass(settings, maker)

    assert await count(maker, RsvpChange) == 1
    assert await count(maker, InboundMail) == 1
    assert dovecot.folder_count("INBOX") == 0
    assert dovecot.folder_count(PROCESSED) == 3


async def test_a_malformed_message_does_not_hold_up_the_next_one(
    tmp_path: Path, database_url: str, maker: SessionMaker, dovecot: Mailbox
) -> None:
    world = await make_world(maker, 1)
    settings = inbound_settings(tmp_path, database_url, dovecot, batch_size=1)
    dovecot.deliver_many([sample("malformed"), b"", b"\xff\xfe\x00garbage", reply(world, 0)])

    report = await one_pass(settings, maker)

    assert report.read == 4
    assert (await answers(maker, world))[world.site_ids[0]] == (Rsvp.accepted, "calendar")
    assert dovecot.folder_count(UNREADABLE) == 3
    assert dovecot.folder_count(PROCESSED) == 1
    async with maker() as session:
        reasons = (
            await session.scalars(
                select(InboundMail.reason).where(InboundMail.kind == "unreadable")
            )
        ).all()
    assert len(reasons) == 3 and all(reasons)


async def test_a_crash_between_the_commit_and_the_move_only_moves_next_time(
    tmp_path: Path, database_url: str, maker: SessionMaker, dovecot: Mailbox
) -> None:
    world = await make_world(maker, 3)
    settings = inbound_settings(tmp_path, database_url, dovecot)
    raws = [reply(world, n) for n in range(3)]
    dovecot.deliver_many(raws)
    # What a worker killed after its commit leaves: the rows, the messages still there.
    await intake.record(
        maker,
        [understand(raw) for raw in raws],
        inbound_address=settings.inbound.address,
        secret=TEST_SECRET,
        now=utcnow(),
    )
    changes = await count(maker, RsvpChange)

    await one_pass(settings, maker)

    assert changes == await count(maker, RsvpChange) == 3
    assert dovecot.folder_count("INBOX") == 0
    assert dovecot.folder_count(PROCESSED) == 3


async def test_two_workers_on_one_mailbox_apply_each_message_once(
    tmp_path: Path, database_url: str, maker: SessionMaker, dovecot: Mailbox
) -> None:
    world = await make_world(maker, 20)
    # Small chunks, so the two interleave and collide on the same messages.
    settings = inbound_settings(tmp_path, database_url, dovecot, batch_size=7)
    raws = [
        reply(world, n, partstat_name, message_id=f"r{n}-{k}@client.example.net")
        for n in range(20)
        for k, partstat_name in enumerate(("outlook_accept", "google_decline", "apple_tentative"))
    ]
    dovecot.deliver_many(raws)
    # A second engine: another process, as far as the database can tell.
    other_engine = create_engine(settings.database)
    try:
        await asyncio.gather(
            one_pass(settings, maker), one_pass(settings, session_maker(other_engine))
        )
    finally:
        await other_engine.dispose()

    assert await count(maker, InboundMail) == len(raws)
    assert await count(maker, RsvpChange) == len(raws)
    assert dovecot.folder_count("INBOX") == 0
    # Every message reached the archive. Rarely one is there twice: both workers moved
    # it at the same instant (two IMAP sessions' MOVEs are not atomic together).
    assert set(dovecot.messages(PROCESSED)) == set(raws)


async def test_the_worker_keeps_trying_when_the_mailbox_refuses_it(
    tmp_path: Path,
    database_url: str,
    maker: SessionMaker,
    dovecot: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(
        tmp_path,
        database_url,
        environ={Mailbox.PASSWORD_ENV: "wrong"},
        inbound=dovecot.inbound(),
    )
    stopping = asyncio.Event()
    caplog.set_level(logging.WARNING, logger="notify.inbound.worker")
    task = asyncio.create_task(worker.run(settings, maker, stopping))
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while "login refused" not in caplog.text:  # the log is what an operator sees
        assert asyncio.get_running_loop().time() < deadline, caplog.text
        assert not task.done(), task
        await asyncio.sleep(0.05)
    stopping.set()
    await asyncio.wait_for(task, DEADLINE)  # ends during its back-off, without error
    assert "trying again in 2s" in caplog.text


# --- the worker inside the app -------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str, dovecot: Mailbox) -> Settings:
    """The app's settings: the mailbox on, background work on, and no poll tick in the
    test's lifetime (what arrives must be heard by IDLE)."""
    return make_settings(
        tmp_path,
        sqlite_url,
        environ=dovecot.environ(),
        inbound=dovecot.inbound(poll_seconds=3600),
        mail={"worker": True},
    )


async def test_the_worker_in_the_app_hears_new_mail_by_idle(
    client: TestClient,
    session_factory: Callable[[], Any],
    dovecot: Mailbox,
) -> None:
    app = client.server.app
    assert app is not None
    await asyncio.wait_for(app[passed_key].wait(), DEADLINE)  # the first pass: nothing
    await asyncio.wait_for(app[listening_key].wait(), DEADLINE)
    world = await make_world(session_factory, 1)

    dovecot.deliver(reply(world, 0, "google_decline"))

    site = world.site_ids[0]
    await wait_until(
        lambda: answers(session_factory, world),
        lambda found: found[site] == (Rsvp.declined, "calendar"),
    )
    assert dovecot.folder_count("INBOX") == 0


async def wait_until(read: Callable[[], Awaitable[Any]], done: Callable[[Any], bool]) -> Any:
    """Reads until `done` says so, failing after DEADLINE (no fixed sleep to wait out)."""
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while True:
        found = await read()
        if done(found):
            return found
        assert asyncio.get_running_loop().time() < deadline, found
        await asyncio.sleep(0.05)
