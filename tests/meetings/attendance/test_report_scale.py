"""A 5,000-site session's workbook and CSV (issue #17, point 2): written in one pass from
plain columns, they parse back to the same totals, cluster subtotals and absent sites as
the JSON and the page. On SQLite and PostgreSQL, through the real app."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from meetings.accounts.models import Role
from meetings.attendance.changes import Change
from meetings.attendance.models import Author, EventKind
from meetings.attendance.tracking import record_many
from meetings.core.settings import AttendanceSettings, Settings
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate
from meetings.register import imports, sites
from meetings.register.models import ClusterCreate
from tests.conftest import make_settings
from tests.factories import bearer, login, make_user

SITES = 5000
CLUSTERS = 4
CONFIG = AttendanceSettings(max_delegates_per_site=500, late_after_minutes=15, window_hours=24)
STARTS = datetime(2030, 9, 19, 2, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


def _register(count: int) -> bytes:
    """`count` sites over the clusters; every seventh in none."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "name", "cluster"])
    for n in range(count):
        cluster = "" if n % 7 == 0 else f"CUM-{n % CLUSTERS + 1}"
        writer.writerow([f"DC-{n:05d}", f"Điểm cầu xã {n}", cluster])
    return out.getvalue().encode("utf-8")


def _change(n: int) -> Change | None:
    """Most sites connected with delegates, some reported absent or broken, some unseen."""
    status = {0: None, 1: "absent", 2: "technical_issue"}.get(n % 10, "connected")
    if status is None:
        return None
    return Change(
        kind=EventKind.attendance,
        status=status,
        at=STARTS + timedelta(minutes=n % 20),
        author_kind=Author.operator,
        author="org",
        delegates_present=n % 40 + 1,
        officials_present=[f"Ông Lê Văn {n}"] if n % 3 == 0 else None,
    )


async def _big_session(session_factory: Any) -> tuple[int, dict[str, str]]:
    async with session_factory() as session, session.begin():
        for code in range(1, CLUSTERS + 1):
            await sites.create_cluster(
                session, ClusterCreate(code=f"CUM-{code}", name=f"Cụm {code}")
            )
        await imports.import_sites(session, content=_register(SITES), kind="csv", dry_run=False)
    async with session_factory() as session, session.begin():
        register = await sites.all_sites(session)
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="Giao ban toàn quốc",
                starts_at=STARTS,
                ends_at=STARTS + timedelta(hours=3),
                site_ids=[s.id or 0 for s in register],
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
        changes = [(s.id or 0, _change(n)) for n, s in enumerate(register)]
        items = [(site_id, change) for site_id, change in changes if change]
        outcome = await record_many(session, meeting.id or 0, items, CONFIG)
        assert not [o for o in outcome if isinstance(o, Exception)]
        await make_user(session, username="chair", role=Role.chair)
        return meeting.id or 0, await bearer(session, "chair")


def _figures(cells: tuple[Any, ...]) -> tuple[int, int, int]:
    """(invited, connected, delegates present) of a row of the sites' sheet."""
    return int(cells[8]), int(cells[9]), int(cells[10] or 0)


def _add(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _check_table(rows: list[tuple[Any, ...]], summary: dict[str, int]) -> list[tuple[Any, ...]]:
    """The per-site table (a sheet or the CSV, header off) adds up to the board's totals;
    its site rows."""
    site_rows = [r for r in rows if r[1]]
    *subtotals, total = [r for r in rows if not r[1]]
    expected = (summary["invited"], summary["connected"], summary["delegates_present"])
    assert expected[0] == SITES and 0 < expected[1] < SITES and expected[2] > 0
    assert _figures(total) == expected
    # Each cluster's subtotal is the sum of its sites' rows, and they add up to the total.
    by_cluster: dict[str, tuple[int, ...]] = {}
    for row in site_rows:
        by_cluster[row[0]] = _add(by_cluster.get(row[0], (0, 0, 0)), _figures(row))
    assert {r[0]: _figures(r) for r in subtotals} == by_cluster
    assert len(subtotals) == CLUSTERS + 1  # and "Without cluster"
    summed: tuple[int, ...] = (0, 0, 0)
    for row in subtotals:
        summed = _add(summed, _figures(row))
    assert summed == expected
    assert len(site_rows) == SITES
    assert len({r[1] for r in site_rows}) == SITES
    return site_rows


# The board's JSON and the page of 5,000 sites are over aiohttp's 1 MiB "large body" mark,
# which warns (an error under pytest); what they say is the subject here, not how.
@pytest.mark.filterwarnings("ignore:Sending a large body:ResourceWarning")
async def test_a_5000_site_workbook_and_csv_parse_back_to_the_json_and_page_totals(
    client: TestClient, session_factory: Any
):
    meeting_id, headers = await _big_session(session_factory)

    response = await client.get(f"/api/v1/meetings/{meeting_id}/attendance.xlsx", headers=headers)
    as_csv = await client.get(f"/api/v1/meetings/{meeting_id}/attendance.csv", headers=headers)

    assert response.status == 200 and as_csv.status == 200
    book = load_workbook(io.BytesIO(await response.read()), read_only=True)
    rows = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    absent_rows = list(book.worksheets[1].iter_rows(min_row=2, values_only=True))
    board = await client.get(f"/api/v1/meetings/{meeting_id}/attendance", headers=headers)
    summary = (await board.json())["summary"]
    site_rows = _check_table(rows, summary)
    text = (await as_csv.read()).decode("utf-8-sig")
    csv_rows = [tuple(r) for r in csv.reader(io.StringIO(text))][1:]
    csv_sites = _check_table(csv_rows, summary)
    assert [r[1] for r in csv_sites] == [r[1] for r in site_rows]  # the same sites, in order
    # The absent sheet lists exactly the sites not connected, with a reason each.
    assert len(absent_rows) == summary["missing"] == SITES - summary["connected"]
    assert {r[1] for r in absent_rows} == {r[1] for r in site_rows if r[12]}
    assert all(r[5] for r in absent_rows)
    # The page shows the same totals.
    await login(client, "chair")
    page = await (await client.get(f"/sessions/{meeting_id}/attendance")).text()
    shown = {
        name: int(re.sub(r"\D", "", value))
        for name, value in re.findall(r'data-total="(\w+)">([^<]+)<', page)
    }
    assert shown == {
        "connected": summary["connected"],
        "invited": summary["invited"],
        "delegates": summary["delegates_present"],
        "missing": summary["missing"],
    }
