"""A calendar answer from an address we did not invite (a stranger's), applied by the
organiser to the invited site it speaks for.

A coordinator may answer from a private or shared mailbox: the reply is kept as a
stranger's, never applied on a guess. The organiser who knows whose it is chooses the
site; the answer then goes through the same rule as any calendar reply
(`apply.calendar_reply`, so `rsvp.take_answer` and its stale-SEQUENCE rule), with the
address as its source. Decided once: the row is claimed by a conditional UPDATE, so of
two organisers applying it at the same moment one does and the other is told (409).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from meetings.core.errors import Conflict, FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.store import key_col, utcnow
from meetings.core.types import Id
from meetings.planning import rsvp
from meetings.planning.models import Meeting, Participation
from meetings.register.models import Cluster, Site
from notify.inbound.apply import ANSWERS, DELEGATED, calendar_reply
from notify.inbound.inbox import InboundMailPublic
from notify.inbound.models import InboundKind, InboundMail, InboundOutcome
from notify.inbound.parsed import CalendarAnswer


class StrangerApply(SQLModel):
    """POST …/inbox/{inbound_id}/apply: the invited site the answer speaks for."""

    site_id: Id


class StrangerApplied(SQLModel):
    """The e-mail as decided (applied, or stale: it answered an older version than the
    site's answer in force), and the site's answer now."""

    mail: InboundMailPublic
    rsvp: rsvp.RsvpOut


async def get_stranger(session: AsyncSession, meeting_id: int, inbound_id: int) -> InboundMail:
    """A calendar answer about this session; anything else is not found."""
    row = await session.get(InboundMail, inbound_id)
    if row is None or row.meeting_id != meeting_id or row.kind != InboundKind.reply:
        raise NotFound.of(
            N_("no calendar answer {inbound_id} in session {meeting_id}"),
            inbound_id=inbound_id,
            meeting_id=meeting_id,
        )
    return row


def _refuse_unless_stranger(row: InboundMail) -> None:
    """Only a stranger's answer waits for a site; one applied since is told by whom."""
    if row.outcome == InboundOutcome.stranger:
        return
    if row.decided_by:
        raise Conflict.at(
            "outcome", N_("This answer was already applied by {by}"), by=row.decided_by
        )
    raise Conflict.at("outcome", N_("This answer is not from an unknown address"))


async def _participation(session: AsyncSession, meeting_id: int, site_id: int) -> Participation:
    """The chosen site's row in the session; a site not invited names the field (422)."""
    row = await session.scalar(
        select(Participation).where(
            col(Participation.meeting_id) == meeting_id, col(Participation.site_id) == site_id
        )
    )
    if row is None:
        raise Invalid(
            "site not invited",
            [FieldProblem("site_id", N_("This site is not invited to the session"))],
        )
    return row


async def _claim(session: AsyncSession, row: InboundMail, *, by: str, now: datetime) -> None:
    """Mark the answer decided, only if it is still a stranger's (else Conflict, 409)."""
    result = await session.execute(
        update(InboundMail)
        .where(col(InboundMail.id) == row.id, col(InboundMail.outcome) == InboundOutcome.stranger)
        .values(outcome=InboundOutcome.applied, decided_by=by[:100], decided_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(row)
    if cast(CursorResult[Any], result).rowcount != 1:
        _refuse_unless_stranger(row)


def _answer(row: InboundMail) -> CalendarAnswer:
    """The stored answer as the calendar sent it (InboundMail keeps PARTSTAT lower-case)."""
    partstat = row.response.upper().replace("_", "-")
    if partstat not in ANSWERS and partstat != DELEGATED:
        raise Invalid(
            "no answer",
            [FieldProblem("response", N_("The e-mail gives no answer to apply"))],
        )
    return CalendarAnswer(
        method="REPLY",
        uid="",
        sequence=row.sequence or 0,
        attendee=row.attendee or row.sender,
        partstat=partstat,
        delegated_to=row.delegated_to,
        comment=row.comment,
    )


async def apply_stranger(
    session: AsyncSession,
    meeting_id: int,
    inbound_id: int,
    *,
    site_id: int,
    by: str,
    now: datetime | None = None,
) -> StrangerApplied:
    """Take a stranger's calendar answer as `site_id`'s (an invited site): its RSVP set,
    unless the answer is to an older version than the one in force (then recorded, the
    e-mail marked stale), and the e-mail marked decided by `by`."""
    now = now or utcnow()
    row = await get_stranger(session, meeting_id, inbound_id)
    _refuse_unless_stranger(row)
    answer = _answer(row)
    participation = await _participation(session, meeting_id, site_id)
    meeting = await session.get_one(Meeting, meeting_id)
    if rsvp.answers_closed(meeting.status):
        raise Invalid(
            "closed session",
            [FieldProblem("response", N_("Answers are closed: the session is over or cancelled"))],
        )
    await _claim(session, row, by=by, now=now)
    change = calendar_reply(participation, answer, now=now)
    session.add(change)
    row.site_id = site_id
    if not change.applied:
        row.outcome = InboundOutcome.stale
        row.reason = f"SEQUENCE {answer.sequence} < {participation.rsvp_sequence}"
    await session.flush()
    site_name = await session.scalar(select(col(Site.name)).where(col(Site.id) == site_id))
    return StrangerApplied(
        mail=InboundMailPublic.model_validate(row, update={"site_name": site_name}),
        rsvp=await rsvp.get_answer(session, meeting_id, site_id),
    )


class Choice(NamedTuple):
    site_id: int
    code: str
    name: str


async def invited_choices(session: AsyncSession, meeting_id: int) -> list[tuple[str, list[Choice]]]:
    """The session's invited sites to choose from, by cluster (sites in none last, under
    ""), by name: one query however many are invited."""
    rows = await session.execute(
        select(key_col(Site.id), col(Site.code), col(Site.name), col(Cluster.name))
        .join(Participation, col(Participation.site_id) == col(Site.id))
        .outerjoin(Cluster, col(Cluster.id) == col(Site.cluster_id))
        .where(col(Participation.meeting_id) == meeting_id)
        .order_by(col(Cluster.name).is_(None), col(Cluster.name), col(Site.name), col(Site.id))
    )
    groups: dict[str, list[Choice]] = {}
    for site_id, code, name, cluster in rows.all():
        groups.setdefault(cluster or "", []).append(Choice(site_id, code, name))
    return list(groups.items())
