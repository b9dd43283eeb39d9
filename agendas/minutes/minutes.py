"""The minutes: built from the record and the attendance, approved by the chair, kept.

The draft is always built anew from the record, so it is never stale. Approval freezes
the draft as version N (JSON of `MinutesData`, with who and when); a later change of the
record makes the next draft, N+1, and every approved version stays downloadable. The
attendance figures come from the attendance report, so the two always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.minutes.data import (
    MinutesAction,
    MinutesAgendaItem,
    MinutesAttendance,
    MinutesCluster,
    MinutesContribution,
    MinutesData,
    MinutesFocusItem,
    MinutesMeeting,
    MinutesOrganisation,
    MinutesRecommendation,
    MinutesSite,
)
from agendas.programme import programme
from agendas.programme.models import AgendaItemPublic
from agendas.record import notes as record_notes
from agendas.record import recommendations, record
from agendas.record.models import (
    ContributionPublic,
    Minutes,
    MinutesVersion,
    NotePublic,
    RecommendationPublic,
)
from meetings.attendance.report import AttendanceReport, build_report
from meetings.core import signals
from meetings.core.errors import FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.settings import OrganisationSettings
from meetings.core.store import id_of, utcnow
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting, MeetingStatus
from meetings.planning.workdays import Deadline, conclusions_deadline


def _recommendation(item: RecommendationPublic) -> MinutesRecommendation:
    return MinutesRecommendation(
        site_name=item.site_name,
        topic=item.topic,
        text=item.text,
        status=item.status,
        answer=item.answer,
        answered_by=item.answered_by,
        raised_in=item.meeting_title,
    )


async def last_number(session: AsyncSession, meeting_id: int) -> int:
    found = await session.scalar(
        select(func.max(col(Minutes.number))).where(col(Minutes.meeting_id) == meeting_id)
    )
    return int(found or 0)


async def build(
    session: AsyncSession,
    meeting_id: int,
    organisation: OrganisationSettings,
    *,
    now: datetime | None = None,
) -> MinutesData:
    """The current draft: the next version number, from the record as it is now."""
    now = now or utcnow()
    meeting = await get_meeting_row(session, meeting_id)
    zone = ZoneInfo(meeting.timezone)
    report = await build_report(session, meeting_id, now=now)
    notes = await record_notes.notes(session, meeting_id)
    agenda = await programme.get_agenda(session, meeting_id)
    focus = await programme.get_focus_items(session, meeting_id)
    said = await record.contributions(session, meeting_id)
    raised = await recommendations.recommendations(session, meeting_id=meeting_id, limit=10_000)
    earlier = await recommendations.open_from_earlier(session, meeting_id)
    todo = await record.actions(session, meeting_id)
    return MinutesData(
        organisation=_organisation(organisation),
        meeting=_meeting(meeting, zone),
        issued_on=now.astimezone(zone).date(),
        version=await last_number(session, meeting_id) + 1,
        status="draft",
        attendance=_attendance(report),
        agenda=[_agenda_item(item, notes, zone) for item in agenda],
        focus_items=[
            MinutesFocusItem(number=f.number, title=f.title, status=f.status, summary=f.summary)
            for f in focus
        ],
        contributions=[_contribution(c) for c in said],
        recommendations=[_recommendation(r) for r in reversed(raised)],
        open_earlier=[_recommendation(r) for r in reversed(earlier)],
        conclusions=notes["conclusions"].text if "conclusions" in notes else "",
        general_notes=notes["general"].text if "general" in notes else "",
        actions=[
            MinutesAction(
                text=a.text,
                owner=a.owner_site_name or a.owner,
                due_on=a.due_date,
                status=a.status,
            )
            for a in todo
        ],
    )


def _organisation(organisation: OrganisationSettings) -> MinutesOrganisation:
    return MinutesOrganisation(
        name=organisation.name,
        governing_body=organisation.governing_body,
        short_name=organisation.short_name,
        document_code=organisation.document_code,
        city=organisation.city,
        hall=organisation.hall,
    )


def _meeting(meeting: Meeting, zone: ZoneInfo) -> MinutesMeeting:
    return MinutesMeeting(
        id=meeting.id or 0,
        title=meeting.title,
        kind=meeting.kind,
        starts_at=meeting.starts_at.astimezone(zone),
        ends_at=meeting.ends_at.astimezone(zone),
        timezone=meeting.timezone,
        location=meeting.location,
        chair=meeting.chair,
        secretary=meeting.secretary,
        video_url=meeting.video_url,
    )


def _attendance(report: AttendanceReport) -> MinutesAttendance:
    """The attendance report's figures, so the minutes and the report always agree."""
    sites = [
        MinutesSite(
            code=row.site_code,
            name=row.site_name,
            cluster=row.cluster_name,
            status=row.status,
            present=row.is_connected,
            delegates=row.delegates,
            joined_at=row.joined_at,
            left_at=row.left_at,
            officials=list(row.officials),
        )
        for row in report.rows
    ]
    return MinutesAttendance(
        invited=report.totals.invited,
        connected=report.totals.connected,
        delegates_present=report.totals.delegates_present,
        clusters=[
            MinutesCluster(
                name=group.name,
                invited=group.subtotal.invited,
                connected=group.subtotal.connected,
                delegates=group.subtotal.delegates_present,
            )
            for group in report.clusters
        ],
        sites=sites,
        absent=[s for s in sites if not s.present],
    )


def _agenda_item(
    item: AgendaItemPublic, notes: dict[str, NotePublic], zone: ZoneInfo
) -> MinutesAgendaItem:
    """An agenda item with the secretary's notes on it."""
    return MinutesAgendaItem(
        position=item.position,
        title=item.title,
        presenter=item.presenter,
        presenter_title=item.presenter_title,
        kind=item.kind,
        planned_start=item.planned_start.astimezone(zone) if item.planned_start else None,
        notes=notes[f"agenda:{item.position}"].text if f"agenda:{item.position}" in notes else "",
    )


def _contribution(c: ContributionPublic) -> MinutesContribution:
    return MinutesContribution(
        site_name=c.site_name,
        speaker_name=c.speaker,
        speaker_title=c.speaker_title,
        kind=c.kind,
        text=c.text,
        agenda_position=c.agenda_item,
        focus_number=c.focus_item,
    )


async def approve(
    session: AsyncSession,
    meeting_id: int,
    organisation: OrganisationSettings,
    *,
    approver: str,
) -> Minutes:
    """Freeze the current draft as the next approved version (after the session only)."""
    meeting = await get_meeting_row(session, meeting_id)
    if meeting.status != MeetingStatus.ended:
        raise Invalid(
            "not ended",
            [FieldProblem("status", N_("Minutes are approved once the session has ended"))],
        )
    data = await build(session, meeting_id, organisation)
    data.status = "approved"
    data.approved_by = approver
    data.approved_at = utcnow()
    row = Minutes(
        meeting_id=meeting_id,
        number=data.version,
        content=data.model_dump(mode="json"),
        approved_by=approver,
        approved_at=data.approved_at,
    )
    session.add(row)
    await session.flush()
    await signals.of(session).minutes_approved.send(session, meeting_id)
    return row


async def versions(session: AsyncSession, meeting_id: int) -> list[MinutesVersion]:
    rows = await session.scalars(
        select(Minutes)
        .where(col(Minutes.meeting_id) == meeting_id)
        .order_by(col(Minutes.number).desc())
    )
    return [
        MinutesVersion(
            number=r.number,
            status=r.status,
            approved_at=r.approved_at,
            approved_by=r.approved_by,
            notice_sent_at=r.notice_sent_at,
        )
        for r in rows
    ]


async def approved(session: AsyncSession, meeting_id: int, number: int | None = None) -> Minutes:
    """An approved version (the latest when `number` is None)."""
    query = select(Minutes).where(col(Minutes.meeting_id) == meeting_id)
    query = query.where(col(Minutes.number) == number) if number else query
    row = await session.scalar(query.order_by(col(Minutes.number).desc()))
    if row is None:
        raise NotFound(f"no approved minutes for session {meeting_id}")
    return row


def data_of(row: Minutes) -> MinutesData:
    return MinutesData.model_validate(row.content)


def notice_deadline(ends_at: datetime, timezone: str, *, now: datetime | None = None) -> Deadline:
    """5 working days after the session (Vietnamese holidays counted)."""
    return conclusions_deadline(ends_at=ends_at, timezone=timezone, now=now)


@dataclass(frozen=True)
class EndedSession:
    """An ended session as the chair follows it up."""

    meeting: Meeting
    #: Its latest approved minutes; None while they await approval.
    approved: Minutes | None
    #: When its notice of conclusions is due.
    deadline: Deadline


async def ended_sessions(
    session: AsyncSession, *, now: datetime, limit: int = 50
) -> list[EndedSession]:
    """The latest ended sessions, with their latest approved minutes, latest first."""
    ended = (
        await session.scalars(
            select(Meeting)
            .where(col(Meeting.status) == MeetingStatus.ended)
            .order_by(col(Meeting.ends_at).desc())
            .limit(limit)
        )
    ).all()
    latest: dict[int, Minutes] = {}
    for row in await session.scalars(
        select(Minutes)
        .where(col(Minutes.meeting_id).in_([m.id for m in ended]))
        .order_by(col(Minutes.number))
    ):
        latest[row.meeting_id] = row
    return [
        EndedSession(
            meeting=meeting,
            approved=latest.get(id_of(meeting)),
            deadline=notice_deadline(meeting.ends_at, meeting.timezone, now=now),
        )
        for meeting in ended
    ]
