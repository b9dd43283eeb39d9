"""HTML forms: from posted fields to the API's models, and from errors back to fields.

The pages validate with the same pydantic models as the API, so a rule lives in one
place; this module only translates between form fields and those models, and turns
errors into per-field messages in the page's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from multidict import MultiMapping
from pydantic import ValidationError

from meetings.core.errors import Conflict, DomainError, FieldProblem, Invalid
from meetings.core.i18n import Gettext
from meetings.core.labels import N_
from meetings.core.problems import in_language, problem_text, pydantic_problem
from meetings.core.types import MAX_INT

#: A posted form or a query string: fields by name, a name possibly repeated.
FormData = MultiMapping[Any]


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
    """A whole number typed in a field or a query, or None; past what the store holds it is
    refused on the field (it could name no record, and would not fit the column)."""
    raw = text(form, name)
    if not (raw.isascii() and raw.isdigit()):
        return None
    if len(raw) > len(str(MAX_INT)) or int(raw) > MAX_INT:
        raise Invalid("number too large", [FieldProblem(name, N_("Too large"))])
    return int(raw)


def ids(form: FormData, name: str) -> list[int]:
    """Ids posted as a repeated field (checkboxes); anything but an id we could hold is
    left out, as a box nobody ticked."""
    return [
        int(value)
        for value in form.getall(name, [])
        if isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= len(str(MAX_INT))
        and 1 <= int(value) <= MAX_INT
    ]


def local_moment(value: str, zone: str, field: str) -> datetime:
    """An <input type="datetime-local"> value read in the time zone `zone`."""
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("bad time", [FieldProblem(field, N_("Enter a date and time"))]) from None
    return naive.replace(tzinfo=ZoneInfo(zone))


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


def form_field(location: tuple[Any, ...]) -> str:
    """`("contacts", 0, "email")` → `contacts.0.email`, the name the template looks up."""
    return ".".join(str(part) for part in location)


def problems_of(exc: Exception, gettext: Gettext) -> FormState:
    """Errors from validation or the domain as field messages, with the HTTP status."""
    state = FormState(summary=gettext("Please correct the marked fields."), status=422)
    if isinstance(exc, ValidationError):
        for error in exc.errors(include_url=False):
            name = form_field(error["loc"])
            problem = pydantic_problem(dict(error), name)
            state.errors.setdefault(name, problem_text(problem, gettext))
    elif isinstance(exc, Invalid):
        for problem in exc.problems:
            state.errors.setdefault(problem.field, problem_text(problem, gettext))
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
            state.summary = in_language(exc.message, gettext, N_("Already used by another record"))
    elif isinstance(exc, DomainError):
        state.status = exc.status
        state.summary = in_language(exc.message, gettext, N_("This cannot be done."))
    else:
        raise exc
    return state
