"""While a BigBlueButton session is live, read who is in its room and keep attendance.

BigBlueButton calls no one back when a user joins or leaves, so the service asks
(getMeetingInfo) every `poll_seconds`. Each pass compares the room with the sites'
recorded states: a site in the room that is not marked connected becomes connected; a
site the platform itself marked connected and that is gone becomes left. A state set by
an operator or by the site (present, absent, a check-in) is never undone by the
platform's silence: a site may be on the phone bridge, which the platform cannot see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.attendance import tracking as attendance
from meetings.attendance import video
from meetings.attendance.models import (
    CONNECTED,
    AttendanceEvent,
    AttendanceStatus,
    Author,
    EventKind,
    SiteAttendance,
)
from meetings.attendance.tracking import Change
from meetings.core.errors import Invalid
from meetings.core.keys import sessions_key, settings_key
from meetings.core.settings import Settings
from meetings.core.store import SessionMaker, utcnow
from meetings.core.types import search_key
from meetings.planning.invited import NotInvited
from meetings.planning.models import Meeting, MeetingStatus

log = logging.getLogger(__name__)
PLATFORM = "bigbluebutton"
HTTP_TIMEOUT_SECONDS = 15.0
STOP_GRACE_SECONDS = 20.0


@dataclass
class PollReport:
    meetings: int = 0
    connected: int = 0
    left: int = 0
    errors: int = 0


def _name_key(name: str) -> str:
    """Names compared without case, diacritics or spacing ("Lien hiep  Ha Noi")."""
    return " ".join(search_key(name).split())


def present_site_ids(
    attendees: Iterable[video.Attendee], sites: Sequence[SiteAttendance]
) -> set[int]:
    """The invited sites in the room: by user id (our join links set the site's code),
    else by name for someone who joined through another link and typed it.

    A name two sites share proves nothing and matches neither.
    """
    by_code = {s.site_code.casefold(): s.site_id for s in sites}
    by_name: dict[str, set[int]] = defaultdict(set)
    for s in sites:
        by_name[_name_key(s.site_name)].add(s.site_id)
    found: set[int] = set()
    for person in attendees:
        site_id = by_code.get(person.user_id.casefold()) if person.user_id else None
        if site_id is None:
            candidates = by_name.get(_name_key(person.full_name), set())
            site_id = next(iter(candidates)) if len(candidates) == 1 else None
        if site_id is not None:
            found.add(site_id)
    return found


async def poll_once(
    maker: SessionMaker, settings: Settings, http: aiohttp.ClientSession
) -> PollReport:
    """One pass over the live sessions; a failing session is logged and the others go on."""
    report = PollReport()
    async with maker() as session:
        live = (
            await session.scalars(
                select(Meeting)
                .where(col(Meeting.status) == MeetingStatus.live)
                .order_by(col(Meeting.id))
            )
        ).all()
    for meeting in live:
        report.meetings += 1
        try:
            info = await video.get_meeting_info(settings.video, meeting, http)
            if info is None:
                # Not created yet, or emptied and closed by the server: open it again so
                # the sites' links work, and count no one in it.
                await video.create_room(settings, meeting, http)
            attendees = info.attendees if info is not None else []
            connected, left = await _apply(maker, settings, meeting.id or 0, attendees)
            report.connected += connected
            report.left += left
        except Exception:
            report.errors += 1
            log.exception("video: reading the room of session %s failed", meeting.id)
    return report


async def _platform_connected(session: AsyncSession, meeting_id: int) -> set[int]:
    """Sites whose latest attendance event is this platform saying "connected"."""
    latest = (
        select(func.max(col(AttendanceEvent.id)))
        .where(
            col(AttendanceEvent.meeting_id) == meeting_id,
            col(AttendanceEvent.kind) == EventKind.attendance,
        )
        .group_by(col(AttendanceEvent.site_id))
    )
    rows = await session.scalars(
        select(col(AttendanceEvent.site_id)).where(
            col(AttendanceEvent.id).in_(latest),
            col(AttendanceEvent.author_kind) == Author.platform,
            col(AttendanceEvent.author) == PLATFORM,
            col(AttendanceEvent.status) == AttendanceStatus.connected,
        )
    )
    return set(rows.all())


async def _apply(
    maker: SessionMaker, settings: Settings, meeting_id: int, attendees: list[video.Attendee]
) -> tuple[int, int]:
    """Record what changed since the last pass, in one transaction for the session."""
    connected = left = 0
    now = utcnow()
    async with maker() as session, session.begin():
        states = await attendance.sites(session, meeting_id)
        in_room = present_site_ids(attendees, states)
        seen_by_platform = await _platform_connected(session, meeting_id)
        for state in states:
            if state.site_id in in_room and state.attendance_status not in CONNECTED:
                status = AttendanceStatus.connected
            elif (
                state.site_id not in in_room
                and state.site_id in seen_by_platform
                and state.attendance_status == AttendanceStatus.connected
            ):
                status = AttendanceStatus.left
            else:
                continue
            change = Change(
                kind=EventKind.attendance,
                status=status,
                at=now,
                author_kind=Author.platform,
                author=PLATFORM,
            )
            try:
                await attendance.record(
                    session, meeting_id, state.site_id, change, settings.attendance
                )
            except (Invalid, NotInvited) as error:
                # Uninvited in the meantime, or the session ran far over: skip the site.
                log.warning("video: site %s not updated: %s", state.site_id, error)
                continue
            if status == AttendanceStatus.connected:
                connected += 1
            else:
                left += 1
    return connected, left


async def _run(app: web.Application, http: aiohttp.ClientSession, stopping: asyncio.Event) -> None:
    settings = app[settings_key]
    maker = app[sessions_key]
    while not stopping.is_set():
        try:
            report = await poll_once(maker, settings, http)
            if report.connected or report.left:
                log.info("video: %s sites connected, %s left", report.connected, report.left)
        except Exception:
            log.exception("video: polling failed; trying again at the next tick")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=settings.video.poll_seconds)


async def video_poll_context(app: web.Application) -> AsyncIterator[None]:
    """The poller as a cleanup context (after the database's): only for BigBlueButton."""
    if app[settings_key].video.provider != "bigbluebutton":
        yield
        return
    timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        stopping = asyncio.Event()
        task = asyncio.create_task(_run(app, http, stopping), name="video-poller")
        yield
        # Let a pass in progress finish (a task cancelled mid-transaction leaves its
        # connection behind); cancel only if it does not end in time.
        stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=STOP_GRACE_SECONDS)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
