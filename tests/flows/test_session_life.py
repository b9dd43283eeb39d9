"""One session's whole life in a real browser, in Vietnamese and at phone size: the
organiser plans it and invites three sites, a site answers from the link in its e-mail,
the session goes live on its day with board marks and a site's own check-in, it ends, the
secretary records it, the chair approves the minutes and the approved files download; at
each phase the session page's step indicator says where it stands.

The session is planned on today's date in Hà Nội (Asia/Ho_Chi_Minh), so it goes live
without an override (see `today_in_hanoi` for a run late in the evening)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import docx
import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from meetings.accounts.models import Role
from meetings.core.settings import Settings
from meetings.planning import lifecycle
from meetings.planning.models import MeetingStatus
from notify.mail import outbox, transports
from notify.mail.render import make_renderer
from tests.factories import (
    PASSWORD,
    make_cluster,
    make_scheduled_meeting,
    make_site,
    make_user,
)

pytestmark = pytest.mark.browser

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
PHONE = {"width": 360, "height": 740}
TITLE = "Hội nghị giao ban trực tuyến Cụm 3"
PROVINCES = ("Thanh Hóa", "Nghệ An", "Hà Tĩnh")
ABSENCE = "Mất điện do bão, không kết nối được"
RECOMMENDATION = "Đề nghị hỗ trợ kinh phí nâng cấp đường truyền cho điểm cầu."
CONCLUSIONS = "Các Liên hiệp hoàn thành báo cáo đối ngoại nhân dân trước ngày 30/6."


def today_in_hanoi(now: datetime) -> tuple[datetime, datetime]:
    """A session on the Hà Nội date of `now`: from the next 5-minute mark at least 5
    minutes on, for up to 2 hours, ending by 23:59. Past 22:55 that leaves less than an
    hour, so the session is the day's last stretch (22:30-23:59), begun already: still
    today, so it still goes live without an override (a run crossing midnight keeps it
    too: the day has begun, and the site's check-in window is hours wide)."""
    local = now.astimezone(HANOI).replace(second=0, microsecond=0)
    start = local + timedelta(minutes=10 - local.minute % 5)
    last = local.replace(hour=23, minute=59)
    if start + timedelta(hours=1) > last:
        start = local.replace(hour=22, minute=30)
    return start, min(start + timedelta(hours=2), last)


@dataclass
class Story:
    """What the walk carries from one phase to the next."""

    browser: Browser
    base_url: str
    settings: Settings
    session_factory: Any
    tmp_path: Path
    site_ids: dict[str, int] = field(default_factory=dict)
    meeting_id: int = 0
    #: When the session starts (today_in_hanoi): late at night it has begun already.
    starts: datetime | None = None
    #: Every alert/confirm/prompt a page opened (only the chair's approval may ask).
    dialogs: list[str] = field(default_factory=list)

    async def page(self, username: str | None = None, target: str = "/") -> Page:
        """A new phone-sized browser context, logged in as `username` (None: a site)."""
        context = await self.browser.new_context(viewport=PHONE, accept_downloads=True)
        context.set_default_timeout(10_000)
        page = await context.new_page()
        page.on("dialog", self.refuse)
        if username is not None:
            await page.goto(f"{self.base_url}/login?next={target}")
            await page.get_by_label("Tên đăng nhập").fill(username)
            await page.get_by_label("Mật khẩu").fill(PASSWORD)
            await page.get_by_role("button", name="Đăng nhập").click()
            await expect(page.get_by_role("button", name="Đăng nhập")).to_have_count(0)
        return page

    async def refuse(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()

    @property
    def session_url(self) -> str:
        return f"{self.base_url}/sessions/{self.meeting_id}"

    async def deliver(self) -> int:
        """Be the mail worker once: deliver what is due into the drop folder."""
        report = await outbox.deliver_due(
            self.session_factory,
            transports.DropTransport(self.settings.mail.drop_dir),
            make_renderer(self.settings),
        )
        return report.sent


async def expect_step(page: Page, label: str) -> None:
    """The step indicator marks `label` as the current step, and only it."""
    steps = page.get_by_role("navigation", name="Các bước của phiên họp")
    await expect(steps.get_by_role("listitem")).to_have_count(7)
    current = steps.locator('[aria-current="step"]')
    await expect(current).to_have_count(1)
    await expect(current).to_have_text(label)
    await expect(page.get_by_test_id("phase-lead")).to_contain_text(label)


#: What sticks out past the phone's width (said when a page scrolls sideways).
WIDER = """() => [...document.querySelectorAll("main *")]
  .filter((e) => e.getBoundingClientRect().right > innerWidth + 1)
  .slice(0, 5).map((e) => `${e.tagName}.${e.className}: ${e.textContent.slice(0, 40)}`)"""


async def fits_the_phone(page: Page) -> None:
    """Nothing scrolls sideways on a phone."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (page.url, width, await page.evaluate(WIDER))


# --- the phases ------------------------------------------------------------------------


async def people_and_sites(story: Story) -> None:
    async with story.session_factory() as session, session.begin():
        for username, role in (
            ("vanphong", Role.organiser),
            ("thuky", Role.secretary),
            ("chutri", Role.chair),
            ("quantri", Role.admin),
        ):
            await make_user(session, username=username, role=role)
        cluster = await make_cluster(session, code="CUM-3", name="Cụm 3 — Bắc Trung Bộ")
        for province in PROVINCES:
            site = await make_site(
                session, name=f"Liên hiệp các tổ chức hữu nghị {province}", cluster_id=cluster.id
            )
            story.site_ids[province] = site.id


async def plan(story: Story, page: Page) -> None:
    """The organiser plans the session on a phone, with an agenda; nothing sent yet."""
    starts, ends = today_in_hanoi(datetime.now(UTC))
    story.starts = starts
    await page.get_by_role("link", name="Lên lịch phiên họp").first.click()
    await page.get_by_label("Tên phiên họp").fill(TITLE)
    await page.get_by_label("Bắt đầu").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_label("Kết thúc").fill(ends.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_label("Múi giờ").fill("Asia/Ho_Chi_Minh")
    await page.get_by_label("Chủ trì", exact=True).fill("Phan Anh Sơn")
    await page.get_by_label("Thư ký", exact=True).fill("Nguyễn Thị Thu")
    await page.get_by_label("Họp đột xuất").check()  # planned today: no 3-day notice
    await (
        page.locator("details.cluster-pick", has_text="Cụm 3")
        .locator("[data-cluster-toggle]")
        .check()
    )
    await expect(page.locator("#picked")).to_have_text("3 điểm cầu, 1 cụm")
    await fits_the_phone(page)
    await page.get_by_role("button", name="Lưu", exact=True).click()

    await expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    found = re.search(r"/sessions/(\d+)", page.url)
    assert found, page.url
    story.meeting_id = int(found.group(1))
    await expect_step(page, "Chuẩn bị")
    agenda = page.locator("#agenda-rows tbody tr")
    for index, (title, minutes) in enumerate((("Khai mạc", "10"), ("Báo cáo của cụm", "50"))):
        if index:
            await page.get_by_role("button", name="Thêm nội dung").click()
        await agenda.nth(index).locator("input[name=agenda_title]").fill(title)
        await agenda.nth(index).locator("input[name=agenda_duration]").fill(minutes)
    await page.get_by_role("button", name="Lưu chương trình").click()
    await expect(page.get_by_role("status").first).to_have_text("Đã lưu chương trình.")
    await fits_the_phone(page)


async def invite(story: Story, page: Page) -> None:
    """Sending the invitations moves the step on; then the panel offers nothing to send."""
    panel = page.locator("#invitations")
    await expect(panel.get_by_test_id("plan")).to_contain_text("3 × giấy mời (lần đầu)")
    await panel.get_by_role("button", name="Gửi giấy mời").click()
    await expect(page.get_by_role("status").first).to_contain_text("Đã xếp hàng gửi: 3 giấy mời")
    assert await story.deliver() == 3
    await page.goto(story.session_url)
    await expect_step(page, "Đã gửi giấy mời")
    panel = page.locator("#invitations")
    await expect(panel.get_by_test_id("delivery")).to_contain_text("Đã gửi: 3 / 3")
    await expect(panel.get_by_test_id("plan")).to_have_text(
        "Mọi điểm cầu đã có phiên bản mới nhất: không có gì cần gửi."
    )
    await expect(panel.get_by_role("button", name="Gửi giấy mời")).to_have_count(0)


def site_link_in_mail(drop: Path, site_name: str) -> str:
    """The path of the site's own page, from the invitation delivered to its contact."""
    for path in sorted(drop.rglob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        if site_name in text:
            found = re.search(r"https?://\S+/s/[\w.-]+", text)
            assert found, text
            return urlsplit(found.group(0)).path
    raise AssertionError(f"no invitation to {site_name} in {drop}")


async def answer(story: Story, organiser: Page) -> str:
    """Thanh Hóa opens the link in its e-mail on a phone and accepts with 12 delegates;
    the organiser sees the answer tallied. Returns the site's page path."""
    name = f"Liên hiệp các tổ chức hữu nghị {PROVINCES[0]}"
    link = site_link_in_mail(Path(story.settings.mail.drop_dir), name)
    site = await story.page()
    await site.goto(f"{story.base_url}{link}")
    await expect(site.get_by_role("heading", name=name)).to_be_visible()
    card = site.locator(f"#m{story.meeting_id}")
    await expect(card).to_contain_text(TITLE)
    await card.get_by_label("Có, chúng tôi tham dự").check()
    await card.get_by_label("Số đại biểu dự kiến").fill("12")
    await card.get_by_role("button", name="Gửi trả lời").click()
    await expect(card.get_by_role("status")).to_have_text("Cảm ơn, câu trả lời đã được lưu.")
    await fits_the_phone(site)

    await organiser.reload()
    summary = organiser.get_by_test_id("rsvp-summary")
    await expect(summary).to_contain_text("Nhận lời: 1")
    await expect(summary).to_contain_text("Chưa trả lời: 2")
    await expect(summary).to_contain_text("Số đại biểu dự kiến: 12")
    row = organiser.locator(f"tr[data-site='{story.site_ids[PROVINCES[0]]}']")
    await expect(row).to_contain_text("Nhận lời")
    await organiser.goto(f"{story.base_url}/")  # the organiser's dashboard tallies it too
    row = organiser.get_by_test_id("upcoming").locator(f"tr[data-meeting='{story.meeting_id}']")
    await expect(row).to_contain_text("Nhận lời 1")
    await expect(row).to_contain_text("Số đại biểu dự kiến 12")
    await organiser.goto(story.session_url)
    return link


async def go_live(story: Story, organiser: Page, site_link: str) -> None:
    """On its day the session is scheduled (rehearsal), then started without an override;
    the board takes a key and a dialog, the site checks in itself; the totals follow."""
    await organiser.get_by_role("button", name="Chốt lịch").click()
    await expect_step(organiser, "Chạy thử")
    await expect(organiser.get_by_test_id("early-start")).to_have_count(0)
    await organiser.get_by_role("button", name="Bắt đầu (trực tuyến)").click()
    await expect_step(organiser, "Đang diễn ra")

    await (
        organiser.get_by_test_id("phase-lead")
        .get_by_role("link", name="Bảng theo dõi trực tiếp")
        .click()
    )
    await expect(organiser.locator("[data-live-state].on")).to_have_count(1)
    await fits_the_phone(organiser)
    connected = organiser.locator(f"#site-{story.site_ids[PROVINCES[1]]}")
    await connected.focus()
    await organiser.keyboard.press("c")
    await expect(connected).to_have_class(re.compile(r"\bst-connected\b"))
    absent = organiser.locator(f"#site-{story.site_ids[PROVINCES[2]]}")
    await absent.click()
    dialog = organiser.locator("dialog[data-actions]")
    await dialog.get_by_label("Ghi chú hoặc lý do vắng mặt").fill(ABSENCE)
    await dialog.get_by_role("button", name="Vắng mặt").click()
    await expect(dialog).to_be_hidden()
    await expect(absent).to_have_class(re.compile(r"\bst-absent\b"))

    site = await story.page()
    await site.goto(f"{story.base_url}{site_link}")
    await site.get_by_label("Số đại biểu tại điểm cầu").fill("12")
    await site.get_by_role("button", name="Điểm cầu đã sẵn sàng").click()
    await expect(site.get_by_role("status").first).to_contain_text("đã kết nối")
    own = organiser.locator(f"#site-{story.site_ids[PROVINCES[0]]}")
    # A site checking in past the late mark is shown late: the walk run after 22:55 in
    # Hà Nội, when today_in_hanoi's session began at 22:30.
    assert story.starts is not None
    late_mark = story.starts + timedelta(minutes=story.settings.attendance.late_after_minutes)
    shown = r"\bst-late\b" if datetime.now(UTC) > late_mark else r"\bst-connected\b"
    await expect(own).to_have_class(re.compile(shown))
    await expect(organiser.get_by_test_id("totals")).to_contain_text(
        "2/3 điểm cầu đã kết nối · 12 đại biểu"
    )
    for tile in (own, connected, absent):
        await expect(tile.locator("[data-error]")).to_have_text("")
    admin = await story.page("quantri")  # live sessions come first on a dashboard
    live = admin.get_by_test_id("live")
    await expect(live.get_by_role("link", name=TITLE)).to_be_visible()
    await expect(live.get_by_role("link", name="Bảng điểm danh")).to_be_visible()
    await fits_the_phone(admin)
    assert story.dialogs == []  # every mark was taken: nothing refused, nothing alerted


async def end(story: Story, organiser: Page) -> None:
    """Ended: attendance as it happened comes first; the agenda is read-only, and says why."""
    await organiser.goto(story.session_url)
    await organiser.get_by_role("button", name="Kết thúc phiên họp").click()
    await expect_step(organiser, "Đã kết thúc")
    attendance = organiser.get_by_test_id("attendance-panel")
    await expect(attendance.get_by_role("heading")).to_have_text("Điểm danh thực tế")
    totals = attendance.get_by_test_id("attendance-totals")
    await expect(totals).to_contain_text("Đã kết nối: 2/3")
    await expect(totals).to_contain_text("Vắng mặt: 1")
    await expect(totals).to_contain_text("12")
    await expect(organiser.get_by_test_id("programme-read-only")).to_have_text(
        "Phiên họp đã kết thúc: chương trình chỉ đọc"
    )
    await expect(organiser.locator("#agenda-rows input")).to_have_count(0)
    await expect(organiser.locator("#agenda-rows")).to_contain_text("Báo cáo của cụm")
    await expect(organiser.get_by_role("button", name="Lưu chương trình")).to_have_count(0)
    await fits_the_phone(organiser)


async def record(story: Story) -> None:
    """The secretary's dashboard lists the session to record and the draft-minutes notice;
    she records Thanh Hóa's recommendation and the chair's conclusions."""
    page = await story.page("thuky")
    await expect(page.get_by_test_id("to-record")).to_contain_text(TITLE)
    await expect(page.get_by_test_id("notices")).to_contain_text(TITLE)
    await page.get_by_test_id("to-record").get_by_role("link", name=TITLE).click()
    await page.get_by_label("Điểm cầu", exact=True).select_option(
        label=f"Liên hiệp các tổ chức hữu nghị {PROVINCES[0]}"
    )
    await page.get_by_label("Người phát biểu").fill("Lê Văn Hùng")
    await page.get_by_label("Loại", exact=True).select_option("recommendation")
    await page.get_by_label("Nội dung phát biểu").fill(RECOMMENDATION)
    await page.get_by_role("button", name="Ghi nhận ý kiến").click()
    await expect(page.get_by_role("status").first).to_have_text("Đã ghi nhận ý kiến.")
    conclusions = page.locator("#note-conclusions")
    await conclusions.fill(CONCLUSIONS)
    await conclusions.blur()  # saves on leaving the field
    await expect(conclusions.locator("xpath=..").locator("[data-note-state]")).to_contain_text(
        "Đã lưu"
    )
    await fits_the_phone(page)


async def approve(story: Story) -> Path:
    """The chair approves from the dashboard; the page then shows the approved version and
    downloads its files under the approved name. Returns the DOCX."""
    page = await story.page("chutri")
    awaiting = page.get_by_test_id("awaiting")
    await expect(awaiting).to_contain_text(TITLE)
    await awaiting.get_by_role("link", name=TITLE).click()
    confirms: list[str] = []

    async def confirm(dialog: Dialog) -> None:  # "approve this version?": the one question
        confirms.append(dialog.message)
        await dialog.accept()

    page.remove_listener("dialog", story.refuse)
    page.on("dialog", confirm)
    await page.get_by_role("button", name="Duyệt phiên bản 1").click()
    current = page.get_by_test_id("current-minutes")
    await expect(current.get_by_role("heading")).to_have_text("Đã duyệt — phiên bản 1")
    assert confirms and confirms[0].startswith("Duyệt phiên bản này?"), confirms
    await expect(page.get_by_role("button", name=re.compile("Duyệt phiên bản"))).to_have_count(0)
    await fits_the_phone(page)
    files = {}
    for label in ("Word (DOCX)", "PDF"):
        async with page.expect_download() as waiting:
            await current.get_by_role("link", name=label, exact=True).click()
        download = await waiting.value
        files[label] = story.tmp_path / download.suggested_filename
        await download.save_as(files[label])
    assert files["Word (DOCX)"].name == f"bien-ban-{story.meeting_id}-v1-da-duyet.docx"
    assert files["PDF"].name == f"bien-ban-{story.meeting_id}-v1-da-duyet.pdf"
    assert files["PDF"].read_bytes().startswith(b"%PDF")

    await page.goto(f"{story.base_url}/")
    await expect(page.get_by_test_id("awaiting")).not_to_contain_text(TITLE)
    # The session page: the approval step is reached (the notice of conclusions is queued
    # with the approval, so the page may already stand at the follow-up after it).
    await page.goto(story.session_url)
    approved = page.locator('nav.phase-steps li[data-phase="approved"]')
    await expect(approved).to_have_text(re.compile("Biên bản đã duyệt"))
    await expect(approved).to_have_class(re.compile(r"\b(done|current)\b"))
    return files["Word (DOCX)"]


def docx_text(path: Path) -> str:
    document = docx.Document(str(path))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            seen: list[Any] = []
            for cell in row.cells:  # a merged cell repeats in each column it spans
                if cell._tc not in seen:
                    seen.append(cell._tc)
                    lines.append(cell.text)
    return "\n".join(lines)


async def test_a_session_from_planning_to_approved_minutes_on_a_phone(
    browser: Browser, base_url: str, settings: Settings, session_factory: Any, tmp_path: Path
):
    story = Story(browser, base_url, settings, session_factory, tmp_path)
    await people_and_sites(story)
    organiser = await story.page("vanphong")
    await expect(organiser.get_by_role("heading", name="Tổng quan")).to_be_visible()
    await plan(story, organiser)
    await invite(story, organiser)
    site_link = await answer(story, organiser)
    await go_live(story, organiser, site_link)
    await end(story, organiser)
    await record(story)
    minutes = await approve(story)

    text = docx_text(minutes)
    absent_site = f"Liên hiệp các tổ chức hữu nghị {PROVINCES[2]}"
    assert re.search(rf"{absent_site}[^\n]*{ABSENCE}", text), text
    assert text.count(RECOMMENDATION) == 1, text
    assert CONCLUSIONS in text
    assert "Phan Anh Sơn" in text and "Nguyễn Thị Thu" in text
    assert story.dialogs == []


async def test_a_session_ended_before_its_planned_end_is_among_the_recent_ones(
    browser: Browser, base_url: str, settings: Settings, session_factory: Any, tmp_path: Path
):
    story = Story(browser, base_url, settings, session_factory, tmp_path)
    async with session_factory() as session, session.begin():
        await make_user(session, username="quantri", role=Role.admin)
        site = await make_site(session)
        meeting_id = await make_scheduled_meeting(
            session,
            starts_at=datetime.now(UTC) - timedelta(minutes=30),
            site_ids=[site.id],
            title=TITLE,
        )
        for status in (MeetingStatus.live, MeetingStatus.ended):
            await lifecycle.change_status(session, meeting_id, status)
    admin = await story.page("quantri")
    await expect(admin.get_by_role("main").get_by_role("link", name=TITLE)).to_be_visible()
