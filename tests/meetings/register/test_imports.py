"""Import and export of the site register: CSV and XLSX, all-or-nothing, round trips."""

from __future__ import annotations

import csv
import io
import shutil
import unicodedata
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.accounts.models import Role
from meetings.core.app import create_app
from meetings.core.cli import main
from meetings.core.errors import FieldProblem, Invalid
from meetings.register import export, files, imports, sites
from meetings.register.models import SiteCreate
from tests.conftest import make_settings
from tests.factories import bearer, make_cluster, make_user

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SITE_HEADER = ["code", "name", "province", "cluster", "timezone", "address", "endpoint"]


def contact_header(groups: int) -> list[str]:
    fields = ("name", "title", "email", "phone", "role")
    return [f"contact{n}_{f}" for n in range(1, groups + 1) for f in fields]


HEADER = SITE_HEADER + contact_header(3)
NO_CONTACTS = [""] * 10

#: Line 2 onwards; the Kiên Giang union has three contacts.
GOOD_ROWS = [
    [
        "kien-giang",
        "Liên hiệp các tổ chức hữu nghị tỉnh Kiên Giang",
        "Kiên Giang",
        "CUM-5",
        "Asia/Ho_Chi_Minh",
        "Số 1 đường Trần Phú, Rạch Giá",
        "sip:kiengiang@vufo.vn",
        *["Nguyễn Văn An", "Chủ tịch", "an@kiengiang.vn", "0297 3861 234", "head"],
        *["Trần Thị Bình", "Thư ký", "binh@kiengiang.vn", "", "secretary"],
        *["Lê Văn Cường", "Kỹ thuật", "cuong@kiengiang.vn", "0912 345 678", "technical"],
    ],
    [
        "ha-noi",
        "Liên hiệp các tổ chức hữu nghị thành phố Hà Nội",
        "Hà Nội",
        "CUM-1",
        "",
        "",
        "",
        *["Phạm Thị Dung", "Phó Chủ tịch", "dung@hanoi.vn", "", ""],
        *[""] * 10,
    ],
    [
        "dak-lak",
        "Liên hiệp các tổ chức hữu nghị tỉnh Đắk Lắk",
        "Đắk Lắk",
        "",
        "",
        "",
        "",
        *[""] * 15,
    ],
]


def csv_bytes(rows: list[list[str]], *, header: list[str] = HEADER, delimiter: str = ",") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[list[Any]], *, header: list[str] = HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append([None if value == "" else value for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def make_clusters(session: AsyncSession) -> None:
    await make_cluster(session, code="CUM-1", name="Cụm 1")
    await make_cluster(session, code="CUM-5", name="Cụm 5")


async def run_import(
    session: AsyncSession, content: bytes, *, kind: files.FileKind = "csv", dry_run: bool = False
) -> imports.ImportReport:
    async with session.begin():
        return await imports.import_sites(session, content=content, kind=kind, dry_run=dry_run)


async def import_problems(
    session: AsyncSession, content: bytes, kind: files.FileKind = "csv"
) -> list[FieldProblem]:
    with pytest.raises(Invalid) as caught:
        await run_import(session, content, kind=kind)
    return caught.value.problems


async def register(session: AsyncSession) -> list[dict[str, Any]]:
    """The register as the API shows it, without ids, versions and times."""
    async with session.begin():
        everything = await sites.all_sites(session)
    return [
        s.model_dump(
            exclude={"id", "version", "cluster_id", "created_at", "updated_at"},
            mode="json",
        )
        | {"contacts": [c.model_dump(exclude={"id"}, mode="json") for c in s.contacts]}
        for s in everything
    ]


async def count(session: AsyncSession) -> int:
    async with session.begin():
        return await sites.count_sites(session)


# --- the domain, on SQLite and PostgreSQL ----------------------------------------------


async def test_a_good_file_creates_the_sites_with_their_contacts(store_session: AsyncSession):
    async with store_session.begin():
        await make_clusters(store_session)

    report = await run_import(store_session, csv_bytes(GOOD_ROWS))

    assert (report.total, report.created, report.updated, report.unchanged) == (3, 3, 0, 0)
    assert [(r.line, r.code, r.cluster_code, r.action) for r in report.rows] == [
        (2, "kien-giang", "CUM-5", "create"),
        (3, "ha-noi", "CUM-1", "create"),
        (4, "dak-lak", None, "create"),
    ]
    by_code = {s["code"]: s for s in await register(store_session)}
    kien_giang = by_code["kien-giang"]
    assert kien_giang["name"] == "Liên hiệp các tổ chức hữu nghị tỉnh Kiên Giang"
    assert kien_giang["cluster_code"] == "CUM-5"
    assert kien_giang["timezone"] == "Asia/Ho_Chi_Minh"
    assert kien_giang["endpoint"] == "sip:kiengiang@vufo.vn"
    assert [(c["name"], c["role"], c["phone"]) for c in kien_giang["contacts"]] == [
        ("Nguyễn Văn An", "head", "0297 3861 234"),
        ("Trần Thị Bình", "secretary", ""),
        ("Lê Văn Cường", "technical", "0912 345 678"),
    ]
    assert by_code["ha-noi"]["timezone"] is None
    assert by_code["ha-noi"]["contacts"][0]["role"] == "other"  # empty role: the default
    assert by_code["dak-lak"]["cluster_code"] is None
    assert by_code["dak-lak"]["contacts"] == []
    async with store_session.begin():
        found = await sites.list_sites(store_session, q="dak lak")
    assert [s.code for s in found.items] == ["dak-lak"]  # searchable without diacritics


async def test_every_bad_row_is_reported_and_nothing_is_written(store_session: AsyncSession):
    async with store_session.begin():
        await make_clusters(store_session)
        await sites.create_site(store_session, SiteCreate(code="hue", name="Thừa Thiên Huế"))
    rows = [
        ["a1", "Site A1", "", "CUM-1", "", "", "", *NO_CONTACTS, *NO_CONTACTS[:5]],
        ["a2", "Site A2", "", "CUM-9", "", "", "", *NO_CONTACTS, *NO_CONTACTS[:5]],  # line 3
        ["a3", "", "", "", "Mars/Olympus", "", "", *NO_CONTACTS, *NO_CONTACTS[:5]],  # line 4
        ["a3", "Again A3", "", "", "", "", "", *NO_CONTACTS, *NO_CONTACTS[:5]],  # line 5
        ["bad code!", "Site", "", "", "", "", "", *NO_CONTACTS, *NO_CONTACTS[:5]],  # line 6
        [
            *["a7", "Site A7", "", "", "", "", ""],
            *["Ngô Văn Em", "", "em(at)example.org", "", ""],  # line 7: bad address
            *["", "Kỹ thuật", "", "", "boss"],  # partly filled: name and e-mail required
            *[""] * 5,
        ],
    ]

    problems = await import_problems(store_session, csv_bytes(rows))

    found = {(p.line, p.field) for p in problems}
    assert found == {
        (3, "cluster"),
        (4, "name"),
        (4, "timezone"),
        (5, "code"),
        (6, "code"),
        (7, "contact1_email"),
        (7, "contact2_name"),
        (7, "contact2_email"),
        (7, "contact2_role"),
    }
    message = {(p.line, p.field): p.message for p in problems}
    assert "CUM-9" in message[(3, "cluster")]
    # a duplicate is found even though its first line (4) has problems of its own
    assert "line 4" in message[(5, "code")] and "'a3'" in message[(5, "code")]
    assert "Mars/Olympus" in message[(4, "timezone")]
    assert "email" in message[(7, "contact1_email")]
    assert await count(store_session) == 1


async def test_dry_run_reports_create_update_unchanged_and_writes_nothing(
    store_session: AsyncSession,
):
    async with store_session.begin():
        await make_clusters(store_session)
    await run_import(store_session, csv_bytes(GOOD_ROWS))
    before = await register(store_session)
    changed = [list(row) for row in GOOD_ROWS]
    changed[1][1] = "Liên hiệp các tổ chức hữu nghị Thủ đô Hà Nội"
    changed.append(["can-tho", "Cần Thơ", "Cần Thơ", "", "", "", "", *[""] * 15])

    report = await run_import(store_session, csv_bytes(changed), dry_run=True)

    assert report.dry_run
    assert [(r.code, r.action) for r in report.rows] == [
        ("kien-giang", "unchanged"),
        ("ha-noi", "update"),
        ("dak-lak", "unchanged"),
        ("can-tho", "create"),
    ]
    assert report.rows[1].changed == ["name"]
    assert (report.created, report.updated, report.unchanged) == (1, 1, 2)
    assert await register(store_session) == before


async def test_update_replaces_fields_and_contacts_and_bumps_the_version(
    store_session: AsyncSession,
):
    async with store_session.begin():
        await make_clusters(store_session)
    await run_import(store_session, csv_bytes(GOOD_ROWS))
    rows = [list(row) for row in GOOD_ROWS]
    rows[0][3] = "CUM-1"
    rows[0][7:22] = [
        *["Lê Văn Cường", "Kỹ thuật", "cuong@kiengiang.vn", "0912 345 678", "technical"],
        *["Nguyễn Văn An", "Chủ tịch", "an@kiengiang.vn", "", "head"],
        *[""] * 5,
    ]

    report = await run_import(store_session, csv_bytes(rows))

    assert [(r.code, r.action, r.changed) for r in report.rows] == [
        ("kien-giang", "update", ["cluster", "contacts"]),
        ("ha-noi", "unchanged", []),
        ("dak-lak", "unchanged", []),
    ]
    async with store_session.begin():
        everything = {s.code: s for s in await sites.all_sites(store_session)}
    kien_giang = everything["kien-giang"]
    assert kien_giang.version == 2
    assert everything["ha-noi"].version == 1
    assert kien_giang.cluster_code == "CUM-1"
    assert [(c.name, c.phone) for c in kien_giang.contacts] == [
        ("Lê Văn Cường", "0912 345 678"),
        ("Nguyễn Văn An", ""),
    ]


async def test_columns_the_file_lacks_are_left_as_they_are(store_session: AsyncSession):
    async with store_session.begin():
        await make_clusters(store_session)
    await run_import(store_session, csv_bytes(GOOD_ROWS))

    report = await run_import(
        store_session,
        csv_bytes([["kien-giang", "LHHN Kiên Giang"]], header=["code", "name"]),
    )

    assert report.rows[0].changed == ["name"]
    async with store_session.begin():
        site = {s.code: s for s in await sites.all_sites(store_session)}["kien-giang"]
    assert site.name == "LHHN Kiên Giang"
    assert site.cluster_code == "CUM-5"
    assert site.endpoint == "sip:kiengiang@vufo.vn"
    assert len(site.contacts) == 3


async def test_export_then_import_is_all_unchanged(store_session: AsyncSession):
    async with store_session.begin():
        await make_clusters(store_session)
    await run_import(store_session, csv_bytes(GOOD_ROWS))
    async with store_session.begin():
        exported = await export.export_sites_csv(store_session)

    report = await run_import(store_session, exported)

    assert (report.total, report.unchanged) == (3, 3)
    assert exported.startswith(b"\xef\xbb\xbf")
    lines = exported.decode("utf-8-sig").splitlines()
    # The site columns, the language, then three groups: the most contacts any site has.
    assert lines[0].split(",") == [*SITE_HEADER, "locale", *contact_header(3)]
    assert len(lines) == 4


async def test_decomposed_vietnamese_is_stored_composed(store_session: AsyncSession):
    name = "Liên hiệp các tổ chức hữu nghị tỉnh Đắk Lắk"
    decomposed = unicodedata.normalize("NFD", name)
    assert decomposed != name
    nfd = [unicodedata.normalize("NFD", text) for text in (name, "Đắk Lắk", "Nguyễn Văn Ánh")]
    content = csv_bytes(
        [["dak-lak", *nfd, "anh@daklak.vn"]],
        header=["code", "name", "province", "contact1_name", "contact1_email"],
    )

    await run_import(store_session, content)

    [site] = await register(store_session)
    assert site["name"] == name
    assert site["province"] == "Đắk Lắk"
    assert site["contacts"][0]["name"] == "Nguyễn Văn Ánh"
    assert unicodedata.is_normalized("NFC", site["contacts"][0]["name"])


async def test_semicolon_csv_with_excel_bom_and_vietnamese_headers(store_session: AsyncSession):
    async with store_session.begin():
        await make_clusters(store_session)
    header = [" Mã ", "TÊN", "Tỉnh/thành", "Cụm", "Múi giờ", "Địa chỉ", "Điểm kết nối"]
    header += ["Contact1_Name", "contact1_email"]
    content = b"\xef\xbb\xbf" + csv_bytes(
        [
            [
                "hai-phong",
                "LHHN Hải Phòng",
                "Hải Phòng",
                "CUM-1",
                "",
                "Số 2; Lạch Tray",
                "",
                "Hà",
                "ha@hp.vn",
            ]
        ],
        header=header,
        delimiter=";",
    )

    report = await run_import(store_session, content)

    assert report.created == 1
    [site] = await register(store_session)
    assert (site["code"], site["province"], site["cluster_code"]) == (
        "hai-phong",
        "Hải Phòng",
        "CUM-1",
    )
    assert site["address"] == "Số 2; Lạch Tray"
    assert site["contacts"][0]["email"] == "ha@hp.vn"


async def test_text_that_is_not_utf8_names_the_line_and_writes_nothing(
    store_session: AsyncSession,
):
    # What "Save as CSV" gives on a Vietnamese Windows: code page 1258, not UTF-8.
    content = "code,name\r\nhn,Ha Noi\r\nca-mau,Cà Mau\r\n".encode("cp1258")

    problems = await import_problems(store_session, content)

    assert [(p.field, p.line) for p in problems] == [("file", 3)]
    assert "CSV UTF-8" in problems[0].message
    assert await count(store_session) == 0


async def test_header_problems_are_on_line_1(store_session: AsyncSession):
    problems = await import_problems(
        store_session, csv_bytes([["hn", "Hà Nội"]], header=["Mã", "phone number"])
    )

    assert {(p.line, p.field) for p in problems} == {(1, "phone number"), (1, "name")}
    assert "phone number" in problems[0].message


async def test_xlsx_imports_the_same_as_csv(store_session: AsyncSession):
    async with store_session.begin():
        await make_clusters(store_session)
    await run_import(store_session, csv_bytes(GOOD_ROWS))
    from_csv = await register(store_session)
    async with store_session.begin():
        for site in await sites.all_sites(store_session):
            await sites.delete_site(store_session, site.id)
    rows: list[list[Any]] = [list(row) for row in GOOD_ROWS]
    rows.insert(1, [None] * len(HEADER))  # an empty row is skipped, but still counted

    report = await run_import(store_session, xlsx_bytes(rows), kind="xlsx")

    assert [(r.line, r.action) for r in report.rows] == [
        (2, "create"),
        (4, "create"),
        (5, "create"),
    ]
    assert await register(store_session) == from_csv


async def test_xlsx_numbers_become_text_and_errors_name_the_spreadsheet_row(
    store_session: AsyncSession,
):
    header = ["code", "name", "contact1_name", "contact1_email"]
    rows: list[list[Any]] = [
        [12.0, "Site 12", "Người 12", "p12@example.org"],
        [13, "Site 13", "", "not an address"],
    ]

    problems = await import_problems(store_session, xlsx_bytes(rows, header=header), "xlsx")

    assert {(p.line, p.field) for p in problems} == {(3, "contact1_name"), (3, "contact1_email")}

    rows[1][2:] = ["Người 13", "p13@example.org"]
    await run_import(store_session, xlsx_bytes(rows, header=header), kind="xlsx")
    assert [s["code"] for s in await register(store_session)] == ["12", "13"]


async def test_bytes_that_are_not_a_workbook_are_refused(store_session: AsyncSession):
    problems = await import_problems(store_session, csv_bytes(GOOD_ROWS), kind="xlsx")
    assert [p.field for p in problems] == ["file"]
    assert "not an Excel workbook" in problems[0].message

    problems = await import_problems(store_session, b"PK\x03\x04 broken", kind="xlsx")
    assert [p.field for p in problems] == ["file"]


def test_the_kind_of_file_comes_from_its_name():
    assert files.kind_from_name("Danh sách.CSV") == "csv"
    assert files.kind_from_name("sites.xlsx") == "xlsx"
    with pytest.raises(Invalid) as caught:
        files.kind_from_name("sites.xls")
    assert caught.value.problems[0].field == "file"
    assert ".xlsx" in caught.value.problems[0].message


async def test_five_thousand_sites_in_one_go(store_session: AsyncSession):
    async with store_session.begin():
        await make_clusters(store_session)
    rows = [
        [
            f"s{n}",
            f"Điểm cầu {n}",
            f"Tỉnh {n % 63}",
            "CUM-1",
            "",
            "",
            "",
            f"Người {n}",
            f"p{n}@vufo.vn",
        ]
        for n in range(5000)
    ]
    header = [*SITE_HEADER, "contact1_name", "contact1_email"]

    created = await run_import(store_session, csv_bytes(rows, header=header))
    again = await run_import(store_session, csv_bytes(rows, header=header))

    assert (created.created, again.unchanged) == (5000, 5000)
    assert await count(store_session) == 5000


# --- the HTTP API ----------------------------------------------------------------------


async def organiser(session_factory: Any) -> dict[str, str]:
    async with session_factory() as session, session.begin():
        await make_user(session, username="org", role=Role.organiser)
        await make_clusters(session)
        return await bearer(session, "org")


async def api_register(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/sites", params={"limit": "1000"}, headers=headers)
    assert response.status == 200
    return [
        {k: v for k, v in s.items() if k not in {"id", "cluster_id", "created_at", "updated_at"}}
        | {"contacts": [{k: v for k, v in c.items() if k != "id"} for c in s["contacts"]]}
        for s in (await response.json())["items"]
    ]


async def test_api_imports_a_csv_and_lists_the_sites(client: TestClient, session_factory: Any):
    headers = await organiser(session_factory)

    response = await client.post(
        "/api/v1/sites/import",
        data=csv_bytes(GOOD_ROWS),
        headers={**headers, "Content-Type": "text/csv"},
    )

    assert response.status == 200, await response.text()
    report = await response.json()
    assert (report["dry_run"], report["created"]) == (False, 3)
    listed = {s["code"]: s for s in await api_register(client, headers)}
    assert listed["kien-giang"]["cluster_code"] == "CUM-5"
    assert [c["email"] for c in listed["kien-giang"]["contacts"]] == [
        "an@kiengiang.vn",
        "binh@kiengiang.vn",
        "cuong@kiengiang.vn",
    ]


async def test_api_bad_email_on_line_7_is_422_and_writes_nothing(
    client: TestClient, session_factory: Any
):
    headers = await organiser(session_factory)
    rows = [
        [f"site-{n}", f"Điểm cầu {n}", "", "", "", "", "", f"Người {n}", f"p{n}@vufo.vn"]
        for n in range(2, 10)
    ]
    rows[5][8] = "p7@@vufo"  # the sixth data row is line 7
    content = csv_bytes(rows, header=[*SITE_HEADER, "contact1_name", "contact1_email"])

    response = await client.post(
        "/api/v1/sites/import", data=content, headers={**headers, "Content-Type": "text/csv"}
    )

    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "validation_error"
    assert [(d["line"], d["field"]) for d in error["details"]] == [(7, "contact1_email")]
    assert await api_register(client, headers) == []


async def test_api_wrong_encoding_is_422_naming_the_file_and_line(
    client: TestClient, session_factory: Any
):
    headers = await organiser(session_factory)
    content = "code,name\nha-nam,Hà Nam\n".encode("latin-1")

    response = await client.post(
        "/api/v1/sites/import", data=content, headers={**headers, "Content-Type": "text/csv"}
    )

    assert response.status == 422
    [detail] = (await response.json())["error"]["details"]
    assert (detail["field"], detail["line"]) == ("file", 2)
    assert await api_register(client, headers) == []


async def test_api_dry_run_and_multipart_upload(client: TestClient, session_factory: Any):
    headers = await organiser(session_factory)
    form = FormData()
    form.add_field("file", xlsx_bytes(GOOD_ROWS), filename="Điểm cầu.xlsx", content_type=XLSX_TYPE)

    dry = await client.post("/api/v1/sites/import?dry_run=1", data=form, headers=headers)

    assert dry.status == 200, await dry.text()
    assert [r["action"] for r in (await dry.json())["rows"]] == ["create"] * 3
    assert await api_register(client, headers) == []

    real = await client.post(
        "/api/v1/sites/import",
        data=xlsx_bytes(GOOD_ROWS),
        headers={**headers, "Content-Type": XLSX_TYPE},
    )
    assert real.status == 200
    assert len(await api_register(client, headers)) == 3


async def test_api_refuses_other_media_types_and_other_roles(
    client: TestClient, session_factory: Any
):
    headers = await organiser(session_factory)
    wrong = await client.post("/api/v1/sites/import", json={"code": "x"}, headers=headers)
    assert wrong.status == 415
    assert "text/csv" in (await wrong.json())["error"]["message"]

    async with session_factory() as session, session.begin():
        await make_user(session, username="sec", role=Role.secretary)
        secretary = await bearer(session, "sec")
    refused = await client.post(
        "/api/v1/sites/import",
        data=csv_bytes(GOOD_ROWS),
        headers={**secretary, "Content-Type": "text/csv"},
    )
    assert refused.status == 403
    exported = await client.get("/api/v1/sites/export.csv", headers=secretary)
    assert exported.status == 200  # every role may read the register


async def test_api_export_from_one_database_recreates_it_in_another(
    client: TestClient,
    session_factory: Any,
    sqlite_template: Path,
    tmp_path: Path,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
):
    headers = await organiser(session_factory)
    await client.post(
        "/api/v1/sites/import",
        data=csv_bytes(GOOD_ROWS),
        headers={**headers, "Content-Type": "text/csv"},
    )
    exported = await client.get("/api/v1/sites/export.csv", headers=headers)
    assert exported.status == 200
    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert exported.headers["Content-Disposition"] == 'attachment; filename="sites.csv"'
    content = await exported.read()

    again = await client.post(
        "/api/v1/sites/import", data=content, headers={**headers, "Content-Type": "text/csv"}
    )
    assert (await again.json())["unchanged"] == 3

    other_dir = tmp_path / "b"
    other_dir.mkdir()
    shutil.copy(sqlite_template, other_dir / "b.sqlite3")
    other_settings = make_settings(other_dir, f"sqlite+aiosqlite:///{other_dir / 'b.sqlite3'}")
    other = await aiohttp_client(create_app(other_settings))
    from meetings.core.store import create_engine, session_maker

    engine = create_engine(other_settings.database)
    try:
        other_headers = await organiser(session_maker(engine))
    finally:
        await engine.dispose()
    imported = await other.post(
        "/api/v1/sites/import", data=content, headers={**other_headers, "Content-Type": "text/csv"}
    )
    assert imported.status == 200
    assert (await imported.json())["created"] == 3

    assert await api_register(other, other_headers) == await api_register(client, headers)


# --- the command line ------------------------------------------------------------------


def test_cli_imports_checks_and_exports(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    rows = [row[:3] + ["", *row[4:]] for row in GOOD_ROWS]  # no clusters in this database
    good = tmp_path / "sites.csv"
    good.write_bytes(csv_bytes(rows))

    assert main(["--config", str(config_file), "sites", "import", str(good), "--dry-run"]) == 0
    assert "would import 3 sites: 3 new, 0 changed, 0 unchanged" in capsys.readouterr().out

    assert main(["--config", str(config_file), "sites", "import", str(good)]) == 0
    assert "imported 3 sites: 3 new, 0 changed, 0 unchanged" in capsys.readouterr().out

    exported = tmp_path / "export.csv"
    assert main(["--config", str(config_file), "sites", "export", str(exported)]) == 0
    assert main(["--config", str(config_file), "sites", "import", str(exported)]) == 0
    assert "3 unchanged" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([rows[0], ["hue", "", "", "", "", "", "", *[""] * 15]]))
    assert main(["--config", str(config_file), "sites", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "line 3, name" in err
