"""A site's personal page and RSVP: by its link alone, on the organiser's grid at once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.core.commits import SLOTS
from meetings.planning import invited, lifecycle
from meetings.planning.models import MeetingUpdate
from meetings.register.models import ContactIn
from notify.site import tokens
from notify.site.overview import site_pages_key
from tests.conftest import TEST_SECRET
from tests.factories import bearer, make_site, make_user

BODY = {
    "title": "Giao ban quý II",
    "starts_at": "2030-04-19T08:00:00+07:00",
    "ends_at": "2030-04-19T11:00:00+07:00",
    "video_url": "https://meet.example.org/giaoban",
}


@pytest.fixture
async def setup(client: TestClient, session_factory: Any) -> dict[str, Any]:
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        invited = await make_site(
            session, name="Liên hiệp Vĩnh Phúc", contacts=[ContactIn(name="Lan", email="l@x.vn")]
        )
        other = await make_site(session, name="Liên hiệp Kiên Giang")
        token = await tokens.site_token(session, invited.id, secret_key=TEST_SECRET)
        other_token = await tokens.site_token(session, other.id, secret_key=TEST_SECRET)
    meeting = await (
        await client.post(
            "/api/v1/meetings",
            headers=headers,
            json={**BODY, "site_ids": [invited.id]},
        )
    ).json()
    await client.patch(
        f"/api/v1/meetings/{meeting['id']}",
        headers=headers,
        json={"version": meeting["version"], "status": "scheduled"},
    )
    return {
        "headers": headers,
        "site": invited,
        "token": token,
        "other_token": other_token,
        "meeting": meeting,
    }


async def test_the_page_shows_the_sites_sessions_without_login(client: TestClient, setup):
    page = await client.get(f"/s/{setup['token']}")
    assert page.status == 200
    html = await page.text()
    assert "Liên hiệp Vĩnh Phúc" in html and "Giao ban quý II" in html
    assert "https://meet.example.org/giaoban" in html
    assert f"/api/v1/site/{setup['token']}/calendar.ics" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the video link gets no token
    assert "noindex" in page.headers["X-Robots-Tag"]
    # A site not invited sees none of it.
    other = await (await client.get(f"/s/{setup['other_token']}")).text()
    assert "Giao ban quý II" not in other


async def test_an_answer_through_the_api_shows_on_the_organisers_grid(client: TestClient, setup):
    mid = setup["meeting"]["id"]
    url = f"/api/v1/site/{setup['token']}/meetings/{mid}/rsvp"
    before = await (await client.get(url)).json()
    assert before["response"] == "needs_action" and before["responded_at"] is None
    answer = {
        "response": "accepted",
        "expected_delegates": 12,
        "technical_contact": "Anh Minh, 0912 345 678",
        "note": "Có 2 đại biểu lãnh đạo tỉnh",
    }
    saved = await client.post(url, json=answer)
    assert saved.status == 200
    body = await saved.json()
    assert {k: body[k] for k in answer} == answer | {"response": "accepted"}
    assert body["responded_at"] is not None
    grid = await (
        await client.get(f"/api/v1/meetings/{mid}/participations", headers=setup["headers"])
    ).json()
    (row,) = grid["items"]
    assert (row["rsvp"], row["expected_delegates"], row["technical_contact"]) == (
        "accepted",
        12,
        "Anh Minh, 0912 345 678",
    )
    page = await (await client.get(f"/sessions/{mid}", headers=setup["headers"])).text()
    assert "Anh Minh, 0912 345 678" in page


async def test_bad_answers_name_the_field_and_change_nothing(client: TestClient, setup):
    mid = setup["meeting"]["id"]
    url = f"/api/v1/site/{setup['token']}/meetings/{mid}/rsvp"
    for body, field in (
        ({"response": "maybe"}, "response"),
        ({"response": "accepted"}, "expected_delegates"),  # how many, when attending?
        ({"response": "accepted", "expected_delegates": -1}, "expected_delegates"),
        ({"response": "tentative", "technical_contact": "a\nb"}, "technical_contact"),
    ):
        refused = await client.post(url, json=body)
        assert refused.status == 422, body
        details = (await refused.json())["error"]["details"]
        assert details[0]["field"] == field, details
    assert (await (await client.get(url)).json())["response"] == "needs_action"
    # Declining needs no number, and clears one given before.
    await client.post(url, json={"response": "accepted", "expected_delegates": 5})
    declined = await (await client.post(url, json={"response": "declined"})).json()
    assert declined["expected_delegates"] is None


async def test_a_site_cannot_answer_for_a_session_it_is_not_invited_to(client: TestClient, setup):
    mid = setup["meeting"]["id"]
    url = f"/api/v1/site/{setup['other_token']}/meetings/{mid}/rsvp"
    assert (await client.get(url)).status == 404
    assert (await client.post(url, json={"response": "declined"})).status == 404


async def test_the_form_keeps_what_was_typed_and_marks_the_field(client: TestClient, setup):
    mid = setup["meeting"]["id"]
    action = f"/s/{setup['token']}/meetings/{mid}/rsvp"
    refused = await client.post(
        action,
        data={"response": "accepted", "expected_delegates": "", "technical_contact": "Chị Hoa"},
    )
    assert refused.status == 422
    html = await refused.text()
    assert 'aria-invalid="true"' in html and "Chị Hoa" in html
    saved = await client.post(
        action,
        data={"response": "tentative", "expected_delegates": "8", "note": "Chờ lãnh đạo"},
        allow_redirects=False,
    )
    assert saved.status == 303
    assert saved.headers["Location"] == f"/s/{setup['token']}?saved={mid}#m{mid}"
    page = await (await client.get(saved.headers["Location"])).text()
    assert "Chờ lãnh đạo" in page and f'data-testid="rsvp-{mid}"' in page


async def test_a_revoked_link_is_not_found_anywhere(client: TestClient, setup, session_factory):
    mid = setup["meeting"]["id"]
    old = setup["token"]
    async with session_factory() as session, session.begin():
        new = await tokens.revoke(session, setup["site"].id, secret_key=TEST_SECRET)
    assert new != old
    assert (await client.get(f"/s/{old}")).status == 404
    assert (await client.get(f"/api/v1/site/{old}/meetings/{mid}/rsvp")).status == 404
    posted = await client.post(f"/s/{old}/meetings/{mid}/rsvp", data={"response": "declined"})
    assert posted.status == 404
    assert (await client.get(f"/s/{new}")).status == 200


async def test_documents_are_served_to_invited_sites_only(client: TestClient, setup):
    mid = setup["meeting"]["id"]
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    from aiohttp import FormData

    form = FormData()
    form.add_field("file", pdf, filename="Báo cáo quý I.pdf", content_type="application/pdf")
    uploaded = await client.post(
        f"/api/v1/meetings/{mid}/documents", headers=setup["headers"], data=form
    )
    assert uploaded.status == 201, await uploaded.text()
    doc = await uploaded.json()
    path = f"/meetings/{mid}/documents/{doc['id']}"
    page = await (await client.get(f"/s/{setup['token']}")).text()
    assert f"/s/{setup['token']}{path}" in page
    got = await client.get(f"/s/{setup['token']}{path}")
    assert got.status == 200 and await got.read() == pdf
    assert (await client.get(f"/s/{setup['other_token']}{path}")).status == 404


async def test_answers_close_when_the_session_is_cancelled(client: TestClient, setup):
    mid = setup["meeting"]["id"]
    await client.post(
        f"/api/v1/meetings/{mid}/cancel", headers=setup["headers"], json={"reason": "Hoãn"}
    )
    url = f"/api/v1/site/{setup['token']}/meetings/{mid}/rsvp"
    refused = await client.post(url, json={"response": "declined"})
    assert refused.status == 422
    page = await (await client.get(f"/s/{setup['token']}")).text()
    assert "Hoãn" in page and f'action="/s/{setup["token"]}/meetings/{mid}/rsvp"' not in page


async def test_the_site_downloads_its_own_letter(client: TestClient, setup, tmp_path):
    import subprocess

    mid = setup["meeting"]["id"]
    response = await client.get(f"/s/{setup['token']}/meetings/{mid}/letter.pdf")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/pdf"
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(await response.read())
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Kính gửi: Liên hiệp Vĩnh Phúc" in " ".join(text.split())
    other = await client.get(f"/s/{setup['other_token']}/meetings/{mid}/letter.pdf")
    assert other.status == 404


async def test_every_answer_under_a_sites_link_is_private(client: TestClient, setup):
    """Whichever part answers (the page, RSVP, check-in, contributions), no referrer and
    no indexing: the link is the key."""
    mid = setup["meeting"]["id"]
    link = f"/s/{setup['token']}/meetings/{mid}"
    api = f"/api/v1/site/{setup['token']}/meetings/{mid}"
    answers = [
        await client.post(f"{link}/rsvp", data={"response": "declined"}, allow_redirects=False),
        await client.post(f"{link}/rsvp", data={"response": "accepted"}),  # refused: 422
        await client.get(f"{api}/rsvp"),
        await client.post(f"{api}/rsvp", json={"response": "tentative"}),
        await client.post(f"{api}/contributions", json={"text": "Đề nghị hỗ trợ kinh phí"}),
        await client.post(f"{link}/contributions", data={"text": ""}),  # refused: 422
    ]
    assert [a.status for a in answers] == [303, 422, 200, 200, 201, 422]
    for answer in answers:
        assert answer.headers["Referrer-Policy"] == "no-referrer", answer.url
        assert "noindex" in answer.headers["X-Robots-Tag"], answer.url


async def test_kept_pages_follow_every_change_and_never_mix_sites(
    client: TestClient, setup, session_factory
):
    """Each link's page is kept while the database is unchanged: read twice (warm), each
    shows its own site only; a change made outside the app (another process) shows at once."""
    mid = setup["meeting"]["id"]
    for _ in range(2):
        mine = await (await client.get(f"/s/{setup['token']}")).text()
        other = await (await client.get(f"/s/{setup['other_token']}")).text()
        assert "Liên hiệp Vĩnh Phúc" in mine and "Liên hiệp Kiên Giang" not in mine
        assert "Liên hiệp Kiên Giang" in other and "Liên hiệp Vĩnh Phúc" not in other
        assert "Giao ban quý II" in mine and "Giao ban quý II" not in other
    async with session_factory() as session, session.begin():
        meeting = await lifecycle.get_meeting(session, mid)
        await lifecycle.update_meeting(
            session, mid, MeetingUpdate(title="Giao ban quý III", version=meeting.version)
        )
        other_site = await tokens.site_for_token(session, setup["other_token"])
    assert "Giao ban quý III" in await (await client.get(f"/s/{setup['token']}")).text()
    assert "Giao ban quý III" not in await (await client.get(f"/s/{setup['other_token']}")).text()
    async with session_factory() as session, session.begin():
        await invited.add_participant(session, meeting_id=mid, site_id=other_site.id or 0)
    other = await (await client.get(f"/s/{setup['other_token']}")).text()
    assert "Giao ban quý III" in other and "Liên hiệp Vĩnh Phúc" not in other


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def _visit(client: TestClient, path: str) -> tuple[str, str]:
    """The page and the CSRF token it gives this visitor."""
    html = await (await client.get(path)).text()
    found = CSRF_META.search(html)
    assert found is not None, html[:500]
    return html, found.group(1)


async def test_a_kept_page_gives_each_visitor_their_own_csrf_token(client: TestClient, setup):
    """A link's page is drawn once and kept: each visitor still gets their own session's
    CSRF token (accepted from them, refused from the other), and another link's page has
    its own site with that visitor's token."""
    jar, mid = client.session.cookie_jar, setup["meeting"]["id"]
    visitors = []
    for _ in range(2):
        jar.clear()
        page, token = await _visit(client, f"/s/{setup['token']}")
        again, same = await _visit(client, f"/s/{setup['token']}")
        other, other_token = await _visit(client, f"/s/{setup['other_token']}")
        assert same == other_token == token and again == page
        assert "Liên hiệp Kiên Giang" in other and "Giao ban quý II" not in other
        assert "Liên hiệp Vĩnh Phúc" not in other
        cookies = {
            name: morsel.value for name, morsel in jar.filter_cookies(client.make_url("/")).items()
        }
        visitors.append((cookies, token, page))
    (cookies_a, a, page_a), (cookies_b, b, page_b) = visitors
    assert a != b and page_a.replace(a, "") == page_b.replace(b, "")
    assert client.app[site_pages_key].peek(hash(setup["token"]) % SLOTS).pages  # type: ignore[union-attr]
    login = {"username": "nobody", "password": "not this one"}
    for cookies, mine, theirs in ((cookies_a, a, b), (cookies_b, b, a)):
        jar.clear()
        jar.update_cookies(cookies)
        assert (await client.post("/login", data={**login, "_csrf": theirs})).status == 403
        assert (await client.post("/login", data={**login, "_csrf": mine})).status != 403
        answer = {"response": "accepted", "expected_delegates": "4", "_csrf": mine}
        rsvp = f"/s/{setup['token']}/meetings/{mid}/rsvp"
        assert (await client.post(rsvp, data=answer, allow_redirects=False)).status == 303


async def test_thanks_after_a_form_show_once_then_the_kept_page_serves(client: TestClient, setup):
    """The page just after an answer says thank you to that visitor alone (drawn for them,
    not kept); the next visit has no thanks and is the kept page again."""
    mid, link = setup["meeting"]["id"], setup["token"]
    kept = client.app[site_pages_key]
    rsvp = f"/s/{link}/meetings/{mid}/rsvp"
    thanked = await client.post(rsvp, data={"response": "accepted", "expected_delegates": "5"})
    assert thanked.status == 200 and 'class="flash"' in await thanked.text()
    entry = kept.peek(hash(link) % SLOTS)
    assert entry is not None and not entry.pages
    plain = await (await client.get(f"/s/{link}")).text()
    assert 'class="flash"' not in plain and "Giao ban quý II" in plain
    entry = kept.peek(hash(link) % SLOTS)
    assert entry is not None and entry.pages
    assert plain == await (await client.get(f"/s/{link}")).text()
