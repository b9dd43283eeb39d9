"""In a real browser, the site's side of the follow-up between sessions: from its page a
site reports progress on its action item with a file, and sends a requested report; the
organiser then sees the progress report on the record page and the report on the
request's page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from agendas.record import record
from agendas.record.models import ActionItemIn
from meetings.accounts.models import Role
from meetings.planning import report_requests
from meetings.planning.request_models import ReportRequestCreate
from notify.site import tokens
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, make_scheduled_meeting, make_site, make_user

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
STARTS = datetime(2030, 4, 19, 1, 0, tzinfo=UTC)  # Friday 19/4/2030, 08:00 in Hà Nội


async def _arrange(session_factory: Any) -> dict[str, Any]:
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        vp = await make_site(session, code="VP", name="Liên hiệp Vĩnh Phúc")
        token = await tokens.site_token(session, vp.id, secret_key=TEST_SECRET)
        mid = await make_scheduled_meeting(
            session, starts_at=STARTS, site_ids=[vp.id], title="Giao ban quý II"
        )
        task = ActionItemIn(
            text="Tổng kết phong trào thi đua", owner_site_id=vp.id, due_working_days=10
        )
        item = await record.add_action(session, mid, task)
        asked = await report_requests.create_request(
            session,
            mid,
            ReportRequestCreate(
                title="Báo cáo công tác quý I", due_at=datetime(2030, 4, 16, 10, tzinfo=UTC)
            ),
            by="org",
        )
    return {"mid": mid, "token": token, "item": item.id, "request": asked.id}


async def test_a_site_reports_from_its_page_and_the_organiser_sees_it(
    browser: Browser, base_url: str, session_factory: Any
):
    data = await _arrange(session_factory)
    item, request = data["item"], data["request"]
    site = await browser.new_page()
    await site.goto(f"{base_url}/s/{data['token']}")

    # Progress on its action item, with a file.
    action = site.get_by_test_id(f"action-{item}")
    await expect(action).to_contain_text("Tổng kết phong trào thi đua")
    await action.get_by_text("Báo cáo tiến độ").click()
    await action.locator(f"#r-text-{item}").fill("Đã tổng kết ở 5/7 huyện")
    await action.locator(f"#r-file-{item}").set_input_files(
        {"name": "tien-do.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    await action.get_by_role("button", name="Gửi báo cáo").click()
    action = site.get_by_test_id(f"action-{item}")
    await expect(action.get_by_role("status")).to_be_visible()
    await expect(action).to_contain_text("Đã tổng kết ở 5/7 huyện")
    await expect(action).to_contain_text("tien-do.pdf")

    # The requested report, uploaded from the same page.
    asked = site.get_by_test_id(f"report-request-{request}")
    await expect(asked).to_contain_text("Báo cáo công tác quý I")
    await asked.locator(f"#rq-file-{request}").set_input_files(
        {"name": "bao-cao-quy-1.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    await asked.get_by_role("button", name="Gửi báo cáo").click()
    await expect(site.get_by_test_id(f"report-state-{request}")).to_contain_text(
        "bao-cao-quy-1.pdf"
    )

    # The organiser, logged in, sees both.
    office = await browser.new_page()
    await office.goto(f"{base_url}/login")
    await office.get_by_label("Tên đăng nhập").fill("org")
    await office.get_by_label("Mật khẩu").fill(PASSWORD)
    await office.get_by_role("button", name="Đăng nhập").click()
    await office.goto(f"{base_url}/sessions/{data['mid']}/record")
    reports = office.get_by_test_id("action-reports")
    await expect(reports).to_contain_text("Đã tổng kết ở 5/7 huyện")
    await expect(reports).to_contain_text("tien-do.pdf")
    await expect(reports).to_contain_text("Liên hiệp Vĩnh Phúc")
    await office.goto(f"{base_url}/sessions/{data['mid']}/report-requests/{request}")
    await expect(office.get_by_test_id("site-VP")).to_contain_text("bao-cao-quy-1.pdf")
