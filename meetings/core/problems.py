"""What is wrong with a value, said in the reader's language.

One place turns pydantic's errors (by their `type`, with their `ctx`), our validators'
messages and the domain's messages into text for a page: forms, imports, error pages and
the API errors that a page's script shows. A message the catalogs do not know is never
shown as English in another language: a general sentence takes its place.
"""

from __future__ import annotations

import re
from typing import Any

from meetings.core.errors import FieldProblem
from meetings.core.i18n import Gettext
from meetings.core.labels import N_

#: Said when a message has no translation (and to tell an English catalog from another).
NOT_VALID = N_("Not a valid value")

#: pydantic error types → what a page says; `{…}` are filled from the error's `ctx`.
PYDANTIC_MESSAGES = {
    "missing": N_("Required"),
    "string_too_short": N_("Required"),
    # A constrained type (the site code) reports an empty value as `too_short`.
    "too_short": N_("Required"),
    "string_too_long": N_("At most {max_length} characters"),
    "too_long": N_("At most {max_length} items"),
    "string_pattern_mismatch": N_("Use letters, digits, '-', '_' or '.' only"),
    "string_type": N_("Must be text"),
    "int_parsing": N_("Must be a whole number"),
    "int_type": N_("Must be a whole number"),
    "int_from_float": N_("Must be a whole number"),
    "float_parsing": N_("Must be a number"),
    "float_type": N_("Must be a number"),
    "bool_parsing": N_("Must be yes or no"),
    "bool_type": N_("Must be yes or no"),
    "enum": N_("Choose one of: {expected}"),
    "literal_error": N_("Choose one of: {expected}"),
    "greater_than_equal": N_("Must be at least {ge}"),
    "greater_than": N_("Must be more than {gt}"),
    "less_than_equal": N_("Must be at most {le}"),
    "less_than": N_("Must be less than {lt}"),
    "datetime_parsing": N_("Enter a date and time"),
    "datetime_from_date_parsing": N_("Enter a date and time"),
    "datetime_type": N_("Enter a date and time"),
    "timezone_aware": N_("Give the time with its time zone"),
    "date_parsing": N_("Enter a date"),
    "date_from_datetime_parsing": N_("Enter a date"),
    "date_type": N_("Enter a date"),
    "url_parsing": N_("Enter a web address (http or https)"),
    "url_scheme": N_("Enter a web address (http or https)"),
    "list_type": N_("Must be a list"),
    "dict_type": N_("Must be an object"),
    "model_type": N_("Must be an object"),
    "model_attributes_type": N_("Must be an object"),
    "extra_forbidden": N_("Unknown field"),
    "json_invalid": N_("Not valid JSON"),
}

#: Our validators' messages (pydantic's `value_error`), by how they begin.
VALIDATOR_MESSAGES = (
    ("must not contain control characters", N_("Must not contain control characters")),
    ("must be on one line", N_("Must be on one line")),
    ("unknown IANA time zone", N_("Unknown time zone")),
    ("must be between the years", N_("Enter a date between 1900 and 2999")),
    ("value is not a valid email address", N_("Not a valid e-mail address")),
    ("must be an http(s) link", N_("Must be an http(s) link")),
    ("ends_at must be after starts_at", N_("The end must be after the start")),
    ("may not be null", N_("Must have a value")),
)

#: Messages the domain raises in English (it speaks English to the API) that pages show,
#: listed so that they are extracted into the catalogs.
DOMAIN_MESSAGES = (
    N_("no such site link"),
    N_("may not be empty"),
    N_("the last active admin must stay an admin"),
    N_("too many simultaneous changes; retry"),
    N_("the file is empty"),
    N_("only PDF, DOCX, XLSX and PPTX files are accepted"),
    N_("Text may not contain control characters."),
    N_("invite at least one site before scheduling"),
)


def _translated_texts(gettext: Gettext) -> frozenset[str]:
    """Every text of the catalog behind `gettext` (a bound `Translations.gettext`)."""
    catalog = getattr(getattr(gettext, "__self__", None), "_catalog", None)
    if not isinstance(catalog, dict):
        return frozenset()
    key = id(catalog)
    if key not in _TEXTS:
        _TEXTS[key] = frozenset(v for v in catalog.values() if isinstance(v, str))
    return _TEXTS[key]


_TEXTS: dict[int, frozenset[str]] = {}


def in_language(message: str, gettext: Gettext, fallback: str = NOT_VALID) -> str:
    """`message` in the reader's language: translated, or already said in it by whoever
    raised it; in a language whose catalog lacks it, `fallback` instead."""
    translated = gettext(message)
    if translated != message or gettext(NOT_VALID) == NOT_VALID:  # known, or English
        return translated
    if message in _translated_texts(gettext):
        return message
    return gettext(fallback)


def _expected(text: str) -> str:
    """pydantic's "'vi' or 'en'" as "vi, en" (its "or" is English)."""
    return ", ".join(re.findall(r"'([^']*)'", text)) or text


def _template(error: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The msgid and its values for one pydantic error (None: say its own message)."""
    kind = str(error.get("type", ""))
    ctx = {k: v for k, v in dict(error.get("ctx") or {}).items() if k != "error"}
    if kind in ("string_too_short", "too_short") and int(ctx.get("min_length", 1)) > 1:
        return N_("At least {minimum} characters"), {"minimum": ctx["min_length"]}
    if "expected" in ctx:
        ctx["expected"] = _expected(str(ctx["expected"]))
    if kind in PYDANTIC_MESSAGES:
        return PYDANTIC_MESSAGES[kind], ctx
    text = str(error.get("msg", "")).removeprefix("Value error, ")
    for start, msgid in VALIDATOR_MESSAGES:
        if text.startswith(start):
            return msgid, {}
    return None, {}


def pydantic_problem(error: dict[str, Any], field: str, line: int | None = None) -> FieldProblem:
    """One pydantic error as a field problem: pydantic's English for the API, with the
    msgid a page says it by."""
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    template, params = _template(error)
    if template is None:
        return FieldProblem(field, message, line)
    return FieldProblem(field, message, line, template, tuple(params.items()))


def problem_text(problem: FieldProblem, gettext: Gettext) -> str:
    """A field problem in the reader's language."""
    if problem.template is None:
        known = next(
            (m for start, m in VALIDATOR_MESSAGES if problem.message.startswith(start)), None
        )
        return in_language(known or problem.message, gettext)
    translated = in_language(problem.template, gettext)
    try:
        return translated.format(**dict(problem.params))
    except (KeyError, IndexError, ValueError):
        return gettext(NOT_VALID)
