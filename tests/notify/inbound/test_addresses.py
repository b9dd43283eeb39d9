"""VERP return paths: a bounce names the message it answers, and nobody can forge one."""

from __future__ import annotations

import pytest

from notify.inbound.addresses import outbox_id_of, return_path
from notify.inbound.parse import understand
from notify.inbound.parsed import Bounce
from tests.notify.inbound.samples import sample

INBOX = "giaoban@inbound.example.gov.vn"
SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def test_a_return_path_is_the_inbox_tagged_with_the_message_and_a_signature() -> None:
    address = return_path(INBOX, 42, SECRET)
    local, _, domain = address.partition("@")
    assert domain == "inbound.example.gov.vn"
    assert local.startswith("giaoban+b42-")
    assert len(local.rpartition("-")[2]) == 8
    assert outbox_id_of(address, inbound_address=INBOX, secret=SECRET) == 42


def test_case_and_angle_brackets_do_not_matter() -> None:
    address = return_path(INBOX, 7, SECRET)
    for seen in (address.upper(), f"<{address}>", f"Giao ban <{address}>"):
        assert outbox_id_of(seen, inbound_address=INBOX.upper(), secret=SECRET) == 7


@pytest.mark.parametrize(
    "forged",
    [
        "giaoban+b42-00000000@inbound.example.gov.vn",  # a made-up signature
        "giaoban+b43-{sig}@inbound.example.gov.vn",  # another message, this signature
        "giaoban+b42-{sig}@elsewhere.example.gov.vn",  # another domain
        "other+b42-{sig}@inbound.example.gov.vn",  # another mailbox
        "giaoban@inbound.example.gov.vn",  # no tag
        "giaoban+b42@inbound.example.gov.vn",  # no signature
        "giaoban+bx-{sig}@inbound.example.gov.vn",
        "",
        "not an address",
    ],
)
def test_what_is_not_ours_names_no_message(forged: str) -> None:
    signature = return_path(INBOX, 42, SECRET).partition("-")[2].partition("@")[0]
    address = forged.replace("{sig}", signature)
    assert outbox_id_of(address, inbound_address=INBOX, secret=SECRET) is None


def test_another_secret_does_not_verify() -> None:
    address = return_path(INBOX, 42, SECRET)
    assert outbox_id_of(address, inbound_address=INBOX, secret="another secret") is None


def test_the_inbox_address_must_be_an_address() -> None:
    with pytest.raises(ValueError, match="not an e-mail address"):
        return_path("giaoban", 1, SECRET)


@pytest.mark.parametrize("name", ["dsn_5_1_1", "exim_failed", "qmail", "o365_ndr", "gmail_bounce"])
def test_a_bounce_names_our_message_through_the_address_it_came_back_to(name: str) -> None:
    mail = understand(sample(name, return_path=return_path(INBOX, 1234, SECRET)))
    assert isinstance(mail.meaning, Bounce)
    assert mail.meaning.outbox_id is None
    found = outbox_id_of(mail.envelope.delivered_to, inbound_address=INBOX, secret=SECRET)
    assert found == 1234
