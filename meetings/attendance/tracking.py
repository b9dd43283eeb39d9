"""Attendance: record events, derive each site's state, sum the session's totals.

A change is an event row plus the site's derived state on its participation row, written
in one transaction under the row's version (a concurrent writer for the same site makes
the loser re-read and re-apply, so no change is lost). Totals are always an aggregate of
the participation rows, never a counter that could drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.attendance.models import (
    CONNECTED,
    AttendanceEvent,
    AttendanceStatus,
    AttendanceSummary,
    Author,
    EventKind,
    EventPublic,
    RehearsalStatus,
    SiteAttendance,
)
from meetings.core.errors import DomainError, FieldProblem, Forbidden, Invalid
from meetings.core.labels import N_
from meetings.core.settings import AttendanceSettings
from meetings.core.store import after_commit, utcnow
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting, MeetingStatus, Participation
from meetings.register.models import Cluster, Site

#: A change that committed: the site's new state and the session's totals (the board's
#: message). Receivers are called after the commit, never for a rolled-back change.
Listener = Callable[[int, SiteAttendance, AttendanceSummary], None]
_listeners: list[Listener] = []
RETRIES = 20


def subscribe(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


@dataclass(frozen=True)
class Change:
    """One event to apply to one site."""

    kind: EventKind
    status: str
    at: datetime
    author_kind: Author
    author: str
    delegates_present: int | None = None
    officials_present: list[str] | None = None
    note: str = ""


def _apply(row: Participation, change: Change) -> dict[str, object]:
    """The participation columns after `change` (pure, so a retry re-applies it)."""
    values: dict[str, object] = {"attendance_changed_at": change.at}
    if change.kind == EventKind.rehearsal:
        values["rehearsal_status"] = change.status
        values["rehearsal_note"] = change.note
        return values
    status = AttendanceStatus(change.status)
    values["attendance_status"] = status
    if status in CONNECTED:
        values["joined_at"] = row.joined_at or change.at
        values["left_at"] = None
    elif status == AttendanceStatus.left:
        values["left_at"] = change.at
    if change.delegates_present is not None:
        values["delegates_present"] = change.delegates_present
    elif status in (AttendanceStatus.absent,):
        values["delegates_present"] = 0
    if change.officials_present is not None:
        values["officials_present"] = change.officials_present
    return values


def _is_repeat(row: Participation, change: Change) -> bool:
    """A check-in that changes nothing (the site pressed the button twice)."""
    if change.kind == EventKind.rehearsal:
        return row.rehearsal_status == change.status and row.rehearsal_note == change.note
    return (
        row.attendance_status == change.status
        and (change.delegates_present is None or row.delegates_present == change.delegates_present)
        and (
            change.officials_present is None
            or list(row.officials_present or []) == change.officials_present
        )
        and not change.note
    )


def check_values(meeting: Meeting, change: Change, config: AttendanceSettings) -> None:
    problems = []
    if (
        change.delegates_present is not None
        and change.delegates_present > config.max_delegates_per_site
    ):
        problems.append(
            FieldProblem(
                "delegates_present",
                N_("More delegates than one bridge point can hold"),
            )
        )
    window = timedelta(hours=config.window_hours)
    if not meeting.starts_at - window <= change.at <= meeting.ends_at + window:
        problems.append(FieldProblem("at", N_("This time is too far from the session")))
    if meeting.status == MeetingStatus.cancelled:
        problems.append(FieldProblem("status", N_("The session was cancelled")))
    if problems:
        raise Invalid("impossible attendance", problems)


async def record(
    session: AsyncSession,
    meeting_id: int,
    site_id: int,
    change: Change,
    config: AttendanceSettings,
) -> SiteAttendance:
    """Apply one change to one invited site; a repeat changes nothing and logs nothing."""
    (result,) = await record_many(session, meeting_id, [(site_id, change)], config)
    if isinstance(result, DomainError):
        raise result
    return result


def _announce(meeting_id: int, state: SiteAttendance, totals: AttendanceSummary) -> None:
    for listener in _listeners:
        listener(meeting_id, state, totals)


def check_in_change(
    meeting: Meeting,
    *,
    delegates: int,
    officials: list[str] | None,
    site_code: str,
    now: datetime,
    config: AttendanceSettings,
) -> Change:
    """A site's own check-in: connected, or late well after the start."""
    late = now > meeting.starts_at + timedelta(minutes=config.late_after_minutes)
    return Change(
        kind=EventKind.attendance,
        status=AttendanceStatus.late if late else AttendanceStatus.connected,
        at=now,
        author_kind=Author.site,
        author=site_code,
        delegates_present=delegates,
        officials_present=officials,
    )


def rehearsal_change(status: RehearsalStatus, note: str, *, author: str) -> Change:
    return Change(
        kind=EventKind.rehearsal,
        status=status,
        at=utcnow(),
        author_kind=Author.operator,
        author=author,
        note=note,
    )


# --- reading ---------------------------------------------------------------------------


def _site_query(meeting_id: int):  # type: ignore[no-untyped-def]
    return (
        select(Participation, Site, Cluster)
        .join(Site, Site.id == Participation.site_id)  # type: ignore[arg-type]
        .outerjoin(Cluster, Cluster.id == Site.cluster_id)  # type: ignore[arg-type]
        .where(Participation.meeting_id == meeting_id)
    )


def _state(row: Participation, site: Site, cluster: Cluster | None) -> SiteAttendance:
    return SiteAttendance(
        site_id=site.id or 0,
        site_code=site.code,
        site_name=site.name,
        cluster_id=site.cluster_id,
        cluster_name=cluster.name if cluster else None,
        rsvp=row.rsvp,
        expected_delegates=row.expected_delegates,
        attendance_status=row.attendance_status,  # type: ignore[arg-type]
        joined_at=row.joined_at,
        left_at=row.left_at,
        delegates_present=row.delegates_present,
        officials_present=list(row.officials_present or []),
        rehearsal_status=row.rehearsal_status,  # type: ignore[arg-type]
        rehearsal_note=row.rehearsal_note,
        changed_at=row.attendance_changed_at,
        version=row.version,
    )


async def site_state(session: AsyncSession, meeting_id: int, site_id: int) -> SiteAttendance:
    found = (
        await session.execute(
            _site_query(meeting_id)
            .where(Participation.site_id == site_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    return _state(*found)


async def sites(session: AsyncSession, meeting_id: int) -> list[SiteAttendance]:
    """Every invited site, grouped by cluster in register order."""
    rows = (
        await session.execute(
            _site_query(meeting_id)
            .order_by(Cluster.code.nulls_first(), Site.search_text, Site.id)  # type: ignore[attr-defined]
            .execution_options(populate_existing=True)
        )
    ).all()
    return [_state(*row) for row in rows]


async def summary(session: AsyncSession, meeting_id: int) -> AttendanceSummary:
    status = Participation.attendance_status
    connected = status.in_([s.value for s in CONNECTED])  # type: ignore[union-attr]
    row = (
        await session.execute(
            select(
                func.count(),
                func.sum(case((connected, 1), else_=0)),
                func.sum(
                    case(
                        (status.in_(["present", "late"]), 1),  # type: ignore[union-attr]
                        else_=0,
                    )
                ),
                func.sum(case((status == AttendanceStatus.absent, 1), else_=0)),
                func.sum(
                    case((connected, func.coalesce(Participation.delegates_present, 0)), else_=0)
                ),
                func.sum(case((Participation.rehearsal_status == RehearsalStatus.ok, 1), else_=0)),
                func.sum(
                    case((Participation.rehearsal_status == RehearsalStatus.problem, 1), else_=0)
                ),
            ).where(Participation.meeting_id == meeting_id)
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
        .where(AttendanceEvent.meeting_id == meeting_id)
        .order_by(AttendanceEvent.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    return [EventPublic.model_validate(r) for r in rows]


# --- group commit of check-ins ---------------------------------------------------------


@dataclass
class _Copy:
    """What `_apply` and `_is_repeat` read of a participation, for applying in memory."""

    attendance_status: str | None
    joined_at: datetime | None
    delegates_present: int | None
    officials_present: list[str] | None
    rehearsal_status: str | None
    rehearsal_note: str


DERIVED = (
    "attendance_status",
    "joined_at",
    "left_at",
    "delegates_present",
    "officials_present",
    "rehearsal_status",
    "rehearsal_note",
    "attendance_changed_at",
)


async def record_many(
    session: AsyncSession,
    meeting_id: int,
    items: list[tuple[int, Change]],
    config: AttendanceSettings,
) -> list[SiteAttendance | DomainError]:
    """Apply many sites' changes in one transaction with set-based statements: one read,
    one executemany UPDATE under each row's version, one INSERT of the events, one total.
    A row another writer changed between our read and our write is read and applied
    again (the UPDATE matched nothing, so what we read back is not what we wrote).
    Returns, per item, the site's state or the error that refused that item alone."""
    meeting = await get_meeting_row(session, meeting_id)
    table = Participation.__table__  # type: ignore[attr-defined]
    invited = set(
        (
            await session.scalars(
                select(table.c.site_id).where(
                    table.c.meeting_id == meeting_id,
                    table.c.site_id.in_({site for site, _ in items}),
                )
            )
        ).all()
    )
    outcome: list[int | DomainError] = []
    todo: dict[int, list[Change]] = {}
    for site_id, change in items:
        if site_id not in invited:
            outcome.append(Forbidden(f"site {site_id} is not invited to session {meeting_id}"))
            continue
        try:
            check_values(meeting, change, config)
        except Invalid as exc:
            outcome.append(exc)
            continue
        outcome.append(site_id)
        todo.setdefault(site_id, []).append(change)
    changed: set[int] = set()
    for _ in range(RETRIES):
        if not todo:
            break
        todo = await _write_once(session, meeting_id, todo, changed)
    else:
        busy = Invalid("busy", [FieldProblem("site_id", "too many simultaneous changes; retry")])
        outcome = [busy if isinstance(o, int) and o in todo else o for o in outcome]
    states = {
        s.site_id: s
        for s in (
            _state(*row)
            for row in (
                await session.execute(
                    _site_query(meeting_id)
                    .where(Participation.site_id.in_({o for o in outcome if isinstance(o, int)}))  # type: ignore[attr-defined]
                    .execution_options(populate_existing=True)
                )
            ).all()
        )
    }
    if _listeners and changed:
        totals = await summary(session, meeting_id)
        changed_states = [states[site] for site in changed]
        after_commit(session, lambda: [_announce(meeting_id, s, totals) for s in changed_states])
    return [states[o] if isinstance(o, int) else o for o in outcome]


async def _write_once(
    session: AsyncSession, meeting_id: int, todo: dict[int, list[Change]], changed: set[int]
) -> dict[int, list[Change]]:
    """One read-apply-write round; returns the sites another writer got to first."""
    table = Participation.__table__  # type: ignore[attr-defined]
    found = {
        row.site_id: row
        for row in (
            await session.execute(
                select(table).where(table.c.meeting_id == meeting_id, table.c.site_id.in_(todo))
            )
        ).all()
    }
    values: dict[int, dict[str, object]] = {}
    events: list[dict[str, object]] = []
    for site_id, changes in todo.items():
        row = found[site_id]
        state = _Copy(**{k: getattr(row, k) for k in _Copy.__dataclass_fields__})
        for change in changes:
            if _is_repeat(state, change):  # type: ignore[arg-type]
                continue
            applied = _apply(state, change)  # type: ignore[arg-type]
            for key, value in applied.items():
                if hasattr(state, key):
                    setattr(state, key, value)
            values.setdefault(site_id, {k: getattr(row, k) for k in DERIVED}).update(applied)
            events.append(_event_row(meeting_id, site_id, change))
    if not values:
        return {}
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("_id"), table.c.version == bindparam("_version"))
        .values({k: bindparam(k) for k in DERIVED} | {"version": bindparam("_next")}),
        [
            {
                "_id": found[site].id,
                "_version": found[site].version,
                "_next": found[site].version + 1,
                **merged,
            }
            for site, merged in values.items()
        ],
    )
    now = {
        row.site_id: row
        for row in (
            await session.execute(
                select(table).where(table.c.meeting_id == meeting_id, table.c.site_id.in_(values))
            )
        ).all()
    }
    # Ours when the row holds exactly what we wrote, at the version we wrote it with.
    lost = {
        site
        for site, merged in values.items()
        if now[site].version != found[site].version + 1
        or any(getattr(now[site], k) != v for k, v in merged.items())
    }
    kept = [e for e in events if e["site_id"] not in lost]
    if kept:
        await session.execute(insert(AttendanceEvent), kept)
    changed.update(set(values) - lost)
    return {site: todo[site] for site in lost}


def _event_row(meeting_id: int, site_id: int, change: Change) -> dict[str, object]:
    return {
        "meeting_id": meeting_id,
        "site_id": site_id,
        "kind": change.kind,
        "status": change.status,
        "delegates_present": change.delegates_present,
        "officials_present": change.officials_present,
        "note": change.note,
        "at": change.at,
        "recorded_at": utcnow(),
        "author_kind": change.author_kind,
        "author": change.author,
    }
