"""The session form and a site's RSVP form: from posted fields to the API's bodies, and
a session back to the form's fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from meetings.core.errors import FieldProblem, Invalid
from meetings.core.forms import FormData, ids, local_moment, optional_int, text
from meetings.core.labels import N_

#: The time zones offered first in the session form.
COMMON_ZONES = (
    "Asia/Ho_Chi_Minh",
    "Asia/Bangkok",
    "Asia/Tokyo",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Moscow",
    "America/New_York",
    "UTC",
)


def local_input(moment: datetime | None, zone: str) -> str:
    """A UTC time as the value of an <input type="datetime-local"> in `zone`."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") if moment else ""


def meeting_values(form: FormData) -> dict[str, Any]:
    """The session form as the API's body (times read in the chosen time zone)."""
    zone = text(form, "timezone") or "Asia/Ho_Chi_Minh"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("bad zone", [FieldProblem("timezone", N_("Unknown time zone"))]) from None
    values: dict[str, Any] = {
        name: text(form, name)
        for name in (
            "title",
            "kind",
            "description",
            "location",
            "chair",
            "chair_title",
            "secretary",
            "secretary_title",
            "video_url",
            "timezone",
        )
    }
    values["timezone"] = zone
    values["description"] = str(form.get("description", "")).strip()
    values["is_urgent"] = form.get("is_urgent") == "on"
    values["rehearsal_minutes"] = text(form, "rehearsal_minutes") or None
    values["host_site_id"] = optional_int(form, "host_site_id")
    values["site_ids"] = sorted(set(ids(form, "site_ids")))
    problems = []
    for field in ("starts_at", "ends_at"):
        try:
            values[field] = local_moment(text(form, field), zone, field)
        except Invalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise Invalid("bad times", problems)
    return values


def form_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values to re-show in the form: times back in the form's local notation."""
    shown = dict(values)
    zone = shown.get("timezone") or "Asia/Ho_Chi_Minh"
    for field in ("starts_at", "ends_at"):
        if isinstance(shown.get(field), datetime):
            shown[field] = local_input(shown[field], zone)
    return shown


def rsvp_values(form: FormData) -> dict[str, Any]:
    """The RSVP form on a site's page as the API's body."""
    delegates = text(form, "expected_delegates")
    return {
        "response": text(form, "response"),
        "expected_delegates": delegates or None,
        "technical_contact": text(form, "technical_contact"),
        "note": str(form.get("note", "")).strip(),
    }
