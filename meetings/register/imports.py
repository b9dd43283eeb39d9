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
a workbook, the spreadsheet's row number). The file is read within the [imports] limits
(`files`) and checked in a worker thread, so other requests go on meanwhile; the writes
are set-based (`bulk`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.errors import FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.core.settings import ImportSettings
from meetings.core.store import id_of, utcnow
from meetings.register import bulk, sites
from meetings.register.files import DEFAULT_LIMITS, FileKind, read_rows
from meetings.register.models import Contact, Site, SiteCreate
from meetings.register.rows import (
    SITE_COLUMNS,
    ClusterRef,
    Header,
    Planned,
    check_rows,
    taking_turns,
)

#: Beyond this many, the problems are counted but not listed.
MAX_LISTED_PROBLEMS = 1000


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


async def import_sites(
    session: AsyncSession,
    *,
    content: bytes | Path,
    kind: FileKind,
    dry_run: bool,
    limits: ImportSettings = DEFAULT_LIMITS,
) -> ImportReport:
    """Check the whole file, then (unless `dry_run`) create and update sites.

    Raises `Invalid` listing every problem, having written nothing (`OverLimit`, 413, at
    the first of `limits` the file passes). The file is read and checked in a worker
    thread, so that other requests go on meanwhile; the writes are set-based, and the
    caller's transaction makes them all-or-nothing should the database refuse one.
    """
    clusters = {
        code: ClusterRef(id_of(cluster), cluster.code)
        for code, cluster in (await sites.cluster_by_code(session)).items()
    }
    header, planned, problems = await asyncio.to_thread(_checked, content, kind, clusters, limits)
    if problems or header is None:  # a file without a header has a problem saying so
        raise _too_many(problems)
    stored = await _stored_sites(session)
    contacts = await _stored_contacts(session) if header.has_contacts else {}
    report = await asyncio.to_thread(_report, planned, header, stored, contacts, dry_run)
    if not dry_run:
        now = utcnow()
        writes = await asyncio.to_thread(bulk.prepare, planned, header, now)
        await bulk.write(session, writes, now)
    return report


def _checked(
    content: bytes | Path, kind: FileKind, clusters: dict[str, ClusterRef], limits: ImportSettings
) -> tuple[Header | None, list[Planned], list[FieldProblem]]:
    """Read and check the file (in a worker thread: no session, no event loop here)."""
    return check_rows(taking_turns(read_rows(content, kind, limits)), clusters)


async def _stored_sites(session: AsyncSession) -> dict[str, Row[Any]]:
    """Every site's id, version and file columns, by code: plain rows, not ORM objects."""
    columns: list[Any] = [col(Site.id), col(Site.version), col(Site.code), col(Site.name)]
    columns += [col(Site.province), col(Site.cluster_id), col(Site.timezone)]
    columns += [col(Site.address), col(Site.endpoint), col(Site.locale)]
    return {row.code: row for row in await session.execute(select(*columns))}


async def _stored_contacts(session: AsyncSession) -> dict[int, list[tuple[str, ...]]]:
    contacts: dict[int, list[tuple[str, ...]]] = {}
    stored = await session.execute(
        select(
            col(Contact.site_id),
            col(Contact.name),
            col(Contact.title),
            col(Contact.email),
            col(Contact.phone),
            col(Contact.role),
        ).order_by(col(Contact.site_id), col(Contact.position))
    )
    for row in stored:
        contacts.setdefault(row.site_id, []).append(_contact_tuple(row))
    return contacts


def _report(
    planned: list[Planned],
    header: Header,
    stored: dict[str, Row[Any]],
    contacts: dict[int, list[tuple[str, ...]]],
    dry_run: bool,
) -> ImportReport:
    """What each row does: create, update (which columns) or nothing (in a worker thread)."""
    report_rows: list[ImportRow] = []
    for plan in taking_turns(planned):
        plan.existing = stored.get(plan.data.code)
        if plan.existing is None:
            action: Literal["create", "update", "unchanged"] = "create"
        else:
            plan.changed = _differences(
                plan.existing, plan.data, header, contacts.get(plan.existing.id, [])
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
        more = count - MAX_LISTED_PROBLEMS
        listed.append(
            FieldProblem.of("file", N_("{count} more problems are not listed"), count=more)
        )
    noun = "problem" if count == 1 else "problems"
    return Invalid(f"the file has {count} {noun}; nothing was imported", listed)


def _contact_tuple(contact: Any) -> tuple[str, ...]:
    return (contact.name, contact.title, contact.email, contact.phone, str(contact.role))


def _differences(
    site: Row[Any], data: SiteCreate, header: Header, contacts: list[tuple[str, ...]]
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
