"""The live board in a real browser: a refused mark is said in place in Vietnamese (never
by a browser dialog), an early start is an override with a reason, an absent site's
reason is kept, and the board fits a phone's width."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, Dialog, Page, expect
from sqlalchemy import select

from meetings.accounts.models import Role
from meetings.attendance.models import AttendanceEvent
from meetings.core.store import utcnow
from tests.factories import PASSWORD, make_cluster, make_scheduled_meeting, make_site, make_user

pytestmark = pytest.mark.browser

CLUSTERS = (
    "Cụm 1 — Đồng bằng sông Hồng và các tỉnh lân cận",
    "Cụm 5 — Duyên hải Nam Trung Bộ và Tây Nguyên",
)


async def three_days_away(session_factory: Any) -> tuple[int, list[int]]:
    """A scheduled session three days away, with sites in two long-named clusters."""
    async with session_factory() as session, session.begin():
        await make_user(session, username="vanphong", role=Role.organiser)
        sites = []
        for n, name in enumerate(CLUSTERS):
            cluster = await make_cluster(session, code=f"CUM-{n}", name=name)
            for province in ("Bà Rịa – Vũng Tàu", "Thừa Thiên Huế"):
                sites.append(
                    await make_site(
                        session,
                        name=f"Liên hiệp các tổ chức hữu nghị {province} {n}",
                        cluster_id=cluster.id,
                    )
                )
        meeting_id = await make_scheduled_meeting(
            session,
            starts_at=utcnow() + timedelta(days=3),
            site_ids=[s.id for s in sites],
            title="Hội nghị giao ban trực tuyến quý II",
        )
    return meeting_id, [s.id for s in sites]


def no_browser_dialogs(page: Page) -> list[str]:
    """Every alert/confirm/prompt the page opens (each one fails the test)."""
    opened: list[str] = []

    async def refuse(dialog: Dialog) -> None:
        opened.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", refuse)
    return opened


async def log_in(page: Page, base_url: str, target: str) -> None:
    await page.goto(f"{base_url}/login?next={target}")
    await page.get_by_label("Tên đăng nhập").fill("vanphong")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()


async def test_a_refused_mark_is_said_in_place_then_an_early_start_lets_the_board_work(
    browser: Browser, base_url: str, session_factory: Any
):
    meeting_id, sites = await three_days_away(session_factory)
    page = await browser.new_page()
    dialogs = no_browser_dialogs(page)
    await log_in(page, base_url, f"/sessions/{meeting_id}/board")
    await expect(page.locator("[data-live-state].on")).to_have_count(1)

    # Days before the session: a key on a tile is refused, on that tile, in Vietnamese.
    tile = page.locator(f"#site-{sites[0]}")
    await tile.focus()
    await page.keyboard.press("c")
    note = tile.locator("[data-error]")
    await expect(note).to_have_text(re.compile(r"^Chưa lưu: Phiên họp chưa bắt đầu trực tuyến"))
    await expect(note).to_have_attribute("role", "alert")
    await expect(tile).to_have_class(re.compile(r"\bst-none\b"))
    # The same in the dialog: it stays open with the refusal under the fields.
    await tile.press("Enter")
    dialog = page.locator("dialog[data-actions]")
    await dialog.get_by_role("button", name="Có mặt").click()
    await expect(dialog.locator("[data-dialog-error]")).to_contain_text(
        "Phiên họp chưa bắt đầu trực tuyến"
    )
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Đóng").click()

    # The session page offers the start only as an override that asks why.
    await page.goto(f"{base_url}/sessions/{meeting_id}")
    await expect(page.get_by_role("button", name="Bắt đầu (trực tuyến)")).to_have_count(0)
    await page.get_by_text("Bắt đầu trước ngày họp…").click()
    await page.get_by_label("Lý do bắt đầu trước ngày họp").fill("Lãnh đạo đề nghị họp sớm")
    await page.get_by_role("button", name="Bắt đầu ngay, trước ngày họp").click()
    history = page.get_by_test_id("status-history")
    await expect(history).to_contain_text("vanphong")
    await expect(history).to_contain_text("bắt đầu trước ngày họp: Lãnh đạo đề nghị họp sớm")

    # Live now: the board takes the same key, and an absence with its reason.
    await page.goto(f"{base_url}/sessions/{meeting_id}/board")
    await expect(page.locator("[data-live-state].on")).to_have_count(1)
    tile = page.locator(f"#site-{sites[0]}")
    await tile.focus()
    await page.keyboard.press("c")
    await expect(tile).to_have_class(re.compile(r"\bst-connected\b"))
    await expect(tile.locator("[data-error]")).to_have_text("")
    absent = page.locator(f"#site-{sites[1]}")
    await absent.click()
    await dialog.get_by_label("Ghi chú hoặc lý do vắng mặt").fill("Mất điện toàn tỉnh")
    await dialog.get_by_role("button", name="Vắng mặt").click()
    await expect(absent).to_have_class(re.compile(r"\bst-absent\b"))
    await expect(dialog).to_be_hidden()
    async with session_factory() as session:
        notes = (
            await session.scalars(
                select(AttendanceEvent.note).where(AttendanceEvent.site_id == sites[1])
            )
        ).all()
    assert notes == ["Mất điện toàn tỉnh"]
    assert dialogs == []


async def test_the_board_fits_a_phone_without_sideways_scrolling(
    browser: Browser, base_url: str, session_factory: Any
):
    meeting_id, _ = await three_days_away(session_factory)
    context = await browser.new_context(viewport={"width": 360, "height": 740})
    page = await context.new_page()
    await log_in(page, base_url, f"/sessions/{meeting_id}/board")
    await expect(page.locator("[data-live-state].on")).to_have_count(1)
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth]"
    )
    assert max(widths) <= 360, widths
    # The cluster filter stays inside the screen, and each key is big enough to press.
    box = await page.locator("[data-filter-cluster]").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    await page.locator(".tile").first.click()
    for button in await page.locator("dialog[data-actions] button[name=status]").all():
        size = await button.bounding_box()
        assert size is not None and size["height"] >= 40 and size["x"] + size["width"] <= 360
    widths = await page.evaluate("() => document.documentElement.scrollWidth")
    assert widths <= 360
