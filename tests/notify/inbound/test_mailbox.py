"""The IMAP client against a real Dovecot: TLS and STARTTLS with a verified certificate,
login, listing, fetching the exact bytes, moving, waiting for new mail with IDLE, and
the same on a server that offers none of IDLE, MOVE and UIDPLUS."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from meetings.core.settings import InboundSettings
from notify.inbound import mailbox
from notify.inbound.imap import Fetched, folder_name, parse_fetch, uid_set
from notify.inbound.mailbox import MailboxError
from tests.conftest import make_settings
from tests.notify.inbound.dovecot import Dovecot, Mailbox
from tests.notify.mail.test_outbox import free_port
from tests.tls import make_certificates

#: Generous for a loaded machine; the tests wait on events and finish as soon as they fire.
DEADLINE = 30.0


def inbound(tmp_path: Path, url: str, box: Mailbox, **more: Any) -> InboundSettings:
    tls = more.pop("tls", "tls")
    return make_settings(
        tmp_path, url, environ=box.environ(), inbound=box.inbound(tls=tls, **more)
    ).inbound


def message(n: int, body: bytes = b"") -> bytes:
    return (
        b"From: Van phong <vanphong@ubnd-xa.example.vn>\r\n"
        b"To: giaoban@inbound.example.gov.vn\r\n"
        b"Subject: Accepted: Giao ban (" + str(n).encode() + b")\r\n"
        b"Message-ID: <m" + str(n).encode() + b"@mail.example.net>\r\n"
        b"\r\n" + (body or b"Body " + str(n).encode() + b"\r\n")
    )


@pytest.mark.parametrize("tls", ["tls", "starttls"])
async def test_logs_in_over_tls_and_starttls_with_the_configured_authority(
    tmp_path: Path, sqlite_url: str, dovecot: Mailbox, tls: str
) -> None:
    dovecot.deliver(message(1))
    settings = inbound(tmp_path, sqlite_url, dovecot, tls=tls)
    async with mailbox.connect(settings) as box:
        assert box.can_idle
        uids = await box.uids()
        assert len(uids) == 1
        (fetched,) = await box.fetch(uids)
    assert fetched.raw == message(1)
    # Made on the way in, for the messages done and the unreadable ones.
    assert dovecot.folder_count("giaoban-processed") == 0
    assert dovecot.folder_count("giaoban-unreadable") == 0


@pytest.mark.parametrize("tls", ["tls", "starttls"])
async def test_a_certificate_from_another_authority_is_refused(
    tmp_path: Path, sqlite_url: str, dovecot: Mailbox, tls: str
) -> None:
    (tmp_path / "other").mkdir()
    stranger = make_certificates(tmp_path / "other", ca_name="someone else's CA")
    settings = inbound(tmp_path, sqlite_url, dovecot, tls=tls, imap_cafile=str(stranger.ca))
    with pytest.raises(MailboxError, match="certificate not trusted"):
        async with mailbox.connect(settings):
            pass


async def test_a_wrong_password_is_refused_clearly(
    tmp_path: Path, sqlite_url: str, dovecot: Mailbox
) -> None:
    settings = make_settings(
        tmp_path,
        sqlite_url,
        environ={Mailbox.PASSWORD_ENV: "wrong"},
        inbound=dovecot.inbound(),
    ).inbound
    with pytest.raises(MailboxError, match=f"login refused for '{dovecot.user}'"):
        async with mailbox.connect(settings):
            pass


async def test_nothing_listening_is_a_mailbox_error(
    tmp_path: Path, sqlite_url: str, dovecot: Mailbox
) -> None:
    settings = inbound(tmp_path, sqlite_url, dovecot, imap_port=free_port())
    with pytest.raises(MailboxError, match="cannot connect"):
        async with mailbox.connect(settings):
            pass


async def test_fetch_keeps_each_message_bytes_exact_and_with_its_uid(
    tmp_path: Path, sqlite_url: str, dovecot: Mailbox
) -> None:
    tricky = [
        message(1),
        # What an IMAP reader could take for protocol: a literal announcement, parentheses,
        # "UID 9", a line like a tagged reply, 8-bit bytes, no final CRLF.
        message(2, b"See {12}\r\n(UID 9) FETCH (\r\nA1 OK done\r\n* 3 EXISTS\r\n"),
        message(3, "Vào lúc 8 giờ, chúng tôi đồng ý.\r\n".encode()),
        # (No NUL: IMAP literals cannot carry one; Dovecot sends it as 0x80.)
        message(4, b"\xff\xfe not UTF-8 \x01"),
        message(5, b"x" * 200_000 + b"\r\n"),
    ]
    dovecot.deliver_many(tricky)
    async with mailbox.connect(inbound(tmp_path, sqlite_url, dovecot)) as box:
        uids = await box.uids()
        fetched = await box.fetch(uids)
        assert [f.uid for f in fetched] == uids
        assert [f.raw for f in fetched] == tricky
        # BODY.PEEK: nothing marked read.
        assert await box.fetch([]) == []
    assert all(":2,S" not in path.name for path in (dovecot.maildir / "cur").iterdir())


async def test_move_takes_messages_out_of_the_folder_into_another(
    tmp_path: Path, sqlite_url: str, dovecot: Mailbox
) -> None:
    dovecot.deliver_many(message(n) for n in range(10))
    async with mailbox.connect(inbound(tmp_path, sqlite_url, dovecot)) as box:
        uids = await box.uids()
        await box.move(uids[:7], "giaoban-processed")
        await box.move(uids[7:9], "giaoban-unreadable")
        await box.move([], "giaoban-unreadable")
        assert await box.uids() == uids[9:]
    assert dovecot.folder_count("INBOX") == 1
    assert dovecot.folder_count("giaoban-processed") == 7
    assert dovecot.folder_count("giaoban-unreadable") == 2
    assert sorted(dovecot.messages("giaoban-unreadable")) == sorted([message(7), message(8)])


async def test_folders_with_spaces_and_vietnamese_names(
    tmp_path: Path, sqlite_url: str, dovecot: Mailbox
) -> None:
    dovecot.deliver(message(1))
    settings = inbound(
        tmp_path,
        sqlite_url,
        dovecot,
        processed_folder="Đã xử lý",
        unreadable_folder="Không đọc được",
    )
    async with mailbox.connect(settings) as box:
        await box.move(await box.uids(), "Đã xử lý")
    # Read back through IMAP, as a mail client would show it.
    async with mailbox.connect(
        inbound(tmp_path, sqlite_url, dovecot, folder="Đã xử lý", processed_folder="Đã xử lý")
    ) as box:
        (fetched,) = await box.fetch(await box.uids())
    assert fetched.raw == message(1)
    # Opening again finds the folders there (no error for "already exists").
    async with mailbox.connect(settings) as box:
        assert await box.uids() == []


async def test_idle_wakes_when_mail_arrives(
    tmp_path: Path, sqlite_url: str, dovecot: Mailbox
) -> None:
    async with mailbox.connect(inbound(tmp_path, sqlite_url, dovecot)) as box:
        assert await box.uids() == []
        listening, stopping = asyncio.Event(), asyncio.Event()
        waiter = asyncio.create_task(box.wait(3600, stopping, waiting=listening))
        await asyncio.wait_for(listening.wait(), DEADLINE)
        dovecot.deliver(message(1))
        await asyncio.wait_for(waiter, DEADLINE)  # not the hour: the server said so
        assert not listening.is_set()
        assert len(await box.uids()) == 1


async def test_waiting_ends_when_the_worker_stops(
    tmp_path: Path, sqlite_url: str, dovecot: Mailbox
) -> None:
    async with mailbox.connect(inbound(tmp_path, sqlite_url, dovecot)) as box:
        listening, stopping = asyncio.Event(), asyncio.Event()
        waiter = asyncio.create_task(box.wait(3600, stopping, waiting=listening))
        await asyncio.wait_for(listening.wait(), DEADLINE)
        stopping.set()
        await asyncio.wait_for(waiter, DEADLINE)
        # The IDLE was ended properly: the session goes on.
        assert await box.uids() == []


async def test_a_server_without_idle_move_or_uidplus(
    tmp_path: Path, sqlite_url: str, dovecot_server: Dovecot
) -> None:
    bare = dovecot_server.new_mailbox(bare=True)
    bare.deliver_many(message(n) for n in range(5))
    async with mailbox.connect(inbound(tmp_path, sqlite_url, bare)) as box:
        assert not box.can_idle
        uids = await box.uids()
        await box.move(uids[:3], "giaoban-processed")  # COPY, \Deleted, EXPUNGE
        assert await box.uids() == uids[3:]
        # Without IDLE, waiting is the poll interval, cut short by a stop.
        stopping = asyncio.Event()
        waiter = asyncio.create_task(box.wait(3600, stopping))
        stopping.set()
        await asyncio.wait_for(waiter, DEADLINE)
    assert bare.folder_count("INBOX") == 2
    assert bare.folder_count("giaoban-processed") == 3


def test_uid_sets_are_ranges() -> None:
    assert uid_set([5, 1, 2, 3, 9, 10, 3]) == "1:3,5,9:10"
    assert uid_set([7]) == "7"
    with pytest.raises(ValueError):
        uid_set([])


def test_folder_names_are_quoted_and_modified_utf7() -> None:
    assert folder_name("giaoban-processed") == "giaoban-processed"
    # RFC 3501 5.1.3: UTF-16 in base64 with "," for "/", between "&" and "-".
    assert folder_name("Đã xử lý") == '"&ARAA4w- x&Hu0- l&AP0-"'
    assert folder_name("Không đọc được") == '"Kh&APQ-ng &AREezQ-c &AREBsB7j-c"'
    assert folder_name("A&B") == "A&-B"


def test_fetch_lines_with_the_uid_after_the_literal() -> None:
    lines = [
        b"1 FETCH (BODY[] {5}",
        bytearray(b"hello"),
        b" UID 41)",
        b"2 FETCH (UID 42 BODY[] {0}",
        bytearray(b""),
        b")",
        b"3 FETCH (UID 43 BODY[] NIL)",
        b"4 FETCH (FLAGS (\\Seen))",
        b"Fetch completed.",
    ]
    assert parse_fetch(lines) == [Fetched(41, b"hello"), Fetched(42, b"")]
