"""The sites list by cluster: a cluster split across two pages says so, counts right."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.register import sites
from tests.factories import login, make_cluster, make_site, make_user


def _headings(html: str) -> list[str]:
    found = re.findall(r'<h2 id="g-\d+" class="group-head">(.*?)</h2>', html, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", h)).strip() for h in found]


async def test_a_cluster_split_across_pages_says_so_with_counts_that_add_up(
    client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        four = await make_cluster(session, code="CUM-4", name="Cụm 4")
        five = await make_cluster(session, code="CUM-5", name="Cụm 5")
        for n in range(41):
            await make_site(
                session, code=f"c4-{n:02d}", name=f"Tỉnh bốn {n:02d}", cluster_id=four.id
            )
        for n in range(11):
            await make_site(
                session,
                code=f"c5-{n:02d}",
                name=f"Tỉnh năm {n:02d}",
                cluster_id=five.id,
                province="-",
            )
    await login(client, "org")

    first = _headings(await (await client.get("/sites")).text())
    assert first[0] == "Cụm 4 41 điểm cầu"  # whole on this page: nothing more said
    assert first[1] == "Cụm 5 11 điểm cầu 9 điểm cầu ở trang này · còn tiếp ở trang 2"
    second_page = await (await client.get("/sites?page=2")).text()
    second = _headings(second_page)
    assert second == ["Cụm 5 11 điểm cầu 2 điểm cầu ở trang này · tiếp theo từ trang 1"]
    assert second_page.count('class="c-code"><code>c5-') == 2

    searched = _headings(await (await client.get("/sites?q=nam")).text())
    assert searched == ["Cụm 5 11 điểm cầu"]  # a search counts what it found, on one page
    one = _headings(await (await client.get("/sites?q=nam+03")).text())
    assert one == ["Cụm 5 1 điểm cầu"]


async def test_clusters_are_counted_in_register_order_on_each_store(store_session: Any):
    async with store_session.begin():
        two = await make_cluster(store_session, code="CUM-2", name="Cụm 2")
        one = await make_cluster(store_session, code="CUM-1", name="Cụm 1")
        await make_site(store_session, name="Hội trường")
        for name in ("Vĩnh Phúc", "Bắc Giang"):
            await make_site(store_session, name=name, cluster_id=one.id)
        await make_site(store_session, name="Kiên Giang", cluster_id=two.id)
    counted = await sites.cluster_counts(store_session)
    assert counted == [(None, 1), (one.id, 2), (two.id, 1)]
    assert await sites.cluster_counts(store_session, q="giang") == [(one.id, 1), (two.id, 1)]
