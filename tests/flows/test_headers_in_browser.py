"""In a real browser, under the Content-Security-Policy: a site's link never leaves in a
Referer, and the mail viewer shows a message styled as sent, its scripts never run.
(Every flow here and in test_browser.py fails on any CSP violation: tests/flows/conftest.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from meetings.accounts.models import Role
from meetings.core.settings import Settings
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate, MeetingStatus
from notify.mail import outbox, transports
from notify.mail.render import make_renderer
from notify.site import tokens
from tests.factories import PASSWORD, make_site, make_user

pytestmark = pytest.mark.browser


class Outside:
    """Another web server (another origin): the video platform, recording what it is sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.path_qs, dict(request.headers)))
        html = "<!doctype html><title>Phòng họp</title><h1>Phòng họp</h1>"
        return web.Response(text=html, content_type="text/html")


@pytest.fixture
async def outside() -> AsyncIterator[Outside]:
    recorder = Outside()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    recorder.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield recorder
    await runner.cleanup()


async def _meeting(session: Any, title: str, site_ids: list[int], video_url: str = "") -> int:
    meeting = await planning.create_meeting(
        session,
        MeetingCreate(
            title=title,
            starts_at=datetime(2030, 4, 19, 1, tzinfo=UTC),
            ends_at=datetime(2030, 4, 19, 4, tzinfo=UTC),
            site_ids=site_ids,
            video_url=video_url,
        ),
        organiser_id=None,
        default_location="Hội trường",
    )
    await planning.change_status(session, meeting.id, MeetingStatus.scheduled)
    return meeting.id or 0


async def test_leaving_the_site_page_for_an_outside_link_sends_no_referer(
    browser: Browser, base_url: str, session_factory: Any, settings: Settings, outside: Outside
):
    async with session_factory() as session, session.begin():
        site = await make_site(session, name="Liên hiệp hữu nghị Vĩnh Phúc")
        room = f"{outside.url}/phong/giao-ban"
        meeting_id = await _meeting(session, "Giao ban quý II", [site.id], video_url=room)
        token = await tokens.site_token(session, site.id, secret_key=settings.security.secret_key)
    page = await browser.new_page()
    site_page = f"{base_url}/s/{token}"
    await page.goto(site_page)
    # What a delegate does: click the video link.
    await page.get_by_test_id(f"join-{meeting_id}").click()
    await expect(page.get_by_role("heading", name="Phòng họp")).to_be_visible()
    # A navigation the page starts itself follows the page's own policy (no rel= on it).
    await page.goto(site_page)
    await page.evaluate("url => { window.location.href = url; }", f"{room}?from=script")
    await expect(page).to_have_url(f"{room}?from=script")
    joins = [(path, headers) for path, headers in outside.requests if path.startswith("/phong")]
    assert [path for path, _ in joins] == ["/phong/giao-ban", "/phong/giao-ban?from=script"]
    for _, headers in joins:
        assert "Referer" not in headers
    for _, headers in outside.requests:  # the room's own favicon too
        assert not [name for name, value in headers.items() if token in value]


async def _log_in(page: Page, base_url: str, next_path: str) -> None:
    await page.goto(f"{base_url}/login?next={next_path}")
    await page.get_by_label("Tên đăng nhập").fill("vanphong")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()


def _add_a_script(eml: Path) -> None:
    """The delivered message, altered as a hostile message would be: a script in its HTML."""
    message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    hostile = "<p id='probe'>inert</p><script>document.getElementById('probe').textContent"
    hostile += " = 'ran'; parent.document.title = 'ran';</script>"
    html.set_content(str(html.get_content()).replace("</body>", hostile + "</body>"), "html")
    eml.write_bytes(message.as_bytes())


async def test_the_mail_viewer_shows_the_message_styled_and_runs_none_of_its_scripts(
    browser: Browser, base_url: str, session_factory: Any, settings: Settings
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="vanphong", role=Role.organiser)
        site = await make_site(session, name="Liên hiệp hữu nghị Vĩnh Phúc")
        meeting_id = await _meeting(session, "Giao ban quý III", [site.id])
    page = await browser.new_page()
    await _log_in(page, base_url, f"/sessions/{meeting_id}")
    await page.locator("#invitations").get_by_role("button", name="Gửi giấy mời").click()
    report = await outbox.deliver_due(
        session_factory, transports.DropTransport(settings.mail.drop_dir), make_renderer(settings)
    )
    assert report.sent == 1
    [eml] = list(Path(settings.mail.drop_dir).glob("*.eml"))
    _add_a_script(eml)
    await page.reload()
    await page.locator("#invitations details.more summary").click()
    await page.locator(f"a[href^='/sessions/{meeting_id}/messages/']").first.click()
    frame = page.frame_locator("iframe.mail-html")
    title = frame.get_by_role("heading", name="Giao ban quý III")
    await expect(title).to_be_visible()
    # The message's own inline style applies (#a4161a), under its own policy.
    await expect(title).to_have_css("color", "rgb(164, 22, 26)")
    await expect(frame.locator("#probe")).to_have_text("inert")
    assert await page.title() != "ran"
