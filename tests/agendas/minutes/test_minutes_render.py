"""The minutes (biên bản) as Word, PDF, HTML and Markdown: what a reader finds in each.

The reference is the briefing of 19/4/2024 (52 bridge points, about 500 delegates, the
10 focus items), built directly as `MinutesData`: rendering needs no database.
"""

from __future__ import annotations

import io
import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import pytest
from docx.shared import Pt

from agendas.minutes.data import (
    MinutesAction,
    MinutesAgendaItem,
    MinutesAttendance,
    MinutesCluster,
    MinutesContribution,
    MinutesData,
    MinutesFocusItem,
    MinutesMeeting,
    MinutesOrganisation,
    MinutesRecommendation,
    MinutesSite,
)
from agendas.minutes.docx import to_docx
from agendas.minutes.html import to_html
from agendas.minutes.markdown import to_markdown
from agendas.minutes.participants import ABSENT_NAMED_MAX
from agendas.minutes.pdf import to_pdf
from meetings.core import demo, demo_sessions

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
STARTS = datetime(2024, 4, 19, 8, 0, tzinfo=HANOI)
UNION = "Liên hiệp các tổ chức hữu nghị"
KIEN_GIANG = f"{UNION} Kiên Giang"
#: Sites away at the end, by province, with their state on the board.
AWAY = {"Hà Giang": None, "Cao Bằng": "absent", "Quảng Trị": "left", "Đắk Nông": "technical_issue"}
CHAIR = "Nguyễn Văn An"
CHAIR_TITLE = "Chủ tịch Liên hiệp các tổ chức hữu nghị Việt Nam"
SECRETARY = "Lê Thị Hương"
SECRETARY_TITLE = "Chuyên viên Văn phòng"
#: The reasons given by the sites away (an "absent" mark's note, an RSVP's comment).
REASONS = {"Cao Bằng": "lãnh đạo đi công tác", "Hà Giang": "trùng lịch làm việc của tỉnh"}
#: Sites away, why, by province (meetings.attendance.report.Absence).
ABSENCE = {
    "Hà Giang": "declined",
    "Cao Bằng": "absent",
    "Quảng Trị": "left",
    "Đắk Nông": "technical_issue",
}

RECOMMENDATIONS = (
    ("Kiên Giang", "Tổ chức, cán bộ", "Đề nghị bổ sung biên chế chuyên trách cho Liên hiệp tỉnh."),
    ("Hải Phòng", "Chính sách", "Kiến nghị ban hành chế độ phụ cấp cho cán bộ kiêm nhiệm."),
    ("Nghệ An", "Khen thưởng", "Đề nghị Trung ương hướng dẫn thống nhất quy trình khen thưởng."),
    ("Đắk Lắk", "Đào tạo", "Đề xuất mở lớp bồi dưỡng nghiệp vụ đối ngoại nhân dân năm 2024."),
)
ACTIONS = (
    ("Hoàn thiện Bộ nhận diện và bộ văn bản mẫu, gửi các Liên hiệp địa phương", "Văn phòng"),
    ("Tổng hợp kiến nghị của các Liên hiệp địa phương, báo cáo Đoàn Chủ tịch", "Ban Tổ chức"),
    ("Xây dựng kế hoạch đào tạo cán bộ đối ngoại nhân dân năm 2024", "Ban Đào tạo"),
    ("Chuẩn bị Hội nghị toàn quốc công tác đối ngoại nhân dân năm 2024", "Ban Đối ngoại"),
    ("Rà soát, vẽ bản đồ hệ thống đối tác của Liên hiệp", "Ban Nghiên cứu"),
)


def reference_minutes(
    *,
    site_count: int = 52,
    contributions: int = 12,
    actions: int = 5,
    status: str = "draft",
    version: int = 1,
) -> MinutesData:
    """The 19/4/2024 briefing as the minutes see it (52 sites by default, from the demo's
    clusters; more sites are numbered communes spread over the same clusters)."""
    plan = demo.demo_plan()
    register: list[tuple[str, str]] = [
        (cluster, province) for _code, cluster, provinces in plan for province in provinces
    ]
    for n in range(len(register), site_count):
        cluster = plan[n % len(plan)][1]
        register.append((cluster, f"xã số {n + 1} — điểm cầu cấp xã"))
    register = register[:site_count]
    register.sort(key=lambda row: [p[1] for p in plan].index(row[0]))  # by cluster
    sites: list[MinutesSite] = []
    for n, (cluster, province) in enumerate(register):
        away = province in AWAY or (site_count > 52 and n % 11 == 5)
        state = AWAY.get(province) if province in AWAY else ("absent" if away else None)
        if not away:
            state = ("connected", "present", "late")[n % 3]
        sites.append(
            MinutesSite(
                code=demo.slug(province),
                name=f"{UNION} {province}",
                cluster=cluster,
                status=state,
                present=not away,
                delegates=None if away else 8 + n % 6,
                joined_at=None if state is None else STARTS - timedelta(minutes=15),
                officials=["Chủ tịch", "Phó Chủ tịch", "Tổng Thư ký", "Trưởng, Phó các ban"]
                if province == "Kiên Giang"
                else [],
                absence=ABSENCE.get(province, "absent") if away else None,
                absence_reason=REASONS.get(province, ""),
            )
        )
    clusters = [
        MinutesCluster(
            name=name,
            invited=sum(1 for s in sites if s.cluster == name),
            connected=sum(1 for s in sites if s.cluster == name and s.present),
            delegates=sum(s.delegates or 0 for s in sites if s.cluster == name and s.present),
        )
        for _code, name, _provinces in plan
    ]
    present = [s for s in sites if s.present]
    speakers = [s for s in present if s.name.removeprefix(f"{UNION} ") not in AWAY]
    said: list[MinutesContribution] = [
        MinutesContribution(
            site_name=None,
            speaker_name="Trần Quang Sơn",
            speaker_title="Phó Chủ tịch Liên hiệp các tổ chức hữu nghị Việt Nam",
            kind="report",
            text="Báo cáo kết quả công tác Quý I/2024 và Nghị quyết Hội nghị Đoàn Chủ tịch "
            "lần thứ 9 (có tài liệu kèm theo).",
            agenda_position=2,
        )
    ]
    for n, (province, topic, text) in enumerate(RECOMMENDATIONS):
        said.append(
            MinutesContribution(
                site_name=f"{UNION} {province}",
                speaker_name=f"Phạm Minh {province.split()[-1]}",
                speaker_title=f"Chủ tịch {UNION} {province}",
                kind="recommendation",
                text=text,
                agenda_position=3,
                focus_number=3,
                recommendation=MinutesRecommendation(
                    site_name=f"{UNION} {province}",
                    topic=topic,
                    text=text,
                    status="answered" if n == 0 else "open",
                    answer="Trung ương sẽ trao đổi với Bộ Nội vụ trong quý II/2024."
                    if n == 0
                    else "",
                    answered_by=CHAIR if n == 0 else "",
                ),
            )
        )
    kinds = ("opinion", "question", "report", "opinion")
    for n in range(len(said), contributions):
        site = speakers[(n * 7) % len(speakers)]
        said.append(
            MinutesContribution(
                site_name=site.name,
                speaker_name=f"Đặng Thu Hà {n}",
                speaker_title="Phó Chủ tịch",
                kind=kinds[n % 4],
                text=f"Ý kiến số {n}: chia sẻ kinh nghiệm tổ chức hoạt động đối ngoại nhân dân "
                "ở địa phương, phối hợp với các sở, ngành.",
                agenda_position=3 if n % 2 else None,
                focus_number=(n % 10) + 1 if n % 3 == 0 else None,
            )
        )
    return MinutesData(
        organisation=MinutesOrganisation(
            name="Liên hiệp các tổ chức hữu nghị Việt Nam",
            short_name="VUFO",
            document_code="LHHN",
            city="Hà Nội",
            hall="Hội trường Liên hiệp các tổ chức hữu nghị Việt Nam",
        ),
        meeting=MinutesMeeting(
            id=1,
            title=demo_sessions.REFERENCE_TITLE,
            kind="briefing",
            starts_at=STARTS,
            ends_at=STARTS + timedelta(hours=3, minutes=30),
            timezone="Asia/Ho_Chi_Minh",
            location="Hội trường Liên hiệp các tổ chức hữu nghị Việt Nam",
            chair=CHAIR,
            chair_title=CHAIR_TITLE,
            secretary=SECRETARY,
            secretary_title=SECRETARY_TITLE,
        ),
        issued_on=date(2024, 4, 19),
        version=version,
        status=status,
        approved_by=CHAIR if status == "approved" else "",
        approved_at=datetime(2024, 4, 22, 3, 0, tzinfo=UTC) if status == "approved" else None,
        attendance=MinutesAttendance(
            invited=len(sites),
            connected=len(present),
            delegates_present=sum(s.delegates or 0 for s in present),
            clusters=clusters,
            sites=sites,
            absent=[s for s in sites if not s.present],
        ),
        agenda=[
            MinutesAgendaItem(
                position=n,
                title=title,
                presenter=presenter,
                kind=kind,
                planned_start=STARTS,
                notes="Đồng chí Chủ tịch phát biểu khai mạc, nêu mục đích, yêu cầu của Hội nghị."
                if kind == "opening"
                else "",
            )
            for n, (title, presenter, kind, _minutes) in enumerate(
                demo_sessions.REFERENCE_AGENDA, 1
            )
        ],
        focus_items=[
            MinutesFocusItem(
                number=n,
                title=title,
                status="ongoing" if n <= 8 else "new",
                summary="Đã triển khai tới 52 Liên hiệp địa phương." if n == 3 else "",
            )
            for n, (title, _detail) in enumerate(demo_sessions.REFERENCE_FOCUS, 1)
        ],
        contributions=said,
        open_earlier=[
            MinutesRecommendation(
                site_name=f"{UNION} Thanh Hóa",
                topic="Kinh phí",
                text="Đề nghị hỗ trợ kinh phí tổ chức hoạt động giao lưu hữu nghị.",
                status="open",
                raised_in="Hội nghị Giao ban quý IV/2023",
            )
        ],
        conclusions="Hội nghị thống nhất 10 trọng tâm công tác năm 2024.\n"
        "Các Liên hiệp địa phương chủ động tham mưu cấp ủy, chính quyền kiện toàn tổ chức.",
        general_notes="Hội nghị được tổ chức trực tuyến lần đầu tiên với 52 điểm cầu.",
        actions=[
            MinutesAction(
                text=f"{ACTIONS[n % 5][0]}{f' (đợt {n // 5 + 1})' if n >= 5 else ''}",
                owner=ACTIONS[n % 5][1],
                due_on=date(2024, 5, 15) + timedelta(days=7 * n),
            )
            for n in range(actions)
        ],
        copies=2,
    )


@pytest.fixture(scope="module")
def reference() -> MinutesData:
    return reference_minutes()


def flat(text: str) -> str:
    """The text as one line, for sentences that the page wraps."""
    return " ".join(text.split())


def docx_text(document: docx.document.Document) -> str:
    """Every paragraph of the body and its tables, in order, as Word would show them."""
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, docx.table.Table):
            for row in block.rows:
                seen: list[object] = []
                for cell in row.cells:
                    if cell._tc not in seen:  # a merged cell is listed once per column
                        seen.append(cell._tc)
                        lines.append(cell.text)
        else:
            lines.append(block.text)
    return "\n".join(lines)


def pdf_tool(pdf: bytes, folder: Path, *command: str) -> str:
    path = folder / "minutes.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        [*command, str(path), *(["-"] if command[0] == "pdftotext" else [])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def assert_the_record_is_complete(text: str, data: MinutesData) -> None:
    """What every rendering must carry (text already flattened to one line)."""
    for site in data.attendance.sites:
        assert site.name in text, site.name
    for province in AWAY:
        assert f"{UNION} {province}" in text
    assert "48/52" in text
    assert str(data.attendance.delegates_present) in text
    for item in data.focus_items:
        assert item.title in text, item.title
    for _province, topic, recommendation in RECOMMENDATIONS:
        assert text.count(f"{topic}: {recommendation}") == 1  # told once, where it was said
    for action in data.actions:
        assert action.text in text
    assert "Đề nghị hỗ trợ kinh phí tổ chức hoạt động giao lưu hữu nghị" in text  # earlier


VIETNAMESE = (
    "LIÊN HIỆP CÁC TỔ CHỨC HỮU NGHỊ VIỆT NAM",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "/BB-LHHN",
    "Hà Nội, ngày 19 tháng 4 năm 2024",
    "BIÊN BẢN",
    "(trực tuyến với 52 điểm cầu)",
    "Thời gian bắt đầu: 08 giờ 00, thứ Sáu, ngày 19 tháng 4 năm 2024",
    "Địa điểm: Điểm cầu Trung ương: Hội trường Liên hiệp các tổ chức hữu nghị Việt Nam, Hà Nội; "
    "kết nối trực tuyến với 52 điểm cầu.",
    f"Tại điểm cầu Trung ương: {CHAIR}, {CHAIR_TITLE} (chủ trì); "
    f"{SECRETARY}, {SECRETARY_TITLE} (thư ký);",
    "Các điểm cầu: 48/52 điểm cầu kết nối, tổng số",
    "Vắng mặt (4 điểm cầu):",
    f"{UNION} Hà Giang (Đã báo không tham dự, lý do: trùng lịch làm việc của tỉnh)",
    f"{UNION} Cao Bằng (Vắng mặt, lý do: lãnh đạo đi công tác)",
    f"{UNION} Quảng Trị (Đã rời phiên)",
    f"{UNION} Đắk Nông (Sự cố kỹ thuật)",
    "(Có danh sách kèm theo.)",
    f"Chủ trì (chủ tọa): {CHAIR}, {CHAIR_TITLE}",
    f"Thư ký (người ghi biên bản): {SECRETARY}, {SECRETARY_TITLE}",
    "Trọng tâm 3: Củng cố hệ thống tổ chức từ Trung ương tới địa phương (Đang thực hiện). "
    "Kết quả: Đã triển khai tới 52 Liên hiệp địa phương.",
    f"Phạm Minh Giang, Chủ tịch {KIEN_GIANG}, {KIEN_GIANG} (Kiến nghị, trọng tâm 3): "
    "Tổ chức, cán bộ: Đề nghị bổ sung biên chế chuyên trách cho Liên hiệp tỉnh. "
    f"Trả lời ({CHAIR}): Trung ương sẽ trao đổi với Bộ Nội vụ trong quý II/2024.",
    "Kết luận của đồng chí Chủ trì",
    "Hội nghị thống nhất 10 trọng tâm công tác năm 2024.",
    "Biên bản được lập thành 02 bản.",
    "Cuộc họp kết thúc vào 11 giờ 30 phút, ngày 19 tháng 4 năm 2024/.",
    "THƯ KÝ",
    "CHỦ TRÌ",
    "Nơi nhận:",
    "Lưu: VT, Hồ sơ.",
    "DANH SÁCH CÁC ĐIỂM CẦU",
    "Chủ tịch; Phó Chủ tịch; Tổng Thư ký; Trưởng, Phó các ban",  # Kiên Giang's officials
)


# --- Word ------------------------------------------------------------------------------


def test_the_word_file_is_an_a4_document_in_times_new_roman_with_the_decree_margins(reference):
    document = docx.Document(io.BytesIO(to_docx(reference, locale="vi")))
    section = document.sections[0]
    sizes = ("page_width", "page_height", "top_margin", "bottom_margin", "left_margin")
    # Word stores twentieths of a point: A4 and the decree's margins, to the tenth of a mm.
    assert [round(getattr(section, name).mm, 1) for name in (*sizes, "right_margin")] == [
        210,
        297,
        20,
        20,
        30,
        15,
    ]
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size == Pt(13)
    fonts = normal.element.rPr.rFonts
    slots = ("ascii", "hAnsi", "eastAsia", "cs")
    assert {fonts.get(docx.oxml.ns.qn(f"w:{slot}")) for slot in slots} == {"Times New Roman"}
    # And on the runs, so that Vietnamese text pasted elsewhere keeps its font.
    run = next(r for p in document.paragraphs for r in p.runs if "Liên hiệp các" in r.text)
    fonts = run.element.rPr.rFonts
    assert {fonts.get(docx.oxml.ns.qn(f"w:{slot}")) for slot in slots} == {"Times New Roman"}
    # Headings are Word's own (navigation pane, table of contents), in the same font.
    headings = [p for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[0].text == "BIÊN BẢN" and headings[0].style.name == "Heading 1"
    assert document.styles["Heading 2"].font.name == "Times New Roman"
    assert "Kết luận của đồng chí Chủ trì" in [p.text.split(". ", 1)[-1] for p in headings]
    # Page numbers from page 2 in the top margin, none on page 1.
    assert section.different_first_page_header_footer
    assert 'w:instr="PAGE"' in section.header._element.xml
    assert "PAGE" not in section.first_page_header._element.xml


def test_the_word_file_carries_the_whole_record_with_its_diacritics(reference):
    document = docx.Document(io.BytesIO(to_docx(reference, locale="vi")))
    text = flat(docx_text(document))
    assert_the_record_is_complete(text, reference)
    for phrase in VIETNAMESE:
        assert phrase in text, phrase
    # The header block is a borderless two-column table; the national title sits right.
    header = document.tables[0]
    assert len(header.columns) == 2 and "w:tblBorders" in header._tbl.xml
    assert "TableGrid" not in header._tbl.xml
    assert header.cell(0, 1).paragraphs[0].text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    # The attached list: a ruled table, grouped by cluster, the header row repeated.
    attached = document.tables[-1]
    assert [c.text for c in attached.rows[0].cells] == ["STT", "Điểm cầu", "Trạng thái", "Đại biểu"]
    assert "<w:tblHeader/>" in attached.rows[0]._tr.xml
    kien_giang = next(r for r in attached.rows if r.cells[1].text.startswith(KIEN_GIANG))
    assert kien_giang.cells[2].text in ("Đã kết nối", "Có mặt", "Đến muộn")
    lai_chau = next(r for r in attached.rows if r.cells[1].text == f"{UNION} Hà Giang")
    assert (lai_chau.cells[2].text, lai_chau.cells[3].text) == ("Đã báo không tham dự", "")
    total = [c.text for c in attached.rows[-1].cells]
    assert total == ["", "Tổng cộng", "48/52", str(reference.attendance.delegates_present)]
    # The signature block: secretary left, chair right, names under the titles.
    signatures = document.tables[-2]
    assert flat(signatures.cell(0, 0).text) == f"THƯ KÝ {SECRETARY}"
    assert flat(signatures.cell(0, 1).text) == f"CHỦ TRÌ {CHAIR}"


def test_the_word_file_names_the_minutes_the_organisation_and_when_it_was_made(reference):
    made = datetime(2024, 4, 22, 9, 30, tzinfo=HANOI)
    document = docx.Document(io.BytesIO(to_docx(reference, locale="vi", generated_at=made)))
    properties = document.core_properties
    assert properties.title == f"Biên bản — {demo_sessions.REFERENCE_TITLE}"
    assert properties.subject == demo_sessions.REFERENCE_TITLE
    assert properties.author == "Liên hiệp các tổ chức hữu nghị Việt Nam"
    assert properties.last_modified_by == properties.author
    assert properties.language == "vi-VN"
    assert properties.created == properties.modified == made.astimezone(UTC)
    assert properties.comments == "DỰ THẢO lần 1"
    # Nothing is left of python-docx's template.
    xml = "".join(
        part.blob.decode() for part in document.part.package.parts if "core" in part.partname
    )
    assert "python-docx" not in xml and "2013" not in xml


def test_the_action_items_are_a_table_of_task_owner_and_due_date(reference):
    document = docx.Document(io.BytesIO(to_docx(reference, locale="vi")))
    actions = next(t for t in document.tables if t.rows[0].cells[1].text == "Nhiệm vụ")
    rows = [[c.text for c in row.cells] for row in actions.rows]
    assert rows[0] == ["STT", "Nhiệm vụ", "Đơn vị thực hiện", "Thời hạn"]
    assert rows[1] == ["1", ACTIONS[0][0], "Văn phòng", "15/05/2024"]
    assert len(rows) == 1 + len(reference.actions)


# --- PDF -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_pdf(reference) -> bytes:
    return to_pdf(reference, locale="vi")


def test_the_pdf_reads_as_a_vietnamese_bien_ban(reference, reference_pdf, tmp_path):
    text = pdf_tool(reference_pdf, tmp_path, "pdftotext", "-layout")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # The header block: issuing body left, national title right, on the same lines.
    assert re.match(r"DỰ THẢO lần 1$", lines[0])
    assert re.match(
        r"LIÊN HIỆP CÁC TỔ CHỨC HỮU NGHỊ\s{3,}CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", lines[1]
    )
    assert re.match(r"VIỆT NAM\s{3,}Độc lập - Tự do - Hạnh phúc", lines[2])
    assert re.match(r"Số:\s+/BB-LHHN\s{3,}Hà Nội, ngày 19 tháng 4 năm 2024", lines[3])
    assert lines[4] == "BIÊN BẢN"
    body = flat(text)
    # Table cells wrap onto several lines, which the page layout interleaves with the
    # next cell: the record is checked in reading order (-raw), the layout above.
    raw = flat(pdf_tool(reference_pdf, tmp_path, "pdftotext", "-raw"))
    assert_the_record_is_complete(raw, reference)
    for phrase in VIETNAMESE:
        assert phrase in raw, phrase
    # The order of form 1.9.
    order = [
        "Thời gian bắt đầu:",
        "Địa điểm:",
        "Thành phần tham dự:",
        "Chủ trì (chủ tọa):",
        "Thư ký (người ghi biên bản):",
        "Nội dung:",
        "1. Phát biểu khai mạc Hội nghị",
        "2. Báo cáo kết quả công tác Quý I/2024",
        "Các trọng tâm công tác:",
        "3. Thảo luận",
        "Kiến nghị từ các hội nghị trước chưa được trả lời:",
        "4. Kết luận của đồng chí Chủ trì",
        "Nhiệm vụ được giao:",
        "Biên bản được lập thành 02 bản.",
        "Cuộc họp kết thúc vào",
        "THƯ KÝ",
        "Nơi nhận:",
        "DANH SÁCH CÁC ĐIỂM CẦU",
    ]
    places = [body.index(phrase) for phrase in order]
    assert places == sorted(places)


def test_the_pdf_is_a4_with_liberation_serif_embedded_and_numbered_from_page_two(
    reference_pdf, tmp_path
):
    info = pdf_tool(reference_pdf, tmp_path, "pdfinfo")
    assert "Page size:       595.276 x 841.89 pts (A4)" in info
    pages = int(re.search(r"^Pages:\s+(\d+)$", info, re.M).group(1))
    assert pages >= 3
    fonts = pdf_tool(reference_pdf, tmp_path, "pdffonts").splitlines()[2:]
    assert fonts and all("Liberation-Serif" in f for f in fonts)  # no glyph-by-glyph fallback
    assert all(re.search(r"\syes\s+yes\s", f) for f in fonts)  # embedded, subset
    second = pdf_tool(reference_pdf, tmp_path, "pdftotext", "-layout", "-f", "2", "-l", "2")
    head = second.strip().splitlines()[0]
    assert re.search(r"^\s*2\s+DỰ THẢO lần 1$", head)  # the number centred, the mark right


def test_a_national_sessions_pdf_lists_every_bridge_point_on_numbered_pages(tmp_path):
    """3,000 bridge points: the attached list (drawn beside WeasyPrint, issue #17) names
    every site once with its number, in order, on pages numbered after the minutes', each
    with the draft mark, and closes with the total; its fonts are the body's, embedded."""
    large = reference_minutes(site_count=3000)
    pdf = to_pdf(large, locale="vi")
    raw = pdf_tool(pdf, tmp_path, "pdftotext", "-raw")
    listed = raw[raw.index("DANH SÁCH CÁC ĐIỂM CẦU") :]
    text, at = flat(listed), 0
    for n, site in enumerate(large.attendance.sites, start=1):  # in order (a long name wraps)
        at = text.index(f" {n} {site.name} ", at) + 1
    shown = [
        f"{n:,}".replace(",", ".") for n in (large.attendance.connected, large.attendance.invited)
    ]
    assert text.endswith(
        f" Tổng cộng {shown[0]}/{shown[1]} {large.attendance.delegates_present:,}".replace(",", ".")
    )
    pages = int(re.search(r"^Pages:\s+(\d+)$", pdf_tool(pdf, tmp_path, "pdfinfo"), re.M).group(1))
    assert pages > 50
    last = pdf_tool(pdf, tmp_path, "pdftotext", "-layout", "-f", str(pages), "-l", str(pages))
    assert re.search(rf"^\s*{pages}\s+DỰ THẢO lần 1$", last.strip().splitlines()[0])
    fonts = pdf_tool(pdf, tmp_path, "pdffonts").splitlines()[2:]
    assert all("Liberation-Serif" in f and re.search(r"\syes\s+yes\s+yes\s", f) for f in fonts)


# --- HTML and Markdown -----------------------------------------------------------------


def test_the_html_is_a_complete_escaped_document_with_the_whole_record(reference):
    html = to_html(reference, locale="vi")
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert '<html lang="vi">' in html and "size: A4;" in html
    text = flat(re.sub(r"<[^>]+>", " ", html)).replace("&nbsp;", " ")
    assert_the_record_is_complete(text, reference)
    for phrase in ("BIÊN BẢN", "48/52", "Kết luận của đồng chí Chủ trì", "DỰ THẢO lần 1"):
        assert phrase in text
    hostile = reference.model_copy(deep=True)
    hostile.conclusions = "<script>alert(1)</script> & co"
    html = to_html(hostile, locale="vi")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html


def test_the_markdown_carries_the_record_and_keeps_typed_text_literal(reference):
    markdown = to_markdown(reference, locale="vi")
    assert "# BIÊN BẢN" in markdown and "**DỰ THẢO lần 1**" in markdown
    assert_the_record_is_complete(flat(markdown.replace("\\", "")), reference)
    assert "| STT | Điểm cầu | Trạng thái | Đại biểu |" in markdown
    assert f"| 48/52 | {reference.attendance.delegates_present} |" in markdown
    typed = reference.model_copy(deep=True)
    typed.conclusions = "*không* in đậm | không tách cột"
    assert r"\*không\* in đậm \| không tách cột" in to_markdown(typed, locale="vi")


# --- versions and languages ------------------------------------------------------------


def test_an_approved_version_names_its_approver_and_has_no_draft_mark(tmp_path):
    approved = reference_minutes(status="approved", version=2)
    approval = f"Bản số 2, đã được {CHAIR} phê duyệt lúc 10 giờ 00, ngày 22 tháng 4 năm 2024."
    for text in (
        flat(docx_text(docx.Document(io.BytesIO(to_docx(approved, locale="vi"))))),
        flat(to_markdown(approved, locale="vi")),
        flat(pdf_tool(to_pdf(approved, locale="vi"), tmp_path, "pdftotext", "-raw")),
    ):
        assert approval in text
        assert "DỰ THẢO" not in text


def test_a_draft_shows_its_version_on_every_format():
    draft = reference_minutes(version=3)
    word = docx.Document(io.BytesIO(to_docx(draft, locale="vi")))
    assert word.paragraphs[0].text == "DỰ THẢO lần 3"
    assert "DỰ THẢO lần 3" in word.sections[0].header._element.xml  # on later pages too
    assert "DỰ THẢO lần 3" in to_html(draft, locale="vi")
    assert "DRAFT, version 3" in to_markdown(draft, locale="en")


def test_a_session_title_of_the_longest_allowed_length_still_makes_a_word_file():
    data = reference_minutes()
    title = "Giao ban " + "dài " * 72  # 297 characters: the API takes up to 300
    data = data.model_copy(update={"meeting": data.meeting.model_copy(update={"title": title})})

    word = docx.Document(io.BytesIO(to_docx(data, locale="vi")))

    assert len(word.core_properties.title) == 255
    assert "Giao ban dài dài" in word.core_properties.title
    assert flat(title) in flat(docx_text(word))  # the body keeps the whole title


def test_the_english_rendering_is_the_same_record_with_english_labels(reference, tmp_path):
    word = flat(docx_text(docx.Document(io.BytesIO(to_docx(reference, locale="en")))))
    english = to_pdf(reference, locale="en")
    pdf = flat(pdf_tool(english, tmp_path, "pdftotext", "-raw"))
    markdown = flat(re.sub(r"[*\\]", "", to_markdown(reference, locale="en")))
    for text in (word, pdf, markdown):
        assert_the_record_is_complete(text, reference)
        for phrase in (
            "SOCIALIST REPUBLIC OF VIET NAM",
            "Independence - Freedom - Happiness",
            "Hà Nội, 19 April 2024",
            "MINUTES",
            "(online, with 52 bridge points)",
            "Start time: 08:00, Friday, 19 April 2024",
            "Bridge points: 48/52 connected,",
            f"{UNION} Hà Giang (Declined the invitation, reason: trùng lịch làm việc",
            f"{UNION} Cao Bằng (Absent, reason: lãnh đạo đi công tác)",
            "Focus item 3:",
            "(Ongoing)",
            "Recommendations still open from earlier sessions",
            "4. Conclusions of the chair",
            "The minutes are made in 2 copies.",
            "The meeting ended at 11:30, 19 April 2024.",
            "SECRETARY",
            "LIST OF BRIDGE POINTS",
            "DRAFT, version 1",
        ):
            assert phrase in text, phrase
        assert "Thời gian bắt đầu" not in text and "BIÊN BẢN" not in text


def test_the_attached_list_of_a_national_session_is_built_in_linear_time():
    """5,000 bridge points: the Word file's table is written as XML, not cell by cell."""
    import time

    small, large = reference_minutes(site_count=500), reference_minutes(site_count=5000)
    timings = []
    for data in (small, large):
        start = time.perf_counter()
        to_docx(data, locale="vi")
        timings.append(time.perf_counter() - start)
    assert timings[1] < 20 * timings[0] + 0.5  # ten times the sites, not a hundred times
    document = docx.Document(io.BytesIO(to_docx(large, locale="vi")))
    assert len(document.tables[-1].rows) == 1 + 5000 + 5 + 1  # header, sites, clusters, total
    # Hundreds of absent sites are counted in the body and named in the attached list.
    absent = len(large.attendance.absent)
    assert absent > ABSENT_NAMED_MAX
    markdown = to_markdown(large, locale="vi")
    assert f"Vắng mặt: {absent} điểm cầu, ghi rõ trong danh sách kèm theo." in markdown
    assert "Vắng mặt (" not in markdown
