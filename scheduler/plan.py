"""What a session's rhythm asks for, and when: derived from the session alone.

Pure functions of the session row and the configuration, so the same plan comes out at
start-up, after any change, and on the session page; the job store only remembers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from meetings.core.settings import SchedulerSettings
from meetings.planning.models import Meeting, MeetingStatus


class Action(StrEnum):
    #: Queued invitations with a chosen send time become due: wake the delivery worker.
    dispatch = "dispatch"
    reminder = "reminder"
    rsvp_chaser = "rsvp_chaser"
    rehearsal = "rehearsal"
    go_live = "go_live"
    #: The session ends; then the secretary and chair hear the draft minutes are ready.
    end = "end"


#: Actions that send messages to sites (skipped, not sent, once the session started).
MESSAGES = frozenset({Action.reminder, Action.rsvp_chaser, Action.rehearsal})


@dataclass(frozen=True, order=True)
class Due:
    at: datetime
    action: Action
    meeting_id: int
    #: For reminders: how long before the start (shown as "1 day before").
    lead: timedelta | None = None

    @property
    def job_id(self) -> str:
        """Stable across restarts: the same plan gives the same ids."""
        return f"meeting:{self.meeting_id}:{self.action}:{self.at:%Y%m%dT%H%M%S}"


def job_prefix(meeting_id: int) -> str:
    return f"meeting:{meeting_id}:"


def plan(
    meeting: Meeting,
    config: SchedulerSettings,
    *,
    dispatch_at: datetime | None = None,
) -> list[Due]:
    """Everything still to happen for `meeting` (past times included: the caller decides
    what a missed one means). Drafts, ended and cancelled sessions plan nothing but the
    dispatch of invitations queued for later."""
    meeting_id = meeting.id or 0
    found: list[Due] = []
    if dispatch_at is not None and meeting.status in ("draft", "scheduled"):
        found.append(Due(dispatch_at, Action.dispatch, meeting_id))
    if meeting.status == MeetingStatus.scheduled:
        starts = meeting.starts_at
        for lead in config.reminders:
            found.append(Due(starts - lead, Action.reminder, meeting_id, lead))
        if config.rsvp_chaser is not None:
            found.append(
                Due(starts - config.rsvp_chaser, Action.rsvp_chaser, meeting_id, config.rsvp_chaser)
            )
        minutes = (
            config.rehearsal_minutes
            if meeting.rehearsal_minutes is None
            else meeting.rehearsal_minutes
        )
        if minutes:
            lead = timedelta(minutes=minutes)
            found.append(Due(starts - lead, Action.rehearsal, meeting_id, lead))
        found.append(Due(starts, Action.go_live, meeting_id))
    if meeting.status in (MeetingStatus.scheduled, MeetingStatus.live):
        found.append(Due(meeting.ends_at, Action.end, meeting_id))
    return sorted(found)
