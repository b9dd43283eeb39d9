"""Tables of notify.inbound: one row per e-mail read from the mailbox.

The row is the proof that a message was processed: it is written in the same
transaction as what the message changed, under a unique key (its Message-ID, or a
digest of its bytes), so a message read twice — after a restart, or by two workers —
changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from meetings.core.store import UTCDateTime, utcnow


class InboundKind(StrEnum):
    #: iMIP METHOD:REPLY: a site accepted, declined, was tentative or delegated.
    reply = "reply"
    #: iMIP METHOD:COUNTER: a site proposes another time.
    counter = "counter"
    #: A delivery status notification (RFC 3464) or a server's non-standard bounce.
    bounce = "bounce"
    #: An e-mail answer with no calendar part.
    plain = "plain"
    #: Could not be understood; kept (moved to the unreadable folder) with the reason.
    unreadable = "unreadable"


class InboundOutcome(StrEnum):
    #: Done: the RSVP set, the message marked bounced, the reply attached.
    applied = "applied"
    #: A reply to an older SEQUENCE than the answer in force: recorded, not applied.
    stale = "stale"
    #: From an address that was not invited: shown to the organiser, not applied.
    stranger = "stranger"
    #: Names no session or message of ours (an unknown UID, a bounce of something else).
    unmatched = "unmatched"
    #: The session is over or cancelled: answers are closed; recorded only.
    closed = "closed"
    #: A counter-proposal waiting for the organiser.
    pending = "pending"
    #: A counter-proposal the organiser accepted (the session moved) or declined.
    accepted = "accepted"
    declined = "declined"
    #: A transient bounce (4.x.x): recorded; the address is not flagged.
    transient = "transient"
    unreadable = "unreadable"


class InboundMail(SQLModel, table=True):
    """One e-mail from the mailbox, what it meant and what was done with it."""

    id: int | None = Field(default=None, primary_key=True)
    #: The Message-ID header, else "sha256:<digest of the bytes>": unique, so processing
    #: the same message again fails here instead of applying it twice.
    key: str = Field(max_length=250, unique=True)
    kind: InboundKind = Field(sa_type=String(16))
    outcome: InboundOutcome = Field(sa_type=String(16))
    #: Why it was not applied, or could not be read (technical detail, shown as is).
    reason: str = Field(default="", sa_type=Text)
    meeting_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=True),
    )
    site_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("site.id", ondelete="SET NULL"), nullable=True),
    )
    contact_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("contact.id", ondelete="SET NULL"), nullable=True),
    )
    #: The outbox message a bounce or a plain reply answers.
    message_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("message.id", ondelete="SET NULL"), nullable=True),
    )
    #: The From address, lower-case.
    sender: str = Field(default="", max_length=254)
    #: A calendar answer's ATTENDEE (the person it is about), a bounce's failed recipient.
    attendee: str = Field(default="", max_length=254)
    subject: str = Field(default="", max_length=500)
    #: A reply's PARTSTAT, lower-case with "_" (accepted, declined, tentative, delegated).
    response: str = Field(default="", max_length=16)
    #: The SEQUENCE of the invitation answered.
    sequence: int | None = Field(default=None)
    delegated_to: str = Field(default="", max_length=254)
    comment: str = Field(default="", sa_type=Text)
    #: A counter-proposal's times (UTC).
    proposed_starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    proposed_ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: A bounce's status code ("5.1.1") and the server's words.
    bounce_status: str = Field(default="", max_length=16)
    #: A plain reply's text (its quoted part left off), at most 20,000 characters.
    text: str = Field(default="", sa_type=Text)
    #: The Date header, else when it was read.
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Who decided a counter-proposal, and when.
    decided_by: str = Field(default="", max_length=100)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (
        Index("ix_inboundmail_meeting", "meeting_id", "created_at"),
        Index("ix_inboundmail_site", "site_id"),
    )
