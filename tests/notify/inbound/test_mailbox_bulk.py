"""The IMAP client with thousands of messages in one command, against a real Dovecot: the
server's answer to each arrives in reads of hundreds of kilobytes holding thousands of
lines (aioimaplib's reader, fed whole, recursed once per line and dropped the
connection past ~950 lines: a pass that had committed its chunk could then never move
it out)."""

from __future__ import annotations

from pathlib import Path

from notify.inbound import mailbox
from tests.notify.inbound.dovecot import Mailbox
from tests.notify.inbound.test_mailbox import inbound, message

MESSAGES = 2_000


async def test_thousands_of_small_messages_are_fetched_and_moved_in_one_command_each(
    tmp_path: Path, sqlite_url: str, dovecot: Mailbox
) -> None:
    sent = [message(n) for n in range(MESSAGES)]  # ~200 bytes each: many lines per read
    dovecot.deliver_many(sent)
    settings = inbound(tmp_path, sqlite_url, dovecot)
    async with mailbox.connect(settings) as box:
        uids = await box.uids()
        fetched = await box.fetch(uids)
        assert [f.uid for f in fetched] == uids
        # Dovecot numbers new mail in the order it lists the Maildir, not of delivery.
        assert sorted(f.raw for f in fetched) == sorted(sent)
        # MOVE answers with one "* 1 EXPUNGE" line per message.
        await box.move(uids, settings.processed_folder)
        assert await box.uids() == []
    assert dovecot.folder_count("INBOX") == 0
    assert sorted(dovecot.messages(settings.processed_folder)) == sorted(sent)
