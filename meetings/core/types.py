"""Tables and schemas of the register (clusters, sites, contacts) and of accounts.

Each entity is a family: `XBase` (validated fields) → `XCreate` / `XUpdate` → `X`
(the table) → `XPublic` (what the API returns; never the table itself).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, StringConstraints
from sqlalchemy import ColumnElement, SQLColumnExpression


def nfc(value: Any) -> Any:
    """Vietnamese text arrives composed or decomposed; store one form (NFC), trimmed."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    return value


def _check_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value


def _no_line_breaks(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must be on one line")
    return value


Text = Annotated[str, BeforeValidator(nfc)]


Line = Annotated[str, BeforeValidator(nfc), AfterValidator(_no_line_breaks)]


Code = Annotated[
    str,
    BeforeValidator(nfc),
    StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"),
]


TimeZoneName = Annotated[str, BeforeValidator(nfc), AfterValidator(_check_timezone)]


#: A UI and e-mail language (the catalogs that exist).
SiteLocale = Literal["vi", "en"]


def search_key(*parts: str | None) -> str:
    """Lower-case text without diacritics, so that "ha noi" finds "Hà Nội"."""
    text = " ".join(p for p in parts if p).replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def word_conditions(
    column: SQLColumnExpression[str], query: str | None
) -> list[ColumnElement[bool]]:
    """One LIKE per word of `query` against a `search_key` column: every word must match."""
    conditions: list[ColumnElement[bool]] = []
    for word in search_key(query or "").split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(column.like(f"%{escaped}%", escape="\\"))
    return conditions
