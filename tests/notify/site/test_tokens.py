"""Site links: stable, secret, stored only as a hash, and dead once revoked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from meetings.core.errors import NotFound
from notify.mail.models import SiteToken
from notify.site import tokens
from tests.factories import make_site

SECRET = "a-secret-key-for-tests-0123456789abcdefghijkl"


async def test_a_site_keeps_one_secret_link_until_it_is_revoked(store_session):
    async with store_session.begin():
        site = await make_site(store_session)
        other = await make_site(store_session)
        first = await tokens.site_token(store_session, site.id, secret_key=SECRET)
        again = await tokens.site_token(store_session, site.id, secret_key=SECRET)
        theirs = await tokens.site_token(store_session, other.id, secret_key=SECRET)
        stored = (await store_session.scalars(select(SiteToken.token_hash))).all()
    assert first == again and first != theirs
    assert len(first) >= 43  # 256 bits, URL-safe
    assert first not in stored and theirs not in stored  # only hashes are kept
    async with store_session.begin():
        assert (await tokens.site_for_token(store_session, first)).id == site.id

    async with store_session.begin():
        renewed = await tokens.revoke(store_session, site.id, secret_key=SECRET)
    assert renewed != first
    with pytest.raises(NotFound):
        async with store_session.begin():
            await tokens.site_for_token(store_session, first)  # the old link is dead
    async with store_session.begin():
        assert (await tokens.site_for_token(store_session, renewed)).id == site.id
        assert await tokens.site_token(store_session, site.id, secret_key=SECRET) == renewed


async def test_an_unknown_link_is_not_found(store_session):
    with pytest.raises(NotFound):
        async with store_session.begin():
            await tokens.site_for_token(store_session, "nope")
