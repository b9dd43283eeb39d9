"""An import's writes, set-based: the rows prepared off the event loop, then sent in batches.

`prepare` (run in a worker thread) turns the planned rows into the values to write;
`write` sends them as executemany INSERTs of the new sites, executemany UPDATEs of the
changed ones (each only at the version that was read), DELETEs of the contacts being
replaced and executemany INSERTs of the contacts, a thousand rows a statement, all in the
caller's transaction: all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.errors import Conflict
from meetings.core.labels import N_
from meetings.core.store import table_of
from meetings.core.types import search_key
from meetings.register import bounces
from meetings.register.models import Contact, ContactIn, Site
from meetings.register.rows import SITE_COLUMNS, Header, Planned, taking_turns

#: Ids per statement where a statement names rows by id (`IN (...)`).
CHUNK = 500

#: Rows per executemany: between two, the event loop serves other requests.
BATCH = 1000


@dataclass
class Writes:
    """The values an import writes, ready to send."""

    #: The site attributes the file has a column for (what an update sets).
    attributes: list[str]
    new_sites: list[dict[str, Any]] = field(default_factory=list)
    #: The contacts of each new site, by its code (its id is known once it is inserted).
    new_contacts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: One parameter set per changed site (`b_<attribute>`, `b_id`, `b_version`).
    updates: list[dict[str, Any]] = field(default_factory=list)
    #: The new contact list of each site whose contacts are replaced, by site id.
    replaced: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def prepare(planned: list[Planned], header: Header, now: datetime) -> Writes:
    """The values to write for the planned rows (pure: run it in a worker thread)."""
    attributes = ["cluster_id" if c == "cluster" else c for c in SITE_COLUMNS if c in header.site]
    writes = Writes(attributes)
    for plan in taking_turns(planned):
        data, stored = plan.data, plan.existing
        if stored is None:
            writes.new_sites.append(
                data.model_dump(exclude={"contacts"})
                | {"version": 1, "created_at": now, "updated_at": now}
                | {"search_text": search_key(data.name, data.province, data.code)}
            )
            writes.new_contacts[data.code] = _contacts(data.contacts)
            continue
        if not plan.changed:
            continue
        site = {name: getattr(data, name) for name in attributes}
        name, province = site.get("name", stored.name), site.get("province", stored.province)
        site |= {"search_text": search_key(name, province, data.code)}
        site |= {"id": stored.id, "version": stored.version}
        writes.updates.append({f"b_{key}": value for key, value in site.items()})
        if "contacts" in plan.changed:
            writes.replaced[stored.id] = _contacts(data.contacts, site_id=stored.id)
    return writes


def _contacts(contacts: list[ContactIn], **site: int) -> list[dict[str, Any]]:
    return [
        {**site, "position": position, **contact.model_dump()}
        for position, contact in enumerate(contacts)
    ]


async def write(session: AsyncSession, writes: Writes, now: datetime) -> None:
    """Send the prepared values; `Conflict` if the register changed since it was read."""
    try:
        ids = await _insert_sites(session, writes.new_sites)
        await _update_sites(session, writes, now)
        contacts = [
            {**contact, "site_id": ids[code]}
            for code, site_contacts in writes.new_contacts.items()
            for contact in site_contacts
        ]
        contacts += [c for site_contacts in writes.replaced.values() for c in site_contacts]
        await _replace_contacts(session, contacts, deleted=list(writes.replaced))
    except IntegrityError:
        raise changed_meanwhile() from None


def changed_meanwhile() -> Conflict:
    return Conflict(
        N_(
            "the register changed while the file was imported (a site was changed, a site "
            "code was taken or a cluster removed); nothing was imported, run the import again"
        )
    )


async def _insert_sites(session: AsyncSession, values: list[dict[str, Any]]) -> dict[str, int]:
    """The new sites by executemany INSERTs; their ids by code."""
    if not values:
        return {}
    table = table_of(Site)
    statement = insert(table).returning(table.c.id, table.c.code)
    ids: dict[str, int] = {}
    for start in range(0, len(values), BATCH):
        result = await session.execute(statement, values[start : start + BATCH])
        ids.update((row.code, row.id) for row in result)
    return ids


async def _update_sites(session: AsyncSession, writes: Writes, now: datetime) -> None:
    """The changed sites by executemany UPDATEs, each only at the version read; then
    a count says whether every one was still there to change (else `Conflict`)."""
    if not writes.updates:
        return
    table = table_of(Site)
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
        .values(
            {name: bindparam(f"b_{name}") for name in [*writes.attributes, "search_text"]}
            | {"version": bindparam("b_version") + 1, "updated_at": now}
        )
    )
    for start in range(0, len(writes.updates), BATCH):
        await session.execute(statement, writes.updates[start : start + BATCH])
    ids = [values["b_id"] for values in writes.updates]
    written = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        count = select(func.count()).where(table.c.id.in_(chunk), table.c.updated_at == now)
        written += await session.scalar(count) or 0
    if written != len(ids):  # someone changed (or deleted) one of them since it was read
        raise changed_meanwhile()


async def _replace_contacts(
    session: AsyncSession, contacts: list[dict[str, Any]], *, deleted: list[int]
) -> None:
    """The old contacts of the `deleted` sites gone, then every given contact inserted;
    an address that bounced at its site stays flagged."""
    bounced = await bounces.bounced_contacts(session, deleted)
    contacts = [c | bounces.carried(bounced, c["site_id"], c["email"]) for c in contacts]
    for start in range(0, len(deleted), CHUNK):
        await session.execute(
            delete(Contact)
            .where(col(Contact.site_id).in_(deleted[start : start + CHUNK]))
            .execution_options(synchronize_session=False)
        )
    statement = insert(table_of(Contact))
    for start in range(0, len(contacts), BATCH):
        await session.execute(statement, contacts[start : start + BATCH])
