"""Domain events other packages react to, inside the same transaction, per app.

`meetings` must not import `notify` (dependencies point one way), yet cancelling a
session has to queue its CANCEL messages in the same transaction. The composition root
builds one `Signals` per app and connects the receivers; the app's session maker puts it
in every session's `info`, so a domain function reaches its app's receivers through the
session it already takes. Two apps in one process share no receiver.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:  # attendance builds on core: its models are only named here
    from meetings.attendance.models import SiteAttendance

Receiver = Callable[[AsyncSession, int], Awaitable[object]]
#: A committed attendance change: the session and the site's new state (the live board's
#: message). Called after the commit, never for a rolled-back change.
AttendanceListener = Callable[[int, "SiteAttendance"], None]
#: Sites of a session changed (committed): the session and the sites' ids.
SitesListener = Callable[[int, list[int]], None]
#: The key of a session's `info` that holds its app's signals.
INFO_KEY = "giaoban_signals"


class Signal:
    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[Receiver] = []

    def connect(self, receiver: Receiver) -> None:
        if receiver not in self._receivers:
            self._receivers.append(receiver)

    def disconnect(self, receiver: Receiver) -> None:
        if receiver in self._receivers:
            self._receivers.remove(receiver)

    async def send(self, session: AsyncSession, meeting_id: int) -> None:
        for receiver in self._receivers:
            await receiver(session, meeting_id)


def _signal(name: str) -> Signal:
    return field(default_factory=lambda: Signal(name))


@dataclass
class Signals:
    """The receivers of one app (or of one command-line run): nothing here is global."""

    #: A session was cancelled (receivers queue the cancellations).
    meeting_cancelled: Signal = _signal("meeting_cancelled")
    #: A session was created or changed: time, invited sites, status (receivers re-plan
    #: its reminders and timed changes once the transaction commits).
    meeting_changed: Signal = _signal("meeting_changed")
    #: A session ended on schedule: its draft minutes are due to the secretary and chair.
    minutes_due: Signal = _signal("minutes_due")
    #: The chair approved a version of a session's minutes (receivers queue the notice of
    #: conclusions with the minutes to every invited site).
    minutes_approved: Signal = _signal("minutes_approved")
    #: A recommendation got an answer, or a changed one (sent with the recommendation's id:
    #: receivers queue the answer to the site that raised it).
    recommendation_answered: Signal = _signal("recommendation_answered")
    #: Sites were reminded of a report request they had not answered (sent with the
    #: request's id: receivers mail the sites of its latest chase round).
    report_chased: Signal = _signal("report_chased")
    #: Committed attendance changes reach these (the app's live hub).
    attendance_changed: list[AttendanceListener] = field(default_factory=list)
    #: Other committed changes of what a board shows (answers): the session and its
    #: sites, whose states the receiver reads (meetings.core.live_channel.announce).
    sites_changed: list[SitesListener] = field(default_factory=list)


def of(session: AsyncSession) -> Signals:
    """The signals of the app that made `session`; a session made outside any app (a test
    arranging data, a bench) gets none connected, so its changes notify no one."""
    found = session.info.get(INFO_KEY)
    return found if isinstance(found, Signals) else Signals()
