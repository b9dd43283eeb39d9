"""In a real browser, with the keyboard alone: the organiser finds an answer from an
address that was not invited in the session's inbox, applies it to the invited site it
speaks for, and sees the site's answer set."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.factories import PASSWORD
from tests.notify.inbound.test_strangers import STRANGER, answer_from, arrange

pytestmark = pytest.mark.browser


async def test_the_organiser_applies_a_strangers_answer_with_the_keyboard(
    browser: Browser, base_url: str, session_factory: Any
):
    world = await arrange(session_factory)
    await answer_from(session_factory, world["uid"], "ACCEPTED")
    page = await browser.new_page()
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Tên đăng nhập").fill("org")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page).not_to_have_url(f"{base_url}/login")
    await page.goto(f"{base_url}/sessions/{world['id']}/inbox?show=stranger")

    row = page.locator("[data-outcome=stranger]")
    await expect(row).to_contain_text(STRANGER)
    await row.get_by_role("link", name="Áp dụng cho điểm cầu…").focus()
    await page.keyboard.press("Enter")

    choice = page.get_by_label("Điểm cầu được mời")
    await expect(choice).to_be_focused()
    await page.keyboard.press("ArrowDown")  # the first invited site: Kiên Giang
    await expect(choice).to_have_value(str(world["kg"]))
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Áp dụng câu trả lời")).to_be_focused()
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("status").filter(has_text="Đã áp dụng")).to_have_text(
        "Đã áp dụng câu trả lời cho Liên hiệp Kiên Giang."
    )
    await expect(page.locator("[data-outcome=stranger]")).to_have_count(0)
    await page.goto(f"{base_url}/sessions/{world['id']}")
    answer = page.locator(f'.rsvp-grid tr[data-site="{world["kg"]}"] td').first
    await expect(answer.locator(".rsvp-accepted")).to_have_count(1)
    await expect(answer.locator('[data-source="calendar"]')).to_contain_text(STRANGER)
