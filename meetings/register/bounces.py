"""Bounced addresses: which contacts mail may go to, and how the flag lives on.

`reachable` is the one rule every sending uses (invitations, reminders, chasers,
rehearsal notices, the notice of conclusions, the register's health): a contact with an
address that has not bounced for good.

A contact's bounce flag outlives an edit of its site, not a change of its address.
The form, the API and the import all save a site's contacts by replacing its list, so
the flag notify.inbound sets on an address that bounced for good would be lost on any
edit; it is carried over to the new row with the same address, and dropped when the
address changed — a new address deserves a try. An organiser clears it by hand, keeping
the address, when the site has fixed its mailbox (`sites.clear_bounce`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.register.models import Contact

#: (site id, address lower-case) → when it bounced and why.
Bounced = dict[tuple[int, str], tuple[datetime | None, str]]

#: Site ids per query (`IN (...)`), under SQLite's limit on parameters.
CHUNK = 500


def reachable() -> ColumnElement[bool]:
    """The contacts mail is sent to: those with an address that has not bounced for good
    (a condition on `Contact`, for the WHERE, CASE or SELECT of any query)."""
    return (col(Contact.email) != "") & col(Contact.bounced_at).is_(None)


async def bounced_contacts(session: AsyncSession, site_ids: Sequence[int]) -> Bounced:
    """The flagged addresses of these sites, before their contacts are replaced."""
    found: Bounced = {}
    for start in range(0, len(site_ids), CHUNK):
        rows = await session.execute(
            select(
                col(Contact.site_id),
                col(Contact.email),
                col(Contact.bounced_at),
                col(Contact.bounce_reason),
            ).where(
                col(Contact.site_id).in_(site_ids[start : start + CHUNK]),
                col(Contact.bounced_at).is_not(None),
            )
        )
        for site_id, email, at, reason in rows.all():
            found[(site_id, email.lower())] = (at, reason)
    return found


def carried(bounced: Bounced, site_id: int, email: str) -> dict[str, Any]:
    """The bounce fields of a contact saved with this address: kept if the same address
    had bounced at that site, else cleared."""
    at, reason = bounced.get((site_id, email.lower()), (None, ""))
    return {"bounced_at": at, "bounce_reason": reason}
