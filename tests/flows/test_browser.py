"""In a real browser: log in, import a CSV of sites, see them grouped by cluster."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from meetings.accounts.models import Role
from meetings.core.settings import Settings
from tests.factories import PASSWORD, make_cluster, make_site, make_user

pytestmark = pytest.mark.browser


async def test_log_in_import_a_csv_and_see_sites_grouped_by_cluster(
    browser: Browser, base_url: str, session_factory: Any, tmp_path: Path
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="vanphong", role=Role.organiser)
        await make_cluster(session, code="CUM-1", name="Cụm 1 — Đồng bằng sông Hồng")
        await make_cluster(session, code="CUM-2", name="Cụm 2 — Trung du miền núi")
    sheet = tmp_path / "diem-cau.csv"
    sheet.write_text(
        "code,name,province,cluster,contact1_name,contact1_email,contact1_role\n"
        "vinh-phuc,Liên hiệp các tổ chức hữu nghị Vĩnh Phúc,Vĩnh Phúc,CUM-1,Lê Văn An,"
        "an@example.org,head\n"
        "bac-giang,Liên hiệp các tổ chức hữu nghị Bắc Giang,Bắc Giang,CUM-1,Trần Thị Bình,"
        "binh@example.org,head\n"
        "lao-cai,Liên hiệp các tổ chức hữu nghị Lào Cai,Lào Cai,CUM-2,Phạm Minh Châu,"
        "chau@example.org,technical\n"
        "ha-giang,Liên hiệp các tổ chức hữu nghị Hà Giang,Hà Giang,CUM-2,Đỗ Thu Hà,"
        "ha@example.org,secretary\n",
        encoding="utf-8",
    )
    page = await browser.new_page()
    await page.goto(f"{base_url}/sites")  # not logged in: sent to the login page
    await page.get_by_label("Tên đăng nhập").fill("vanphong")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.get_by_role("heading", name="Điểm cầu")).to_be_visible()

    await page.get_by_role("link", name="Nhập từ tệp").click()
    await page.get_by_label("Tệp CSV hoặc XLSX").set_input_files(str(sheet))
    await page.get_by_role("button", name="Kiểm tra tệp").click()
    await expect(page.locator(".badge.new")).to_have_text("4 mới")
    await page.get_by_role("button", name="Xác nhận nhập dữ liệu").click()

    await expect(page.get_by_role("status")).to_have_text(
        "Đã nhập: 4 mới, 0 thay đổi, 0 không đổi."
    )
    groups = page.locator("section.group")
    await expect(groups).to_have_count(2)
    first, second = groups.nth(0), groups.nth(1)
    await expect(first.get_by_role("heading")).to_contain_text("Cụm 1 — Đồng bằng sông Hồng")
    await expect(first.get_by_role("heading")).to_contain_text("2 điểm cầu")
    await expect(first.locator("tbody tr td:nth-child(2)")).to_have_text(
        ["Liên hiệp các tổ chức hữu nghị Bắc Giang", "Liên hiệp các tổ chức hữu nghị Vĩnh Phúc"]
    )
    await expect(second.get_by_role("heading")).to_contain_text("Cụm 2 — Trung du miền núi")
    await expect(second.locator("tbody tr td:nth-child(2)")).to_have_text(
        ["Liên hiệp các tổ chức hữu nghị Hà Giang", "Liên hiệp các tổ chức hữu nghị Lào Cai"]
    )


async def test_plan_a_session_for_cluster_one_with_a_three_item_agenda(
    browser: Browser, base_url: str, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="vanphong", role=Role.organiser)
        one = await make_cluster(session, code="CUM-1", name="Cụm 1 — Đồng bằng sông Hồng")
        two = await make_cluster(session, code="CUM-2", name="Cụm 2")
        for name in ("Vĩnh Phúc", "Bắc Giang", "Hà Nội"):
            await make_site(session, name=f"Liên hiệp hữu nghị {name}", cluster_id=one.id)
        await make_site(session, name="Liên hiệp hữu nghị Lào Cai", cluster_id=two.id)
    page = await browser.new_page()
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Tên đăng nhập").fill("vanphong")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()

    await page.get_by_role("link", name="Lên lịch phiên họp").click()
    await page.get_by_label("Tên phiên họp").fill("Tọa đàm Cụm 1 năm 2030")
    await page.get_by_label("Loại").select_option("seminar")
    await page.get_by_label("Bắt đầu").fill("2030-06-17T08:00")
    await page.get_by_label("Kết thúc").fill("2030-06-17T07:00")  # wrong on purpose
    await expect(page.get_by_text("Thời gian kết thúc phải sau thời gian bắt đầu.")).to_be_visible()
    await page.get_by_label("Kết thúc").fill("2030-06-17T11:00")
    await expect(page.get_by_text("Thời gian kết thúc phải sau thời gian bắt đầu.")).to_have_count(
        0
    )
    await (
        page.locator("details.cluster-pick", has_text="Cụm 1")
        .locator("[data-cluster-toggle]")
        .check()
    )
    await expect(page.locator("#picked")).to_have_text("3 điểm cầu, 1 cụm")
    await page.get_by_role("button", name="Lưu").click()

    await expect(page.get_by_role("heading", name="Tọa đàm Cụm 1 năm 2030")).to_be_visible()
    await expect(page.get_by_test_id("invited-count")).to_have_text("3 điểm cầu, 1 cụm")
    agenda = page.locator("#agenda-rows")
    titles = ["Khai mạc", "Báo cáo của cụm trưởng", "Thảo luận"]
    for index, (title, minutes) in enumerate(zip(titles, ("15", "45", "60"), strict=True)):
        if index:
            await page.get_by_role("button", name="Thêm nội dung").click()
        row = agenda.locator("tbody tr").nth(index)
        await row.locator("input[name=agenda_title]").fill(title)
        await row.locator("input[name=agenda_duration]").fill(minutes)
    # Keyboard reordering: focus the second item's "move up" and press Enter.
    await agenda.locator("tbody tr").nth(1).get_by_role("button", name="Chuyển lên").press("Enter")
    await expect(agenda.locator("tbody tr").nth(0).locator("[data-slot]")).to_have_text("08:00")
    await page.get_by_role("button", name="Lưu chương trình").click()
    await expect(page.get_by_role("status")).to_have_text("Đã lưu chương trình.")
    saved = agenda.locator("tbody tr input[name=agenda_title]")
    for index, title in enumerate(["Báo cáo của cụm trưởng", "Khai mạc", "Thảo luận", ""]):
        await expect(saved.nth(index)).to_have_value(title)
    await expect(agenda.locator("tbody tr [data-slot]").nth(2)).to_have_text("09:00")

    await page.get_by_role("link", name="Tổng quan", exact=True).click()
    upcoming = page.get_by_test_id("upcoming")  # the organiser's: invitations and answers
    await expect(upcoming.get_by_role("link", name="Tọa đàm Cụm 1 năm 2030")).to_be_visible()
    await expect(upcoming).to_contain_text("3 điểm cầu")


async def test_a_site_answers_the_invitation_through_its_link(
    browser: Browser, base_url: str, session_factory: Any, settings: Settings
):
    from datetime import UTC, datetime

    from meetings.planning import lifecycle as planning
    from meetings.planning.models import MeetingCreate, MeetingStatus
    from notify.site import tokens

    async with session_factory() as session, session.begin():
        await make_user(session, username="vanphong", role=Role.organiser)
        site = await make_site(session, name="Liên hiệp hữu nghị Vĩnh Phúc")
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Giao ban trực tuyến quý II",
                starts_at=datetime(2030, 4, 19, 1, tzinfo=UTC),
                ends_at=datetime(2030, 4, 19, 4, tzinfo=UTC),
                site_ids=[site.id],
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
        await planning.change_status(session, meeting.id, MeetingStatus.scheduled)
        token = await tokens.site_token(session, site.id, secret_key=settings.security.secret_key)
    page = await browser.new_page()
    await page.goto(f"{base_url}/s/{token}")  # no login
    await expect(page.get_by_role("heading", name="Liên hiệp hữu nghị Vĩnh Phúc")).to_be_visible()
    card = page.locator(f"#m{meeting.id}")
    await expect(card).to_contain_text("Giao ban trực tuyến quý II")
    await card.get_by_label("Có, chúng tôi tham dự").check()
    await card.get_by_role("button", name="Gửi trả lời").click()  # delegates forgotten
    await expect(card.get_by_text("Cho biết số đại biểu sẽ tham dự")).to_be_visible()
    await expect(card.get_by_label("Có, chúng tôi tham dự")).to_be_checked()  # kept
    await card.get_by_label("Số đại biểu dự kiến").fill("14")
    await card.get_by_label("Cán bộ kỹ thuật (họ tên, điện thoại)").fill("Anh Minh, 0912 345 678")
    await card.get_by_role("button", name="Gửi trả lời").click()
    await expect(card.get_by_role("status")).to_have_text("Cảm ơn, câu trả lời đã được lưu.")
    await expect(card.get_by_test_id(f"rsvp-{meeting.id}")).to_contain_text(
        "Nhận lời · 14 đại biểu"
    )

    organiser = await browser.new_page()
    await organiser.goto(f"{base_url}/login?next=/sessions/{meeting.id}")
    await organiser.get_by_label("Tên đăng nhập").fill("vanphong")
    await organiser.get_by_label("Mật khẩu").fill(PASSWORD)
    await organiser.get_by_role("button", name="Đăng nhập").click()
    row = organiser.locator(f"tr[data-site='{site.id}']")
    await expect(row).to_contain_text("Nhận lời")
    await expect(row).to_contain_text("14")
    await expect(row).to_contain_text("Anh Minh, 0912 345 678")
    await expect(organiser.get_by_test_id("rsvp-summary")).to_contain_text(
        "Số đại biểu dự kiến: 14"
    )


async def test_sending_invitations_shows_progress_until_all_are_sent(
    browser: Browser, base_url: str, session_factory: Any, settings: Settings
):
    from datetime import UTC, datetime

    from meetings.planning import lifecycle as planning
    from meetings.planning.models import MeetingCreate
    from notify.mail import outbox, transports
    from notify.mail.render import make_renderer

    async with session_factory() as session, session.begin():
        await make_user(session, username="vanphong", role=Role.organiser)
        site_ids = [
            (await make_site(session, name=f"Liên hiệp hữu nghị {name}")).id
            for name in ("Vĩnh Phúc", "Bắc Giang", "Hà Nội")
        ]
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Giao ban trực tuyến quý III",
                starts_at=datetime(2030, 7, 19, 1, tzinfo=UTC),
                ends_at=datetime(2030, 7, 19, 4, tzinfo=UTC),
                site_ids=site_ids,
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
    page = await browser.new_page()
    await page.goto(f"{base_url}/login?next=/sessions/{meeting.id}")
    await page.get_by_label("Tên đăng nhập").fill("vanphong")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    panel = page.locator("#invitations")
    await expect(panel.get_by_test_id("plan")).to_contain_text("3 × giấy mời (lần đầu)")
    await panel.get_by_role("button", name="Gửi giấy mời").click()
    await expect(page.get_by_role("status").first).to_contain_text("Đã xếp hàng gửi: 3 giấy mời")
    await expect(panel.get_by_test_id("delivery")).to_contain_text("Đã gửi: 0 / 3")
    # The page polls while the worker sends; here the test is the worker.
    report = await outbox.deliver_due(
        session_factory, transports.DropTransport(settings.mail.drop_dir), make_renderer(settings)
    )
    assert report.sent == 3
    await expect(panel.get_by_test_id("delivery")).to_contain_text("Đã gửi: 3 / 3")
    await expect(panel.locator("progress")).to_have_attribute("value", "3")
    await expect(panel.locator(".mail-sent")).to_have_count(3)


async def test_the_board_follows_a_check_in_without_reload(
    browser: Browser, base_url: str, session_factory: Any, settings: Settings
):
    from datetime import UTC, datetime, timedelta

    from meetings.planning import lifecycle as planning
    from meetings.planning.models import MeetingCreate, MeetingStatus
    from notify.site import tokens

    async with session_factory() as session, session.begin():
        await make_user(session, username="vanphong", role=Role.organiser)
        cluster = await make_cluster(session, code="CUM-1", name="Cụm 1")
        sites = [
            await make_site(session, name=f"Liên hiệp hữu nghị {name}", cluster_id=cluster.id)
            for name in ("Vĩnh Phúc", "Bắc Giang", "Hà Nội")
        ]
        start = datetime.now(UTC) - timedelta(minutes=2)
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Giao ban trực tuyến",
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                site_ids=[s.id for s in sites],
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
        for status in (MeetingStatus.scheduled, MeetingStatus.live):
            await planning.change_status(session, meeting.id, status)
        token = await tokens.site_token(
            session, sites[0].id, secret_key=settings.security.secret_key
        )
    operator = await browser.new_context()
    board = await operator.new_page()
    await board.goto(f"{base_url}/login?next=/sessions/{meeting.id}/board")
    await board.get_by_label("Tên đăng nhập").fill("vanphong")
    await board.get_by_label("Mật khẩu").fill(PASSWORD)
    await board.get_by_role("button", name="Đăng nhập").click()
    totals = board.get_by_test_id("totals")
    await expect(totals).to_contain_text("0/3 điểm cầu đã kết nối")
    await expect(board.locator("[data-live-state].on")).to_have_count(1)  # stream open
    board_url = board.url

    site = await (await browser.new_context()).new_page()
    await site.goto(f"{base_url}/s/{token}")
    await site.get_by_label("Số đại biểu tại điểm cầu").fill("17")
    await site.get_by_role("button", name="Điểm cầu đã sẵn sàng").click()
    await expect(site.get_by_role("status").first).to_contain_text("đã kết nối")

    tile = board.locator(f"#site-{sites[0].id}")
    await expect(tile).to_have_class(re.compile(r"\bst-connected\b"))
    await expect(tile).to_contain_text("Đã kết nối")
    await expect(tile.locator("[data-delegates]")).to_have_text("17")
    await expect(totals).to_contain_text("1/3 điểm cầu đã kết nối · 17 đại biểu")
    assert board.url == board_url  # no reload

    # One key on a focused tile: A marks the second site absent.
    await board.locator(f"#site-{sites[1].id}").focus()
    await board.keyboard.press("a")
    await expect(board.locator(f"#site-{sites[1].id}")).to_have_class(re.compile(r"\bst-absent\b"))
    await board.get_by_label("Chỉ các điểm cầu chưa kết nối").check()
    await expect(tile).to_be_hidden()
    await expect(board.locator(f"#site-{sites[2].id}")).to_be_visible()


async def test_secretary_records_chair_approves_and_downloads_the_docx(
    browser: Browser, base_url: str, session_factory: Any, tmp_path: Path
):
    from datetime import UTC, datetime, timedelta

    import docx

    from meetings.planning import lifecycle as planning
    from meetings.planning.models import MeetingCreate, MeetingStatus

    async with session_factory() as session, session.begin():
        await make_user(session, username="thuky", role=Role.secretary)
        await make_user(session, username="chutri", role=Role.chair)
        sites = [
            await make_site(session, name=f"Liên hiệp hữu nghị {name}")
            for name in ("Vĩnh Phúc", "Kiên Giang")
        ]
        start = datetime.now(UTC) - timedelta(hours=3)
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Giao ban trực tuyến quý II",
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                site_ids=[s.id for s in sites],
                chair="Phan Anh Sơn",
                secretary="Nguyễn Thị Thu",
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
        for status in (MeetingStatus.scheduled, MeetingStatus.live, MeetingStatus.ended):
            await planning.change_status(session, meeting.id, status)

    async def log_in(page: Any, username: str, target: str) -> None:
        await page.goto(f"{base_url}/login?next={target}")
        await page.get_by_label("Tên đăng nhập").fill(username)
        await page.get_by_label("Mật khẩu").fill(PASSWORD)
        await page.get_by_role("button", name="Đăng nhập").click()

    secretary = await (await browser.new_context()).new_page()
    await log_in(secretary, "thuky", f"/sessions/{meeting.id}/record")
    said = [
        (
            "Liên hiệp hữu nghị Kiên Giang",
            "Trần Thị Mai",
            "recommendation",
            "Đề nghị tập huấn thông tin đối ngoại.",
        ),
        (
            "Liên hiệp hữu nghị Vĩnh Phúc",
            "Nguyễn Văn Hùng",
            "report",
            "Cụm 1 hoàn thành kế hoạch quý.",
        ),
    ]
    for site, speaker, kind, text in said:
        await secretary.get_by_label("Điểm cầu", exact=True).select_option(label=site)
        await secretary.get_by_label("Người phát biểu").fill(speaker)
        await secretary.get_by_label("Loại", exact=True).select_option(kind)
        await secretary.get_by_label("Nội dung phát biểu").fill(text)
        await secretary.get_by_role("button", name="Ghi nhận ý kiến").click()
        await expect(secretary.get_by_role("status")).to_have_text("Đã ghi nhận ý kiến.")
    await expect(secretary.get_by_test_id("contributions").locator("li")).to_have_count(2)
    conclusions = secretary.locator("#note-conclusions")
    await conclusions.fill("Các Liên hiệp hoàn thành báo cáo quý II trước 30/6.")
    await conclusions.blur()  # saves at once on leaving the field
    await expect(conclusions.locator("xpath=..").locator("[data-note-state]")).to_contain_text(
        "Đã lưu"
    )

    chair = await (await browser.new_context(accept_downloads=True)).new_page()
    await log_in(chair, "chutri", f"/sessions/{meeting.id}/minutes")
    chair.on("dialog", lambda dialog: dialog.accept())  # the "approve this version?" confirm
    await chair.get_by_role("button", name="Duyệt phiên bản 1").click()
    await expect(chair.get_by_role("status")).to_contain_text("Đã duyệt phiên bản 1")
    versions = chair.get_by_test_id("versions")
    await expect(versions).to_contain_text("đã xếp gửi")  # the notice of conclusions
    async with chair.expect_download() as waiting:
        await versions.get_by_role("link", name="DOCX").click()
    download = await waiting.value
    path = tmp_path / download.suggested_filename
    await download.save_as(path)
    assert path.name == f"bien-ban-{meeting.id}-v1-da-duyet.docx"
    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    for expected in (
        "BIÊN BẢN",
        "Trần Thị Mai",
        "Đề nghị tập huấn thông tin đối ngoại.",
        "Cụm 1 hoàn thành kế hoạch quý.",
        "Các Liên hiệp hoàn thành báo cáo quý II trước 30/6.",
    ):
        assert expected in text, expected
