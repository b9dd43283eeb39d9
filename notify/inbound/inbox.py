"""The inbox as the organiser reads it: what the sites sent about a session (or about no
session we know), newest first, a page at a time, with counts for the filters.

A national session has 10,000 sites and so maybe as many e-mails: every function here
is one query (or two: a page and its total), never one per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from meetings.core.errors import FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.planning.models import Meeting
from meetings.register.models import Site
from notify.inbound.labels import FILTERS
from notify.inbound.models import InboundKind, InboundMail, InboundOutcome

#: What the service-wide inbox lists: mail that names no session of ours.
UNMATCHED = (InboundOutcome.unmatched, InboundOutcome.unreadable)


class InboundMailPublic(SQLModel):
    """One e-mail from the mailbox, what it meant and what was done with it."""

    id: int
    kind: InboundKind
    outcome: InboundOutcome
    #: Why it was not applied, or could not be read (technical detail).
    reason: str
    meeting_id: int | None
    site_id: int | None
    site_name: str | None = None
    contact_id: int | None
    #: The outbox message a bounce or a plain reply answers.
    message_id: int | None
    sender: str
    attendee: str
    subject: str
    response: str
    sequence: int | None
    delegated_to: str
    comment: str
    proposed_starts_at: datetime | None
    proposed_ends_at: datetime | None
    bounce_status: str
    text: str
    received_at: datetime
    created_at: datetime
    decided_by: str
    decided_at: datetime | None


@dataclass(frozen=True)
class Filter:
    """Which e-mails to list: of one kind, with one outcome, or both (None: any)."""

    kind: InboundKind | None = None
    outcome: InboundOutcome | None = None

    @classmethod
    def of(cls, kind: str | None, outcome: str | None) -> Filter:
        """From the query (`?kind=&outcome=`); an unknown value names its field (422)."""
        problems = []
        if kind and kind not in InboundKind.__members__:
            problems.append(
                FieldProblem.of(
                    "kind",
                    N_("unknown kind {value} (allowed: {allowed})"),
                    value=kind[:40],
                    allowed=", ".join(InboundKind),
                )
            )
        if outcome and outcome not in InboundOutcome.__members__:
            problems.append(
                FieldProblem.of(
                    "outcome",
                    N_("unknown outcome {value} (allowed: {allowed})"),
                    value=outcome[:40],
                    allowed=", ".join(InboundOutcome),
                )
            )
        if problems:
            raise Invalid("bad filter", problems)
        return cls(
            InboundKind(kind) if kind else None, InboundOutcome(outcome) if outcome else None
        )

    @classmethod
    def named(cls, name: str) -> Filter:
        """One of the page's filters (labels.FILTERS); an unknown name is all of them."""
        kind, outcome, _label = FILTERS.get(name, FILTERS["all"])
        return cls(
            InboundKind(kind) if kind else None, InboundOutcome(outcome) if outcome else None
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        found = []
        if self.kind is not None:
            found.append(col(InboundMail.kind) == self.kind)
        if self.outcome is not None:
            found.append(col(InboundMail.outcome) == self.outcome)
        return found


@dataclass(frozen=True)
class InboxPage:
    items: list[InboundMailPublic]
    total: int


def _where(meeting_id: int | None) -> list[ColumnElement[bool]]:
    """A session's mail, or (None) the mail that names no session."""
    if meeting_id is None:
        return [col(InboundMail.meeting_id).is_(None), col(InboundMail.outcome).in_(UNMATCHED)]
    return [col(InboundMail.meeting_id) == meeting_id]


def _public(rows: Sequence[tuple[InboundMail, str | None]]) -> list[InboundMailPublic]:
    return [InboundMailPublic.model_validate(row, update={"site_name": name}) for row, name in rows]


async def inbox_page(
    session: AsyncSession,
    *,
    meeting_id: int | None,
    only: Filter = Filter(),
    limit: int,
    offset: int = 0,
) -> InboxPage:
    """One page of a session's mail (or of the mail naming no session), newest first."""
    where = [*_where(meeting_id), *only.conditions()]
    total = await session.scalar(select(func.count()).select_from(InboundMail).where(*where))
    rows = await session.execute(
        select(InboundMail, col(Site.name))
        .outerjoin(Site, col(Site.id) == col(InboundMail.site_id))
        .where(*where)
        .order_by(col(InboundMail.created_at).desc(), col(InboundMail.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return InboxPage(_public(rows.all()), total or 0)


async def filter_counts(session: AsyncSession, *, meeting_id: int | None) -> dict[str, int]:
    """How many e-mails each of the page's filters (labels.FILTERS) lists: one query."""
    rows = await session.execute(
        select(col(InboundMail.kind), col(InboundMail.outcome), func.count())
        .where(*_where(meeting_id))
        .group_by(col(InboundMail.kind), col(InboundMail.outcome))
    )
    counts = dict.fromkeys(FILTERS, 0)
    for kind, outcome, count in rows.all():
        for name, (wanted_kind, wanted_outcome, _label) in FILTERS.items():
            if wanted_kind in (None, kind) and wanted_outcome in (None, outcome):
                counts[name] += count
    return counts


async def pending_counters(session: AsyncSession, meeting_id: int) -> list[InboundMailPublic]:
    """The session's proposals of another time still waiting for the organiser, oldest
    first (they are answered in the order they came)."""
    rows = await session.execute(
        select(InboundMail, col(Site.name))
        .outerjoin(Site, col(Site.id) == col(InboundMail.site_id))
        .where(
            col(InboundMail.meeting_id) == meeting_id,
            col(InboundMail.kind) == InboundKind.counter,
            col(InboundMail.outcome) == InboundOutcome.pending,
        )
        .order_by(col(InboundMail.created_at), col(InboundMail.id))
    )
    return _public(rows.all())


@dataclass(frozen=True)
class Waiting:
    """A session with proposals of another time waiting for the organiser."""

    meeting_id: int
    title: str
    count: int


async def pending_counter_sessions(session: AsyncSession) -> list[Waiting]:
    """Every session with proposals waiting, and how many (the organiser's dashboard)."""
    rows = await session.execute(
        select(col(Meeting.id), col(Meeting.title), func.count())
        .join(InboundMail, col(InboundMail.meeting_id) == col(Meeting.id))
        .where(
            col(InboundMail.kind) == InboundKind.counter,
            col(InboundMail.outcome) == InboundOutcome.pending,
        )
        .group_by(col(Meeting.id), col(Meeting.title), col(Meeting.starts_at))
        .order_by(col(Meeting.starts_at))
    )
    return [Waiting(meeting_id or 0, title, count) for meeting_id, title, count in rows.all()]
