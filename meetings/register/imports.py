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

from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.errors import Conflict, FieldProblem, Invalid
from meetings.core.store import bump_version, id_of, utcnow
from meetings.core.types import search_key
from meetings.register import sites
from meetings.register.files import FileKind, read_rows
from meetings.register.models import Contact, ContactIn, Site, SiteCreate
from meetings.register.rows import SITE_COLUMNS, Header, Planned, check_rows

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
    session: AsyncSession, *, content: bytes, kind: FileKind, dry_run: bool
) -> ImportReport:
    """Check the whole file, then (unless `dry_run`) create and update sites.

    Raises `Invalid` listing every problem, having written nothing. The caller's
    transaction makes the writes all-or-nothing should the database refuse one.
    """
    rows = read_rows(content, kind)
    clusters = await sites.cluster_by_code(session)
    header, planned, problems = check_rows(rows, clusters)
    if problems or header is None:  # a file without a header has a problem saying so
        raise _too_many(problems)

    existing = {s.code: s for s in (await session.scalars(select(Site))).all()}
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
        await bump_version(session, site, site.version)
        for column in plan.changed:
            if column == "contacts":
                replaced.append((id_of(site), plan.data.contacts))
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
                .where(col(Contact.site_id).in_(chunk))
                .execution_options(synchronize_session=False)
            )
        for site_id, site_contacts in [
            *((id_of(row), data.contacts) for row, data in new_sites),
            *replaced,
        ]:
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
