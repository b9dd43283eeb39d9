"""The session page's shared list of invited sites (meetings.planning.site_list): read and
rendered once for every operator, renewed by every change to what it shows, whoever made
it (here: transactions outside the app, as another process would), never mixed between
sessions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.attendance import tracking as attendance
from meetings.core.settings import Settings
from meetings.planning import invited, rsvp
from meetings.planning.site_list import site_lists_key
from meetings.register import sites
from meetings.register.models import SiteUpdate
from tests.conftest import make_settings
from tests.factories import bearer, make_site, make_user
from tests.meetings.attendance.test_attendance import CONFIG, connected, live_session


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


async def session_page(client: TestClient, meeting_id: int, headers: Any) -> str:
    page = await client.get(f"/sessions/{meeting_id}", headers=headers)
    assert page.status == 200, await page.text()
    return await page.text()


def sites_card(html: str) -> str:
    found = re.search(r'<section class="card[^"]*" id="sites".*?</section>', html, re.S)
    assert found is not None
    return found.group(0)


def connected_total(html: str) -> str:
    found = re.search(
        r'data-testid="attendance-totals">.*?data-total="connected">(\d+)<', html, re.S
    )
    assert found is not None
    return found.group(1)


async def test_the_shared_site_list_follows_every_change(client: TestClient, session_factory: Any):
    maker = session_factory
    meeting_id, (site_a, site_b) = await live_session(maker, 2)
    other_id, (site_c,) = await live_session(maker, 1)
    async with maker() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        newcomer = await make_site(session, name="Liên hiệp Điểm cầu Mới")
    first = await session_page(client, meeting_id, headers)
    kept = client.server.app[site_lists_key].peek(meeting_id)
    assert kept is not None and [p.site_id for p in kept.invited] == [site_a, site_b]
    assert sites_card(first).count("<tr data-site=") == 2 and connected_total(first) == "0"
    # Another operator opening the page gets the very same list and HTML.
    assert sites_card(await session_page(client, meeting_id, headers)) == sites_card(first)
    assert client.server.app[site_lists_key].peek(meeting_id) is kept
    # The other session's page has its own list, never this one's.
    other = sites_card(await session_page(client, other_id, headers))
    assert f'data-site="{site_c}"' in other and f'data-site="{site_a}"' not in other
    assert client.server.app[site_lists_key].peek(meeting_id) is kept

    async with maker() as session, session.begin():  # a site renamed
        found = await sites.get_site(session, site_b)
        await sites.update_site(session, site_b, SiteUpdate(name="Tên mới", version=found.version))
    assert ">Tên mới" in sites_card(await session_page(client, meeting_id, headers))

    async with maker() as session, session.begin():  # a site added
        await invited.add_participant(session, meeting_id=meeting_id, site_id=newcomer.id)
    card = sites_card(await session_page(client, meeting_id, headers))
    assert card.count("<tr data-site=") == 3 and "Liên hiệp Điểm cầu Mới" in card

    async with maker() as session, session.begin():  # an answer
        await rsvp.answer(
            session, meeting_id, site_a, rsvp.RsvpIn(response="accepted", expected_delegates=9)
        )
    card = sites_card(await session_page(client, meeting_id, headers))
    assert re.search(rf'data-site="{site_a}".*?rsvp-accepted.*?<td class="num">9</td>', card, re.S)

    assert client.server.app[site_lists_key].peek(meeting_id) is not kept
    answered = client.server.app[site_lists_key].peek(meeting_id)
    async with maker() as session, session.begin():  # a check-in
        await attendance.record(session, meeting_id, site_a, connected(9), CONFIG)
    page = await session_page(client, meeting_id, headers)
    # The totals show it; the list shows no attendance, so it is not read again (10,000
    # sites checking in would have rebuilt it 10,000 times).
    assert connected_total(page) == "1" and sites_card(page) == card
    assert client.server.app[site_lists_key].peek(meeting_id) is answered
