"""The value types every part's schemas are made of, so that one rule holds everywhere:
text (normalised; no control characters; one line or several), ids and counts the store
can hold, moments a calendar can hold, and PATCH bodies that refuse null where a value
must stay."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from sqlalchemy import ColumnElement, SQLColumnExpression
from sqlmodel import SQLModel

#: The largest id, count or version the store holds (PostgreSQL's `integer`); a larger
#: number in a path, a query or a body can name nothing we have.
MAX_INT = 2**31 - 1

#: An id of a stored row, as the API accepts it.
Id = Annotated[int, Field(ge=1, le=MAX_INT)]

#: A count or a version number, as the API accepts it.
Count = Annotated[int, Field(ge=0, le=MAX_INT)]

#: Control characters (C0, DEL, C1) and lone surrogates: a NUL breaks PostgreSQL and is
#: written raw into the .ics, a surrogate cannot be encoded at all. Multi-line text keeps
#: its tabs and line breaks; a one-line value may hold none of them.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_OR_LAYOUT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


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
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America", a long name
        raise ValueError(f"unknown IANA time zone {value[:64]!r}") from None
    return value


def check_characters(value: str, *, multiline: bool) -> str:
    """The one rule for every text the service takes in (bodies, forms, query strings)."""
    if found := (_CONTROL if multiline else _CONTROL_OR_LAYOUT).search(value):
        raise ValueError(f"must not contain control characters (found U+{ord(found[0]):04X})")
    return value


def _multi_line(value: str) -> str:
    return check_characters(value, multiline=True)


def _one_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must be on one line")
    return check_characters(value, multiline=False)


#: Multi-line text (a description, notes): tabs and line breaks allowed.
Text = Annotated[str, BeforeValidator(nfc), AfterValidator(_multi_line)]


#: One line (a name, a title): no line break, no tab, no other control character.
Line = Annotated[str, BeforeValidator(nfc), AfterValidator(_one_line)]


Code = Annotated[
    str,
    BeforeValidator(nfc),
    StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"),
]


TimeZoneName = Annotated[str, BeforeValidator(nfc), AfterValidator(_check_timezone)]


def _within_calendar(value: datetime) -> datetime:
    if not 1900 <= value.year <= 2999:
        raise ValueError("must be between the years 1900 and 2999")
    return value


#: A moment with its offset, in years a session can have: year 1 or 9999 would overflow
#: when turned into UTC (and means nothing for a meeting).
Moment = Annotated[AwareDatetime, AfterValidator(_within_calendar)]


#: A UI and e-mail language (the catalogs that exist).
SiteLocale = Literal["vi", "en"]


class Patch(SQLModel):
    """A PATCH body: a field left out stays as it is, and `null` empties a field only
    where the record may be empty (`nullable`); elsewhere null is refused, naming the
    field, instead of reaching a NOT NULL column."""

    #: The fields that `null` may empty (their column is nullable).
    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_nullable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The document says the same: null only in the nullable fields."""
        found = handler(core_schema)
        schema = handler.resolve_ref_schema(found)
        for name, field in schema.get("properties", {}).items():
            if name in cls.nullable or "anyOf" not in field:
                continue
            kinds = [kind for kind in field.pop("anyOf") if kind != {"type": "null"}]
            field.update(kinds[0] if len(kinds) == 1 else {"anyOf": kinds})
            if field.get("default", ...) is None:
                del field["default"]
        return found


def search_key(*parts: str | None) -> str:
    """Lower-case text without diacritics, so that "ha noi" finds "Hà Nội"."""
    text = " ".join(p for p in parts if p).replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


#: More words add nothing to a search, and thousands overflow SQLite's expression depth.
MAX_SEARCH_WORDS = 20


def word_conditions(
    column: SQLColumnExpression[str], query: str | None
) -> list[ColumnElement[bool]]:
    """One LIKE per word of `query` against a `search_key` column: every word must match."""
    conditions: list[ColumnElement[bool]] = []
    for word in dict.fromkeys(search_key(query or "").split()[:MAX_SEARCH_WORDS]):
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(column.like(f"%{escaped}%", escape="\\"))
    return conditions
