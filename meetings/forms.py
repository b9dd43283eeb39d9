"""HTML forms: from posted fields to the API's models, and from errors back to fields.

The pages validate with the same pydantic models as the API, so a rule lives in one
place; this module only translates between form fields and those models, and turns
errors into per-field messages in the page's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from multidict import MultiDictProxy
from pydantic import ValidationError

from meetings.errors import Conflict, DomainError, Invalid
from meetings.models import ContactRole, Role

FormData = MultiDictProxy[Any]


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Marks a msgid for extraction; it is translated where it is shown."""
    return message


#: Labels of roles, translated in templates with `_(role_labels[role])`.
ROLE_LABELS = {
    Role.admin: N_("Administrator"),
    Role.organiser: N_("Organiser"),
    Role.secretary: N_("Secretary"),
    Role.chair: N_("Chair"),
}
KIND_LABELS = {
    "briefing": N_("Online briefing"),
    "seminar": N_("Seminar"),
    "cluster_meeting": N_("Cluster meeting"),
    "conference": N_("Conference"),
}
STATUS_LABELS = {
    "draft": N_("Draft"),
    "scheduled": N_("Scheduled"),
    "live": N_("Live"),
    "ended": N_("Ended"),
    "cancelled": N_("Cancelled"),
}
AGENDA_KIND_LABELS = {
    "opening": N_("Opening"),
    "report": N_("Report"),
    "discussion": N_("Discussion"),
    "conclusion": N_("Conclusion"),
    "other": N_("Other"),
}
FOCUS_STATUS_LABELS = {
    "new": N_("New"),
    "ongoing": N_("Ongoing"),
    "done": N_("Done"),
    "dropped": N_("Dropped"),
}
ATTENDANCE_LABELS = {
    "connected": N_("Connected"),
    "present": N_("Present"),
    "late": N_("Late"),
    "left": N_("Left"),
    "absent": N_("Absent"),
    "technical_issue": N_("Technical issue"),
}
REHEARSAL_LABELS = {
    "tested": N_("Rehearsal: tested"),
    "ok": N_("Rehearsal: OK"),
    "problem": N_("Rehearsal: problem"),
}
RSVP_LABELS = {
    "needs_action": N_("No answer yet"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "tentative": N_("Tentative"),
}
MESSAGE_KIND_LABELS = {
    "invitation": N_("Invitation"),
    "update": N_("Update"),
    "cancellation": N_("Cancellation"),
    "reminder": N_("Reminder"),
    "minutes": N_("Notice of conclusions"),
}
MESSAGE_STATUS_LABELS = {
    "queued": N_("Queued"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "failed": N_("Failed"),
    "skipped": N_("Skipped"),
}
DEADLINE_LABELS = {
    "invitations": N_("Invitations"),
    "documents": N_("Documents"),
    "conclusions": N_("Notice of conclusions"),
}
#: What a site (or the hall) said, as the record and the minutes name it.
RECOMMENDATION_STATUS_LABELS = {
    "open": N_("Open"),
    "answered": N_("Answered"),
    "closed": N_("Closed"),
}
CONTRIBUTION_KIND_LABELS = {
    "report": N_("Report"),
    "opinion": N_("Opinion"),
    "recommendation": N_("Recommendation"),
    "question": N_("Question"),
}
CONTACT_ROLE_LABELS = {
    ContactRole.head: N_("Head of the union"),
    ContactRole.secretary: N_("Secretary"),
    ContactRole.technical: N_("Technical contact"),
    ContactRole.other: N_("Other"),
}
Gettext = Callable[[str], str]
SITE_FIELDS = (
    "code",
    "name",
    "province",
    "cluster_id",
    "timezone",
    "address",
    "endpoint",
    "locale",
)
CONTACT_FIELDS = ("name", "title", "email", "phone", "role")


@dataclass
class FormState:
    """What a form page needs to re-render: the values typed and the problems found."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    status: int = 200
    is_stale: bool = False


def text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def optional_int(form: FormData, name: str) -> int | None:
    raw = text(form, name)
    return int(raw) if raw.isdigit() else None


def rows(
    form: FormData, prefix: str, names: tuple[str, ...], *, keys: tuple[str, ...]
) -> list[dict[str, str]]:
    """Table rows posted as repeated fields (`prefix_name` once per row), in page order;
    a row whose `keys` are all empty is a blank row and is left out."""
    columns = {name: form.getall(f"{prefix}_{name}", []) for name in names}
    found = []
    for index in range(max((len(values) for values in columns.values()), default=0)):
        row = {
            name: str(values[index]).strip() if index < len(values) else ""
            for name, values in columns.items()
        }
        if any(row[key] for key in keys):
            found.append(row)
    return found


def site_values(form: FormData) -> dict[str, Any]:
    """The site form as the API's body: empty optional fields become None or are left out."""
    values: dict[str, Any] = {name: text(form, name) for name in SITE_FIELDS}
    values["cluster_id"] = optional_int(form, "cluster_id")
    values["timezone"] = values["timezone"] or None
    values["locale"] = values["locale"] or None
    values["contacts"] = rows(
        form, "contact", CONTACT_FIELDS, keys=("name", "title", "email", "phone")
    )
    return values


#: pydantic error types → the message shown in the form (translated at render time).
_MESSAGES = {
    "missing": N_("Required"),
    "string_too_short": N_("Required"),
    # A constrained type (the site code) reports an empty value as `too_short`.
    "too_short": N_("Required"),
    "string_too_long": N_("Too long"),
    "string_pattern_mismatch": N_("Use letters, digits, '-', '_' or '.' only"),
    "int_parsing": N_("Must be a whole number"),
    "enum": N_("Choose one of the listed values"),
    "greater_than_equal": N_("Too small"),
    "less_than_equal": N_("Too large"),
}


def _pydantic_message(error: dict[str, Any], gettext: Gettext) -> str:
    kind = error.get("type", "")
    message = str(error.get("msg", ""))
    minimum = int(error.get("ctx", {}).get("min_length", 1))
    if kind in ("string_too_short", "too_short") and minimum > 1:
        return gettext("At least {minimum} characters").format(minimum=minimum)
    if kind in _MESSAGES:
        return gettext(_MESSAGES[kind])
    if "email" in message:
        return gettext("Not a valid e-mail address")
    if "time zone" in message:
        return gettext("Unknown time zone")
    if "one line" in message:
        return gettext("Must be on one line")
    return message


def form_field(location: tuple[Any, ...]) -> str:
    """`("contacts", 0, "email")` → `contacts.0.email`, the name the template looks up."""
    return ".".join(str(part) for part in location)


def problems_of(exc: Exception, gettext: Gettext) -> FormState:
    """Errors from validation or the domain as field messages, with the HTTP status."""
    state = FormState(summary=gettext("Please correct the marked fields."), status=422)
    if isinstance(exc, ValidationError):
        for error in exc.errors(include_url=False):
            state.errors.setdefault(
                form_field(error["loc"]), _pydantic_message(dict(error), gettext)
            )
    elif isinstance(exc, Invalid):
        for problem in exc.problems:  # known messages have translations; others stay as-is
            state.errors.setdefault(problem.field, gettext(problem.message))
    elif isinstance(exc, Conflict):
        state.status = 409
        if exc.field == "version":
            state.is_stale = True
            state.summary = gettext(
                "Someone else changed this record while you were editing. Reload it to see "
                "their change, then apply yours again."
            )
        else:
            state.errors[exc.field or "form"] = gettext("Already used by another record")
            state.summary = exc.message
    elif isinstance(exc, DomainError):
        state.status = exc.status
        state.summary = exc.message
    else:
        raise exc
    return state
