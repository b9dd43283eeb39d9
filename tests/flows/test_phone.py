"""On a phone (360 × 740): the site's page, its RSVP form and the sites list fit the screen
without sideways scrolling, and the RSVP choices read as lines, not a word per line."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select
from sqlmodel import col

from meetings.core import demo, demo_sessions
from meetings.core.store import utcnow
from meetings.planning.models import Meeting, MeetingStatus, Participation
from notify.site import tokens
from tests.conftest import TEST_SECRET

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
WIDTH = "document.documentElement.scrollWidth"


async def _demo(session_factory: Any, settings: Any) -> tuple[str, dict[str, str]]:
    """The demo loaded; the link of a site invited to the coming session, and passwords."""
    async with session_factory() as session, session.begin():
        await demo.load_demo(session)
        await demo_sessions.load_reference_sessions(
            session, hall=settings.organisation.hall, now=utcnow()
        )
        people = {p.username: p.password for p in await demo.demo_accounts(session)}
        site_id = await session.scalar(
            select(col(Participation.site_id))
            .join(Meeting, col(Meeting.id) == col(Participation.meeting_id))
            .where(col(Meeting.status) == MeetingStatus.scheduled)
            .order_by(col(Participation.site_id).desc())
            .limit(1)
        )
        assert site_id is not None
        token = await tokens.site_token(session, site_id, secret_key=TEST_SECRET)
    return token, people


async def _fits(page: Page) -> None:
    assert await page.evaluate(WIDTH) <= PHONE["width"], page.url


async def test_the_site_page_and_its_rsvp_form_fit_a_phone(
    browser: Browser, base_url: str, session_factory: Any, settings: Any
):
    token, _people = await _demo(session_factory, settings)
    page = await browser.new_page(viewport=PHONE)
    await page.goto(f"{base_url}/s/{token}")
    await _fits(page)
    choices = page.locator("fieldset.choices label")
    await expect(choices.first).to_be_visible()
    for index in range(await choices.count()):  # each answer a line (two at most), not a word
        box = await choices.nth(index).bounding_box()
        assert box is not None and box["height"] < 50, box
    await page.get_by_label("Không, chúng tôi không tham dự được").check()
    await page.get_by_label("Số đại biểu dự kiến").fill("-3")
    await page.get_by_role("button", name="Gửi trả lời").click()
    await expect(page.locator(".field-error").first).to_have_text("Phải từ 0 trở lên")
    await _fits(page)  # the refused form, with its messages, fits too


async def test_the_sites_list_fits_a_phone_and_says_where_a_cluster_continues(
    browser: Browser, base_url: str, session_factory: Any, settings: Any
):
    _token, people = await _demo(session_factory, settings)
    page = await browser.new_page(viewport=PHONE)
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Tên đăng nhập").fill("organiser")
    await page.get_by_label("Mật khẩu").fill(people["organiser"])
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.goto(f"{base_url}/sites")
    await _fits(page)
    last = page.locator("h2.group-head").last
    await expect(last).to_contain_text("còn tiếp ở trang 2")
    await last.get_by_role("link", name="còn tiếp ở trang 2").click()
    await expect(page.locator("h2.group-head").first).to_contain_text("tiếp theo từ trang 1")
    await _fits(page)
