"""Attendance: record events and keep each site's derived state, under its own version.

A change is an event row plus the site's derived state on its participation row, written
in one transaction under the row's attendance version (Participation.attendance_version;
an answer moves the row's `version`, so neither stales the other's kept views): a
concurrent writer for the same site makes the loser re-read and re-apply, so no change is
lost. What one change does is in `changes`, the reading in `states`; this module is the
part's one entry to both.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Result, Row, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.attendance.changes import (
    Change,
    apply,
    check_in_change,
    check_values,
    is_repeat,
    rehearsal_change,
)
from meetings.attendance.models import AttendanceEvent, SiteAttendance
from meetings.attendance.states import (
    events,
    fingerprint,
    site_state,
    sites,
    summary,
)
from meetings.core import live_channel, signals
from meetings.core.errors import DomainError, FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.settings import AttendanceSettings
from meetings.core.store import after_commit, table_of, utcnow
from meetings.planning.invited import NotInvited
from meetings.planning.lifecycle import get_meeting_row
from meetings.planning.models import Meeting, Participation
from meetings.register.models import Cluster, Site

__all__ = [
    "Change",
    "check_in_change",
    "check_values",
    "events",
    "fingerprint",
    "record",
    "record_many",
    "record_with_session",
    "rehearsal_change",
    "site_state",
    "sites",
    "summary",
]
RETRIES = 20


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


# --- group commit of check-ins ---------------------------------------------------------


@dataclass
class _Copy:
    """What `apply` and `is_repeat` read of a participation, for applying in memory."""

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
#: Per item, the site it applies to or the error that refused it alone.
Outcome = list[int | DomainError]
#: The admitted changes, per site.
Todo = dict[int, list[Change]]


async def record_many(
    session: AsyncSession,
    meeting_id: int,
    items: list[tuple[int, Change]],
    config: AttendanceSettings,
    *,
    meeting: Meeting | None = None,
) -> list[SiteAttendance | DomainError]:
    """Apply many sites' changes in one transaction with set-based statements: one read of
    the sites' rows (which also says which sites are invited), one executemany UPDATE under
    each row's attendance version, one INSERT of the events, one total. A row another writer changed
    between our read and our write (the UPDATE matched fewer rows than it was given) is
    read and applied again. The states returned are what was read with what was written
    on top: nothing just written is read back. `meeting`: its row, when the caller has it.
    Returns, per item, the site's state or the error that refused that item alone."""
    meeting = meeting or await get_meeting_row(session, meeting_id)
    found = await _rows(session, meeting_id, {site for site, _ in items})
    return await _record(session, meeting, items, found, config)


#: A batch's changes, made once its session's columns are read (a check-in's late mark).
ChangesOf = Callable[[Meeting], list[tuple[int, Change]]]


async def record_with_session(
    session: AsyncSession,
    meeting_id: int,
    site_ids: Collection[int],
    changes_of: ChangesOf,
    config: AttendanceSettings,
) -> list[SiteAttendance | DomainError]:
    """`record_many` for the check-in batcher: the session's columns come in the statement
    that reads the sites' rows (each statement is several hand-offs to SQLite's thread, a
    good part of a batch's time); read alone only when none of the sites is invited."""
    rows = await session.execute(
        _ROWS_AND_MEETING.where(
            _PARTICIPATION.c.meeting_id == meeting_id, _PARTICIPATION.c.site_id.in_(site_ids)
        )
    )
    found = {row.site_id: row for row in rows.all()}
    if found:
        row = next(iter(found.values()))
        meeting = Meeting.model_construct(**{k: getattr(row, f"m_{k}") for k in _MEETING_KEYS})
    else:
        meeting = await meeting_times(session, meeting_id)
    return await _record(session, meeting, changes_of(meeting), found, config)


async def _record(
    session: AsyncSession,
    meeting: Meeting,
    items: list[tuple[int, Change]],
    found: dict[int, Row[Any]],
    config: AttendanceSettings,
) -> list[SiteAttendance | DomainError]:
    meeting_id = meeting.id or 0
    outcome, todo = _admit(meeting, items, found, config)
    written: dict[int, dict[str, object]] = {}
    for _ in range(RETRIES):
        if not todo:
            break
        todo = await _write_once(session, meeting_id, todo, found, written)
    else:
        busy = Invalid("busy", [FieldProblem("site_id", "too many simultaneous changes; retry")])
        outcome = [busy if isinstance(o, int) and o in todo else o for o in outcome]
    states = {
        site: _state(found[site], written.get(site))
        for site in {o for o in outcome if isinstance(o, int)}
    }
    await _announce(session, meeting_id, [states[site] for site in written])
    return [states[o] if isinstance(o, int) else o for o in outcome]


def _admit(
    meeting: Meeting,
    items: list[tuple[int, Change]],
    found: dict[int, Row[Any]],
    config: AttendanceSettings,
) -> tuple[Outcome, Todo]:
    """Refuse the items of sites not invited (no row in `found`) and of impossible values,
    one by one."""
    meeting_id = meeting.id or 0
    outcome: Outcome = []
    todo: Todo = {}
    for site_id, change in items:
        if site_id not in found:
            outcome.append(NotInvited(meeting_id=meeting_id, site_id=site_id))
            continue
        try:
            check_values(meeting, change, config)
        except Invalid as exc:
            outcome.append(exc)
            continue
        outcome.append(site_id)
        todo.setdefault(site_id, []).append(change)
    return outcome, todo


def _state(row: Row[Any], written: dict[str, object] | None) -> SiteAttendance:
    """A site's state from its row as read (`_rows`) with what we wrote over it."""
    values = {**row._mapping, **(written or {})}
    values["changed_at"] = values["attendance_changed_at"]
    values["version"] = values["attendance_version"]
    values["officials_present"] = values["officials_present"] or []
    return SiteAttendance.model_validate(values)


async def _announce(session: AsyncSession, meeting_id: int, changed: list[SiteAttendance]) -> None:
    """Tell the app's listeners (its live boards) once the changes commit, never before.
    No totals here: the board reads them once per event it sends (attendance.live)."""
    if changed:  # other instances' boards (this one's hub is told just below)
        await live_channel.announce(
            session, meeting_id, [site.site_id for site in changed], here=False
        )
    listeners = signals.of(session).attendance_changed
    if not listeners or not changed:
        return

    def announce() -> None:
        for site in changed:
            for listener in listeners:
                listener(meeting_id, site)

    after_commit(session, announce)


_PARTICIPATION = table_of(Participation)
_SITE = table_of(Site)
_CLUSTER = table_of(Cluster)
#: A site's participation row with what its state shows of the site and its cluster.
_ROWS = (
    select(
        _PARTICIPATION,
        _SITE.c.code.label("site_code"),
        _SITE.c.name.label("site_name"),
        _SITE.c.cluster_id,
        _CLUSTER.c.name.label("cluster_name"),
    )
    .join(_SITE, _SITE.c.id == _PARTICIPATION.c.site_id)
    .outerjoin(_CLUSTER, _CLUSTER.c.id == _SITE.c.cluster_id)
)
#: One row's derived columns, written only at the version they were computed from.
_UPDATE = (
    update(_PARTICIPATION)
    .where(
        _PARTICIPATION.c.id == bindparam("_id"),
        _PARTICIPATION.c.attendance_version == bindparam("_version"),
    )
    .values({k: bindparam(k) for k in DERIVED} | {"attendance_version": bindparam("_next")})
)
_INSERT_EVENTS = insert(table_of(AttendanceEvent))
_MEETING = table_of(Meeting)
#: What a check-in reads of its session: the timing rules, the late mark.
_MEETING_KEYS = ("id", "status", "starts_at", "ends_at", "timezone", "rehearsal_minutes")
_MEETING_TIMES = select(*(_MEETING.c[k] for k in _MEETING_KEYS)).where(
    _MEETING.c.id == bindparam("meeting_id")
)
#: The sites' rows, each with its session's columns (`m_<name>`).
_ROWS_AND_MEETING = _ROWS.add_columns(*(_MEETING.c[k].label(f"m_{k}") for k in _MEETING_KEYS)).join(
    _MEETING, _MEETING.c.id == _PARTICIPATION.c.meeting_id
)


async def meeting_times(session: AsyncSession, meeting_id: int) -> Meeting:
    """The session's columns that a check-in reads, in a `Meeting` built without the ORM
    (loading the whole row into the identity map was a tenth of a batch's time)."""
    row = (await session.execute(_MEETING_TIMES, {"meeting_id": meeting_id})).first()
    if row is None:
        raise NotFound.of(N_("no session with id {meeting_id}"), meeting_id=meeting_id)
    return Meeting.model_construct(**row._mapping)


async def _rows(session: AsyncSession, meeting_id: int, site_ids: set[int]) -> dict[int, Row[Any]]:
    found = await session.execute(
        _ROWS.where(
            _PARTICIPATION.c.meeting_id == meeting_id, _PARTICIPATION.c.site_id.in_(site_ids)
        )
    )
    return {row.site_id: row for row in found.all()}


async def _write_once(
    session: AsyncSession,
    meeting_id: int,
    todo: Todo,
    found: dict[int, Row[Any]],
    written: dict[int, dict[str, object]],
) -> Todo:
    """One apply-write round on the rows in `found`; returns the sites another writer got
    to first (their rows in `found` read again)."""
    values, event_rows = _applied(meeting_id, todo, found)
    if not values:
        return {}
    result = await session.execute(
        _UPDATE,
        [
            {
                "_id": found[site].id,
                "_version": found[site].attendance_version,
                "_next": found[site].attendance_version + 1,
                **merged,
            }
            for site, merged in values.items()
        ],
    )
    lost: set[int] = set()
    if not _all_matched(result, len(values)):
        now = await _rows(session, meeting_id, set(values))
        # Ours when the row holds exactly what we wrote, at the version we wrote it with.
        lost = {
            site
            for site, merged in values.items()
            if now[site].attendance_version != found[site].attendance_version + 1
            or any(getattr(now[site], k) != v for k, v in merged.items())
        }
        found.update({site: now[site] for site in lost})
    kept = [e for e in event_rows if e["site_id"] not in lost]
    if kept:
        await session.execute(_INSERT_EVENTS, kept)
    for site in set(values) - lost:
        written[site] = {**values[site], "attendance_version": found[site].attendance_version + 1}
    return {site: todo[site] for site in lost}


def _all_matched(result: Result[Any], expected: int) -> bool:
    """The UPDATE matched every row it was given, when the driver counts executemany's
    rows (SQLite does); otherwise we cannot tell, and read them back."""
    return (
        isinstance(result, CursorResult)
        and result.supports_sane_multi_rowcount()
        and result.rowcount == expected
    )


def _applied(
    meeting_id: int, todo: Todo, found: dict[int, Row[Any]]
) -> tuple[dict[int, dict[str, object]], list[dict[str, object]]]:
    """Every site's changes applied in memory: its new columns, and the events to log."""
    values: dict[int, dict[str, object]] = {}
    event_rows: list[dict[str, object]] = []
    for site_id, changes in todo.items():
        row = found[site_id]
        current = _Copy(**{k: getattr(row, k) for k in _Copy.__dataclass_fields__})
        for change in changes:
            if is_repeat(current, change):
                continue
            applied = apply(current, change)
            for key, value in applied.items():
                if hasattr(current, key):
                    setattr(current, key, value)
            values.setdefault(site_id, {k: getattr(row, k) for k in DERIVED}).update(applied)
            event_rows.append(_event_row(meeting_id, site_id, change))
    return values, event_rows


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
