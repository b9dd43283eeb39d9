"""Site links: a secret per site (256 bits), derived, stored only as a hash, revocable.

A token is HMAC-SHA256(secret key, "site:<id>:<generation>"), so an invitation can carry
the link without the plain token being stored anywhere; the table keeps its SHA-256 for
the look-up. Revoking raises the generation: the old link stops working and a new one is
issued. Changing the service's secret key re-issues every link (old ones stop working).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.core.errors import NotFound
from meetings.core.labels import N_
from meetings.core.store import utcnow
from meetings.register.models import Site
from notify.mail.models import SiteToken


def _derive(secret_key: str, site_id: int, generation: int) -> str:
    digest = hmac.new(
        secret_key.encode(), f"site:{site_id}:{generation}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _current(session: AsyncSession, site_id: int) -> SiteToken | None:
    return await session.scalar(
        select(SiteToken)
        .where(col(SiteToken.site_id) == site_id, col(SiteToken.revoked_at).is_(None))
        .order_by(col(SiteToken.generation).desc())
    )


async def site_token(session: AsyncSession, site_id: int, *, secret_key: str) -> str:
    """The site's current link token, issuing the first one when it has none."""
    current = await _current(session, site_id)
    if current is None:
        previous = await session.scalar(
            select(col(SiteToken.generation))
            .where(col(SiteToken.site_id) == site_id)
            .order_by(col(SiteToken.generation).desc())
        )
        generation = (previous or 0) + 1
        token = _derive(secret_key, site_id, generation)
        try:
            async with session.begin_nested():  # another worker may issue it at once
                session.add(
                    SiteToken(site_id=site_id, generation=generation, token_hash=_hash(token))
                )
        except IntegrityError:
            pass  # the same token, issued by the other worker: it is derived, not random
        return token
    return _derive(secret_key, site_id, current.generation)


async def issue_tokens(session: AsyncSession, site_ids: set[int], *, secret_key: str) -> None:
    """Make sure each site has a link before messages that carry it are queued."""
    have = set(
        (
            await session.scalars(
                select(col(SiteToken.site_id)).where(
                    col(SiteToken.site_id).in_(site_ids),
                    col(SiteToken.revoked_at).is_(None),
                )
            )
        ).all()
    )
    missing = sorted(site_ids - have)
    if not missing:
        return
    # In bulk (10,000 sites in one statement per thousand, not 20,000 round trips); if
    # another worker issues some at the same moment, fall back to one site at a time.
    last = dict(
        (
            await session.execute(
                select(col(SiteToken.site_id), func.max(col(SiteToken.generation)))
                .where(col(SiteToken.site_id).in_(missing))
                .group_by(col(SiteToken.site_id))
            )
        ).all()
    )
    rows = [
        {
            "site_id": site_id,
            "generation": (last.get(site_id) or 0) + 1,
            "token_hash": _hash(_derive(secret_key, site_id, (last.get(site_id) or 0) + 1)),
            "created_at": utcnow(),
        }
        for site_id in missing
    ]
    try:
        async with session.begin_nested():
            for start in range(0, len(rows), 1000):
                await session.execute(insert(SiteToken), rows[start : start + 1000])
    except IntegrityError:
        for site_id in missing:
            await site_token(session, site_id, secret_key=secret_key)


async def site_tokens(
    session: AsyncSession, site_ids: set[int], *, secret_key: str
) -> dict[int, str]:
    """The current link token of each site (issuing any missing), in two queries at most:
    the delivery of a batch needs all of them, and one query per site made it slow."""

    async def current() -> dict[int, int]:
        found = await session.execute(
            select(col(SiteToken.site_id), func.max(col(SiteToken.generation)))
            .where(
                col(SiteToken.site_id).in_(site_ids),
                col(SiteToken.revoked_at).is_(None),
            )
            .group_by(col(SiteToken.site_id))
        )
        return dict(found.all())

    generations = await current()
    if len(generations) < len(site_ids):
        await issue_tokens(session, site_ids - set(generations), secret_key=secret_key)
        generations = await current()
    return {site_id: _derive(secret_key, site_id, g) for site_id, g in generations.items()}


async def revoke(session: AsyncSession, site_id: int, *, secret_key: str) -> str:
    """End the site's current link and issue a new one (returned)."""
    if await session.get(Site, site_id) is None:
        raise NotFound.of(N_("no site with id {site_id}"), site_id=site_id)
    current = await _current(session, site_id)
    if current is not None:
        current.revoked_at = utcnow()
        await session.flush()
    return await site_token(session, site_id, secret_key=secret_key)


async def sites_for_tokens(session: AsyncSession, links: Collection[str]) -> dict[str, Site]:
    """The site of each link in `links` that is known and not revoked, in one query (a
    burst of check-ins resolves its links together); the others are left out."""
    by_hash = {_hash(link): link for link in links}
    rows = await session.execute(
        select(col(SiteToken.token_hash), Site)
        .join(Site, col(Site.id) == col(SiteToken.site_id))
        .where(col(SiteToken.token_hash).in_(by_hash), col(SiteToken.revoked_at).is_(None))
    )
    return {by_hash[token_hash]: site for token_hash, site in rows.all()}


async def site_keys_for_tokens(
    session: AsyncSession, links: Collection[str]
) -> dict[str, tuple[int, str]]:
    """`sites_for_tokens` as plain (id, code) pairs, all that a check-in uses of its site:
    a burst's batch paid for a whole `Site` object per link."""
    by_hash = {_hash(link): link for link in links}
    rows = await session.execute(_SITE_KEYS.where(col(SiteToken.token_hash).in_(by_hash)))
    return {by_hash[token_hash]: (site_id, code) for token_hash, site_id, code in rows.all()}


_SITE_KEYS = (
    select(col(SiteToken.token_hash), col(SiteToken.site_id), col(Site.code))
    .join(Site, col(Site.id) == col(SiteToken.site_id))
    .where(col(SiteToken.revoked_at).is_(None))
)


async def site_for_token(session: AsyncSession, token: str) -> Site:
    """The site a link belongs to; an unknown or revoked token is simply not found."""
    site = (await sites_for_tokens(session, [token])).get(token)
    if site is None:
        raise NotFound(N_("no such site link"))
    return site
