"""In a real browser: the session page's step indicator says where the session is."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.factories import PASSWORD
from tests.meetings.planning.test_phases import _ended

pytestmark = pytest.mark.browser


async def test_the_step_indicator_of_an_ended_session_on_a_phone(
    browser: Browser, base_url: str, session_factory: Any
):
    meeting_id, _ = await _ended(session_factory)
    page = await browser.new_page(viewport={"width": 360, "height": 740})
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Tên đăng nhập").fill("org")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.goto(f"{base_url}/sessions/{meeting_id}")

    steps = page.get_by_role("navigation", name="Các bước của phiên họp").get_by_role("listitem")
    await expect(steps).to_have_count(7)
    current = page.locator('[aria-current="step"]')
    await expect(current).to_have_count(1)
    await expect(current).to_have_text("Đã kết thúc")
    for index in range(4):  # planning, invitations, rehearsal, live: ticked
        await expect(steps.nth(index)).to_contain_text("✓")
    await expect(steps.nth(5)).not_to_contain_text("✓")
    # What the phase needs comes first: the lead, then attendance as it happened.
    await expect(page.get_by_test_id("phase-lead")).to_contain_text("hoàn thiện ghi chép")
    first = page.locator("main section.card").nth(1)
    await expect(first).to_have_attribute("id", "attendance")
    await expect(first.get_by_test_id("attendance-totals")).to_contain_text("Đã kết nối: 2")
    # The indicator wraps at phone width: nothing scrolls sideways because of it.
    width = await page.locator("nav.phase-steps").evaluate("n => n.scrollWidth <= n.clientWidth")
    assert width
