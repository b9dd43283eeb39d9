"""Planning sessions: create and change meetings, follow the lifecycle.

Rules that calendars and people rely on live here: only legal status changes
(`TRANSITIONS`, asked through `next_statuses`), the calendar `sequence` rises with every
change of time, place or link (and on cancel), a session is scheduled only with invited
sites, a session goes live on its day unless a person gives a reason to start earlier
(meetings.planning.golive, which also logs who changed the status), and overlapping
invitations are warned about (not blocked). Who is invited is meetings.planning.invited;
the lists are meetings.planning.listing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core import signals
from meetings.core.errors import FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.store import bump_version, id_of, utcnow
from meetings.planning import golive
from meetings.planning.cluster_rules import (
    as_cluster_meeting,
    check_cluster_changes,
    check_cluster_series,
)
from meetings.planning.invited import (
    add_participant,
    check_in_cluster,
    resolve_selection,
    set_participants,
)
from meetings.planning.models import (
    Meeting,
    MeetingCreate,
    MeetingPublic,
    MeetingStatus,
    MeetingUpdate,
    Participation,
    Series,
    SiteSelection,
    check_times,
)
from meetings.planning.overlaps import overlap_warnings
from meetings.planning.phases import refuse_if_read_only
from meetings.planning.workdays import day_off_warnings
from meetings.register.models import Site

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


def next_statuses(status: MeetingStatus | str) -> frozenset[MeetingStatus]:
    """The statuses a session in `status` may move to (the one place that says so)."""
    return TRANSITIONS[MeetingStatus(status)]


def next_step(status: MeetingStatus | str) -> MeetingStatus | None:
    """The forward step a session page offers as its button: the allowed change other
    than cancelling (its own form) or going back to draft; None once over."""
    ahead = next_statuses(status) - {MeetingStatus.cancelled, MeetingStatus.draft}
    return next(iter(ahead), None)


async def get_meeting_row(session: AsyncSession, meeting_id: int) -> Meeting:
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound.of(N_("no session with id {meeting_id}"), meeting_id=meeting_id)
    return meeting


async def _check_host(session: AsyncSession, host_site_id: int | None) -> None:
    if host_site_id is not None and await session.get(Site, host_site_id) is None:
        raise Invalid(
            "unknown site",
            [FieldProblem.of("host_site_id", N_("no site {site_id}"), site_id=host_site_id)],
        )


async def _series_for(
    session: AsyncSession,
    *,
    series_id: int | None,
    series_name: str | None,
    cluster_id: int | None = None,
) -> int | None:
    """The series a new session joins (a new one by its name; a cluster's: its own)."""
    if series_name:
        series = Series(name=series_name)
        session.add(series)
        await session.flush()
        return series.id
    if series_id is not None and await session.get(Series, series_id) is None:
        raise Invalid(
            "unknown series",
            [FieldProblem.of("series_id", N_("no series {series_id}"), series_id=series_id)],
        )
    await check_cluster_series(session, series_id, cluster_id)
    return series_id


async def create_meeting(
    session: AsyncSession,
    data: MeetingCreate,
    *,
    organiser_id: int | None,
    default_location: str,
    cluster_id: int | None = None,
) -> MeetingPublic:
    """Plan a session; `cluster_id` makes it that cluster's own meeting (its leader's):
    only its sites are invited, and it may not join a series of other meetings."""
    data = as_cluster_meeting(data, cluster_id)
    await _check_host(session, data.host_site_id)
    await check_in_cluster(session, cluster_id, "host_site_id", [data.host_site_id])
    site_ids = await resolve_selection(session, data, cluster_id=cluster_id)
    if data.host_site_id is not None:
        site_ids.add(data.host_site_id)
    series_id = await _series_for(
        session, series_id=data.series_id, series_name=data.series_name, cluster_id=cluster_id
    )
    fields = data.model_dump(
        exclude={*SELECTION_FIELDS, "series_name", "series_id", "starts_at", "ends_at"}
    )
    meeting = Meeting(
        **fields,
        starts_at=data.starts_at.astimezone(UTC),
        ends_at=data.ends_at.astimezone(UTC),
        series_id=series_id,
        organiser_id=organiser_id,
        cluster_id=cluster_id,
    )
    meeting.location = meeting.location or default_location
    meeting.refresh_search_text()
    session.add(meeting)
    await session.flush()
    meeting_id = id_of(meeting)
    await set_participants(session, meeting_id=meeting_id, site_ids=site_ids)
    await signals.of(session).meeting_changed.send(session, meeting_id)
    return await get_meeting(session, meeting_id)


async def update_meeting(
    session: AsyncSession, meeting_id: int, data: MeetingUpdate, *, by: str | None = None
) -> MeetingPublic:
    """Apply a PATCH; `by` names the person, whose status change is logged."""
    meeting = await get_meeting_row(session, meeting_id)
    changes = data.model_dump(
        exclude_unset=True, exclude={"version", "early_start_reason", *SELECTION_FIELDS}
    )
    refuse_if_read_only(meeting.status, "session")
    for key in ("starts_at", "ends_at"):
        if changes.get(key) is not None:
            changes[key] = changes[key].astimezone(UTC)
    try:
        check_times(
            changes.get("starts_at", meeting.starts_at), changes.get("ends_at", meeting.ends_at)
        )
    except ValueError as exc:
        raise Invalid("bad times", [FieldProblem("ends_at", str(exc))]) from None
    await check_cluster_changes(session, meeting.cluster_id, changes)
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
        site_ids = await resolve_selection(session, selection, cluster_id=meeting.cluster_id)
        host = changes.get("host_site_id", meeting.host_site_id)
        if host is not None:
            site_ids.add(host)
        await set_participants(session, meeting_id=meeting_id, site_ids=site_ids)
    elif changes.get("host_site_id") is not None:
        await add_participant(session, meeting_id=meeting_id, site_id=changes["host_site_id"])

    if any(key in changes and changes[key] != getattr(meeting, key) for key in CALENDAR_FIELDS):
        meeting.sequence += 1
    for key, value in changes.items():
        setattr(meeting, key, value)
    meeting.refresh_search_text()
    if new_status is not None and new_status != meeting.status:
        await _change_status(
            session,
            meeting,
            MeetingStatus(new_status),
            by=by,
            reason=data.early_start_reason or "",
        )
    await session.flush()
    await signals.of(session).meeting_changed.send(session, meeting_id)
    return await get_meeting(session, meeting_id)


async def _change_status(
    session: AsyncSession,
    meeting: Meeting,
    target: MeetingStatus,
    *,
    by: str | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> None:
    """Move to `target` if the rules allow; a person's change (`by`) is logged, with
    `reason` (why it is cancelled, or why it goes live before its day)."""
    current = MeetingStatus(meeting.status)
    if target not in next_statuses(current):
        allowed = ", ".join(sorted(next_statuses(current))) or "none"
        raise Invalid(
            "illegal status change",
            [
                FieldProblem.of(
                    "status",
                    N_("a {current} session cannot become {target} (allowed: {allowed})"),
                    current=current.value,
                    target=MeetingStatus(target).value,
                    allowed=allowed,
                )
            ],
        )
    if target == MeetingStatus.scheduled:
        invited = await session.scalar(
            select(func.count()).where(col(Participation.meeting_id) == meeting.id)
        )
        if not invited:
            raise Invalid(
                "no invited site",
                [FieldProblem("site_ids", N_("invite at least one site before scheduling"))],
            )
    now = now or utcnow()
    early = target == MeetingStatus.live and golive.check_go_live(meeting, now=now, reason=reason)
    if target == MeetingStatus.cancelled:
        meeting.sequence += 1
    meeting.status = target
    if by is not None:
        logged = reason if early or target == MeetingStatus.cancelled else ""
        await golive.log_change(
            session,
            meeting.id or 0,
            from_status=current,
            to_status=target,
            by=by,
            at=now,
            reason=logged,
            is_early=early,
        )
    if target == MeetingStatus.cancelled:
        await session.flush()
        await signals.of(session).meeting_cancelled.send(session, meeting.id or 0)


async def change_status(
    session: AsyncSession,
    meeting_id: int,
    target: MeetingStatus,
    *,
    version: int | None = None,
    by: str | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> MeetingPublic:
    """A status change on its own (the scheduler's start and end, a person's 'schedule');
    `reason` is what allows a start before the session's day; `now` is the scheduler's
    clock (the real one when not given)."""
    meeting = await get_meeting_row(session, meeting_id)
    await bump_version(session, meeting, meeting.version if version is None else version)
    await _change_status(session, meeting, target, by=by, reason=reason, now=now)
    await session.flush()
    await signals.of(session).meeting_changed.send(session, meeting_id)
    return await get_meeting(session, meeting_id)


async def cancel_meeting(
    session: AsyncSession, meeting_id: int, *, reason: str, by: str | None = None
) -> MeetingPublic:
    meeting = await get_meeting_row(session, meeting_id)
    await bump_version(session, meeting, meeting.version)
    await _change_status(session, meeting, MeetingStatus.cancelled, by=by, reason=reason)
    meeting.cancel_reason = reason
    await session.flush()
    await signals.of(session).meeting_changed.send(session, meeting_id)
    return await get_meeting(session, meeting_id)


async def get_meeting(session: AsyncSession, meeting_id: int) -> MeetingPublic:
    meeting = await get_meeting_row(session, meeting_id)
    return (await publish(session, [meeting], with_warnings=True))[0]


async def publish(
    session: AsyncSession, meetings: list[Meeting], *, with_warnings: bool = False
) -> list[MeetingPublic]:
    """Meetings with their site and cluster counts, in one grouped query for the lot."""
    if not meetings:
        return []
    ids = [m.id for m in meetings]
    counts = (
        await session.execute(
            select(
                col(Participation.meeting_id),
                func.count(),
                func.count(func.distinct(col(Site.cluster_id))),
            )
            .join(Site, col(Site.id) == col(Participation.site_id))
            .where(col(Participation.meeting_id).in_(ids))
            .group_by(col(Participation.meeting_id))
        )
    ).all()
    by_meeting = {row[0]: (row[1], row[2]) for row in counts}
    series_ids = {m.series_id for m in meetings if m.series_id is not None}
    series = (
        {
            s.id: s.name
            for s in await session.scalars(select(Series).where(col(Series.id).in_(series_ids)))
        }
        if series_ids
        else {}
    )
    published = []
    for meeting in meetings:
        site_count, cluster_count = by_meeting.get(id_of(meeting), (0, 0))
        warnings = (
            [*day_off_warnings(meeting), *await overlap_warnings(session, meeting)]
            if with_warnings
            else []
        )
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
