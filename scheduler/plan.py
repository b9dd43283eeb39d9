"""What a session's rhythm asks for, and when: derived from the session alone.

Pure functions of the session row and the configuration, so the same plan comes out at
start-up, after any change, and on the session page; the job store only remembers it.
Messages that would go out on a weekend or public holiday move to a working day
(`[scheduler] non_working_day`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from meetings.core.settings import SchedulerSettings
from meetings.planning.models import Meeting, MeetingStatus
from meetings.planning.workdays import on_working_day


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
    #: When it would have been due, had that not been a day off (None: not moved).
    moved_from: datetime | None = field(default=None, compare=False)

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
        leads = [(Action.reminder, lead) for lead in config.reminders]
        if config.rsvp_chaser is not None:
            leads.append((Action.rsvp_chaser, config.rsvp_chaser))
        minutes = (
            config.rehearsal_minutes
            if meeting.rehearsal_minutes is None
            else meeting.rehearsal_minutes
        )
        if minutes:
            leads.append((Action.rehearsal, timedelta(minutes=minutes)))
        for action, lead in leads:  # two moved onto the same time are one message
            due = _message(meeting, config, action, lead)
            if all((d.action, d.at) != (due.action, due.at) for d in found):
                found.append(due)
        found.append(Due(starts, Action.go_live, meeting_id))
    if meeting.status in (MeetingStatus.scheduled, MeetingStatus.live):
        found.append(Due(meeting.ends_at, Action.end, meeting_id))
    return sorted(found)


def _message(meeting: Meeting, config: SchedulerSettings, action: Action, lead: timedelta) -> Due:
    """A message `lead` before the start, on a working day by the configured rule."""
    due = meeting.starts_at - lead
    at = on_working_day(
        due,
        session_start=meeting.starts_at,
        timezone=meeting.timezone,
        rule=config.non_working_day,
    )
    return Due(at, action, meeting.id or 0, lead, moved_from=due if at != due else None)
