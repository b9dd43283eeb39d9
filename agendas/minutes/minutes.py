"""The minutes: built from the record and the attendance, and the approved versions kept.

The draft is always built anew from the record, so it is never stale. Approval
(agendas.minutes.approval) freezes it as version N (JSON of `MinutesData`, with who and
when); only a later change of the record makes a draft N+1, and every approved version
stays downloadable. The attendance figures come from the attendance report, so the two
always agree. What the minutes say depends on the session alone, never on the day they are
built: dated on the session's day, recommendations carried in as they stood at its end.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.minutes.data import (
    MinutesAction,
    MinutesAgendaItem,
    MinutesAttendance,
    MinutesCarried,
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
from agendas.record.carried import Carried, carried
from agendas.record.models import (
    ContributionPublic,
    Minutes,
    MinutesVersion,
    NotePublic,
    RecommendationPublic,
)
from meetings.attendance.models import AttendanceEvent, AttendanceStatus, EventKind
from meetings.attendance.report import AttendanceReport, build_report
from meetings.core.errors import NotFound
from meetings.core.labels import N_
from meetings.core.settings import OrganisationSettings
from meetings.core.store import utcnow
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting, Participation, Rsvp


def _recommendation(item: RecommendationPublic, meeting: Meeting) -> MinutesRecommendation:
    """As it stood for `meeting`: an answer given in a later session belongs to that one."""
    later = item.answered_in_id not in (None, meeting.id) or (
        item.answered_in_id is None
        and item.answered_at is not None
        and item.answered_at > meeting.ends_at
        and item.meeting_id != meeting.id
    )
    return MinutesRecommendation(
        site_name=item.site_name,
        topic=item.topic,
        text=item.text,
        status="open" if later else item.status,
        answer="" if later else item.answer,
        answered_by="" if later else item.answered_by,
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
    """The draft from the record as it is now, numbered after the last approved version."""
    meeting = await get_meeting_row(session, meeting_id)
    zone = ZoneInfo(meeting.timezone)
    report = await build_report(session, meeting_id, now=now or utcnow())
    notes = await record_notes.notes(session, meeting_id)
    raised = await recommendations.recommendations(session, meeting_id=meeting_id, limit=10_000)
    spoken = await record.contributions(session, meeting_id)
    told = {c.id for c in spoken}
    raised_by = {r.contribution_id: r for r in raised if r.contribution_id is not None}
    return MinutesData(
        organisation=_organisation(organisation),
        meeting=_meeting(meeting, zone),
        issued_on=meeting.starts_at.astimezone(zone).date(),
        version=await last_number(session, meeting_id) + 1,
        status="draft",
        attendance=_attendance(report, await absence_reasons(session, meeting_id)),
        agenda=[
            _agenda_item(item, notes, zone)
            for item in await programme.get_agenda(session, meeting_id)
        ],
        focus_items=[
            MinutesFocusItem(number=f.number, title=f.title, status=f.status, summary=f.summary)
            for f in await programme.get_focus_items(session, meeting_id)
        ],
        contributions=[_contribution(c, raised_by.get(c.id), meeting) for c in spoken],
        recommendations=[
            _recommendation(r, meeting) for r in reversed(raised) if r.contribution_id not in told
        ],
        open_earlier=[
            _recommendation(r, meeting)
            for r in reversed(await recommendations.open_at(session, meeting))
        ],
        conclusions=notes["conclusions"].text if "conclusions" in notes else "",
        general_notes=notes["general"].text if "general" in notes else "",
        actions=[
            MinutesAction(text=a.text, owner=a.owner_site_name or a.owner, due_on=a.due_date)
            for a in await record.actions(session, meeting_id)
        ],
        carried=_carried(await carried(session, meeting_id, now=now or utcnow(), since_start=True)),
        copies=organisation.minutes_copies,
    )


def _carried(found: Carried) -> list[MinutesCarried]:
    """The carried items as they stand now (the approved version keeps them so)."""
    return [
        *(
            MinutesCarried(
                text=a.text,
                owner=a.owner,
                due_on=a.due_on,
                state=a.state,
                raised_in=a.meeting_title,
                progress=a.progress,
            )
            for a in found.actions
        ),
        *(
            MinutesCarried(
                kind="recommendation",
                text=f"{r.topic}: {r.text}" if r.topic else r.text,
                owner=r.site_name or "",
                state=r.state,
                raised_in=r.meeting_title,
            )
            for r in found.recommendations
        ),
    ]


async def absence_reasons(session: AsyncSession, meeting_id: int) -> dict[int, str]:
    """Each site's reason for its absence: the note of its latest "absent" mark, else the
    comment it gave when it declined the invitation."""
    declined = await session.execute(
        select(col(Participation.site_id), col(Participation.rsvp_note)).where(
            col(Participation.meeting_id) == meeting_id,
            col(Participation.rsvp) == Rsvp.declined,
            col(Participation.rsvp_note) != "",
        )
    )
    reasons: dict[int, str] = dict(declined.all())
    marks = await session.execute(
        select(col(AttendanceEvent.site_id), col(AttendanceEvent.note))
        .where(
            col(AttendanceEvent.meeting_id) == meeting_id,
            col(AttendanceEvent.kind) == EventKind.attendance,
            col(AttendanceEvent.status) == AttendanceStatus.absent,
        )
        .order_by(col(AttendanceEvent.id))
    )
    latest: dict[int, str] = dict(marks.all())
    reasons.update({site_id: note for site_id, note in latest.items() if note.strip()})
    return reasons


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
        chair_title=meeting.chair_title,
        secretary=meeting.secretary,
        secretary_title=meeting.secretary_title,
        video_url=meeting.video_url,
    )


def _attendance(report: AttendanceReport, reasons: dict[int, str]) -> MinutesAttendance:
    """The attendance report's figures, so the minutes and the report always agree; the
    absent sites with why."""
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
            absence=row.absence,
            absence_reason=reasons.get(row.site_id, "") if row.absence else "",
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


def _contribution(
    c: ContributionPublic, raised: RecommendationPublic | None, meeting: Meeting
) -> MinutesContribution:
    return MinutesContribution(
        site_name=c.site_name,
        speaker_name=c.speaker,
        speaker_title=c.speaker_title,
        kind=c.kind,
        text=c.text,
        agenda_position=c.agenda_item,
        focus_number=c.focus_item,
        recommendation=_recommendation(raised, meeting) if raised else None,
    )


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
        raise NotFound.of(N_("no approved minutes for session {meeting_id}"), meeting_id=meeting_id)
    return row


def data_of(row: Minutes) -> MinutesData:
    return MinutesData.model_validate(row.content)
