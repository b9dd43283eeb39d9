"""What a site sees of a session, and what changed since it was last told.

Each invitation or update records the session as its site saw it (`site_view`: time,
place, link, title, the agenda's digest, the site's own room); the next sending compares
that with now, so nothing is offered when nothing a site sees has changed, and an update
says what did (`changes`: old → new, in the reader's language). Pure functions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from agendas.programme.models import AgendaItem
from meetings.core.i18n import format_day, format_moment, translations
from meetings.core.labels import N_
from meetings.planning.models import Meeting

#: A site's view of a session: field → text (times in ISO 8601, UTC).
SiteView = dict[str, str]


def agenda_digest(agenda: Iterable[AgendaItem]) -> str:
    """The agenda as the letter and the e-mail show it, reduced to a short digest."""
    shown = [
        (
            item.title,
            item.presenter,
            item.presenter_title,
            _utc(item.starts_at) if item.starts_at else "",
            item.duration_minutes,
        )
        for item in agenda
    ]
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode()).hexdigest()[:16]


def site_view(meeting: Meeting, *, endpoint: str, agenda: str) -> SiteView:
    """What an invitation tells a site: `endpoint` is its room or dial-in for this
    session, `agenda` the digest of the session's agenda (`agenda_digest`)."""
    return {
        "title": meeting.title,
        "starts_at": _utc(meeting.starts_at),
        "ends_at": _utc(meeting.ends_at),
        "timezone": meeting.timezone,
        "location": meeting.location,
        "video_url": meeting.video_url,
        "endpoint": endpoint,
        "agenda": agenda,
    }


def _utc(moment: datetime) -> str:
    """One spelling per instant, however the time was entered (a stored view compares)."""
    return moment.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Change:
    """One thing the site was told before and is told differently now, as shown."""

    label: str
    before: str
    after: str


#: In the order an update lists them; the time is the start, end and zone together.
_LABELS = (
    ("time", N_("When")),
    ("title", N_("Session title")),
    ("location", N_("Host hall")),
    ("video_url", N_("Video link")),
    ("endpoint", N_("Your room / video endpoint")),
    ("agenda", N_("Agenda")),
)
_TIME = ("starts_at", "ends_at", "timezone")


def changes(before: Mapping[str, str], after: Mapping[str, str], locale: str) -> list[Change]:
    """What differs between two views of a site, in `locale`; an empty value shows as a
    dash, the agenda only as changed (`before` empty: the new one follows in the message)."""
    gettext = translations(locale).gettext
    found = []
    for key, label in _LABELS:
        if key == "time":
            if all(before.get(k) == after.get(k) for k in _TIME):
                continue
            old, new = _when(before, locale), _when(after, locale)
        elif before.get(key, "") == after.get(key, ""):
            continue
        elif key == "agenda":  # nothing to show before: `before` stays empty
            found.append(Change(gettext(label), "", gettext("changed (the new agenda is below)")))
            continue
        else:
            old, new = before.get(key, ""), after.get(key, "")
        found.append(Change(gettext(label), old or "—", new or "—"))
    return found


def _when(view: Mapping[str, str], locale: str) -> str:
    """ "08:00–11:30, Thứ Sáu, 19/04/2024" (both moments when it spans days)."""
    if not view.get("starts_at") or not view.get("ends_at"):
        return ""
    zone = view.get("timezone") or "UTC"
    starts = datetime.fromisoformat(view["starts_at"]).astimezone(ZoneInfo(zone))
    ends = datetime.fromisoformat(view["ends_at"]).astimezone(ZoneInfo(zone))
    if starts.date() != ends.date():
        return f"{format_moment(starts, locale, zone)} – {format_moment(ends, locale, zone)}"
    return f"{starts:%H:%M}–{ends:%H:%M}, {format_day(starts, locale, zone)}"


@dataclass(frozen=True)
class ChangeGroup:
    """Recipients whose update says the same: how many, and what it says."""

    count: int
    changes: Sequence[Change]


def grouped(
    pairs: Iterable[tuple[Mapping[str, str] | None, Mapping[str, str]]], locale: str
) -> list[ChangeGroup]:
    """Updates (before, after) grouped by what they say, the largest group first; an
    update whose earlier version is unknown (sent before versions were kept) says
    nothing particular."""
    counts: dict[tuple[Change, ...], int] = {}
    for before, after in pairs:
        key = tuple(changes(before, after, locale)) if before is not None else ()
        counts[key] = counts.get(key, 0) + 1
    return [
        ChangeGroup(count, list(key))
        for key, count in sorted(counts.items(), key=lambda item: -item[1])
    ]
