"""In a real browser: the organiser sees a site's proposal of another time on the session
page, accepts it, and sees the session at its new time with the updates queued."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.factories import PASSWORD
from tests.notify.inbound.test_counters import arrange

pytestmark = pytest.mark.browser


async def test_the_organiser_accepts_a_proposal_of_another_time(
    browser: Browser, base_url: str, session_factory: Any
):
    data = await arrange(session_factory)
    page = await browser.new_page()
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Tên đăng nhập").fill("org")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.goto(f"{base_url}/sessions/{data['id']}")

    facts = page.locator("dl.facts").first
    await expect(facts).to_contain_text("08:00 Thứ Sáu, 19/04/2030")
    proposal = page.locator(f'[data-counter="{data["counter"]}"]')
    await expect(proposal).to_contain_text(
        "Liên hiệp Vĩnh Phúc đề nghị đổi thời gian: 14:00–16:00 Thứ Sáu, 19/04/2030 "
        "(thay vì 08:00–11:00 Thứ Sáu, 19/04/2030)"
    )
    await expect(page.locator("[data-counter]")).to_have_count(2)
    await proposal.get_by_role("button", name="Chấp nhận: dời phiên họp").click()

    await expect(page.get_by_role("status").filter(has_text="cập nhật")).to_have_text(
        "Đã dời phiên họp sang 14:00–16:00 Thứ Sáu, 19/04/2030. 4 cập nhật đã xếp hàng."
    )
    await expect(facts).to_contain_text("14:00 Thứ Sáu, 19/04/2030")
    # The proposal is decided; Kiên Giang's still waits.
    await expect(page.locator("[data-counter]")).to_have_count(1)
    await expect(page.locator("#inbox")).to_contain_text("Đã chấp nhận: phiên họp đã được dời")
