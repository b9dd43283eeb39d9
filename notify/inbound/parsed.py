"""What an inbound e-mail means, in plain values: the contract between reading
(`notify.inbound.parse`, pure) and applying (`notify.inbound.apply`, the database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class Envelope:
    """The headers every message has (or lacks)."""

    #: The Message-ID (with its <>), else "sha256:<hex digest of the raw bytes>".
    key: str
    #: The From address, lower-case ("" when missing or unreadable).
    sender: str
    subject: str
    #: The Date header, UTC-aware (None when missing or unreadable).
    date: datetime | None
    #: Message-IDs it answers: In-Reply-To first, then References, newest first.
    answers: tuple[str, ...] = ()
    #: The address it was delivered to (Delivered-To, X-Original-To, else To), lower-case:
    #: a bounce to a VERP return path names the outbox message there.
    delivered_to: str = ""


@dataclass(frozen=True)
class CalendarAnswer:
    """An iMIP METHOD:REPLY or METHOD:COUNTER (RFC 5546) about one of our sessions."""

    method: Literal["REPLY", "COUNTER"]
    uid: str
    #: The SEQUENCE of the version answered (0 when the client leaves it out).
    sequence: int
    #: The ATTENDEE's address, lower-case, without "mailto:".
    attendee: str
    #: Upper-case as sent: ACCEPTED, DECLINED, TENTATIVE, DELEGATED, NEEDS-ACTION.
    partstat: str
    delegated_to: str = ""
    comment: str = ""
    #: A COUNTER's proposed times, UTC-aware.
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True)
class Bounce:
    """A message of ours that did not arrive."""

    #: The outbox row named by the VERP return path it came back to (None: not ours/none).
    outbox_id: int | None
    #: The original's Message-ID, when the report quotes its headers.
    original_message_id: str
    #: The address that failed, lower-case.
    recipient: str
    #: The RFC 3463 status ("5.1.1"); "5.0.0" / "4.0.0" when only the class is known.
    status: str
    #: 5.x.x: the address does not work; 4.x.x: a delay or a full mailbox, for now.
    permanent: bool
    #: The remote server's words (Diagnostic-Code, or the bounce's explanation).
    diagnostic: str


@dataclass(frozen=True)
class PlainReply:
    """An e-mail answer without a calendar part: its own text, quotes left off."""

    text: str


@dataclass(frozen=True)
class Unreadable:
    reason: str


Meaning = CalendarAnswer | Bounce | PlainReply | Unreadable


@dataclass(frozen=True)
class Mail:
    envelope: Envelope
    meaning: Meaning
