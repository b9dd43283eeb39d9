"""The giấy mời as PDF: what a reader sees on the page, the download, and the e-mail."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Iterator
from datetime import date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select

from agendas.programme import programme
from agendas.programme.models import AgendaItemIn
from meetings.accounts.models import Role
from meetings.core import demo, demo_sessions
from meetings.core.settings import Settings
from meetings.core.store import create_engine, session_maker
from meetings.planning import lifecycle as planning
from meetings.planning.models import Meeting, MeetingCreate, MeetingUpdate
from meetings.register.models import ContactIn, Site
from notify.mail import invitations, letter, outbox, transports
from notify.mail.render import environment, make_renderer
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import bearer, make_site, make_user
from tests.notify.mail.test_outbox import free_port

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
KIEN_GIANG = "Liên hiệp các tổ chức hữu nghị Kiên Giang"


def pdf_text(pdf: bytes, folder: Path) -> str:
    """What a reader sees: the PDF's text laid out as on the page (poppler)."""
    path = folder / "letter.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pdf_info(pdf: bytes, folder: Path, tool: str = "pdfinfo") -> str:
    path = folder / "info.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, str(path)], capture_output=True, text=True, check=True).stdout


def flat(text: str) -> str:
    """The text as one line, for sentences that the page wraps."""
    return " ".join(text.split())


# --- the reference session (19/4/2024, 52 bridge points) ---------------------------------


@pytest.fixture
async def reference(session_factory: Any, settings: Settings) -> dict[str, int]:
    async with session_factory() as session, session.begin():
        await demo.load_demo(session)
        await demo_sessions.load_reference_sessions(
            session, hall=settings.organisation.hall, now=datetime(2024, 4, 1, tzinfo=HANOI)
        )
        meeting_id = await session.scalar(
            select(Meeting.id).where(Meeting.uid == demo_sessions.REFERENCE_UID)
        )
        site_id = await session.scalar(select(Site.id).where(Site.name == KIEN_GIANG))
    return {"meeting": meeting_id, "site": site_id}


async def render_reference(
    session_factory: Any,
    settings: Settings,
    reference: dict[str, int],
    *,
    to_site: bool,
    locale: str = "vi",
) -> bytes:
    async with session_factory() as session, session.begin():
        found = await letter.load_letter(
            session,
            reference["meeting"],
            site_id=reference["site"] if to_site else None,
            settings=settings,
            issued_on=date(2024, 4, 12),
        )
    document = letter.letter_document(
        environment(), found, organisation=settings.organisation, locale=locale
    )
    return await letter.pdf_bytes(document)


async def test_the_letter_to_a_site_reads_as_a_vietnamese_giay_moi(
    reference, session_factory, settings, tmp_path
):
    pdf = await render_reference(session_factory, settings, reference, to_site=True)
    text = pdf_text(pdf, tmp_path)
    lines = [line.strip() for line in text.splitlines() if line.strip()]

    # The header block: issuing body left, national title right, on the same lines.
    assert re.match(
        r"LIÊN HIỆP CÁC TỔ CHỨC HỮU NGHỊ\s{3,}CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", lines[0]
    )
    assert re.match(r"VIỆT NAM\s{3,}Độc lập - Tự do - Hạnh phúc", lines[1])
    assert re.match(r"Số:\s+/GM-LHHN\s{3,}Hà Nội, ngày 12 tháng 4 năm 2024", lines[2])
    assert lines[3] == "GIẤY MỜI"
    assert flat(" ".join(lines[4:6])) == demo_sessions.REFERENCE_TITLE
    assert f"Kính gửi: {KIEN_GIANG}" in lines

    body = flat(text)
    assert (
        "Thời gian: 08 giờ 00, thứ Sáu, ngày 19 tháng 4 năm 2024 (kết thúc lúc 11 giờ 30)" in body
    )
    assert "Điểm cầu Trung ương: Hội trường Liên hiệp các tổ chức hữu nghị Việt Nam, Hà Nội" in body
    assert "Điểm cầu của quý đơn vị:" in body and "phong-hop." in body  # its own room
    chair, chair_title = demo_sessions.REFERENCE_CHAIR
    assert f"Chủ trì: {chair}, {chair_title}." in body  # a person, with their position
    agenda = [
        "- 08 giờ 00: Phát biểu khai mạc Hội nghị",
        "- 08 giờ 15: Báo cáo kết quả công tác Quý I/2024",
        "- 09 giờ 00: Thảo luận: các Liên hiệp địa phương",
        "- 11 giờ 00: Kết luận của Đoàn Chủ tịch",
    ]
    places = [body.index(line) for line in agenda]
    assert places == sorted(places)
    # Answer by the working day before: 18/4/2024 is the Hùng Kings' day, a holiday.
    assert "chậm nhất ngày 17 tháng 4 năm 2024" in body
    assert re.search(r"Trang của điểm cầu .*: http://127\.0\.0\.1:8080/s/\S+", body)
    # Whom to call (Decision 45), how to join, and who signs: the chair, by name, with
    # room for the signature between the position and the name.
    assert "Mọi chi tiết xin liên hệ: Nguyễn Thị Thu Hà, Văn phòng Liên hiệp, 024 3822 0000." in (
        body
    )
    assert "Đường dẫn tham gia: trên trang của điểm cầu quý đơn vị (ghi ở dưới)." in body
    assert re.search(r"Nơi nhận:\s{3,}BÍ THƯ ĐẢNG ĐOÀN, CHỦ TỊCH$", text, re.M)
    signature = text[text.index("BÍ THƯ ĐẢNG ĐOÀN, CHỦ TỊCH") :].rstrip().splitlines()
    assert signature[-1].strip() == chair and len(signature) >= 5  # blank lines: to sign
    assert all(not line[40:].strip() for line in signature[3:-1])

    info = pdf_info(pdf, tmp_path)
    assert "Page size:       595.276 x 841.89 pts (A4)" in info
    assert re.search(r"^Pages:\s+1$", info, re.M)
    fonts = pdf_info(pdf, tmp_path, "pdffonts").splitlines()[2:]
    assert fonts and all("Liberation-Serif" in f for f in fonts)  # no glyph-by-glyph fallback


async def test_the_letter_to_all_sites_names_the_list_and_counts_the_bridge_points(
    reference, session_factory, settings, tmp_path
):
    pdf = await render_reference(session_factory, settings, reference, to_site=False)
    body = flat(pdf_text(pdf, tmp_path))
    assert "Kính gửi: Các điểm cầu theo danh sách kèm theo" in body
    assert "Kết nối trực tuyến với 52 điểm cầu" in body
    assert "- Như trên; (danh sách kèm theo)" in body

    # The list is attached, on pages of its own: every invited site, cluster by cluster,
    # each cluster whole on one page with its count.
    pages = pdf_text(pdf, tmp_path).split("\f")
    first_list = next(i for i, page in enumerate(pages) if "DANH SÁCH CÁC ĐIỂM CẦU" in page)
    assert first_list >= 1 and "Kính gửi" not in "".join(pages[first_list:])
    listed = flat("".join(pages[first_list:]))
    assert "DANH SÁCH CÁC ĐIỂM CẦU ĐƯỢC MỜI" in listed
    assert "(Kèm theo Giấy mời số /GM-LHHN ngày 12 tháng 4 năm 2024)" in listed
    assert "Tổng cộng: 52 điểm cầu." in listed
    numbers, clusters = [], 0
    for page in pages[first_list:]:
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        for at, line in enumerate(lines):
            if heading := re.fullmatch(r"(Cụm \d .*) \((\d+)\)", line):
                clusters += 1
                rows = [r for r in lines[at + 1 :] if re.match(r"\d+\s+Liên hiệp", r)]
                following = lines[at + 1 : at + 1 + int(heading.group(2))]
                assert following == rows[: int(heading.group(2))], heading.group(1)
            elif row := re.match(r"(\d+)\s+Liên hiệp", line):
                numbers.append(int(row.group(1)))
    assert clusters == 5 and numbers == list(range(1, 53))
    assert f"{numbers[-1]} Liên hiệp các tổ chức hữu nghị Đồng Tháp" in listed
    assert "Mỗi điểm cầu xác nhận qua đường dẫn riêng gửi kèm thư mời điện tử" in body
    assert "/s/" not in body


async def test_a_letter_with_a_video_link_prints_it_and_without_a_chair_the_office_signs(
    settings, tmp_path
):
    starts = datetime(2030, 4, 19, 8, 0, tzinfo=HANOI)
    meeting = Meeting(
        id=1,
        title="Giao ban quý II",
        starts_at=starts,
        ends_at=starts.replace(hour=11),
        video_url="https://meet.example.org/giaoban-quy-2",
    )
    found = letter.Letter(
        meeting, [], [], date(2030, 4, 1), join_link=meeting.video_url, contact="Văn phòng, 024"
    )
    document = letter.letter_document(
        environment(), found, organisation=settings.organisation, locale="vi"
    )
    text = pdf_text(await letter.pdf_bytes(document), tmp_path)
    assert "Đường dẫn tham gia: https://meet.example.org/giaoban-quy-2." in flat(text)
    assert "Mọi chi tiết xin liên hệ: Văn phòng, 024." in flat(text)
    assert "Chủ trì:" not in text
    assert re.search(r"Nơi nhận:\s{3,}TL\. CHỦ TỊCH$", text, re.M)
    assert re.search(r"\s{3,}CHÁNH VĂN PHÒNG$", text, re.M)


async def test_a_national_list_gives_each_clusters_count(settings: Settings, tmp_path: Path):
    """Above letter.LISTED_SITES the list attached to every e-mail counts each cluster's
    sites (10,000 names would be 200 pages in each one) and says where the names are."""
    starts = datetime(2030, 4, 1, 8, 0, tzinfo=HANOI)
    meeting = Meeting(id=1, title="Giao ban toàn quốc", starts_at=starts, ends_at=starts)
    groups = [letter.InvitedGroup(f"Cụm {n}", 2000) for n in range(1, 5)]
    groups.append(letter.InvitedGroup(None, 2000))
    found = letter.Letter(
        meeting, [], [], date(2030, 3, 25), bridge_point_count=10_000, invited=groups
    )
    document = letter.letter_document(
        environment(), found, organisation=settings.organisation, locale="vi"
    )
    pages = pdf_text(await letter.pdf_bytes(document), tmp_path).split("\f")
    listed = flat("".join(p for p in pages if "DANH SÁCH CÁC ĐIỂM CẦU" in p))
    for n in range(1, 5):
        assert f"Cụm {n} (2000)" in listed
    assert "Điểm cầu không thuộc cụm (2000)" in listed
    assert (
        "Tổng cộng: 10000 điểm cầu. Tên từng điểm cầu có trong danh sách điểm cầu được mời"
        " của phiên họp." in listed
    )
    assert not re.search(r"^\s*1\s", listed, re.M)  # no numbered rows


async def test_an_english_letter_for_the_english_locale(
    reference, session_factory, settings, tmp_path
):
    pdf = await render_reference(session_factory, settings, reference, to_site=True, locale="en")
    body = flat(pdf_text(pdf, tmp_path))
    assert "SOCIALIST REPUBLIC OF VIET NAM" in body and "INVITATION" in body
    assert "Hà Nội, 12 April 2024" in body
    assert "Time: 08:00, Friday, 19 April 2024 (until 11:30)" in body
    assert f"To: {KIEN_GIANG}" in body


async def test_a_site_abroad_reads_its_own_local_time_too(settings, tmp_path):
    starts = datetime(2024, 4, 19, 8, 0, tzinfo=HANOI)
    meeting = Meeting(
        id=1, title="Tọa đàm hữu nghị", starts_at=starts, ends_at=starts.replace(hour=10)
    )
    site = Site(id=1, code="PARIS", name="Hội hữu nghị tại Pháp", timezone="Europe/Paris")
    found = letter.Letter(meeting, [], [], date(2024, 4, 19), site=site)
    document = letter.letter_document(
        environment(), found, organisation=settings.organisation, locale="vi"
    )
    body = flat(pdf_text(await letter.pdf_bytes(document), tmp_path))
    assert (
        "Thời gian: 08 giờ 00, thứ Sáu, ngày 19 tháng 4 năm 2024 (kết thúc lúc 10 giờ 00)" in body
    )
    assert (
        "Giờ địa phương tại điểm cầu của quý đơn vị: 03 giờ 00, thứ Sáu, "
        "ngày 19 tháng 4 năm 2024 (Giờ Pháp (UTC+2))" in body
    )
    # Issued on the day itself: no answer-by date already past.
    assert "Đề nghị quý đơn vị xác nhận tham dự và đăng ký số lượng đại biểu. " in body


def test_dates_are_written_as_offices_write_them():
    assert letter.date_in_words(date(2024, 2, 5), "vi") == "ngày 05 tháng 02 năm 2024"
    assert letter.date_in_words(date(2024, 12, 1), "vi") == "ngày 01 tháng 12 năm 2024"
    assert letter.date_in_words(date(2024, 4, 19), "vi") == "ngày 19 tháng 4 năm 2024"
    sunday = datetime(2024, 4, 21, 1, 30, tzinfo=ZoneInfo("UTC"))
    assert letter.moment_in_words(sunday, "vi", "Asia/Ho_Chi_Minh") == (
        "08 giờ 30, Chủ nhật, ngày 21 tháng 4 năm 2024"
    )


async def test_asks_for_the_same_letter_at_once_share_one_render(settings: Settings):
    cache = letter.LetterCache()
    html = "<p>Kính gửi: Liên hiệp các tổ chức hữu nghị tỉnh Kiên Giang</p>"
    document = letter.LetterDocument(html)
    first, second = await asyncio.gather(cache.pdf(document), cache.pdf(document))
    assert first.startswith(b"%PDF") and first is second  # one render, the same bytes object
    assert await cache.pdf(letter.LetterDocument(html)) is first
    assert await cache.pdf(letter.LetterDocument(html + "<p>Trân trọng.</p>")) is not first
    # Another list attached (a site invited since) is another letter, whatever its HTML.
    listed = letter.Letter(
        Meeting(
            id=1,
            title="Giao ban",
            starts_at=datetime(2030, 4, 1, 8, tzinfo=HANOI),
            ends_at=datetime(2030, 4, 1, 11, tzinfo=HANOI),
        ),
        [],
        [],
        date(2030, 3, 25),
        bridge_point_count=1,
        invited=[letter.InvitedGroup("Cụm 1", 1, ["Liên hiệp Kiên Giang"])],
    )
    attached = letter.letter_document(
        environment(), listed, organisation=settings.organisation, locale="vi"
    ).attached
    assert attached is not None
    assert await cache.pdf(letter.LetterDocument(html, attached)) is not first


# --- the download ----------------------------------------------------------------------

BODY = {
    "title": "Giao ban quý II",
    "starts_at": "2030-04-19T08:00:00+07:00",
    "ends_at": "2030-04-19T11:00:00+07:00",
}


@pytest.fixture
async def planned(client: TestClient, session_factory: Any) -> dict[str, Any]:
    async with session_factory() as session, session.begin():
        await make_user(session, username="sec", role=Role.secretary)
        await make_user(session, username="org", role=Role.organiser)
        headers = await bearer(session, "org")
        reader = await bearer(session, "sec")
        invited = await make_site(session, name="Liên hiệp các tổ chức hữu nghị tỉnh Cà Mau")
        other = await make_site(session)
    meeting = await (
        await client.post(
            "/api/v1/meetings", headers=headers, json={**BODY, "site_ids": [invited.id]}
        )
    ).json()
    return {"reader": reader, "meeting": meeting, "invited": invited, "other": other}


async def test_the_letter_downloads_as_a_pdf_attachment(client: TestClient, planned, tmp_path):
    url = f"/api/v1/meetings/{planned['meeting']['id']}/letter.pdf"
    response = await client.get(url, headers=planned["reader"])  # any role may read it
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/pdf"
    filename = f"giay-moi-{planned['meeting']['id']}.pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    body = flat(pdf_text(await response.read(), tmp_path))
    assert "GIẤY MỜI" in body and "Giao ban quý II" in body
    assert "Kết nối trực tuyến với 1 điểm cầu" in body

    invited = planned["invited"]
    addressed = await client.get(f"{url}?site_id={invited.id}", headers=planned["reader"])
    assert addressed.status == 200
    assert (
        f'filename="giay-moi-{planned["meeting"]["id"]}-{invited.code}.pdf"'
        in (addressed.headers["Content-Disposition"])
    )
    body = flat(pdf_text(await addressed.read(), tmp_path))
    assert "Kính gửi: Liên hiệp các tổ chức hữu nghị tỉnh Cà Mau" in body
    assert "/s/" in body  # the site's own page, to answer

    english = await client.get(f"{url}?locale=en", headers=planned["reader"])
    assert "SOCIALIST REPUBLIC OF VIET NAM" in pdf_text(await english.read(), tmp_path)


async def test_the_download_is_404_for_an_unknown_session_or_a_site_not_invited(
    client: TestClient, planned
):
    headers = planned["reader"]
    meeting_id = planned["meeting"]["id"]
    assert (await client.get("/api/v1/meetings/999999/letter.pdf", headers=headers)).status == 404
    for site_id in (999999, planned["other"].id):
        response = await client.get(
            f"/api/v1/meetings/{meeting_id}/letter.pdf?site_id={site_id}", headers=headers
        )
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"
    assert (await client.get(f"/api/v1/meetings/{meeting_id}/letter.pdf")).status == 401


# --- the e-mail ------------------------------------------------------------------------


class Sink:
    """An SMTP server (aiosmtpd) that keeps every message it receives."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def sink(smtp_port: int) -> Iterator[Sink]:
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()


def attachments(message: EmailMessage, content_type: str) -> list[EmailMessage]:
    return [p for p in message.iter_attachments() if p.get_content_type() == content_type]


async def test_invitations_and_updates_carry_the_letter_and_cancellations_do_not(
    tmp_path, sqlite_url, smtp_port, sink
):
    settings = make_settings(
        tmp_path,
        sqlite_url,
        mail={"mode": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp_port},
    )
    engine = create_engine(settings.database)
    maker = session_maker(engine)
    transport = transports.SmtpTransport(settings.mail)
    render = make_renderer(settings)
    try:
        async with maker() as session, session.begin():
            site = await make_site(
                session,
                name="Liên hiệp các tổ chức hữu nghị tỉnh Kiên Giang",
                contacts=[
                    ContactIn(name="Chủ tịch", email="chutich@example.org"),
                    ContactIn(name="Văn phòng", email="vanphong@example.org"),
                ],
            )
            meeting = await planning.create_meeting(
                session,
                MeetingCreate(
                    title="Hội nghị Giao ban trực tuyến quý II",
                    starts_at=datetime(2030, 4, 19, 8, 0, tzinfo=HANOI),
                    ends_at=datetime(2030, 4, 19, 11, 0, tzinfo=HANOI),
                    site_ids=[site.id],
                ),
                organiser_id=None,
                default_location="Hội trường Liên hiệp",
            )
            await programme.replace_agenda(
                session,
                meeting.id,
                [AgendaItemIn(title="Báo cáo kết quả công tác quý I", duration_minutes=30)],
                version=None,
            )
            await invitations.queue_invitations(session, meeting.id, secret_key=TEST_SECRET)
        await outbox.deliver_due(maker, transport, render, connections=2)

        assert len(sink.received) == 2
        for message in sink.received:
            (attached,) = attachments(message, "application/pdf")
            assert attached.get_filename() == f"giay-moi-{meeting.id}.pdf"
            body = flat(pdf_text(attached.get_content(), tmp_path))
            # One letter to all the invited sites (rendered once, whatever their number);
            # the e-mail body carries the site's own link.
            assert "GIẤY MỜI" in body and "Kính gửi: Các điểm cầu theo danh sách" in body
            assert "- 08 giờ 00: Báo cáo kết quả công tác quý I" in body

        # The session moves: the update carries a letter with the new time.
        sink.received.clear()
        async with maker() as session, session.begin():
            row = await planning.get_meeting_row(session, meeting.id)
            await planning.update_meeting(
                session,
                meeting.id,
                MeetingUpdate(
                    version=row.version, starts_at=datetime(2030, 4, 19, 9, 0, tzinfo=HANOI)
                ),
            )
            queued = await invitations.queue_invitations(
                session, meeting.id, secret_key=TEST_SECRET
            )
        assert queued.updates == 2
        await outbox.deliver_due(maker, transport, render)
        (attached,) = attachments(sink.received[0], "application/pdf")
        assert "Thời gian: 09 giờ 00, thứ Sáu, ngày 19 tháng 4 năm 2030" in flat(
            pdf_text(attached.get_content(), tmp_path)
        )

        # Cancelled: a calendar CANCEL, and no letter inviting to it.
        sink.received.clear()
        async with maker() as session, session.begin():
            await planning.cancel_meeting(session, meeting.id, reason="Hoãn do bão")
            await invitations.queue_cancellations(session, meeting.id)
        await outbox.deliver_due(maker, transport, render)
        assert len(sink.received) == 2
        for message in sink.received:
            assert attachments(message, "application/pdf") == []
            part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
            assert str(Calendar.from_ical(part.get_payload(decode=True))["METHOD"]) == "CANCEL"
    finally:
        await engine.dispose()
