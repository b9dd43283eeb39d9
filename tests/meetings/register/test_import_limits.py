"""Imports that cannot hurt the service: read within [imports], off the event loop, set-based."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.accounts.models import Role
from meetings.core.app import create_app
from meetings.core.cli import main
from meetings.core.errors import Conflict, Invalid
from meetings.core.i18n import translations
from meetings.core.settings import ImportSettings
from meetings.core.store import utcnow
from meetings.register import bulk, files, sites
from meetings.register.labels import LIMIT_MESSAGES
from meetings.register.models import Site, SiteUpdate
from meetings.register.rows import check_rows
from tests.conftest import make_settings
from tests.factories import login, make_site, make_user
from tests.meetings.register.test_imports import (
    SITE_HEADER,
    XLSX_TYPE,
    count,
    csv_bytes,
    make_clusters,
    organiser,
    run_import,
)

LIMITS = ImportSettings(max_size_mb=1, max_rows=5, max_columns=20)
SHORT_HEADER = [*SITE_HEADER, "contact1_name", "contact1_email"]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"


def site_rows(count: int, *, prefix: str = "s", email: str = "vufo.vn") -> list[list[str]]:
    return [
        [f"{prefix}{n}", f"Điểm cầu {n}", f"Tỉnh {n % 63}", "CUM-1", "", "", ""]
        + [f"Người {n}", f"p{n}@{email}"]
        for n in range(count)
    ]


def workbook(sheet_data: str, *, doctype: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal valid workbook whose one sheet has `sheet_data` and no <dimension>."""
    xml = '<?xml version="1.0" encoding="UTF-8"?>'
    parts: dict[str, bytes | str] = {
        "[Content_Types].xml": f"{xml}<Types "
        'xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'{xml}<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" '
        f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'{xml}<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'{xml}<Relationships xmlns="{PACKAGE}">'
        f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>",
        "xl/worksheets/sheet1.xml": f'{xml}{doctype}<worksheet xmlns="{MAIN}"><sheetData>'
        f"{sheet_data}</sheetData></worksheet>",
        **(extra or {}),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def xlsx_bomb(rows: int) -> bytes:
    """The issue's bomb: many empty rows, no <dimension>; small once zipped."""
    return workbook("".join(f'<row r="{n}"/>' for n in range(1, rows + 1)))


def refusal(content: bytes, kind: files.FileKind, limits: ImportSettings) -> files.OverLimit:
    with pytest.raises(files.OverLimit) as caught:
        for _row in files.read_rows(content, kind, limits):
            pass
    return caught.value


# --- reading stops at the first limit ----------------------------------------------------


def test_rows_past_max_rows_are_refused_at_the_first_one_and_the_rest_is_not_read():
    content = csv_bytes(site_rows(6), header=SHORT_HEADER) + b"\xff\xfe not UTF-8\r\n"

    refused = refusal(content, "csv", LIMITS)

    # Line 8 cannot even be decoded: had it been read, that would be the error.
    assert (refused.status, refused.code, refused.key, refused.limit) == (
        413,
        "too_large",
        "max_rows",
        5,
    )
    assert refused.problems[0].line == 7
    assert "[imports] max_rows" in refused.message
    assert (
        len(list(files.read_rows(csv_bytes(site_rows(5), header=SHORT_HEADER), "csv", LIMITS))) == 6
    )


def test_a_value_past_max_columns_is_refused_and_empty_cells_beyond_it_are_not():
    wide = [*SHORT_HEADER, *[""] * 20]
    row = site_rows(1)[0] + [""] * 20
    assert len(list(files.read_rows(csv_bytes([row], header=wide), "csv", LIMITS))) == 2

    row[24] = "x"
    refused = refusal(csv_bytes([row], header=wide), "csv", LIMITS)

    assert (refused.key, refused.limit, refused.problems[0].line) == ("max_columns", 20, 2)
    assert "[imports] max_columns" in refused.message


def test_a_file_past_max_size_is_refused_before_it_is_read():
    content = b"code,name\r\n" + b"x" * (1024 * 1024)

    refused = refusal(content, "csv", LIMITS)

    assert (refused.key, refused.limit) == ("max_size_mb", 1)
    assert "[imports] max_size_mb" in refused.message


def test_the_xlsx_bomb_is_refused_at_max_rows_before_openpyxl_reads_it():
    bomb = xlsx_bomb(200_000)  # openpyxl would read all of it to find the sheet's size
    assert len(bomb) < 1024 * 1024

    refused = refusal(bomb, "xlsx", files.DEFAULT_LIMITS)

    assert (refused.key, refused.problems[0].line) == ("max_rows", 20_002)


def test_a_row_of_a_hundred_thousand_cells_is_refused_without_building_it():
    refused = refusal(workbook('<row r="1">' + "<c/>" * 100_000 + "</row>"), "xlsx", LIMITS)

    assert (refused.key, refused.problems[0].line) == ("max_columns", 1)


def test_a_workbook_that_unpacks_past_twenty_times_max_size_is_refused():
    padding = {"xl/media/padding.bin": bytes(21 * 1024 * 1024)}  # zeros: tiny once zipped

    refused = refusal(workbook("", extra=padding), "xlsx", LIMITS)

    assert (refused.key, refused.limit) == ("unpacked", 20)


def test_a_sheet_with_a_document_type_is_not_a_workbook():
    laughs = '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'

    with pytest.raises(Invalid) as caught:
        list(files.read_rows(workbook("<row r='1'/>", doctype=laughs), "xlsx", LIMITS))

    assert not isinstance(caught.value, files.OverLimit)
    assert caught.value.problems[0].field == "file"
    assert "cannot be read" in caught.value.problems[0].message


# --- set-based writes --------------------------------------------------------------------


async def test_ten_thousand_rows_are_written_set_based_not_row_by_row(
    store_session: AsyncSession,
):
    async with store_session.begin():
        await make_clusters(store_session)
    executed: dict[str, int] = {}

    def counted(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        kind = " ".join(words[:3] if words[0] in ("INSERT", "DELETE") else words[:2])
        executed[kind] = executed.get(kind, 0) + 1

    engine = store_session.bind.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", counted)
    try:
        created = await run_import(store_session, csv_bytes(site_rows(10_000), header=SHORT_HEADER))
        inserts = dict(executed)
        executed.clear()
        changed = csv_bytes(site_rows(10_000, email="hanoi.vn"), header=SHORT_HEADER)
        updated = await run_import(store_session, changed)
    finally:
        event.remove(engine, "before_cursor_execute", counted)

    assert (created.created, updated.updated) == (10_000, 10_000)
    # Batches of rows, not a statement per row (10,000 sites, 20,000 contacts).
    assert inserts.get("INSERT INTO site", 0) <= 100
    assert inserts.get("INSERT INTO contact", 0) <= 100
    assert executed.get("UPDATE site", 0) <= 100
    assert executed.get("DELETE FROM contact", 0) <= 100
    assert await count(store_session) == 10_000


async def test_ten_thousand_rows_with_one_bad_line_write_nothing_and_name_it(
    store_session: AsyncSession,
):
    async with store_session.begin():
        await make_clusters(store_session)
    rows = site_rows(10_000)
    rows[9_998][8] = "p9998@@vufo"  # line 10,000: the header is line 1

    with pytest.raises(Invalid) as caught:
        await run_import(store_session, csv_bytes(rows, header=SHORT_HEADER))

    assert [(p.line, p.field) for p in caught.value.problems] == [(10_000, "contact1_email")]
    assert await count(store_session) == 0


async def test_a_site_saved_by_someone_else_after_it_was_read_stops_the_import(
    store_session: AsyncSession,
):
    async with store_session.begin():
        site = await make_site(store_session, code="ha-noi", name="Hà Nội")
    content = csv_bytes([["ha-noi", "Thủ đô Hà Nội"]], header=["code", "name"])
    header, planned, _problems = check_rows(files.read_rows(content, "csv"), {})
    assert header is not None
    async with store_session.begin():  # the import reads the register ...
        columns = (col(Site.id), col(Site.version), col(Site.name), col(Site.province))
        planned[0].existing = (await store_session.execute(select(*columns))).one()
        planned[0].changed = ["name"]
    async with store_session.begin():  # ... someone saves the site meanwhile ...
        await sites.update_site(store_session, site.id, SiteUpdate(version=1, name="Hà Nội 2"))
    now = utcnow()

    with pytest.raises(Conflict):  # ... and the import's write finds it changed
        async with store_session.begin():
            await bulk.write(store_session, bulk.prepare(planned, header, now), now)

    async with store_session.begin():
        assert (await sites.get_site(store_session, site.id)).name == "Hà Nội 2"


def test_the_command_line_refuses_a_file_past_the_configured_rows(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    config_file.write_text(
        config_file.read_text(encoding="utf-8") + "[imports]\nmax_rows = 2\n", encoding="utf-8"
    )
    path = tmp_path / "sites.csv"
    path.write_bytes(
        csv_bytes([row[:3] for row in site_rows(3)], header=["code", "name", "province"])
    )

    assert main(["--config", str(config_file), "sites", "import", str(path)]) == 1
    assert "more than 2 rows below its header, the limit set by [imports] max_rows" in (
        capsys.readouterr().err
    )


# --- over HTTP ---------------------------------------------------------------------------


@pytest.fixture
async def small_client(
    tmp_path: Path, sqlite_url: str, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> TestClient:
    """The app with [imports] max_size_mb = 1, max_rows = 5, max_columns = 20."""
    limits = {"max_size_mb": 1, "max_rows": 5, "max_columns": 20}
    return await aiohttp_client(create_app(make_settings(tmp_path, sqlite_url, imports=limits)))


async def test_api_refuses_a_body_past_max_size_with_413_and_keeps_nothing(
    small_client: TestClient, session_factory: Any, tmp_path: Path
):
    headers = await organiser(session_factory)
    body = b"code,name\r\n" + b"x" * (1536 * 1024)

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: read until the limit
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    form = FormData()
    form.add_field("file", io.BytesIO(body), filename="sites.csv", content_type="text/csv")
    for data in (io.BytesIO(body), chunked(), form):
        response = await small_client.post(
            "/api/v1/sites/import",
            data=data,
            headers=headers if data is form else {**headers, "Content-Type": "text/csv"},
        )
        assert response.status == 413, await response.text()
        error = (await response.json())["error"]
        assert error["code"] == "too_large"
        assert "[imports] max_size_mb" in error["message"]
    assert list((tmp_path / "var" / "imports").glob("*")) == []


async def test_api_refuses_the_xlsx_bomb_at_max_rows(client: TestClient, session_factory: Any):
    headers = await organiser(session_factory)

    response = await client.post(
        "/api/v1/sites/import?dry_run=1",
        data=xlsx_bomb(200_000),
        headers={**headers, "Content-Type": XLSX_TYPE},
    )

    assert response.status == 413
    error = (await response.json())["error"]
    assert error["code"] == "too_large"
    assert "[imports] max_rows" in error["message"]
    assert error["details"] == [{"field": "file", "message": error["message"], "line": 20_002}]


async def test_the_import_page_names_the_limit_in_the_readers_language(
    small_client: TestClient, session_factory: Any
):
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        await make_clusters(session)
    csrf = await login(small_client, "org")
    form = FormData()
    form.add_field("_csrf", csrf)
    content = csv_bytes(site_rows(6), header=SHORT_HEADER)
    form.add_field("file", content, filename="điểm cầu.csv", content_type="text/csv")

    response = await small_client.post("/sites/import", data=form)

    assert response.status == 413
    expected = translations("vi").gettext(LIMIT_MESSAGES["max_rows"]).format(limit=5)
    assert expected.startswith("Tệp có hơn 5 dòng")
    assert expected in await response.text()


async def test_a_get_is_answered_while_a_big_file_is_read_and_checked(
    client: TestClient, session_factory: Any
):
    headers = await organiser(session_factory)
    assert (await client.get("/api/v1/meetings", headers=headers)).status == 200
    rows = site_rows(15_000)
    rows[-1][8] = "not-an-address"  # so the whole file is read and checked, then refused
    content = csv_bytes(rows, header=SHORT_HEADER)
    finished: dict[str, float] = {}

    async def timed(name: str, request: Awaitable[Any]) -> int:
        response = await request
        await response.read()
        finished[name] = time.monotonic()
        return int(response.status)

    importing = asyncio.create_task(
        timed(
            "import",
            client.post(
                "/api/v1/sites/import?dry_run=1",
                data=io.BytesIO(content),
                headers={**headers, "Content-Type": "text/csv"},
            ),
        )
    )
    await asyncio.sleep(0.3)  # the file is sent by now, and being read
    listed = await timed("get", client.get("/api/v1/meetings", headers=headers))

    assert (listed, await importing) == (200, 422)
    assert finished["get"] < finished["import"]
