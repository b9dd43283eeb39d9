"""Who mail to a session's sites goes to: its invited sites' contacts by address, and the
invited sites none of it can reach. Which contacts may be mailed is one rule,
`meetings.register.bounces.reachable`, used here and by every other sending."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.planning.models import Participation
from meetings.register.bounces import reachable
from meetings.register.models import Contact, Site


@dataclass(frozen=True)
class Recipient:
    """A contact address of an invited site, with the site's room for this session."""

    site_id: int
    name: str
    endpoint: str
    #: Mail can reach the address (`reachable`: it did not bounce for good).
    is_reachable: bool = True


async def contact_addresses(session: AsyncSession, meeting_id: int) -> dict[str, Recipient]:
    """Every contact e-mail of every invited site, reachable or not: address (lower-case)
    → recipient, the first contact by site and position for an address shared by several.
    The unreachable ones count too: their site is still invited (no cancellation to it)."""
    rows = await session.execute(
        select(
            col(Contact.email),
            col(Contact.site_id),
            col(Contact.name),
            col(Participation.endpoint),
            col(Site.endpoint),
            reachable(),
        )
        .join(Participation, col(Participation.site_id) == col(Contact.site_id))
        .join(Site, col(Site.id) == col(Contact.site_id))
        .where(col(Participation.meeting_id) == meeting_id, col(Contact.email) != "")
        .order_by(col(Contact.site_id), col(Contact.position))
    )
    found: dict[str, Recipient] = {}
    for email, site_id, name, own_endpoint, endpoint, is_reachable in rows.all():
        found.setdefault(
            email.lower(), Recipient(site_id, name, own_endpoint or endpoint, bool(is_reachable))
        )
    return found


async def site_contacts(session: AsyncSession, site_id: int) -> dict[str, str]:
    """One site's addresses that mail can reach (lower-case, the first contact by position
    for an address shared by several) → the contact's name."""
    rows = await session.execute(
        select(col(Contact.email), col(Contact.name))
        .where(col(Contact.site_id) == site_id, reachable())
        .order_by(col(Contact.position), col(Contact.id))
    )
    found: dict[str, str] = {}
    for email, name in rows.all():
        found.setdefault(email.lower(), name)
    return found


def reachable_only(addresses: dict[str, Recipient]) -> dict[str, Recipient]:
    """The addresses mail is sent to (`unreachable_sites` names a site left with none)."""
    return {email: r for email, r in addresses.items() if r.is_reachable}


async def site_recipients(session: AsyncSession, meeting_id: int) -> dict[str, Recipient]:
    """The invited sites' contact addresses that mail can reach: address → recipient."""
    return reachable_only(await contact_addresses(session, meeting_id))


@dataclass(frozen=True)
class Unreachable:
    """An invited site no e-mail can reach: the organiser must phone it or fix its
    contacts before counting on the invitation."""

    site_id: int
    site_name: str
    #: "no_address": no contact with an e-mail; "bounced": every address bounced for good.
    reason: str
    #: A bounce's reason as the server gave it ("5.1.1 user unknown"), for "bounced".
    detail: str = ""


async def unreachable_sites(session: AsyncSession, meeting_id: int) -> list[Unreachable]:
    """Invited sites without an address that can receive mail (none, or all bounced),
    by name, in one query however many sites are invited."""
    has_address = col(Contact.email) != ""
    reachable_count = func.sum(case((reachable(), 1), else_=0))
    addresses = func.sum(case((has_address, 1), else_=0))
    rows = await session.execute(
        select(col(Site.id), col(Site.name), addresses, func.max(col(Contact.bounce_reason)))
        .join(Participation, col(Participation.site_id) == col(Site.id))
        .outerjoin(Contact, col(Contact.site_id) == col(Site.id))
        .where(col(Participation.meeting_id) == meeting_id)
        .group_by(col(Site.id), col(Site.name))
        .having(func.coalesce(reachable_count, 0) == 0)
        .order_by(col(Site.name), col(Site.id))
    )
    return [
        Unreachable(site_id, name, "bounced", reason or "")
        if count
        else Unreachable(site_id, name, "no_address")
        for site_id, name, count, reason in rows.all()
    ]
