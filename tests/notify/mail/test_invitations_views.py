"""The organiser's invitations panel: who gets what, sending, progress, resend, the mail
drop viewer, and a site's personal link."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.core.keys import sessions_key, settings_key
from meetings.register.models import ContactIn
from notify.mail import outbox, transports
from notify.mail.render import make_renderer
from tests.factories import login, make_site, make_user

BODY = {
    "title": "Giao ban quý II",
    "starts_at": "2030-04-19T08:00:00+07:00",
    "ends_at": "2030-04-19T11:00:00+07:00",
}


@pytest.fixture
async def setup(client: TestClient, session_factory: Any) -> dict[str, Any]:
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        await make_user(session, username="sec", role=Role.secretary)
        sites = [
            await make_site(
                session,
                name=f"Liên hiệp {name}",
                contacts=[
                    ContactIn(name=f"Chủ tịch {name}", email=f"ct.{code}@example.org"),
                    ContactIn(name=f"Kỹ thuật {name}", email=f"kt.{code}@example.org"),
                ],
            )
            for name, code in (("Vĩnh Phúc", "vp"), ("Kiên Giang", "kg"))
        ]
        silent = await make_site(session, name="Liên hiệp Hà Giang", contacts=[])
    csrf = await login(client, "org")
    created = await client.post(
        "/sessions/new",
        data={
            "_csrf": csrf,
            "title": BODY["title"],
            "kind": "briefing",
            "starts_at": "2030-04-19T08:00",
            "ends_at": "2030-04-19T11:00",
            "timezone": "Asia/Ho_Chi_Minh",
            "site_ids": [str(s.id) for s in (*sites, silent)],
        },
        allow_redirects=False,
    )
    assert created.status == 303, await created.text()
    meeting_id = int(created.headers["Location"].rsplit("/", 1)[1])
    return {"csrf": csrf, "sites": sites, "silent": silent, "id": meeting_id}


async def _deliver(client: TestClient) -> outbox.DeliveryReport:
    app = client.app
    settings = app[settings_key]
    return await outbox.deliver_due(
        app[sessions_key], transports.DropTransport(settings.mail.drop_dir), make_renderer(settings)
    )


async def test_the_panel_says_who_gets_what_then_sends(client: TestClient, setup):
    page = await (await client.get(f"/sessions/{setup['id']}")).text()
    plan = page[page.index('data-testid="plan"') :]
    assert "4</strong> × giấy mời (lần đầu)" in plan
    assert "ct.vp@example.org" in plan
    # A site nobody can be mailed at is named, so the office phones it.
    unreachable = page[page.index('data-testid="unreachable"') :].split("</div>", 1)[0]
    assert "điểm cầu được mời không có địa chỉ nhận được thư" in unreachable
    assert 'Liên hiệp Hà Giang</a> <small class="muted">(không có địa chỉ e-mail)' in unreachable

    sent = await client.post(
        f"/sessions/{setup['id']}/invitations", data={"_csrf": setup["csrf"], "when": "now"}
    )
    assert "Đã xếp hàng gửi: 4 giấy mời, 0 thông báo thay đổi, 0 thông báo hủy." in (
        await sent.text()
    )
    summary = await (await client.get(f"/api/v1/meetings/{setup['id']}/messages/summary")).json()
    assert (summary["total"], summary["queued"], summary["sent"]) == (4, 4, 0)
    assert (await _deliver(client)).sent == 4
    page = await (await client.get(f"/sessions/{setup['id']}")).text()
    assert 'data-count="sent">4</strong>' in page
    assert page.count("mail-status mail-sent") == 4
    # Nothing changed since: nothing is offered, and the panel says everyone is current.
    assert "thông báo thay đổi" not in page[page.index('id="invitations"') :]
    assert 'data-testid="versions"' in page


async def test_once_sent_nothing_is_offered_until_something_a_site_sees_changes(
    client: TestClient, setup
):
    await client.post(f"/sessions/{setup['id']}/invitations", data={"_csrf": setup["csrf"]})
    await _deliver(client)
    page = await (await client.get(f"/sessions/{setup['id']}")).text()
    panel = page[page.index('id="invitations"') :]
    assert "<strong>2</strong> điểm cầu có phiên bản mới nhất</p>" in panel
    assert "Mọi điểm cầu đã có phiên bản mới nhất: không có gì cần gửi." in panel
    assert "Gửi giấy mời</button>" not in panel  # no button to send everyone an update
    again = await client.post(
        f"/sessions/{setup['id']}/invitations", data={"_csrf": setup["csrf"], "when": "now"}
    )
    assert "Không có gì để gửi: mọi điểm cầu đã có phiên bản mới nhất." in await again.text()
    summary = await (await client.get(f"/api/v1/meetings/{setup['id']}/messages/summary")).json()
    assert summary["total"] == 4

    meeting = await (await client.get(f"/api/v1/meetings/{setup['id']}")).json()
    changed = await client.patch(
        f"/api/v1/meetings/{setup['id']}",
        json={
            "version": meeting["version"],
            "starts_at": "2030-04-19T14:00:00+07:00",
            "ends_at": "2030-04-19T16:30:00+07:00",
            "video_url": "https://meet.example.org/quy-2",
        },
        headers={"X-CSRF-Token": setup["csrf"]},
    )
    assert changed.status == 200, await changed.text()
    page = await (await client.get(f"/sessions/{setup['id']}")).text()
    panel = page[page.index('id="invitations"') :]
    assert (
        "<strong>0</strong> điểm cầu có phiên bản mới nhất · <strong>2</strong> cần cập nhật"
        in (panel)
    )
    assert "4</strong> × thông báo thay đổi" in panel
    changes = panel[panel.index('data-testid="update-changes"') :]
    assert (
        "Thời gian: <del>08:00–11:00, Thứ Sáu, 19/04/2030</del> → "
        "<ins>14:00–16:30, Thứ Sáu, 19/04/2030</ins>" in changes
    )
    assert "Đường dẫn họp trực tuyến: <del>—</del> → <ins>https://meet.example.org/quy-2</ins>" in (
        changes
    )
    assert "Gửi giấy mời</button>" in panel


async def test_removing_a_site_previews_its_cancellation(client: TestClient, setup):
    await client.post(f"/sessions/{setup['id']}/invitations", data={"_csrf": setup["csrf"]})
    kept = setup["sites"][0]
    meeting = await (await client.get(f"/api/v1/meetings/{setup['id']}")).json()
    changed = await client.patch(
        f"/api/v1/meetings/{setup['id']}",
        json={"version": meeting["version"], "site_ids": [kept.id]},
        headers={"X-CSRF-Token": setup["csrf"]},
    )
    assert changed.status == 200, await changed.text()
    preview = await (await client.get(f"/api/v1/meetings/{setup['id']}/invitations/preview")).json()
    kinds = {item["recipient"]: item["kind"] for item in preview["items"]}
    # Vĩnh Phúc sees nothing different: only the removed site is told.
    assert kinds == {"ct.kg@example.org": "cancellation", "kt.kg@example.org": "cancellation"}
    page = await (await client.get(f"/sessions/{setup['id']}")).text()
    assert "2</strong> × thông báo hủy (điểm cầu không còn trong danh sách mời)" in page


async def test_a_send_time_in_the_past_is_refused(client: TestClient, setup):
    refused = await client.post(
        f"/sessions/{setup['id']}/invitations",
        data={"_csrf": setup["csrf"], "when": "later", "send_at": "2020-01-01T08:00"},
    )
    assert "Chưa gửi: Chọn một thời điểm trong tương lai" in await refused.text()
    summary = await (await client.get(f"/api/v1/meetings/{setup['id']}/messages/summary")).json()
    assert summary["total"] == 0
    later = await client.post(
        f"/sessions/{setup['id']}/invitations",
        data={"_csrf": setup["csrf"], "when": "later", "send_at": "2030-04-10T08:00"},
    )
    assert later.status == 200
    summary = await (await client.get(f"/api/v1/meetings/{setup['id']}/messages/summary")).json()
    assert (summary["queued"], summary["waiting"]) == (4, 4)
    assert (await _deliver(client)).sent == 0  # not before its time


async def test_the_mail_drop_viewer_shows_what_the_recipient_got(client: TestClient, setup):
    await client.post(f"/sessions/{setup['id']}/invitations", data={"_csrf": setup["csrf"]})
    await _deliver(client)
    page = await (await client.get(f"/sessions/{setup['id']}")).text()
    links = re.findall(rf'href="(/sessions/{setup["id"]}/messages/\d+)"', page)
    assert len(links) == 4
    view = await client.get(links[0])
    html = await view.text()
    assert view.status == 200
    assert "Giao ban quý II" in html and "sandbox" in html
    assert "giaoban.ics" in html  # the calendar travels as an attachment too
    # Its headers in the page's language, the date as the session's time of day.
    headers = html[html.index('data-testid="mail-headers"') :]
    headers = headers[: headers.index("</dl>")]
    labels = re.findall(r"<dt>([^<]*)</dt>", headers)
    assert labels == ["Người gửi", "Người nhận", "Tiêu đề", "Thời điểm gửi", "Mã thư"]
    sent_on = re.search(r"<dt>Thời điểm gửi</dt><dd>([^<]*)</dd>", headers)
    assert sent_on and re.fullmatch(
        r"\d\d:\d\d (Thứ (Hai|Ba|Tư|Năm|Sáu|Bảy)|Chủ Nhật), \d\d/\d\d/\d{4}", sent_on.group(1)
    ), sent_on
    assert "+0000" not in headers and "[Giấy mời] Giao ban quý II" in headers
    download = await client.get(links[0] + "?download=1")
    assert download.headers["Content-Type"] == "message/rfc822"
    assert b'Content-Type: text/calendar; method="REQUEST"' in await download.read()


async def test_the_viewer_frames_the_messages_html_with_its_styles_and_no_script(
    client: TestClient, setup
):
    """Under the pages' policy (no inline style) the e-mail comes from its own URL, with a
    policy of its own: its inline styles apply, nothing in it runs, only we may frame it."""
    await client.post(f"/sessions/{setup['id']}/invitations", data={"_csrf": setup["csrf"]})
    await _deliver(client)
    page = await (await client.get(f"/sessions/{setup['id']}")).text()
    link = re.findall(rf'href="(/sessions/{setup["id"]}/messages/\d+)"', page)[0]
    view = await client.get(link)
    assert "'unsafe-inline'" not in view.headers["Content-Security-Policy"]
    assert f'<iframe class="mail-html" sandbox="" src="{link}?part=html"' in await view.text()
    framed = await client.get(f"{link}?part=html")
    assert framed.status == 200 and framed.content_type == "text/html"
    html = await framed.text()
    assert "Giao ban quý II" in html and 'style="' in html
    policy = framed.headers["Content-Security-Policy"].split("; ")
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert "style-src 'unsafe-inline'" in policy and "frame-ancestors 'self'" in policy
    assert not any(p.startswith("script-src") for p in policy)
    assert framed.headers["X-Frame-Options"] == "SAMEORIGIN"


async def test_resend_requeues_a_failed_message_and_repeats_a_sent_one(
    client: TestClient, setup, session_factory
):
    from sqlalchemy import select, update

    from notify.mail.models import Message, MessageStatus

    await client.post(f"/sessions/{setup['id']}/invitations", data={"_csrf": setup["csrf"]})
    await _deliver(client)
    async with session_factory() as session, session.begin():
        first, second = (await session.scalars(select(Message.id).order_by(Message.id))).all()[:2]
        await session.execute(
            update(Message)
            .where(Message.id == first)
            .values(status=MessageStatus.failed, last_error="550 mailbox unavailable")
        )
    page = await (await client.get(f"/sessions/{setup['id']}")).text()
    assert "550 mailbox unavailable" in page
    for message_id in (first, second):
        resent = await client.post(
            f"/sessions/{setup['id']}/messages/{message_id}/resend", data={"_csrf": setup["csrf"]}
        )
        assert "Đã xếp gửi lại cho" in await resent.text()
    summary = await (await client.get(f"/api/v1/meetings/{setup['id']}/messages/summary")).json()
    assert (summary["total"], summary["queued"], summary["failed"]) == (5, 2, 0)
    again = await client.post(
        f"/api/v1/meetings/{setup['id']}/messages/{first}/resend",
        headers={"X-CSRF-Token": setup["csrf"]},
    )
    assert again.status == 422  # still queued: not twice
    assert (await _deliver(client)).sent == 2


async def test_the_site_link_panel_revokes_and_reissues(client: TestClient, setup):
    site = setup["sites"][0]
    page = await (await client.get(f"/sites/{site.id}")).text()
    (old,) = re.findall(r'data-testid="site-link"', page) and re.findall(
        r'value="(http[^"]+/s/[^"]+)"', page
    )
    token = old.rsplit("/", 1)[1]
    assert (await client.get(f"/s/{token}")).status == 200
    revoked = await client.post(f"/sites/{site.id}/link", data={"_csrf": setup["csrf"]})
    page = await revoked.text()
    assert "Đường dẫn cũ đã hết hiệu lực" in page
    (new,) = re.findall(r'value="(http[^"]+/s/[^"]+)"', page)
    assert new != old
    assert (await client.get(f"/s/{token}")).status == 404
    assert (await client.get(f"/s/{new.rsplit('/', 1)[1]}")).status == 200


async def test_a_secretary_sees_progress_but_neither_links_nor_send_buttons(
    client: TestClient, setup
):
    await client.post("/logout", data={"_csrf": setup["csrf"]})
    await login(client, "sec")
    page = await (await client.get(f"/sessions/{setup['id']}")).text()
    assert "Gửi giấy mời" not in page
    site_page = await (await client.get(f"/sites/{setup['sites'][0].id}")).text()
    assert "/s/" not in site_page
