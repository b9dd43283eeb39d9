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
from importlib import resources

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

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
    existing = set((await session.scalars(select(col(Site.code)))).all())
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
    leader = await session.scalar(select(Site).where(col(Site.code) == slug("Vĩnh Phúc")))
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
    ("cumtruong", Role.cluster_leader, "Cụm trưởng Cụm 1"),
)
#: The cluster of each demo cluster leader, by its code.
DEMO_LEADER_CLUSTERS = {"cumtruong": "CUM-1"}


async def demo_accounts(session: AsyncSession) -> list[DemoAccount]:
    """One account per role, each with a fresh random password (printed by the CLI)."""
    made = []
    clusters = await sites.cluster_by_code(session)
    for username, role, full_name in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        user = await session.scalar(select(User).where(col(User.username) == username))
        cluster = clusters.get(DEMO_LEADER_CLUSTERS.get(username, ""))
        if user is None:
            await accounts.create_user(
                session,
                UserCreate(
                    username=username,
                    role=role,
                    full_name=full_name,
                    password=password,
                    cluster_id=cluster.id if cluster else None,
                ),
            )
        else:
            user.password_hash = await accounts.hash_password(password)
            user.is_active = True
        made.append(DemoAccount(username, role, full_name, password))
    return made
