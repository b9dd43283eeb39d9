"""What changed in the record between an approved version of the minutes and the draft.

Only the record counts: the version's number and approval, the organisation's settings and
the state of later follow-up (a task done, an answer given at a later session) are not
the minutes' content, so they never make a new draft. Pure: two `MinutesData` in, a short
list out, each line a translated label and its details (msgids with their values).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from agendas.minutes.data import MinutesData
from meetings.core.labels import N_

#: A detail: a msgid and the values it names.
Detail = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Change:
    """One part of the record that differs, e.g. "Contributions: 1 added"."""

    #: contributions, recommendations, attendance, … (the API's names)
    section: str
    label: str
    details: tuple[Detail, ...] = ()


#: Fields of the session the minutes print.
_MEETING_FIELDS = {
    "title": N_("title"),
    "starts_at": N_("start"),
    "ends_at": N_("end"),
    "location": N_("place"),
    "chair": N_("chair"),
    "chair_title": N_("chair"),
    "secretary": N_("secretary"),
    "secretary_title": N_("secretary"),
}


def between(approved: MinutesData, draft: MinutesData) -> list[Change]:
    """The parts of the record that differ, in the order the minutes print them."""
    old, new = approved.model_dump(mode="json"), draft.model_dump(mode="json")
    found = [
        _session(old["meeting"], new["meeting"]),
        _attendance(old["attendance"], new["attendance"]),
        _listed("agenda", N_("Agenda"), old, new, lambda i: i["position"]),
        _listed("focus_items", N_("Focus items"), old, new, lambda i: i["number"]),
        _listed(
            "contributions",
            N_("Contributions"),
            {"contributions": [_said(c) for c in old["contributions"]]},
            {"contributions": [_said(c) for c in new["contributions"]]},
            lambda c: (c["site_name"], c["speaker_name"], c["kind"]),
        ),
        _listed(
            "recommendations",
            N_("Recommendations"),
            {"recommendations": _raised(old)},
            {"recommendations": _raised(new)},
            lambda r: (r["site_name"], r["text"]),
        ),
        _listed(
            "open_earlier",
            N_("Recommendations still open from earlier sessions"),
            old,
            new,
            lambda r: (r["site_name"], r["text"], r["raised_in"]),
        ),
        _text("conclusions", N_("Conclusions of the chair"), old, new),
        _text("general_notes", N_("General notes"), old, new),
        _listed(
            "actions",
            N_("Tasks assigned"),
            {"actions": [_task(a) for a in old["actions"]]},
            {"actions": [_task(a) for a in new["actions"]]},
            lambda a: a["text"],
        ),
    ]
    return [change for change in found if change is not None]


def _session(old: dict[str, Any], new: dict[str, Any]) -> Change | None:
    fields = dict.fromkeys(label for key, label in _MEETING_FIELDS.items() if old[key] != new[key])
    if not fields:
        return None
    return Change("meeting", N_("Session"), tuple((label, {}) for label in fields))


def _attendance(old: dict[str, Any], new: dict[str, Any]) -> Change | None:
    if old == new:
        return None
    details: list[Detail] = []
    for key, text in (
        ("connected", N_("%(before)s → %(after)s bridge points connected")),
        ("delegates_present", N_("%(before)s → %(after)s delegates")),
    ):
        if old[key] != new[key]:
            details.append((text, {"before": old[key], "after": new[key]}))
    if not details:
        before = _counted(_frozen(s) for s in old["sites"])
        after = _counted(_frozen(s) for s in new["sites"])
        moved = {dict(site)["code"] for site in ((before - after) + (after - before))}
        details.append((N_("%(count)s bridge points changed"), {"count": len(moved)}))
    return Change("attendance", N_("Attendance"), tuple(details))


def _listed(
    section: str,
    label: str,
    old: dict[str, Any],
    new: dict[str, Any],
    identity: Callable[[dict[str, Any]], Hashable],
) -> Change | None:
    """Items added, removed, or changed (the same identity, other content)."""
    before, after = _counted(map(_frozen, old[section])), _counted(map(_frozen, new[section]))
    if before == after:
        return None
    gone, came = before - after, after - before
    gone_ids = Counter(identity(dict(item)) for item in gone.elements())
    came_ids = Counter(identity(dict(item)) for item in came.elements())
    changed = sum((gone_ids & came_ids).values())
    details: list[Detail] = []
    for count, text in (
        (came.total() - changed, N_("%(count)s added")),
        (gone.total() - changed, N_("%(count)s removed")),
        (changed, N_("%(count)s changed")),
    ):
        if count:
            details.append((text, {"count": count}))
    return Change(section, label, tuple(details))


def _text(section: str, label: str, old: dict[str, Any], new: dict[str, Any]) -> Change | None:
    return Change(section, label, ((N_("edited"), {}),)) if old[section] != new[section] else None


def _said(contribution: dict[str, Any]) -> dict[str, Any]:
    """A contribution without the recommendation it raised (counted with those)."""
    return {k: v for k, v in contribution.items() if k != "recommendation"}


def _raised(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every recommendation of the session: told with its contribution, or apart."""
    told = [c["recommendation"] for c in data["contributions"] if c.get("recommendation")]
    return told + list(data["recommendations"])


def _task(action: dict[str, Any]) -> dict[str, Any]:
    """A task as assigned: whether it is done since is follow-up, not the record."""
    return {k: v for k, v in action.items() if k != "status"}


def _frozen(value: Any) -> Any:
    """A JSON value as something a Counter can count."""
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _counted(items: Any) -> Counter[Any]:
    return Counter(items)


def sections(found: Sequence[Change]) -> list[str]:
    """The names of the changed parts, for the API."""
    return [change.section for change in found]
