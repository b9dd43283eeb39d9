"""Illustrative demo data: 52 local unions in 5 clusters, and demo accounts.

The central hall (điểm cầu Trung ương) is the organisation's own, `[organisation] hall`.

Only cluster 1's membership comes from the source articles (BRIEF.md); which provinces
had a local union in 2024 and the members of clusters 2-5 are not known, so those are
drawn from the 2024 province list and marked as illustrative sample data.
"""

from __future__ import annotations

import csv
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.accounts import accounts
from meetings.accounts.models import Role, User, UserCreate
from meetings.core.types import search_key
from meetings.register import sites
from meetings.register.models import (
    Cluster,
    ClusterCreate,
    ClusterUpdate,
    ContactIn,
    ContactRole,
    Site,
    SiteCreate,
)

ILLUSTRATIVE = "Dữ liệu minh họa (illustrative sample data)"

#: Clusters 2-5 by socio-economic region, and how many local unions each gets, so that
#: there are 52 in all as in 2024 (11 in cluster 1 + 41).
REGION_CLUSTERS: tuple[tuple[str, str, tuple[str, ...], int], ...] = (
    (
        "CUM-2",
        "Cụm 2 — Trung du, miền núi phía Bắc (minh họa)",
        ("Trung du và miền núi phía Bắc", "Đồng bằng sông Hồng"),
        10,
    ),
    (
        "CUM-3",
        "Cụm 3 — Bắc Trung Bộ và Duyên hải miền Trung (minh họa)",
        ("Bắc Trung Bộ và Duyên hải miền Trung",),
        10,
    ),
    ("CUM-4", "Cụm 4 — Tây Nguyên và Đông Nam Bộ (minh họa)", ("Tây Nguyên", "Đông Nam Bộ"), 10),
    ("CUM-5", "Cụm 5 — Đồng bằng sông Cửu Long (minh họa)", ("Đồng bằng sông Cửu Long",), 11),
)
#: Named in the source articles as a bridge point; always part of the demo.
MUST_INCLUDE = ("Kiên Giang",)

_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ")
_MIDDLE = ("Văn", "Thị", "Minh", "Thu", "Quang", "Thanh", "Hữu", "Ngọc")
_GIVEN = (
    "An",
    "Bình",
    "Châu",
    "Dũng",
    "Hà",
    "Hải",
    "Hương",
    "Khánh",
    "Lan",
    "Long",
    "Mai",
    "Nam",
    "Phương",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trung",
    "Tuấn",
    "Yến",
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    full_name: str
    password: str


def provinces() -> list[dict[str, str]]:
    with (
        resources.files("meetings").joinpath("data/provinces-2024.csv").open(encoding="utf-8") as f
    ):
        return list(csv.DictReader(f))


def slug(text: str) -> str:
    return "-".join(search_key(text).split())


def _person(seed: int) -> str:
    return f"{_FAMILY[seed % 10]} {_MIDDLE[(seed // 10) % 8]} {_GIVEN[(seed * 7) % 20]}"


def _contacts(province: str, seed: int) -> list[ContactIn]:
    place = slug(province)
    people = [
        ContactIn(
            name=_person(seed),
            title=f"Chủ tịch Liên hiệp các tổ chức hữu nghị {province}",
            email=f"chutich.{place}@example.org",
            phone="",
            role=ContactRole.head,
        ),
        ContactIn(
            name=_person(seed + 3),
            title="Chánh Văn phòng",
            email=f"vanphong.{place}@example.org",
            phone="",
            role=ContactRole.secretary,
        ),
    ]
    if seed % 3 != 0:  # two or three contacts per site
        people.append(
            ContactIn(
                name=_person(seed + 5),
                title="Cán bộ kỹ thuật",
                email=f"kythuat.{place}@example.org",
                phone="",
                role=ContactRole.technical,
            )
        )
    return people


def demo_plan() -> list[tuple[str, str, list[str]]]:
    """(cluster code, cluster name, provinces): cluster 1 from the seeds, 2-5 illustrative."""
    rows = provinces()
    cluster_one = [r["province"] for r in rows if r["cluster_from_seeds"] == "1"]
    plan = [("CUM-1", "Cụm 1 — Đồng bằng sông Hồng và Bắc Trung Bộ", cluster_one)]
    taken = set(cluster_one)
    for code, name, regions, count in REGION_CLUSTERS:
        pool = [
            r["province"] for r in rows if r["region"] in regions and r["province"] not in taken
        ]
        chosen = [p for p in pool if p in MUST_INCLUDE]
        chosen += [p for p in pool if p not in chosen][: count - len(chosen)]
        chosen.sort(key=pool.index)
        taken.update(chosen)
        plan.append((code, name, chosen))
    return plan


async def load_demo(session: AsyncSession) -> int:
    """Create the register if absent (idempotent: existing codes are left alone)."""
    existing = set((await session.scalars(select(Site.code))).all())
    clusters = {c.code: c for c in (await session.scalars(select(Cluster))).all()}
    created = 0
    seed = 0
    for code, name, members in demo_plan():
        if code not in clusters:
            cluster = await sites.create_cluster(session, ClusterCreate(code=code, name=name))
            clusters[code] = await sites.get_cluster(session, cluster.id)
        for province in members:
            seed += 1
            site_code = slug(province)
            if site_code in existing:
                continue
            illustrative = "" if code == "CUM-1" else f" — {ILLUSTRATIVE}"
            await sites.create_site(
                session,
                SiteCreate(
                    code=site_code,
                    name=f"Liên hiệp các tổ chức hữu nghị {province}",
                    province=province,
                    cluster_id=clusters[code].id,
                    address=f"{province}{illustrative}",
                    endpoint=f"phong-hop.{site_code}.example.org",
                    contacts=_contacts(province, seed),
                ),
            )
            created += 1
    # Cluster 1: Vĩnh Phúc leads in 2024 (seed 003); the others' leaders are not known.
    leader = await session.scalar(select(Site).where(Site.code == slug("Vĩnh Phúc")))
    cluster_one = clusters["CUM-1"]
    if leader is not None and cluster_one.leader_site_id is None:
        await sites.update_cluster(
            session,
            cluster_one.id or 0,
            ClusterUpdate(version=cluster_one.version, leader_site_id=leader.id, leader_year=2024),
        )
    return created


DEMO_USERS = (
    ("admin", Role.admin, "Quản trị hệ thống"),
    ("organiser", Role.organiser, "Cán bộ Văn phòng (tổ chức)"),
    ("secretary", Role.secretary, "Thư ký hội nghị"),
    ("chair", Role.chair, "Chủ tịch (chủ trì)"),
)


async def demo_accounts(session: AsyncSession) -> list[DemoAccount]:
    """One account per role, each with a fresh random password (printed by the CLI)."""
    made = []
    for username, role, full_name in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        user = await session.scalar(select(User).where(User.username == username))
        if user is None:
            await accounts.create_user(
                session,
                UserCreate(username=username, role=role, full_name=full_name, password=password),
            )
        else:
            user.password_hash = await accounts.hash_password(password)
            user.is_active = True
        made.append(DemoAccount(username, role, full_name, password))
    return made


# --- the reference sessions (seed 001) ---------------------------------------------------

REFERENCE_UID = "giaoban-2024-04-19@demo.giaoban"
NEXT_UID = "giaoban-next@demo.giaoban"
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
    """The first day at least four weeks after `after` on `reference`'s weekday and hour."""
    local = after.astimezone(reference.tzinfo) + timedelta(days=28)
    day = local.date() + timedelta(days=(reference.weekday() - local.weekday()) % 7)
    return datetime.combine(day, reference.timetz())


async def load_reference_sessions(session: AsyncSession, *, hall: str, now: datetime) -> list[str]:
    """The 19/4/2024 briefing as an ended session and its successor in the coming month."""
    from agendas.programme import programme
    from agendas.programme.models import AgendaItemIn, FocusItemIn, FocusStatus
    from meetings.planning import lifecycle as planning
    from meetings.planning.models import (
        Meeting,
        MeetingCreate,
        MeetingFollowUp,
        MeetingStatus,
        MeetingUpdate,
    )

    made: list[str] = []
    reference = await session.scalar(select(Meeting).where(Meeting.uid == REFERENCE_UID))
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    start = datetime(2024, 4, 19, 8, 0, tzinfo=zone)
    if reference is None:
        created = await planning.create_meeting(
            session,
            MeetingCreate(
                title=REFERENCE_TITLE,
                kind="briefing",
                starts_at=start,
                ends_at=start + timedelta(hours=3, minutes=30),
                timezone="Asia/Ho_Chi_Minh",
                location=hall,
                chair="Chủ tịch Liên hiệp các tổ chức hữu nghị Việt Nam",
                secretary="Văn phòng Liên hiệp",
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
        await programme.replace_agenda(
            session,
            created.id,
            [
                AgendaItemIn(title=t, presenter=p, kind=k, duration_minutes=d)
                for t, p, k, d in REFERENCE_AGENDA
            ],
            version=None,
        )
        await programme.replace_focus_items(
            session,
            created.id,
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
        for status in (MeetingStatus.scheduled, MeetingStatus.live):
            await planning.change_status(session, created.id, status)
        await _reference_record(session, created.id or 0, start)
        await planning.change_status(session, created.id, MeetingStatus.ended)
        reference = row
        made.append(REFERENCE_TITLE)
    if await session.scalar(select(Meeting.id).where(Meeting.uid == NEXT_UID)) is None:
        next_start = next_same_weekday(start, now)
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
        made.append(follow.title)
    return made


#: Sites that did not connect in the demo's record of 19/4/2024 (illustrative).
DEMO_ABSENT = ("Bắc Kạn", "Kon Tum", "Đắk Nông", "Hậu Giang")
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
    from agendas.record import record
    from agendas.record.models import ActionItemIn, ContributionIn, NotesIn
    from meetings.attendance import tracking as attendance
    from meetings.attendance.models import AttendanceStatus, Author, EventKind
    from meetings.core.settings import AttendanceSettings
    from meetings.planning.models import Participation

    config = AttendanceSettings(max_delegates_per_site=500, late_after_minutes=15, window_hours=24)
    invited = (
        await session.execute(
            select(Site.id, Site.province)
            .join(Participation, Participation.site_id == Site.id)  # type: ignore[arg-type]
            .where(Participation.meeting_id == meeting_id)
            .order_by(Site.id)
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
                ),
                config,
            )
    for province, kind, speaker, title, text, item, topic in DEMO_CONTRIBUTIONS:
        await record.add_contribution(
            session,
            meeting_id,
            ContributionIn(
                site_id=by_province.get(province),
                speaker=speaker,
                speaker_title=title,
                kind=kind,  # type: ignore[arg-type]
                text=text,
                agenda_item=item,
                topic=topic,
            ),
            source="secretary",
            author="demo",
        )
    await record.save_notes(
        session, meeting_id, NotesIn(conclusions=DEMO_CONCLUSIONS), author="demo"
    )
    for text, owner, due in (
        ("Tổng hợp và trả lời các kiến nghị của địa phương", "Văn phòng Liên hiệp", 30),
        ("Xây dựng kế hoạch tập huấn thông tin đối ngoại", "Ban Tuyên truyền", 45),
        ("Gửi báo cáo kết quả hoạt động quý II", "Các Liên hiệp địa phương", 72),
    ):
        await record.add_action(
            session,
            meeting_id,
            ActionItemIn(text=text, owner=owner, due_date=(start + timedelta(days=due)).date()),
        )
