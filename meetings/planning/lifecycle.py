"""Planning sessions: create and change meetings, invite sites, follow the lifecycle.

Rules that calendars and people rely on live here: only legal status changes, the
calendar `sequence` rises with every change of time, place or link (and on cancel), a
session is scheduled only with invited sites, and overlapping invitations are warned
about (not blocked).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from meetings.core import signals
from meetings.core.errors import FieldProblem, Invalid, NotFound
from meetings.core.store import bump_version, utcnow
from meetings.core.types import word_conditions
from meetings.planning.models import (
    Meeting,
    MeetingBase,
    MeetingCreate,
    MeetingFollowUp,
    MeetingPublic,
    MeetingStatus,
    MeetingUpdate,
    Participation,
    ParticipationPublic,
    Series,
    SiteSelection,
    Warning,
    check_times,
)
from meetings.register.models import Cluster, Site

#: The status changes a person (or the scheduler) may make.
TRANSITIONS: dict[MeetingStatus, frozenset[MeetingStatus]] = {
    MeetingStatus.draft: frozenset({MeetingStatus.scheduled, MeetingStatus.cancelled}),
    MeetingStatus.scheduled: frozenset(
        {MeetingStatus.draft, MeetingStatus.live, MeetingStatus.cancelled}
    ),
    MeetingStatus.live: frozenset({MeetingStatus.ended}),
    MeetingStatus.ended: frozenset(),
    MeetingStatus.cancelled: frozenset(),
}
#: A change of any of these is a change calendars must apply (SEQUENCE + 1).
CALENDAR_FIELDS = ("starts_at", "ends_at", "timezone", "location", "video_url", "host_site_id")
SELECTION_FIELDS = ("all_sites", "cluster_ids", "site_ids", "exclude_site_ids")
Period = Literal["upcoming", "past", "cancelled", "all"]


@dataclass(frozen=True)
class MeetingPage:
    items: list[MeetingPublic]
    total: int


async def get_meeting_row(session: AsyncSession, meeting_id: int) -> Meeting:
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"no session with id {meeting_id}")
    return meeting


async def resolve_selection(session: AsyncSession, selection: SiteSelection) -> set[int]:
    """The site ids a selection means; unknown clusters or sites are named, not ignored."""
    chosen: set[int] = set()
    if selection.all_sites:
        chosen.update((await session.scalars(select(Site.id))).all())  # type: ignore[arg-type]
    if selection.cluster_ids:
        wanted = set(selection.cluster_ids)
        known = set(
            (await session.scalars(select(Cluster.id).where(Cluster.id.in_(wanted)))).all()  # type: ignore[union-attr]
        )
        if missing := sorted(wanted - known):
            raise Invalid("unknown cluster", [FieldProblem("cluster_ids", f"no cluster {missing}")])
        chosen.update(
            (
                await session.scalars(select(Site.id).where(Site.cluster_id.in_(wanted)))  # type: ignore[union-attr]
            ).all()
        )
    if selection.site_ids:
        wanted = set(selection.site_ids)
        known = await _existing_site_ids(session, wanted)
        if missing := sorted(wanted - known):
            shown = ", ".join(str(i) for i in missing[:10])
            raise Invalid("unknown site", [FieldProblem("site_ids", f"no site with id {shown}")])
        chosen.update(wanted)
    return chosen - set(selection.exclude_site_ids)


async def _existing_site_ids(session: AsyncSession, ids: set[int]) -> set[int]:
    found: set[int] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        found.update((await session.scalars(select(Site.id).where(Site.id.in_(chunk)))).all())  # type: ignore[union-attr]
    return found


async def _set_participants(session: AsyncSession, meeting_id: int, site_ids: set[int]) -> None:
    """Make the invited sites exactly `site_ids`, keeping the rows (and RSVPs) of those kept."""
    current = set(
        (
            await session.scalars(
                select(Participation.site_id).where(Participation.meeting_id == meeting_id)
            )
        ).all()
    )
    removed = current - site_ids
    if removed:
        for start in range(0, len(removed), 1000):
            chunk = sorted(removed)[start : start + 1000]
            await session.execute(
                delete(Participation).where(
                    Participation.meeting_id == meeting_id,  # type: ignore[arg-type]
                    Participation.site_id.in_(chunk),  # type: ignore[attr-defined]
                )
            )
    added = sorted(site_ids - current)
    now = utcnow()
    for start in range(0, len(added), 1000):
        await session.execute(
            insert(Participation),
            [
                {
                    "meeting_id": meeting_id,
                    "site_id": site_id,
                    "rsvp": "needs_action",
                    "endpoint": "",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for site_id in added[start : start + 1000]
            ],
        )


async def _check_host(session: AsyncSession, host_site_id: int | None) -> None:
    if host_site_id is not None and await session.get(Site, host_site_id) is None:
        raise Invalid("unknown site", [FieldProblem("host_site_id", f"no site {host_site_id}")])


async def _series_for(
    session: AsyncSession, *, series_id: int | None, series_name: str | None
) -> int | None:
    if series_name:
        series = Series(name=series_name)
        session.add(series)
        await session.flush()
        return series.id
    if series_id is not None and await session.get(Series, series_id) is None:
        raise Invalid("unknown series", [FieldProblem("series_id", f"no series {series_id}")])
    return series_id


async def create_meeting(
    session: AsyncSession,
    data: MeetingCreate,
    *,
    organiser_id: int | None,
    default_location: str,
) -> MeetingPublic:
    await _check_host(session, data.host_site_id)
    site_ids = await resolve_selection(session, data)
    if data.host_site_id is not None:
        site_ids.add(data.host_site_id)
    series_id = await _series_for(session, series_id=data.series_id, series_name=data.series_name)
    fields = data.model_dump(
        exclude={*SELECTION_FIELDS, "series_name", "series_id", "starts_at", "ends_at"}
    )
    meeting = Meeting(
        **fields,
        starts_at=data.starts_at.astimezone(UTC),
        ends_at=data.ends_at.astimezone(UTC),
        series_id=series_id,
        organiser_id=organiser_id,
    )
    meeting.location = meeting.location or default_location
    meeting.refresh_search_text()
    session.add(meeting)
    await session.flush()
    assert meeting.id is not None
    await _set_participants(session, meeting.id, site_ids)
    await signals.meeting_changed.send(session, meeting.id)
    return await get_meeting(session, meeting.id)


async def update_meeting(
    session: AsyncSession, meeting_id: int, data: MeetingUpdate
) -> MeetingPublic:
    meeting = await get_meeting_row(session, meeting_id)
    changes = data.model_dump(exclude_unset=True, exclude={"version", *SELECTION_FIELDS})
    if meeting.status in (MeetingStatus.ended, MeetingStatus.cancelled):
        raise Invalid(
            "closed session",
            [FieldProblem("status", f"a {meeting.status} session cannot be changed")],
        )
    for required in ("title", "starts_at", "ends_at", "timezone", "kind"):
        if required in changes and changes[required] is None:
            raise Invalid("missing value", [FieldProblem(required, "may not be empty")])
    for key in ("starts_at", "ends_at"):
        if changes.get(key) is not None:
            changes[key] = changes[key].astimezone(UTC)
    try:
        check_times(
            changes.get("starts_at", meeting.starts_at), changes.get("ends_at", meeting.ends_at)
        )
    except ValueError as exc:
        raise Invalid("bad times", [FieldProblem("ends_at", str(exc))]) from None
    if "host_site_id" in changes:
        await _check_host(session, changes["host_site_id"])
    if "series_id" in changes:
        await _series_for(session, series_id=changes["series_id"], series_name=None)
    new_status = changes.pop("status", None)
    await bump_version(session, meeting, data.version)

    selection_sent = data.model_fields_set & set(SELECTION_FIELDS)
    if selection_sent:
        selection = SiteSelection(
            **{
                k: v
                for k, v in data.model_dump(include=set(SELECTION_FIELDS)).items()
                if v is not None
            }
        )
        site_ids = await resolve_selection(session, selection)
        host = changes.get("host_site_id", meeting.host_site_id)
        if host is not None:
            site_ids.add(host)
        await _set_participants(session, meeting_id, site_ids)
    elif changes.get("host_site_id") is not None:
        await _add_participant(session, meeting_id, changes["host_site_id"])

    if any(key in changes and changes[key] != getattr(meeting, key) for key in CALENDAR_FIELDS):
        meeting.sequence += 1
    for key, value in changes.items():
        setattr(meeting, key, value)
    meeting.refresh_search_text()
    if new_status is not None and new_status != meeting.status:
        await _change_status(session, meeting, MeetingStatus(new_status))
    await session.flush()
    await signals.meeting_changed.send(session, meeting_id)
    return await get_meeting(session, meeting_id)


async def _add_participant(session: AsyncSession, meeting_id: int, site_id: int) -> None:
    exists = await session.scalar(
        select(Participation.id).where(
            Participation.meeting_id == meeting_id, Participation.site_id == site_id
        )
    )
    if exists is None:
        session.add(Participation(meeting_id=meeting_id, site_id=site_id))


async def _change_status(session: AsyncSession, meeting: Meeting, target: MeetingStatus) -> None:
    current = MeetingStatus(meeting.status)
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        raise Invalid(
            "illegal status change",
            [
                FieldProblem(
                    "status", f"a {current} session cannot become {target} (allowed: {allowed})"
                )
            ],
        )
    if target == MeetingStatus.scheduled:
        invited = await session.scalar(
            select(func.count()).where(Participation.meeting_id == meeting.id)
        )
        if not invited:
            raise Invalid(
                "no invited site",
                [FieldProblem("site_ids", "invite at least one site before scheduling")],
            )
    if target == MeetingStatus.cancelled:
        meeting.sequence += 1
    meeting.status = target
    if target == MeetingStatus.cancelled:
        await session.flush()
        await signals.meeting_cancelled.send(session, meeting.id or 0)


async def change_status(
    session: AsyncSession, meeting_id: int, target: MeetingStatus, *, version: int | None = None
) -> MeetingPublic:
    """A status change on its own (the scheduler's start and end, a person's 'schedule')."""
    meeting = await get_meeting_row(session, meeting_id)
    await bump_version(session, meeting, meeting.version if version is None else version)
    await _change_status(session, meeting, target)
    await session.flush()
    await signals.meeting_changed.send(session, meeting_id)
    return await get_meeting(session, meeting_id)


async def cancel_meeting(session: AsyncSession, meeting_id: int, *, reason: str) -> MeetingPublic:
    meeting = await get_meeting_row(session, meeting_id)
    await bump_version(session, meeting, meeting.version)
    await _change_status(session, meeting, MeetingStatus.cancelled)
    meeting.cancel_reason = reason
    await session.flush()
    await signals.meeting_changed.send(session, meeting_id)
    return await get_meeting(session, meeting_id)


async def get_meeting(session: AsyncSession, meeting_id: int) -> MeetingPublic:
    meeting = await get_meeting_row(session, meeting_id)
    return (await _publish(session, [meeting], with_warnings=True))[0]


async def _publish(
    session: AsyncSession, meetings: list[Meeting], *, with_warnings: bool = False
) -> list[MeetingPublic]:
    """Meetings with their site and cluster counts, in one grouped query for the lot."""
    if not meetings:
        return []
    ids = [m.id for m in meetings]
    counts = (
        await session.execute(
            select(
                Participation.meeting_id,
                func.count(),
                func.count(func.distinct(Site.cluster_id)),
            )
            .join(Site, Site.id == Participation.site_id)  # type: ignore[arg-type]
            .where(Participation.meeting_id.in_(ids))  # type: ignore[attr-defined]
            .group_by(Participation.meeting_id)
        )
    ).all()
    by_meeting = {row[0]: (row[1], row[2]) for row in counts}
    series_ids = {m.series_id for m in meetings if m.series_id is not None}
    series = (
        {
            s.id: s.name
            for s in await session.scalars(select(Series).where(Series.id.in_(series_ids)))
        }  # type: ignore[union-attr]
        if series_ids
        else {}
    )
    published = []
    for meeting in meetings:
        site_count, cluster_count = by_meeting.get(meeting.id, (0, 0))
        warnings = await overlap_warnings(session, meeting) if with_warnings else []
        published.append(
            MeetingPublic.model_validate(
                meeting,
                update={
                    "site_count": site_count,
                    "cluster_count": cluster_count,
                    "series_name": series.get(meeting.series_id),
                    "warnings": warnings,
                },
            )
        )
    return published


async def overlap_warnings(session: AsyncSession, meeting: Meeting) -> list[Warning]:
    """Other live sessions at the same time that share invited sites: one line each."""
    if meeting.status == MeetingStatus.cancelled:
        return []
    mine = aliased(Participation)
    theirs = aliased(Participation)
    rows = (
        await session.execute(
            select(Meeting.id, Meeting.title, func.count())
            .select_from(mine)
            .join(theirs, theirs.site_id == mine.site_id)
            .join(Meeting, Meeting.id == theirs.meeting_id)  # type: ignore[arg-type]
            .where(
                mine.meeting_id == meeting.id,
                Meeting.id != meeting.id,
                Meeting.status != MeetingStatus.cancelled,
                Meeting.starts_at < meeting.ends_at,
                Meeting.ends_at > meeting.starts_at,
            )
            .group_by(Meeting.id, Meeting.title)
            .order_by(Meeting.id)
        )
    ).all()
    return [
        Warning(
            code="overlap",
            meeting_id=other_id,
            message=f"{shared} invited site(s) are also invited to '{title}' at the same time",
        )
        for other_id, title, shared in rows
    ]


async def list_meetings(
    session: AsyncSession,
    *,
    period: Period = "all",
    kind: str | None = None,
    cluster_id: int | None = None,
    q: str | None = None,
    now: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> MeetingPage:
    """Sessions for lists: upcoming soonest first, past and cancelled latest first."""
    now = now or utcnow()
    conditions: list[Any] = []
    order: Any = Meeting.starts_at
    if period == "upcoming":
        conditions += [Meeting.ends_at >= now, Meeting.status != MeetingStatus.cancelled]
    elif period == "past":
        conditions += [Meeting.ends_at < now, Meeting.status != MeetingStatus.cancelled]
        order = Meeting.starts_at.desc()  # type: ignore[attr-defined]
    elif period == "cancelled":
        conditions.append(Meeting.status == MeetingStatus.cancelled)
        order = Meeting.starts_at.desc()  # type: ignore[attr-defined]
    if kind:
        conditions.append(Meeting.kind == kind)
    if cluster_id is not None:
        conditions.append(
            Meeting.id.in_(  # type: ignore[union-attr]
                select(Participation.meeting_id)
                .join(Site, Site.id == Participation.site_id)  # type: ignore[arg-type]
                .where(Site.cluster_id == cluster_id)
            )
        )
    conditions.extend(word_conditions(Meeting.search_text, q))
    total = await session.scalar(select(func.count()).select_from(Meeting).where(*conditions)) or 0
    rows = (
        await session.scalars(
            select(Meeting)
            .where(*conditions)
            .order_by(order, Meeting.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return MeetingPage(items=await _publish(session, list(rows)), total=total)


async def participations(session: AsyncSession, meeting_id: int) -> list[ParticipationPublic]:
    """Every invited site of a session in register order, with its local start time."""
    meeting = await get_meeting_row(session, meeting_id)
    rows = (
        await session.execute(
            select(Participation, Site, Cluster)
            .join(Site, Site.id == Participation.site_id)  # type: ignore[arg-type]
            .outerjoin(Cluster, Cluster.id == Site.cluster_id)  # type: ignore[arg-type]
            .where(Participation.meeting_id == meeting_id)
            .order_by(Cluster.code.nulls_first(), Site.search_text, Site.id)  # type: ignore[attr-defined]
        )
    ).all()
    leaders = {c.leader_site_id for _, _, c in rows if c is not None}
    return [
        ParticipationPublic(
            site_id=site.id,
            site_code=site.code,
            site_name=site.name,
            cluster_id=site.cluster_id,
            cluster_name=cluster.name if cluster else None,
            is_host=site.id == meeting.host_site_id,
            is_cluster_leader=site.id in leaders,
            rsvp=participation.rsvp,
            expected_delegates=participation.expected_delegates,
            technical_contact=participation.technical_contact,
            rsvp_note=participation.rsvp_note,
            responded_at=participation.responded_at,
            endpoint=participation.endpoint or site.endpoint,
            timezone=site.timezone or meeting.timezone,
            local_starts_at=local_time(meeting.starts_at, site.timezone or meeting.timezone),
            local_ends_at=local_time(meeting.ends_at, site.timezone or meeting.timezone),
        )
        for participation, site, cluster in rows
    ]


def local_time(moment: datetime, zone: str) -> str:
    """ISO 8601 with the zone's offset at that moment (DST included)."""
    return moment.astimezone(ZoneInfo(zone)).isoformat()


async def follow_up(
    session: AsyncSession, meeting_id: int, data: MeetingFollowUp, *, organiser_id: int | None
) -> MeetingPublic:
    """The next session of the series with the same sites (agendas.programme.programme adds the
    agenda skeleton and the focus items)."""
    previous = await get_meeting_row(session, meeting_id)
    if previous.series_id is None:
        series = Series(name=previous.title)
        session.add(series)
        await session.flush()
        previous.series_id = series.id
    fields = MeetingCreate.model_validate(
        {
            **{name: getattr(previous, name) for name in MeetingBase.model_fields},
            "host_site_id": previous.host_site_id,
            "title": data.title or previous.title,
            "starts_at": data.starts_at,
            "ends_at": data.ends_at,
        }
    )
    meeting = Meeting(
        **fields.model_dump(
            exclude={*SELECTION_FIELDS, "series_name", "series_id", "starts_at", "ends_at"}
        ),
        starts_at=data.starts_at.astimezone(UTC),
        ends_at=data.ends_at.astimezone(UTC),
        series_id=previous.series_id,
        previous_id=previous.id,
        organiser_id=organiser_id,
    )
    meeting.refresh_search_text()
    session.add(meeting)
    await session.flush()
    assert meeting.id is not None
    sites = set(
        (
            await session.scalars(
                select(Participation.site_id).where(Participation.meeting_id == previous.id)
            )
        ).all()
    )
    await _set_participants(session, meeting.id, sites)
    return await get_meeting(session, meeting.id)
