"""The phase of a session's life, which its page follows: one function decides it from the
session's status and times and from what other parts know of it (invitations sent,
minutes approved, the notice of conclusions sent), and says what may no longer change.

Other parts add panels to the session page (meetings.core.keys.panels_key); each panel
says where it stands in each phase under the key "ranks" ({phase: rank}, lower first;
a phase it leaves out gets DEFAULT_RANK; a rank of None hides it in that phase).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from meetings.core.errors import FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.planning.models import MeetingStatus


class Phase(StrEnum):
    planning = "planning"
    invitations = "invitations"
    rehearsal = "rehearsal"
    live = "live"
    ended = "ended"
    approved = "approved"
    follow_up = "follow_up"
    cancelled = "cancelled"


#: The steps of a session's life, in order (a cancelled session has left them).
STEPS: tuple[Phase, ...] = (
    Phase.planning,
    Phase.invitations,
    Phase.rehearsal,
    Phase.live,
    Phase.ended,
    Phase.approved,
    Phase.follow_up,
)

PHASE_LABELS: dict[str, str] = {
    Phase.planning: N_("Planning"),
    Phase.invitations: N_("Invitations out"),
    Phase.rehearsal: N_("Rehearsal"),
    Phase.live: N_("Live"),
    Phase.ended: N_("Ended"),
    Phase.approved: N_("Minutes approved"),
    Phase.follow_up: N_("Follow-up"),
    Phase.cancelled: N_("Cancelled"),
}

#: A panel's rank in a phase it does not name.
DEFAULT_RANK = 50


@dataclass(frozen=True)
class PhaseFacts:
    """What decides a session's phase besides its own row (other parts supply the flags
    through meetings.core.keys.session_facts_key)."""

    now: datetime
    #: Invitations were queued or sent to the sites.
    invitations_sent: bool = False
    #: A version of the minutes was approved by the chair.
    minutes_approved: bool = False
    #: The notice of conclusions with the approved minutes went to the sites.
    conclusions_sent: bool = False

    @classmethod
    def of(cls, now: datetime, found: Iterable[Mapping[str, bool]]) -> PhaseFacts:
        """The facts of `now` and every provider's flags (any provider saying yes)."""
        flags = {"invitations_sent": False, "minutes_approved": False, "conclusions_sent": False}
        for facts in found:
            for key, value in facts.items():
                if key in flags:
                    flags[key] = flags[key] or bool(value)
        return cls(now=now, **flags)


class Timed(Protocol):
    """What phase_of reads of a session (its table row and its public model both fit)."""

    @property
    def status(self) -> str: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def timezone(self) -> str: ...


def _on_its_day(meeting: Timed, now: datetime) -> bool:
    """From midnight of the session's day, in its own time zone."""
    zone = ZoneInfo(meeting.timezone)
    day = meeting.starts_at.astimezone(zone).date()
    return now >= datetime.combine(day, time(0), tzinfo=zone)


def phase_of(meeting: Timed, facts: PhaseFacts) -> Phase:
    """The phase of `meeting`: the one place that says which it is."""
    status = MeetingStatus(meeting.status)
    if status == MeetingStatus.cancelled:
        return Phase.cancelled
    if status == MeetingStatus.live:
        return Phase.live
    if status == MeetingStatus.ended:
        if facts.conclusions_sent:
            return Phase.follow_up
        return Phase.approved if facts.minutes_approved else Phase.ended
    if status == MeetingStatus.scheduled and _on_its_day(meeting, facts.now):
        return Phase.rehearsal
    return Phase.invitations if facts.invitations_sent else Phase.planning


@dataclass(frozen=True)
class Step:
    phase: Phase
    label: str
    is_done: bool
    is_current: bool


def steps(current: Phase) -> list[Step]:
    """The step indicator: every step, those before `current` done (none when cancelled)."""
    position = STEPS.index(current) if current in STEPS else -1
    return [
        Step(phase, PHASE_LABELS[phase], index < position, index == position)
        for index, phase in enumerate(STEPS)
    ]


# --- what may no longer change ---------------------------------------------------------

#: Why a part of a session no longer changes, by status and by what is changed.
READ_ONLY: dict[tuple[MeetingStatus, str], str] = {
    (MeetingStatus.ended, "programme"): N_("The session has ended: the programme is read-only"),
    (MeetingStatus.ended, "session"): N_(
        "The session has ended: its sites and times are read-only"
    ),
    (MeetingStatus.cancelled, "programme"): N_(
        "The session was cancelled: the programme is read-only"
    ),
    (MeetingStatus.cancelled, "session"): N_("The session was cancelled: it is read-only"),
}


def read_only_reason(status: str, what: str) -> str | None:
    """Why `what` ("programme": agenda and focus items; "session": sites, times, place)
    of a session in `status` may not change (an English msgid), or None if it may."""
    return READ_ONLY.get((MeetingStatus(status), what))


def refuse_if_read_only(status: str, what: str) -> None:
    """Raise Invalid (422) naming the reason when `what` may not change in `status`."""
    reason = read_only_reason(status, what)
    if reason is not None:
        raise Invalid("read-only session", [FieldProblem("status", reason)])


# --- the page's order ------------------------------------------------------------------


def rank_in(section: Mapping[str, Any], phase: Phase) -> int | None:
    """Where `section` stands in `phase` (None: not shown then)."""
    ranks: Mapping[str, int | None] = section.get("ranks") or {}
    return ranks[phase] if phase in ranks else DEFAULT_RANK


def arrange(sections: Sequence[dict[str, Any]], phase: Phase) -> list[dict[str, Any]]:
    """The sections shown in `phase`, first what the phase needs (stable for equal
    ranks)."""
    shown = [
        (rank, i, s) for i, s in enumerate(sections) if (rank := rank_in(s, phase)) is not None
    ]
    return [s for _, _, s in sorted(shown, key=lambda t: (t[0], t[1]))]


def ranks(*order: int | None, cancelled: int | None = DEFAULT_RANK) -> dict[Phase, int | None]:
    """A panel's ranks given in the order of STEPS (one per step; None: hidden then),
    and its rank on a cancelled session's page."""
    return {**dict(zip(STEPS, order, strict=True)), Phase.cancelled: cancelled}


#: The session page's own sections, where each stands in each phase.
OWN_SECTIONS: tuple[dict[str, Any], ...] = (
    {"template": "planning/facts_card.html", "ranks": ranks(10, 30, 40, 60, 60, 60, 40)},
    {"template": "planning/sites_card.html", "ranks": ranks(30, 10, 30, 70, 70, 80, 80)},
    {"template": "planning/documents_card.html", "ranks": ranks(60, 60, 60, 80, 80, 85, 85)},
)
