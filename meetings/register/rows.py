"""The rows of an import file checked with the API's schemas, every problem with its line."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import Row

from meetings.core.errors import FieldProblem
from meetings.core.labels import N_
from meetings.core.problems import pydantic_problem
from meetings.core.types import nfc, search_key
from meetings.register.models import SiteCreate

#: Site columns, in the order an export writes them.
SITE_COLUMNS = (
    "code",
    "name",
    "province",
    "cluster",
    "timezone",
    "address",
    "endpoint",
    "locale",
)

#: Fields of one contact group `contactN_<field>`, in the order an export writes them.
CONTACT_FIELDS = ("name", "title", "email", "phone", "role")

REQUIRED_COLUMNS = ("code", "name")

# Header names are compared without case, diacritics, or the difference between
# spaces, underscores and hyphens: "Múi giờ", "mui_gio" and "MUI GIO" are one name.
_SITE_ALIASES = {
    "code": ("code", "site code", "ma", "ma diem cau", "ma don vi"),
    "name": ("name", "site name", "ten", "ten diem cau", "ten don vi"),
    "province": ("province", "tinh", "tinh/thanh", "tinh/thanh pho", "tinh thanh"),
    "cluster": ("cluster", "cluster code", "cum", "ma cum"),
    "timezone": ("timezone", "time zone", "mui gio"),
    "address": ("address", "dia chi"),
    "endpoint": ("endpoint", "diem ket noi", "dia chi ket noi"),
    "locale": ("locale", "language", "ngon ngu"),
}

_CONTACT_ALIASES = {
    "name": ("name", "ten", "ho ten", "ho va ten"),
    "title": ("title", "chuc vu"),
    "email": ("email", "e mail", "thu dien tu"),
    "phone": ("phone", "dien thoai", "so dien thoai", "sdt"),
    "role": ("role", "vai tro"),
}

_SITE_HEADERS = {alias: column for column, names in _SITE_ALIASES.items() for alias in names}

_CONTACT_HEADERS = {alias: f for f, names in _CONTACT_ALIASES.items() for alias in names}

_CONTACT_HEADER = re.compile(r"^(?:contact|lien he|nguoi lien he) ?(\d+) ?(.+)$")

KNOWN = (
    ", ".join(
        (*SITE_COLUMNS, "contact1_name", "contact1_title", "contact1_email", "contact1_phone")
    )
    + ", contact1_role, contact2_name, …"
)
#: What is wrong in a file, as msgids (the API says them in English, the page translated).
TWICE = N_("column {column} appears twice")
UNKNOWN_COLUMN = N_("unknown column {label}; the columns are {known}")
NO_COLUMN = N_("the file has no {column} column")
BAD_CODE = N_(
    "{code} is not a valid code: use letters A-Z, digits, '-', '_' and '.', "
    "starting with a letter or digit"
)
NO_CLUSTERS = N_("no cluster with code {code} (the register has no clusters yet)")
UNKNOWN_CLUSTER = N_("no cluster with code {code} (the clusters are {known})")
USED_CODE = N_("code {code} is already used on line {first}")

T = TypeVar("T")

#: How long a worker thread goes through rows before it lets the event loop in.
TURN_SECONDS = 0.001


def taking_turns(items: Iterable[T]) -> Iterator[T]:
    """The items, with the interpreter lock let go every millisecond: a worker thread
    going through rows thereby lets the event loop in within a millisecond, not only at
    Python's 5 ms switch interval, so requests meanwhile answer as usual (a zero sleep per
    row would let it in sooner, but doubles the time the rows take)."""
    turn = time.monotonic() + TURN_SECONDS
    for item in items:
        if time.monotonic() >= turn:
            time.sleep(0)
            turn = time.monotonic() + TURN_SECONDS
        yield item


@dataclass(frozen=True)
class Header:
    """Which cell of a row holds which column, and the contact groups in number order."""

    site: dict[str, int]
    #: group number → {contact field → cell index}
    contacts: dict[int, dict[str, int]]
    #: Cell indexes with an empty header: a value below them is a problem.
    unnamed: frozenset[int]
    #: How many cells the header row has; a value further right is a problem too.
    width: int

    @property
    def has_contacts(self) -> bool:
        return bool(self.contacts)


@dataclass(frozen=True)
class ClusterRef:
    """A cluster as the rows need it: plain values, safe to read in a worker thread."""

    id: int
    code: str


@dataclass
class Planned:
    """One valid row and what to do with it."""

    line: int
    data: SiteCreate
    cluster_code: str | None
    #: The stored site with this code (its id, version and the file's columns), if any.
    existing: Row[Any] | None = None
    changed: list[str] = field(default_factory=list)


def _header_key(text: str) -> str:
    return re.sub(r"[\s_-]+", " ", search_key(nfc(text))).strip()


def parse_header(line: int, cells: list[str]) -> tuple[Header, list[FieldProblem]]:
    site: dict[str, int] = {}
    contacts: dict[int, dict[str, int]] = {}
    unnamed: list[int] = []
    problems: list[FieldProblem] = []
    for index, raw in enumerate(cells):
        label = nfc(raw)
        if not label:
            unnamed.append(index)
            continue
        key = _header_key(label)
        column = _SITE_HEADERS.get(key)
        if column is not None:
            if column in site:
                problems.append(FieldProblem.of(label, TWICE, line, column=column))
            site[column] = index
            continue
        match = _CONTACT_HEADER.match(key)
        contact_field = _CONTACT_HEADERS.get(match.group(2)) if match else None
        if match and contact_field and int(match.group(1)) >= 1:
            group = contacts.setdefault(int(match.group(1)), {})
            if contact_field in group:
                name = f"contact{int(match.group(1))}_{contact_field}"
                problems.append(FieldProblem.of(label, TWICE, line, column=name))
            group[contact_field] = index
            continue
        problems.append(
            FieldProblem.of(label, UNKNOWN_COLUMN, line, label=repr(label), known=KNOWN)
        )
    for required in REQUIRED_COLUMNS:
        if required not in site:
            problems.append(FieldProblem.of(required, NO_COLUMN, line, column=required))
    header = Header(
        site=site,
        contacts=dict(sorted(contacts.items())),
        unnamed=frozenset(unnamed),
        width=len(cells),
    )
    return header, problems


def _row_input(header: Header, cells: list[str]) -> tuple[dict[str, Any], list[int], str]:
    """The row as SiteCreate input (empty cells left out), the contact group of each
    contact in that input, and the cluster code as written."""

    def cell(index: int) -> str:
        return cells[index] if index < len(cells) else ""

    data: dict[str, Any] = {}
    for column, index in header.site.items():
        value = cell(index)
        if value and column != "cluster":
            data[column] = value
    contacts: list[dict[str, str]] = []
    groups: list[int] = []
    for number, columns in header.contacts.items():
        values = {f: cell(i) for f, i in columns.items() if cell(i)}
        if not values:
            continue  # an empty group is no contact
        if "role" in values:
            values["role"] = values["role"].lower()
        contacts.append(values)
        groups.append(number)
    if contacts:
        data["contacts"] = contacts
    cluster = nfc(cell(header.site["cluster"])) if "cluster" in header.site else ""
    return data, groups, cluster


def _column_of(loc: tuple[int | str, ...], groups: list[int]) -> str:
    if len(loc) >= 3 and loc[0] == "contacts" and isinstance(loc[1], int):
        return f"contact{groups[loc[1]]}_{loc[2]}"
    if loc and loc[0] == "cluster_id":
        return "cluster"
    return ".".join(str(part) for part in loc) or "row"


def _problem(error: dict[str, Any], column: str, line: int) -> FieldProblem:
    """A cell's problem; an empty cell or a bad code said the way a sheet's reader needs."""
    kind = error["type"]
    if kind == "missing":
        return FieldProblem.of(column, N_("required; the cell is empty"), line)
    if column == "code" and kind == "string_pattern_mismatch":
        return FieldProblem.of(column, BAD_CODE, line, code=repr(error.get("input")))
    return pydantic_problem(error, column, line)


def _find_cluster(clusters: dict[str, ClusterRef], code: str) -> ClusterRef | None:
    found = clusters.get(code)
    if found is not None:
        return found
    folded = [c for c in clusters.values() if c.code.casefold() == code.casefold()]
    return folded[0] if len(folded) == 1 else None


def _unknown_cluster(code: str, clusters: dict[str, ClusterRef], line: int) -> FieldProblem:
    known = sorted(clusters)
    listed = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
    if not known:
        return FieldProblem.of("cluster", NO_CLUSTERS, line, code=repr(code))
    return FieldProblem.of("cluster", UNKNOWN_CLUSTER, line, code=repr(code), known=listed)


def check_rows(
    rows: Iterable[tuple[int, list[str]]], clusters: dict[str, ClusterRef]
) -> tuple[Header | None, list[Planned], list[FieldProblem]]:
    """Every row checked; the valid ones planned, every problem collected."""
    header: Header | None = None
    planned: list[Planned] = []
    problems: list[FieldProblem] = []
    first_line_of: dict[str, int] = {}
    for line, cells in rows:
        if not any(cells):
            continue
        if header is None:
            header, header_problems = parse_header(line, cells)
            if header_problems:
                return header, [], header_problems  # fix the header before the rows
            continue
        row_problems = [
            FieldProblem.of(f"column {index + 1}", N_("a value in a column without a header"), line)
            for index, value in enumerate(cells)
            if value and (index in header.unnamed or index >= header.width)
        ]
        data, groups, cluster_code = _row_input(header, cells)
        cluster: ClusterRef | None = None
        if cluster_code:
            cluster = _find_cluster(clusters, cluster_code)
            if cluster is None:
                row_problems.append(_unknown_cluster(cluster_code, clusters, line))
            else:
                data["cluster_id"] = cluster.id
        site: SiteCreate | None = None
        try:
            site = SiteCreate.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                column = _column_of(error["loc"], groups)
                row_problems.append(_problem(dict(error), column, line))
        code = nfc(data.get("code", ""))  # checked even when the row has other problems
        if code:
            first = first_line_of.setdefault(code, line)
            if first != line:
                row_problems.append(
                    FieldProblem.of("code", USED_CODE, line, code=repr(code), first=first)
                )
        if row_problems or site is None:
            problems.extend(row_problems)
            continue
        planned.append(Planned(line, site, cluster.code if cluster else None))
    if header is None:
        problems.append(FieldProblem.of("file", N_("the file is empty: it has no header row"), 1))
    return header, planned, problems
