"""The year at a glance in a real browser, under the Content-Security-Policy: the charts
show (server-drawn SVG, no script) beside the tables with their numbers. (Any CSP
violation fails the flow: tests/flows/conftest.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.agendas.yearly.year_world import make_year
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


async def test_the_office_reads_the_year_with_its_charts(
    browser: Browser, base_url: str, session_factory: Any
):
    await make_year(session_factory)
    page = await browser.new_page()
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Tên đăng nhập").fill("sec")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.get_by_role("link", name="Tổng quan năm").click()
    await page.get_by_label("Năm").fill("2025")
    await page.get_by_role("button", name="Xem").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tổng quan năm 2025")
    charts = page.locator("figure.chart img")
    await expect(charts).to_have_count(3)
    for index in range(3):
        # Drawn: the SVG loaded and has a size (an image the policy blocked has none).
        width = await charts.nth(index).evaluate("image => image.complete && image.naturalWidth")
        assert width > 0
    clusters = page.get_by_test_id("table-clusters")
    await expect(clusters.get_by_test_id("cluster-total")).to_contain_text("57.1 %")
    await expect(page.get_by_test_id("total-attended")).to_contain_text("57.1 %")
