"""Reading attendance: each invited site's derived state, the session's totals, the log.

Totals are always an aggregate of the participation rows, never a counter that could
drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.attendance.models import (
    CONNECTED,
    AttendanceEvent,
    AttendanceStatus,
    AttendanceSummary,
    EventPublic,
    RehearsalStatus,
    SiteAttendance,
)
from meetings.planning.listing import SITE_COLUMNS, invited_sites
from meetings.planning.models import Participation
from meetings.planning.site_list import PARTICIPATIONS_FINGERPRINT
from meetings.register.models import Cluster, Site

_Status = TypeVar("_Status", bound=StrEnum)


def site_query(meeting_id: int) -> Select[Participation, Site, Cluster]:
    return (
        select(Participation, Site, Cluster)
        .join(Site, col(Site.id) == col(Participation.site_id))
        .outerjoin(Cluster, col(Cluster.id) == col(Site.cluster_id))
        .where(col(Participation.meeting_id) == meeting_id)
    )


def _known(kind: type[_Status], value: str | None) -> _Status | None:
    """A stored status as its enum (the column holds the enum's values, or nothing)."""
    return None if value is None else kind(value)


def state(row: Participation, site: Site, cluster: Cluster | None) -> SiteAttendance:
    return SiteAttendance(
        site_id=site.id or 0,
        site_code=site.code,
        site_name=site.name,
        cluster_id=site.cluster_id,
        cluster_name=cluster.name if cluster else None,
        rsvp=row.rsvp,
        rsvp_source=row.rsvp_source,
        expected_delegates=row.expected_delegates,
        attendance_status=_known(AttendanceStatus, row.attendance_status),
        joined_at=row.joined_at,
        left_at=row.left_at,
        delegates_present=row.delegates_present,
        officials_present=list(row.officials_present or []),
        rehearsal_status=_known(RehearsalStatus, row.rehearsal_status),
        rehearsal_note=row.rehearsal_note,
        changed_at=row.attendance_changed_at,
        version=row.attendance_version,
    )


async def site_state(session: AsyncSession, meeting_id: int, site_id: int) -> SiteAttendance:
    found = (
        await session.execute(
            site_query(meeting_id)
            .where(col(Participation.site_id) == site_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    return state(*found)


#: What the board shows of each invited site; built once.
_SITES = invited_sites(
    *SITE_COLUMNS,
    col(Participation.rsvp),
    col(Participation.rsvp_source),
    col(Participation.expected_delegates),
    col(Participation.attendance_status),
    col(Participation.joined_at),
    col(Participation.left_at),
    col(Participation.delegates_present),
    col(Participation.officials_present),
    col(Participation.rehearsal_status),
    col(Participation.rehearsal_note),
    col(Participation.attendance_changed_at),
    col(Participation.attendance_version),
)


async def sites(session: AsyncSession, meeting_id: int) -> list[SiteAttendance]:
    """Every invited site, grouped by cluster in register order: plain columns, not three
    ORM objects a site (a 10,000-site board's snapshot), and our own rows built without
    validating them again (each value converted to its field's type here)."""
    rows = await session.execute(_SITES, {"meeting_id": meeting_id})
    return [_site(row) for row in rows]


def _site(row: Sequence[Any]) -> SiteAttendance:
    return SiteAttendance.model_construct(
        site_id=row[0] or 0,
        site_code=row[1],
        site_name=row[2],
        cluster_id=row[3],
        cluster_name=row[4],
        rsvp=row[5],
        rsvp_source=row[6],
        expected_delegates=row[7],
        attendance_status=_known(AttendanceStatus, row[8]),
        joined_at=row[9],
        left_at=row[10],
        delegates_present=row[11],
        officials_present=list(row[12] or []),
        rehearsal_status=_known(RehearsalStatus, row[13]),
        rehearsal_note=row[14],
        changed_at=row[15],
        version=row[16],
    )


#: Each site's state as last read, by its site id, with the versions it was read at (its
#: attendance's, its participation's, its site's and its cluster's).
KeptSites = dict[int, tuple[tuple[int, ...], SiteAttendance]]

#: Each invited site's versions, in the board's order; built once.
_VERSIONS = invited_sites(
    col(Site.id),
    col(Participation.attendance_version),
    col(Participation.version),
    col(Site.version),
    col(Cluster.version),
)
_SITES_VERSIONED = _SITES.add_columns(
    col(Participation.version), col(Site.version), col(Cluster.version)
)
_SOME_SITES = _SITES_VERSIONED.where(col(Site.id).in_(bindparam("site_ids", expanding=True)))


async def some_sites(
    session: AsyncSession, meeting_id: int, site_ids: list[int]
) -> list[SiteAttendance]:
    """The states of these invited sites (those no longer invited are left out)."""
    rows = await session.execute(_SOME_SITES, {"meeting_id": meeting_id, "site_ids": site_ids})
    return [_site(row) for row in rows]


#: Beyond this share of the sites changed, all of them are read again at once.
_REREAD_SHARE = 4


async def sites_again(
    session: AsyncSession, meeting_id: int, kept: KeptSites
) -> tuple[list[SiteAttendance], KeptSites]:
    """`sites`, with the states in `kept` whose versions are unchanged taken as they are:
    during a live session one check-in changes one site of 10,000, and only that one is
    read and built again (the versions of all, one small column each, are read first).
    Also returns what to keep for the next read."""
    # On the session's connection: the ORM's result handling, which plain columns do not
    # need, costs more than the read of 10,000 small rows.
    connection = await session.connection()
    order = (await connection.execute(_VERSIONS, {"meeting_id": meeting_id})).all()
    changed = [
        row[0] for row in order if (was := kept.get(row[0])) is None or was[0] != tuple(row[1:])
    ]
    if len(changed) * _REREAD_SHARE > len(order):
        rows = await connection.execute(_SITES_VERSIONED, {"meeting_id": meeting_id})
        fresh = {row[0]: (tuple(row[16:]), _site(row)) for row in rows}
        return [state for _, state in fresh.values()], fresh
    fresh = dict(kept)
    for site_id in changed:
        fresh.pop(site_id, None)
    if changed:
        rows = await connection.execute(
            _SOME_SITES, {"meeting_id": meeting_id, "site_ids": changed}
        )
        fresh.update({row[0]: (tuple(row[16:]), _site(row)) for row in rows})
    now = {row[0]: fresh[row[0]] for row in order if row[0] in fresh}
    return [state for _, state in now.values()], now


#: What a board shows of a session, in one number each: the sites' list's and their
#: attendance's versions (built once).
_FINGERPRINT = PARTICIPATIONS_FINGERPRINT.add_columns(
    func.coalesce(func.sum(col(Participation.attendance_version)), 0)
)


async def fingerprint(session: AsyncSession, meeting_id: int) -> tuple[int, ...]:
    """Changes whenever a committed change alters what the board shows: an attendance
    change (its own version) or an RSVP (the participation's), a site invited or no longer
    (the count, the newest row and the sites' ids: one site replaced by another in one
    transaction too), a site or cluster edited (their versions)."""
    row = (await session.execute(_FINGERPRINT, {"meeting_id": meeting_id})).one()
    return tuple(int(v) for v in row)


async def summary(session: AsyncSession, meeting_id: int) -> AttendanceSummary:
    status = col(Participation.attendance_status)
    connected = status.in_([s.value for s in CONNECTED])
    row = (
        await session.execute(
            select(
                func.count(),
                func.sum(case((connected, 1), else_=0)),
                func.sum(
                    case(
                        (status.in_(["present", "late"]), 1),
                        else_=0,
                    )
                ),
                func.sum(case((status == AttendanceStatus.absent, 1), else_=0)),
                func.sum(
                    case(
                        (connected, func.coalesce(col(Participation.delegates_present), 0)), else_=0
                    )
                ),
                func.sum(
                    case((col(Participation.rehearsal_status) == RehearsalStatus.ok, 1), else_=0)
                ),
                func.sum(
                    case(
                        (col(Participation.rehearsal_status) == RehearsalStatus.problem, 1), else_=0
                    )
                ),
            ).where(col(Participation.meeting_id) == meeting_id)
        )
    ).one()
    invited, connected_n, present, absent, delegates, ok, problem = (int(v or 0) for v in row)
    return AttendanceSummary(
        invited=invited,
        connected=connected_n,
        present=present,
        absent=absent,
        missing=invited - connected_n,
        delegates_present=delegates,
        rehearsal_ok=ok,
        rehearsal_problem=problem,
    )


async def events(session: AsyncSession, meeting_id: int, *, limit: int = 200) -> list[EventPublic]:
    """The latest events first (the board's log and the record)."""
    rows = await session.scalars(
        select(AttendanceEvent)
        .where(col(AttendanceEvent.meeting_id) == meeting_id)
        .order_by(col(AttendanceEvent.id).desc())
        .limit(limit)
    )
    return [EventPublic.model_validate(r) for r in rows]
