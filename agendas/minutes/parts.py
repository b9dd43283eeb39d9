"""The pieces every format of the minutes places (paragraph, table, attached list), and the
wording helpers that fill them."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from meetings.core.i18n import Gettext, format_count


@dataclass(frozen=True)
class Block:
    """One paragraph of the body; `kind` says how every format lays it out."""

    kind: Literal["heading", "para", "item", "subitem"]
    text: str
    #: A bold lead-in ("Thời gian bắt đầu:") before the text.
    label: str = ""


@dataclass(frozen=True)
class Table:
    """A ruled table: the action items in the body, the bridge points in the attached list."""

    columns: Sequence[str]
    #: Column widths in millimetres; they add up to the text width (165 mm on A4).
    widths_mm: Sequence[float]
    #: Cells are plain text; a newline starts a second, smaller line (a site's officials).
    #: A row of one cell is a group heading across the table (a cluster's name).
    rows: Sequence[Sequence[str]]
    #: Columns set centred (numbers, dates, statuses).
    centred: frozenset[int] = frozenset()
    total: Sequence[str] = ()
    #: A group (its heading and the rows up to the next) starts a new page rather than
    #: break, unless it is longer than a page (the invitation letter's clusters).
    keep_groups: bool = False


@dataclass(frozen=True)
class Attachment:
    """The attached list (danh sách kèm theo) of every invited bridge point."""

    title: str
    note: str
    table: Table


def in_words(labels: Mapping[Any, str], key: str | None, gettext: Gettext) -> str:
    """A status or kind in words; a value without a label shows as stored (never through
    gettext: the empty msgid would print the catalog's header)."""
    return gettext(labels[key]) if key in labels else key or ""


@functools.lru_cache(maxsize=1024)
def counted(value: int, locale: str) -> str:
    """A number as the locale writes it ("1.234"); cached because Babel parses the locale
    on every call, which the 5,000 rows of a national session's list would feel."""
    return format_count(value, locale)


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def person(name: str, title: str) -> str:
    """'Phan Anh Sơn, Chủ tịch Liên hiệp …': the full name and the position, as the
    minutes name the chair and the secretary."""
    return ", ".join(part for part in (name, title) if part)
