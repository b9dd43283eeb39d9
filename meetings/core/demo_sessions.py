"""The demo's reference sessions: the 19/4/2024 briefing, ended with its record, and the next."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from agendas.programme import programme
from agendas.programme.models import AgendaItemIn, AgendaKind, FocusItemIn, FocusStatus
from agendas.record import notes as record_notes
from agendas.record import record
from agendas.record.models import ActionItemIn, ContributionIn, ContributionKind, NotesIn
from meetings.attendance import tracking as attendance
from meetings.attendance.models import AttendanceStatus, Author, EventKind
from meetings.core.settings import AttendanceSettings
from meetings.core.store import key_col
from meetings.planning import lifecycle as planning
from meetings.planning.models import (
    Meeting,
    MeetingCreate,
    MeetingFollowUp,
    MeetingKind,
    MeetingStatus,
    MeetingUpdate,
    Participation,
)
from meetings.planning.workdays import is_working_day, previous_working_day, working_days_after
from meetings.register.models import Site

REFERENCE_UID = "giaoban-2024-04-19@demo.giaoban"
REFERENCE_START = datetime(2024, 4, 19, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))

NEXT_UID = "giaoban-next@demo.giaoban"

#: Who chaired the briefing of 19/4/2024 (seed 001) and who kept its minutes (the seeds
#: name no secretary: an illustrative officer of the standing office).
REFERENCE_CHAIR = (
    "Phan Anh Sơn",
    "Bí thư Đảng đoàn, Chủ tịch Liên hiệp các tổ chức hữu nghị Việt Nam",
)
REFERENCE_SECRETARY = ("Nguyễn Thị Thu Hà", "Chuyên viên Văn phòng Liên hiệp")

REFERENCE_TITLE = (
    "Hội nghị Giao ban trực tuyến với 52 Liên hiệp các tổ chức hữu nghị tỉnh, thành phố năm 2024"
)

REFERENCE_AGENDA = (
    (
        "Phát biểu khai mạc Hội nghị",
        "Chủ tịch Liên hiệp các tổ chức hữu nghị Việt Nam",
        "opening",
        15,
    ),
    (
        "Báo cáo kết quả công tác Quý I/2024 và Nghị quyết Hội nghị Đoàn Chủ tịch lần thứ 9; "
        "công tác xây dựng tổ chức, kế hoạch đào tạo, Bộ nhận diện và bộ văn bản mẫu",
        "Phó Chủ tịch Liên hiệp các tổ chức hữu nghị Việt Nam",
        "report",
        45,
    ),
    (
        "Thảo luận: các Liên hiệp địa phương chia sẻ kinh nghiệm và kiến nghị về tổ chức, cán bộ, "
        "chính sách, khen thưởng, đào tạo",
        "",
        "discussion",
        120,
    ),
    (
        "Kết luận của Đoàn Chủ tịch",
        "Chủ tịch Liên hiệp các tổ chức hữu nghị Việt Nam",
        "conclusion",
        30,
    ),
)

#: The 10 focus items (10 trọng tâm) set out at the 19/4/2024 briefing (seed 001).
REFERENCE_FOCUS = (
    (
        "Công tác xây dựng Đảng",
        "Quán triệt và tổ chức thực hiện Nghị quyết Đại hội XIII của Đảng, "
        "các Chỉ thị, Nghị quyết của Trung ương về đối ngoại nhân dân và Nghị quyết "
        "Đại hội lần thứ VI của Liên hiệp các tổ chức hữu nghị Việt Nam.",
    ),
    (
        "Tổng kết Kết luận 98-KL/TW, sơ kết 5 năm Chỉ thị 38-CT/TW",
        "Rà soát việc thể chế hóa, đề xuất cơ chế và chế độ chính sách với hệ thống Liên hiệp.",
    ),
    (
        "Củng cố hệ thống tổ chức từ Trung ương tới địa phương",
        "Kiện toàn tổ chức bộ máy; tăng cường định hướng, phối hợp, chia sẻ thông tin "
        "trong toàn hệ thống; nâng cao chất lượng đội ngũ cán bộ đối ngoại nhân dân chuyên trách.",
    ),
    (
        "Đổi mới tư duy, phương thức hoạt động đối ngoại",
        "Thực hiện có hiệu quả kế hoạch đối ngoại năm 2024 được phê duyệt.",
    ),
    (
        "Vẽ bản đồ hệ thống đối tác",
        "Củng cố quan hệ với đối tác truyền thống, mở rộng mạng lưới đối tác mạnh trên "
        "các lĩnh vực kinh tế, thương mại, du lịch, văn hóa, khoa học, công nghệ, y tế, thể thao.",
    ),
    (
        "Nâng cao hiệu quả hợp tác với các tổ chức phi chính phủ nước ngoài",
        "Tổ chức thành công Hội nghị Quốc tế lần thứ V, tổng kết chương trình quốc gia.",
    ),
    (
        "Đẩy mạnh, mở rộng kênh thông tin đối ngoại",
        "Ứng dụng công nghệ hiện đại và xu hướng truyền thông mới.",
    ),
    (
        "Nâng cao chất lượng nghiên cứu, tham mưu",
        "Đề tài nghiên cứu, bộ tài liệu lý luận và tái bản lần thứ 3 cuốn sách lịch sử Liên hiệp.",
    ),
    ("Tổ chức Hội nghị toàn quốc công tác đối ngoại nhân dân năm 2024", ""),
    ("Tổ chức thành công Đại hội đại biểu toàn quốc lần thứ VII", ""),
)


def next_same_weekday(reference: datetime, after: datetime) -> datetime:
    """The first working day at least four weeks after `after` on `reference`'s weekday
    and hour: a Friday that is a public holiday (1/1/2027) gives way to the next Friday."""
    local = after.astimezone(reference.tzinfo) + timedelta(days=28)
    day = local.date() + timedelta(days=(reference.weekday() - local.weekday()) % 7)
    while not is_working_day(day):
        day += timedelta(days=7)
    return datetime.combine(day, reference.timetz())


async def load_reference_sessions(session: AsyncSession, *, hall: str, now: datetime) -> list[str]:
    """The 19/4/2024 briefing as an ended session and its successor in the coming month."""
    made: list[str] = []
    reference = await session.scalar(select(Meeting).where(col(Meeting.uid) == REFERENCE_UID))
    if reference is None:
        reference = await _reference_session(session, hall)
        made.append(REFERENCE_TITLE)
    if await session.scalar(select(col(Meeting.id)).where(col(Meeting.uid) == NEXT_UID)) is None:
        made.append(await _next_session(session, reference, now))
    return made


async def _reference_session(session: AsyncSession, hall: str) -> Meeting:
    """The briefing of 19/4/2024 with its programme, run and ended with its record."""
    start = REFERENCE_START
    created = await planning.create_meeting(
        session,
        MeetingCreate(
            title=REFERENCE_TITLE,
            kind=MeetingKind.briefing,
            starts_at=start,
            ends_at=start + timedelta(hours=3, minutes=30),
            timezone="Asia/Ho_Chi_Minh",
            location=hall,
            chair=REFERENCE_CHAIR[0],
            chair_title=REFERENCE_CHAIR[1],
            secretary=REFERENCE_SECRETARY[0],
            secretary_title=REFERENCE_SECRETARY[1],
            all_sites=True,
            series_name="Giao ban trực tuyến với các Liên hiệp địa phương",
            description="Hội nghị giao ban trực tuyến lần đầu tiên với 52 Liên hiệp các tổ "
            "chức hữu nghị tỉnh, thành phố; gần 500 đại biểu.",
        ),
        organiser_id=None,
        default_location=hall,
    )
    row = await planning.get_meeting_row(session, created.id)
    row.uid = REFERENCE_UID
    await _reference_programme(session, created.id or 0)
    for status in (MeetingStatus.scheduled, MeetingStatus.live):
        await planning.change_status(session, created.id, status)
    await _reference_record(session, created.id or 0, start)
    await planning.change_status(session, created.id, MeetingStatus.ended)
    return row


async def _reference_programme(session: AsyncSession, meeting_id: int) -> None:
    """The briefing's agenda and its 10 focus items (8 ongoing, 2 new)."""
    await programme.replace_agenda(
        session,
        meeting_id,
        [
            AgendaItemIn(title=t, presenter=p, kind=AgendaKind(k), duration_minutes=d)
            for t, p, k, d in REFERENCE_AGENDA
        ],
        version=None,
    )
    await programme.replace_focus_items(
        session,
        meeting_id,
        [
            FocusItemIn(
                number=n,
                title=t,
                detail=d,
                status=FocusStatus.ongoing if n <= 8 else FocusStatus.new,
            )
            for n, (t, d) in enumerate(REFERENCE_FOCUS, start=1)
        ],
        version=None,
    )


async def _next_session(session: AsyncSession, reference: Meeting, now: datetime) -> str:
    """The follow-up of the briefing, scheduled on its weekday four weeks or more from now."""
    next_start = next_same_weekday(REFERENCE_START, now)
    follow = await programme.create_follow_up(
        session,
        reference.id or 0,
        MeetingFollowUp(
            starts_at=next_start,
            ends_at=next_start + timedelta(hours=3, minutes=30),
            title="Hội nghị Giao ban trực tuyến với các Liên hiệp các tổ chức hữu nghị "
            f"tỉnh, thành phố — {next_start:%m/%Y}",
        ),
        organiser_id=None,
    )
    (await planning.get_meeting_row(session, follow.id)).uid = NEXT_UID
    await planning.update_meeting(
        session,
        follow.id,
        MeetingUpdate(version=follow.version, status=MeetingStatus.scheduled),
    )
    return follow.title


#: Sites that did not connect in the demo's record of 19/4/2024 (illustrative).
DEMO_ABSENT = ("Bắc Kạn", "Kon Tum", "Đắk Nông", "Hậu Giang")
#: Why they did not (illustrative): the note of their "absent" mark, which the minutes quote.
DEMO_ABSENCE_REASONS = {
    "Bắc Kạn": "lãnh đạo Liên hiệp đi công tác",
    "Kon Tum": "đường truyền tại điểm cầu bị gián đoạn",
    "Đắk Nông": "trùng lịch hội nghị của Tỉnh ủy",
    "Hậu Giang": "không bố trí được phòng họp trực tuyến",
}

DEMO_CONTRIBUTIONS = (
    (
        "Vĩnh Phúc",
        "report",
        "Nguyễn Văn Hùng",
        "Chủ tịch Liên hiệp, Cụm trưởng Cụm 1",
        "Báo cáo kết quả hoạt động của Cụm thi đua số 1 quý I năm 2024.",
        2,
        "",
    ),
    (
        "Kiên Giang",
        "recommendation",
        "Trần Thị Mai",
        "Phó Chủ tịch Liên hiệp",
        "Đề nghị Liên hiệp Việt Nam tổ chức tập huấn công tác thông tin đối ngoại cho cán bộ "
        "chuyên trách của các Liên hiệp địa phương.",
        3,
        "Tập huấn",
    ),
    (
        "Nghệ An",
        "recommendation",
        "Lê Quang Đức",
        "Chủ tịch Liên hiệp",
        "Đề nghị sớm có hướng dẫn về phối hợp quản lý hoạt động của các tổ chức phi chính phủ "
        "nước ngoài trên địa bàn tỉnh.",
        3,
        "Phi chính phủ nước ngoài",
    ),
    (
        "Hà Nội",
        "opinion",
        "Phạm Thu Hương",
        "Phó Chủ tịch thường trực",
        "Đề xuất tăng cường chia sẻ kinh nghiệm tổ chức các hoạt động hữu nghị nhân dịp kỷ "
        "niệm các ngày lễ lớn.",
        3,
        "",
    ),
)

DEMO_CONCLUSIONS = (
    "1. Các Liên hiệp địa phương tiếp tục bám sát 10 trọng tâm công tác năm 2024.\n"
    "2. Văn phòng Liên hiệp tổng hợp các kiến nghị, trả lời trước phiên giao ban tiếp theo.\n"
    "3. Các cụm thi đua hoàn thành báo cáo quý II trước ngày 30/6/2024."
)


async def _reference_record(session: AsyncSession, meeting_id: int, start: datetime) -> None:
    """The demo's attendance (48/52, 497 delegates) and record of 19/4/2024, so the
    minutes and the attendance report of the reference session are there to download."""
    by_province = await _reference_attendance(session, meeting_id, start)
    for province, kind, speaker, title, text, item, topic in DEMO_CONTRIBUTIONS:
        await record.add_contribution(
            session,
            meeting_id,
            ContributionIn(
                site_id=by_province.get(province),
                speaker=speaker,
                speaker_title=title,
                kind=ContributionKind(kind),
                text=text,
                agenda_item=item,
                topic=topic,
            ),
            source="secretary",
            author="demo",
        )
    await record_notes.save_notes(
        session, meeting_id, NotesIn(conclusions=DEMO_CONCLUSIONS), author="demo"
    )
    # Due on working days: 20 and 30 working days on, and the quarter's report by the
    # last working day of June (DEMO_CONCLUSIONS: before 30/6/2024, a Sunday).
    day = start.date()
    for text, owner, due in (
        ("Tổng hợp và trả lời các kiến nghị của địa phương", "Văn phòng Liên hiệp", 20),
        ("Xây dựng kế hoạch tập huấn thông tin đối ngoại", "Ban Tuyên truyền", 30),
        ("Gửi báo cáo kết quả hoạt động quý II", "Các Liên hiệp địa phương", None),
    ):
        due_date = (
            working_days_after(day, due) if due else previous_working_day(date(day.year, 6, 30))
        )
        await record.add_action(
            session, meeting_id, ActionItemIn(text=text, owner=owner, due_date=due_date)
        )


async def _reference_attendance(
    session: AsyncSession, meeting_id: int, start: datetime
) -> dict[str, int]:
    """Every invited site present ten minutes early but DEMO_ABSENT; the sites by province."""
    config = AttendanceSettings(max_delegates_per_site=500, late_after_minutes=15, window_hours=24)
    invited = (
        await session.execute(
            select(key_col(Site.id), col(Site.province))
            .join(Participation, col(Participation.site_id) == col(Site.id))
            .where(col(Participation.meeting_id) == meeting_id)
            .order_by(col(Site.id))
        )
    ).all()
    by_province = {province: site_id for site_id, province in invited}
    present = [(site_id, p) for site_id, p in invited if p not in DEMO_ABSENT]
    for index, (site_id, _province) in enumerate(present):
        await attendance.record(
            session,
            meeting_id,
            site_id,
            attendance.Change(
                kind=EventKind.attendance,
                status=AttendanceStatus.present,
                at=start - timedelta(minutes=10),
                author_kind=Author.operator,
                author="demo",
                delegates_present=10 + (1 if index < 17 else 0),
            ),
            config,
        )
    for province in DEMO_ABSENT:
        if province in by_province:
            await attendance.record(
                session,
                meeting_id,
                by_province[province],
                attendance.Change(
                    kind=EventKind.attendance,
                    status=AttendanceStatus.absent,
                    at=start,
                    author_kind=Author.operator,
                    author="demo",
                    note=DEMO_ABSENCE_REASONS.get(province, ""),
                ),
                config,
            )
    return by_province
