"""How far each listed session's invitations have got, for the organiser's dashboard: one
grouped query for all the sessions, whatever the number of sites."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.labels import N_
from meetings.planning.models import MeetingPublic, Participation
from meetings.register.bounces import reachable
from meetings.register.models import Contact
from notify.mail.models import Message, MessageKind, MessageStatus

INVITING = (MessageKind.invitation, MessageKind.update)


class InvitationState(StrEnum):
    not_sent = "not_sent"
    sent = "sent"
    #: Sent, but the time, place or link changed since, or sites were added.
    update_due = "update_due"


INVITATION_STATE_LABELS = {
    InvitationState.not_sent: N_("Invitations not sent"),
    InvitationState.sent: N_("Invitations sent"),
    InvitationState.update_due: N_("Update due"),
}


@dataclass(frozen=True)
class InvitationProgress:
    state: InvitationState
    #: Invited sites that were sent an invitation or an update.
    sites_reached: int
    #: Sites invited in all.
    sites_invited: int
    #: Messages that could not be delivered.
    failed: int


async def invitation_progress(
    session: AsyncSession, meetings: Sequence[MeetingPublic]
) -> dict[int, InvitationProgress]:
    """Per session: invitations not sent, sent, or an update due (the session's calendar
    sequence rose after the last sending, or an invited site that mail can reach was
    sent nothing yet). Two grouped queries for all the sessions."""
    if not meetings:
        return {}
    ids = [m.id for m in meetings]
    failed = case((col(Message.status) == MessageStatus.failed, 1), else_=0)
    rows = await session.execute(
        select(
            col(Message.meeting_id),
            func.count(func.distinct(col(Message.site_id))),
            func.max(col(Message.sequence)),
            func.sum(failed),
        )
        .join(
            Participation,
            (col(Participation.meeting_id) == col(Message.meeting_id))
            & (col(Participation.site_id) == col(Message.site_id)),
        )
        .where(
            col(Message.meeting_id).in_(ids),
            col(Message.kind).in_(INVITING),
            col(Message.status) != MessageStatus.skipped,
        )
        .group_by(col(Message.meeting_id))
    )
    sent = {meeting_id: (sites, sequence, bad) for meeting_id, sites, sequence, bad in rows}
    mailable = dict(
        (
            await session.execute(
                select(
                    col(Participation.meeting_id), func.count(func.distinct(col(Contact.site_id)))
                )
                .join(Contact, col(Contact.site_id) == col(Participation.site_id))
                .where(col(Participation.meeting_id).in_(ids), reachable())
                .group_by(col(Participation.meeting_id))
            )
        ).all()
    )
    found = {}
    for meeting in meetings:
        sites, sequence, bad = sent.get(meeting.id, (0, None, 0))
        if sequence is None:
            state = InvitationState.not_sent
        elif sequence < meeting.sequence or sites < mailable.get(meeting.id, 0):
            state = InvitationState.update_due
        else:
            state = InvitationState.sent
        found[meeting.id] = InvitationProgress(state, sites, meeting.site_count, bad or 0)
    return found
