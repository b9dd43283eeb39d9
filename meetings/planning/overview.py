"""What the session page shows of a session: its invited sites' answers tallied by cluster
(the list itself is meetings.planning.site_list's, shared), its documents and its notice
deadlines (the page only renders this)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.planning import documents, series
from meetings.planning import lifecycle as planning
from meetings.planning.document_models import DocumentPublic
from meetings.planning.models import MeetingPublic, MeetingStatus, ParticipationPublic, Rsvp
from meetings.planning.phases import Phase, PhaseFacts, phase_of
from meetings.planning.rsvp_models import RsvpChange, RsvpChangePublic
from meetings.planning.workdays import Deadline, planning_deadlines
from meetings.register.groups import by_cluster


@dataclass(frozen=True)
class ClusterAnswers:
    """One cluster's invited sites, with how many accepted and the delegates expected."""

    cluster_id: int | None
    name: str | None
    sites: list[ParticipationPublic]
    accepted: int
    #: Expected delegates of every site that has not declined.
    delegates: int


@dataclass(frozen=True)
class Answers:
    """The invited sites' answers: per answer, per cluster (register order), in total."""

    counts: dict[Rsvp, int]
    delegates: int
    clusters: list[ClusterAnswers]


def _delegates(invited: Iterable[ParticipationPublic]) -> int:
    return sum(p.expected_delegates or 0 for p in invited if p.rsvp != Rsvp.declined)


def tally_answers(invited: Sequence[ParticipationPublic]) -> Answers:
    """The answers of `invited` (in register order, so a cluster's sites are together)."""
    clusters = [
        ClusterAnswers(
            cluster_id=group.cluster_id,
            name=group.name,
            sites=group.sites,
            accepted=sum(1 for p in group.sites if p.rsvp == Rsvp.accepted),
            delegates=_delegates(group.sites),
        )
        for group in by_cluster(invited)
    ]
    counts = dict.fromkeys(Rsvp, 0)
    for participation in invited:
        counts[participation.rsvp] += 1
    return Answers(counts, _delegates(invited), clusters)


def session_deadlines(
    meeting: MeetingPublic, files: Sequence[DocumentPublic], *, now: datetime
) -> list[Deadline]:
    """The notice deadlines of a session being planned (none once it is live). Documents
    count as sent once uploaded, since sites see them through their link; invitations are
    judged once sending is recorded."""
    if meeting.status not in (MeetingStatus.draft, MeetingStatus.scheduled):
        return []
    first_upload = min((d.uploaded_at for d in files), default=None)
    deadlines = planning_deadlines(
        starts_at=meeting.starts_at,
        timezone=meeting.timezone,
        now=now,
        is_urgent=meeting.is_urgent,
    )
    return [d.met_by(first_upload) if d.kind == "documents" else d for d in deadlines]


#: Another part's flags about a session (see meetings.core.keys.session_facts_key).
FactsProvider = Callable[[AsyncSession, int], Awaitable[dict[str, bool]]]


@dataclass(frozen=True)
class SessionOverview:
    meeting: MeetingPublic
    documents: list[DocumentPublic]
    deadlines: list[Deadline]
    phase: Phase
    #: The session that was made from this one (its series successor), if any.
    next_meeting: MeetingPublic | None = None


async def session_overview(
    session: AsyncSession,
    meeting_id: int,
    *,
    now: datetime,
    facts: Sequence[FactsProvider] = (),
) -> SessionOverview:
    """The session with its documents, deadlines and phase (decided with the flags of the
    `facts` providers); its invited sites are meetings.planning.site_list's."""
    meeting = await planning.get_meeting(session, meeting_id)
    files = await documents.list_documents(session, meeting_id)
    flags = [await provide(session, meeting_id) for provide in facts]
    return SessionOverview(
        meeting=meeting,
        documents=files,
        deadlines=session_deadlines(meeting, files, now=now),
        phase=phase_of(meeting, PhaseFacts.of(now, flags)),
        next_meeting=await series.successor(session, meeting_id),
    )


async def answer_histories(
    session: AsyncSession, meeting_id: int
) -> dict[int, list[RsvpChangePublic]]:
    """Every invited site's answers, oldest first, with where each came from: one query
    for the whole session (the grid shows them beside each site's answer)."""
    rows = await session.scalars(
        select(RsvpChange)
        .where(col(RsvpChange.meeting_id) == meeting_id)
        .order_by(col(RsvpChange.site_id), col(RsvpChange.at), col(RsvpChange.id))
    )
    found: dict[int, list[RsvpChangePublic]] = {}
    for row in rows:
        found.setdefault(row.site_id, []).append(RsvpChangePublic.model_validate(row))
    return found
