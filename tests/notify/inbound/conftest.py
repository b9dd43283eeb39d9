"""Fixtures of the inbound tests: the real IMAP server (tests/notify/inbound/dovecot.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notify.inbound.dovecot import DOVECOT, Dovecot, Mailbox


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    """One Dovecot for the whole run (it starts in well under a second, but once is
    enough: every test gets its own user)."""
    if not Path(DOVECOT).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{DOVECOT} is required in CI (apt-get install dovecot-imapd)")
        pytest.skip(f"{DOVECOT} is not installed (apt-get install dovecot-imapd)")
    server = Dovecot.start()
    yield server
    server.stop()


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Mailbox:
    """A fresh user with an empty INBOX on the shared Dovecot: a test sees only its mail."""
    return dovecot_server.new_mailbox()
