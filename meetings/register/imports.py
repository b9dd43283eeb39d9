"""Import and export of the site register (CSV and XLSX), all-or-nothing.

The file has one row per site. Its header names the columns, in any order:

    code, name, province, cluster, timezone, address, endpoint,
    contact1_name, contact1_title, contact1_email, contact1_phone, contact1_role,
    contact2_name, ...

`cluster` is the cluster's code. Header names are trimmed and case-insensitive, and a
few Vietnamese names are accepted too ("Mã", "Tên", "Tỉnh/thành", "Cụm", ...). Rows
are matched to the register by site code: new codes are created, known ones updated
(or left alone when nothing differs). A column that is not in the file leaves that field
of existing sites as it is; when the file has contact columns, each site's contact list
is replaced by the file's.

Every row is checked first, with the same schemas as the API; if anything is wrong the
import writes nothing and reports every problem with its line (the header is line 1; in
a workbook, the spreadsheet's row number).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.core.errors import Conflict, FieldProblem, Invalid
from meetings.core.store import bump_version, utcnow
from meetings.core.types import nfc, search_key
from meetings.register import sites
from meetings.register.models import Cluster, Contact, ContactIn, Site, SiteCreate

FileKind = Literal["csv", "xlsx"]

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
#: Beyond this many, the problems are counted but not listed.
MAX_LISTED_PROBLEMS = 1000

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

XLSX_MAGIC = b"PK\x03\x04"
CODE_RULE = "use letters A-Z, digits, '-', '_' and '.', starting with a letter or digit"


class ImportRow(BaseModel):
    """What the import does (or would do, in a dry run) with one line of the file."""

    line: int
    code: str
    name: str
    cluster_code: str | None = None
    action: Literal["create", "update", "unchanged"]
    #: For an update: the columns whose values differ ("contacts" for the contact list).
    changed: list[str] = []


class ImportReport(BaseModel):
    dry_run: bool
    total: int
    created: int
    updated: int
    unchanged: int
    rows: list[ImportRow]


# --- reading the file ------------------------------------------------------------------


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


@dataclass
class Planned:
    """One valid row and what to do with it."""

    line: int
    data: SiteCreate
    cluster_code: str | None
    existing: Site | None = None
    changed: list[str] = field(default_factory=list)


def kind_from_name(filename: str) -> FileKind:
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".xlsx":
        return "xlsx"
    hint = " (.xls is the old Excel format: save it as .xlsx)" if suffix == ".xls" else ""
    raise Invalid(
        "unsupported file type",
        [
            FieldProblem(
                "file",
                f"{filename or 'the file'} is neither .csv nor .xlsx{hint}; "
                'save it as "CSV UTF-8" or as an Excel workbook (.xlsx)',
            )
        ],
    )


def read_rows(content: bytes, kind: FileKind) -> list[tuple[int, list[str]]]:
    """(line number, cell texts) for every row of the file, the header included."""
    return _xlsx_rows(content) if kind == "xlsx" else _csv_rows(content)


def _csv_rows(content: bytes) -> list[tuple[int, list[str]]]:
    if content.startswith(XLSX_MAGIC):
        raise _file_problem(
            "this is an Excel workbook, not CSV: send it as .xlsx, or save it as CSV UTF-8"
        )
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _file_problem('the file is UTF-16 text; save it as "CSV UTF-8" instead', line=1)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise _file_problem(
            f"the file is not UTF-8 text (the first wrong byte is on line {line}); "
            'in Excel use "Save As" and choose "CSV UTF-8 (Comma delimited)"',
            line=line,
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(reader, start=1):
            rows.append((number, [cell.strip() for cell in cells]))
    except csv.Error as exc:
        raise _file_problem(f"the CSV cannot be read: {exc}", line=len(rows) + 1) from None
    return rows


def _sniff_delimiter(text: str) -> str:
    """Comma, unless the header has more semicolons (Excel in some locales) or tabs."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _xlsx_rows(content: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    if not content.startswith(XLSX_MAGIC):
        raise _file_problem(
            "this is not an Excel workbook (.xlsx); a CSV file must be sent as text/csv"
        )
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # a damaged zip, a missing part, bad XML: openpyxl raises many kinds
        raise _file_problem(
            f"the workbook cannot be read ({exc}); save it as .xlsx again"
        ) from None
    try:
        if not workbook.worksheets:
            raise _file_problem("the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        return [
            (number, [_cell_text(value) for value in values])
            for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), 1)
        ]
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _file_problem(message: str, line: int | None = None) -> Invalid:
    return Invalid("the file cannot be read", [FieldProblem("file", message, line)])


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
                problems.append(FieldProblem(label, f"column {column} appears twice", line))
            site[column] = index
            continue
        match = _CONTACT_HEADER.match(key)
        contact_field = _CONTACT_HEADERS.get(match.group(2)) if match else None
        if match and contact_field and int(match.group(1)) >= 1:
            group = contacts.setdefault(int(match.group(1)), {})
            if contact_field in group:
                name = f"contact{int(match.group(1))}_{contact_field}"
                problems.append(FieldProblem(label, f"column {name} appears twice", line))
            group[contact_field] = index
            continue
        problems.append(
            FieldProblem(
                label,
                f"unknown column {label!r}; the columns are {', '.join(SITE_COLUMNS)} "
                "and contact1_name, contact1_title, contact1_email, contact1_phone, "
                "contact1_role, contact2_name, …",
                line,
            )
        )
    for required in REQUIRED_COLUMNS:
        if required not in site:
            problems.append(FieldProblem(required, f"the file has no {required} column", line))
    header = Header(
        site=site,
        contacts=dict(sorted(contacts.items())),
        unnamed=frozenset(unnamed),
        width=len(cells),
    )
    return header, problems


# --- checking rows ---------------------------------------------------------------------


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


def _message(error: dict[str, Any], column: str) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required; the cell is empty"
    if column == "code" and kind == "string_pattern_mismatch":
        return f"{error.get('input')!r} is not a valid code: {CODE_RULE}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _find_cluster(clusters: dict[str, Cluster], code: str) -> Cluster | None:
    found = clusters.get(code)
    if found is not None:
        return found
    folded = [c for c in clusters.values() if c.code.casefold() == code.casefold()]
    return folded[0] if len(folded) == 1 else None


def _unknown_cluster(code: str, clusters: dict[str, Cluster]) -> str:
    known = sorted(clusters)
    listed = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
    return f"no cluster with code {code!r}" + (
        f" (the clusters are {listed})" if known else " (the register has no clusters yet)"
    )


def check_rows(
    rows: Iterable[tuple[int, list[str]]], clusters: dict[str, Cluster]
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
            FieldProblem(f"column {index + 1}", "a value in a column without a header", line)
            for index, value in enumerate(cells)
            if value and (index in header.unnamed or index >= header.width)
        ]
        data, groups, cluster_code = _row_input(header, cells)
        cluster: Cluster | None = None
        if cluster_code:
            cluster = _find_cluster(clusters, cluster_code)
            if cluster is None:
                row_problems.append(
                    FieldProblem("cluster", _unknown_cluster(cluster_code, clusters), line)
                )
            else:
                data["cluster_id"] = cluster.id
        site: SiteCreate | None = None
        try:
            site = SiteCreate.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                column = _column_of(error["loc"], groups)
                row_problems.append(FieldProblem(column, _message(dict(error), column), line))
        code = nfc(data.get("code", ""))  # checked even when the row has other problems
        if code:
            first = first_line_of.setdefault(code, line)
            if first != line:
                row_problems.append(
                    FieldProblem("code", f"code {code!r} is already used on line {first}", line)
                )
        if row_problems or site is None:
            problems.extend(row_problems)
            continue
        planned.append(Planned(line, site, cluster.code if cluster else None))
    if header is None:
        problems.append(FieldProblem("file", "the file is empty: it has no header row", 1))
    return header, planned, problems


# --- comparing with the register -------------------------------------------------------


def _contact_tuple(contact: Any) -> tuple[str, ...]:
    return (contact.name, contact.title, contact.email, contact.phone, str(contact.role))


def _differences(
    site: Site, data: SiteCreate, header: Header, contacts: list[tuple[str, ...]]
) -> list[str]:
    changed = []
    for column in SITE_COLUMNS:
        if column not in header.site:
            continue  # a column the file does not have leaves the field alone
        attribute = "cluster_id" if column == "cluster" else column
        if getattr(site, attribute) != getattr(data, attribute):
            changed.append(column)
    if header.has_contacts and contacts != [_contact_tuple(c) for c in data.contacts]:
        changed.append("contacts")
    return changed


# --- the import ------------------------------------------------------------------------


async def import_sites(
    session: AsyncSession, *, content: bytes, kind: FileKind, dry_run: bool
) -> ImportReport:
    """Check the whole file, then (unless `dry_run`) create and update sites.

    Raises `Invalid` listing every problem, having written nothing. The caller's
    transaction makes the writes all-or-nothing should the database refuse one.
    """
    rows = read_rows(content, kind)
    clusters = await sites.cluster_by_code(session)
    header, planned, problems = check_rows(rows, clusters)
    if problems:
        raise _too_many(problems)
    assert header is not None

    existing = {s.code: s for s in (await session.scalars(select(Site))).all()}
    contacts: dict[int, list[tuple[str, ...]]] = {}
    stored = await session.execute(
        select(
            Contact.site_id, Contact.name, Contact.title, Contact.email, Contact.phone, Contact.role
        ).order_by(Contact.site_id, Contact.position)  # type: ignore[arg-type]
    )
    for row in stored:
        contacts.setdefault(row.site_id, []).append(_contact_tuple(row))

    report_rows: list[ImportRow] = []
    for plan in planned:
        plan.existing = existing.get(plan.data.code)
        if plan.existing is None:
            action: Literal["create", "update", "unchanged"] = "create"
        else:
            plan.changed = _differences(
                plan.existing, plan.data, header, contacts.get(plan.existing.id or 0, [])
            )
            action = "update" if plan.changed else "unchanged"
        report_rows.append(
            ImportRow(
                line=plan.line,
                code=plan.data.code,
                name=plan.data.name,
                cluster_code=plan.cluster_code,
                action=action,
                changed=plan.changed,
            )
        )
    if not dry_run:
        await _write(session, planned, header)
    return ImportReport(
        dry_run=dry_run,
        total=len(report_rows),
        created=sum(r.action == "create" for r in report_rows),
        updated=sum(r.action == "update" for r in report_rows),
        unchanged=sum(r.action == "unchanged" for r in report_rows),
        rows=report_rows,
    )


def _too_many(problems: list[FieldProblem]) -> Invalid:
    count = len(problems)
    listed = problems[:MAX_LISTED_PROBLEMS]
    if count > MAX_LISTED_PROBLEMS:
        listed.append(
            FieldProblem("file", f"{count - MAX_LISTED_PROBLEMS} more problems are not listed")
        )
    noun = "problem" if count == 1 else "problems"
    return Invalid(f"the file has {count} {noun}; nothing was imported", listed)


async def _write(session: AsyncSession, planned: list[Planned], header: Header) -> None:
    new_sites: list[tuple[Site, SiteCreate]] = []
    replaced: list[tuple[int, list[ContactIn]]] = []
    for plan in planned:
        site = plan.existing
        if site is None:
            row = Site.model_validate(plan.data.model_dump(exclude={"contacts"}))
            row.search_text = search_key(row.name, row.province, row.code)
            new_sites.append((row, plan.data))
            continue
        if not plan.changed:
            continue
        assert site.id is not None
        await bump_version(session, site, site.version)
        for column in plan.changed:
            if column == "contacts":
                replaced.append((site.id, plan.data.contacts))
            elif column == "cluster":
                site.cluster_id = plan.data.cluster_id
            else:
                setattr(site, column, getattr(plan.data, column))
        site.search_text = search_key(site.name, site.province, site.code)
        site.updated_at = utcnow()
    try:
        session.add_all(row for row, _ in new_sites)
        await session.flush()
        ids = [site_id for site_id, _ in replaced]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            await session.execute(
                delete(Contact)
                .where(Contact.site_id.in_(chunk))  # type: ignore[attr-defined]
                .execution_options(synchronize_session=False)
            )
        for site_id, site_contacts in [
            *((row.id, data.contacts) for row, data in new_sites),
            *replaced,
        ]:
            assert site_id is not None
            session.add_all(
                Contact(site_id=site_id, position=position, **contact.model_dump())
                for position, contact in enumerate(site_contacts)
            )
        await session.flush()
    except IntegrityError:
        raise Conflict(
            "the register changed while the file was imported (a site code was taken or a "
            "cluster removed); nothing was imported, run the import again"
        ) from None


# --- the export ------------------------------------------------------------------------


def export_header(contact_groups: int) -> list[str]:
    return [*SITE_COLUMNS] + [
        f"contact{n}_{f}" for n in range(1, contact_groups + 1) for f in CONTACT_FIELDS
    ]


async def export_sites_csv(session: AsyncSession) -> bytes:
    """Every site in register order, in the format `import_sites` reads (UTF-8 with BOM,
    so that Excel shows Vietnamese correctly)."""
    register = await sites.all_sites(session)
    # At least one contact group, so that the export of an empty register is a template.
    groups = max([1, *(len(s.contacts) for s in register)])
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(export_header(groups))
    for site in register:
        cells = [
            site.code,
            site.name,
            site.province,
            site.cluster_code or "",
            site.timezone or "",
            site.address,
            site.endpoint,
            site.locale or "",
        ]
        for contact in site.contacts:
            cells += [contact.name, contact.title, contact.email, contact.phone, contact.role]
        cells += [""] * (len(CONTACT_FIELDS) * (groups - len(site.contacts)))
        writer.writerow(cells)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")
