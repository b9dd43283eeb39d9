"""Tables of notify/: the outbox (one row per outgoing e-mail) and the sites' link tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from meetings.core.store import UTCDateTime, utcnow


class MessageKind(StrEnum):
    invitation = "invitation"
    update = "update"
    cancellation = "cancellation"
    reminder = "reminder"
    rsvp_chaser = "rsvp_chaser"
    rehearsal = "rehearsal"
    minutes = "minutes"
    #: To the chair and the secretary (not a site): the session ended, its draft minutes
    #: are ready.
    minutes_ready = "minutes_ready"
    #: To one contact: the organiser declined the other time it proposed (iTIP
    #: METHOD:DECLINECOUNTER).
    declinecounter = "declinecounter"
    #: To the contacts of the site that raised a recommendation: its answer.
    recommendation_answer = "rec_answer"
    #: To the owner of an overdue action item (its site's contacts, its cluster's leading
    #: site's, or its unit's address): a reminder that it is late.
    action_chase = "action_chase"
    #: To the contacts of a site that has not sent a requested report: a reminder.
    report_chaser = "report_chaser"


class MessageStatus(StrEnum):
    queued = "queued"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"
    #: Sent, then a delivery status notification said it did not arrive (last_error
    #: holds the reason).
    bounced = "bounced"


class Message(SQLModel, table=True):
    """One outgoing e-mail: written in the transaction that caused it, then delivered.

    The row is the promise: a worker claims it (status sending), sends, and marks it sent
    or schedules a retry, so a crash loses nothing and re-sends nothing already marked.
    The content is rendered at delivery from the session's current data.
    """

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    site_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("site.id", ondelete="SET NULL"), nullable=True),
    )
    recipient: str = Field(max_length=254)
    recipient_name: str = Field(default="", max_length=200)
    kind: MessageKind = Field(sa_type=String(16))
    status: MessageStatus = Field(default=MessageStatus.queued, sa_type=String(16))
    #: The calendar SEQUENCE the message carries (the session's, when it was queued).
    sequence: int = Field(default=0)
    attempts: int = Field(default=0)
    last_error: str = Field(default="", sa_type=Text)
    #: Not before this time (a chosen send time, or the next retry).
    send_after: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: str = Field(default="", max_length=200)
    #: Makes a message unique (a reminder per session, site, kind and due time): a second
    #: scheduler process inserting the same key fails instead of sending twice.
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    #: An invitation's or update's view of the session as its site sees it
    #: (notify.mail.versions.site_view): the next sending compares it with now.
    seen: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: An update's earlier view (what the site had), so the message says what changed.
    seen_before: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: A recommendation's answer: the recommendation it tells (rendered from its answer
    #: as it is at delivery).
    recommendation_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey(
                "recommendation.id", ondelete="CASCADE", name="fk_message_recommendation_id"
            ),
            nullable=True,
        ),
    )
    #: An overdue action item's reminder: the item it tells of (rendered as it is then).
    action_item_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("actionitem.id", ondelete="CASCADE", name="fk_message_action_item_id"),
            nullable=True,
        ),
    )
    #: A reminder of a requested report: the request it tells of.
    report_request_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey(
                "report_request.id", ondelete="CASCADE", name="fk_message_report_request_id"
            ),
            nullable=True,
        ),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    __table_args__ = (
        Index("ix_message_status_send_after", "status", "send_after"),
        # A bounce or a plain reply names the message it answers by its Message-ID.
        Index("ix_message_message_id", "message_id"),
    )


class MessagePublic(SQLModel):
    id: int
    recipient: str
    recipient_name: str
    site_id: int | None
    kind: MessageKind
    status: MessageStatus
    sequence: int
    attempts: int
    last_error: str
    send_after: datetime
    sent_at: datetime | None


class SiteToken(SQLModel, table=True):
    """A site's secret link: only its SHA-256 is kept; revoking raises the generation."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("site.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    generation: int = Field(default=1)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NoticeKind(StrEnum):
    #: The session ended: its draft minutes are ready for the secretary and the chair.
    minutes_ready = "minutes_ready"


class Notice(SQLModel, table=True):
    """A notice to the office's own people (chair, secretary), shown on their dashboards
    and mailed to them. One per session and kind: the end of a session seen twice (a
    restart, a second scheduler, a person and the scheduler) is told once."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False)
    )
    kind: NoticeKind = Field(sa_type=String(32))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)

    __table_args__ = (UniqueConstraint("meeting_id", "kind", name="uq_notice_meeting_kind"),)
