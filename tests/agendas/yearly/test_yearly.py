"""The year at a glance (issue #16, point 5): the numbers of a small year known by hand,
equal in the JSON, the page's tables, the charts' text, the workbook and the PDF. Run on
SQLite and PostgreSQL, through the real app."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from meetings.core.settings import Settings
from tests.agendas.yearly.year_world import A1, B2, NORTH, SOUTH, TOTALS, make_year
from tests.conftest import make_settings
from tests.factories import login


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
async def year(client: TestClient, session_factory: Any) -> dict[str, Any]:
    return await make_year(session_factory)


async def _json(client: TestClient, year: dict[str, Any], **query: Any) -> dict[str, Any]:
    answer = await client.get(
        "/api/v1/yearly", params={"year": 2025, **query}, headers=year["headers"]
    )
    assert answer.status == 200, await answer.text()
    return dict(await answer.json())


async def test_the_json_has_the_rates_worked_out_by_hand(client: TestClient, year: dict[str, Any]):
    data = await _json(client, year)
    assert data["totals"]["rates"] == TOTALS
    assert (data["totals"]["invited"], data["totals"]["attended"]) == (7, 4)
    assert (data["totals"]["actions_due"], data["totals"]["actions_on_time"]) == (4, 2)
    clusters = {c["name"]: c["figures"]["rates"] for c in data["clusters"]}
    assert clusters["Cụm Bắc"] == NORTH and clusters["Cụm Nam"] == SOUTH
    sites = {s["code"]: s["figures"]["rates"] for s in data["sites"]}
    assert sorted(sites) == ["A1", "A2", "B1", "B2"]
    assert sites["A1"] == A1 and sites["B2"] == B2
    sessions = [(s["title"], s["figures"]["rates"]["attended"]) for s in data["sessions"]]
    assert sessions == [("Giao ban quý I", 50.0), ("Giao ban quý II", 66.7)]
    by_cluster = {c["cluster_id"]: c["rate"] for c in data["sessions"][1]["clusters"]}
    assert by_cluster[year["north"]] == 100.0 and by_cluster[year["south"]] == 0.0
    # One series, or another without sessions.
    assert (await _json(client, year, series=year["series"]))["totals"]["rates"] == TOTALS
    empty = await _json(client, year, series=year["other"])
    assert empty["sessions"] == [] and empty["totals"]["rates"]["attended"] is None


async def test_the_workbook_has_the_same_numbers_as_the_json(
    client: TestClient, year: dict[str, Any]
):
    data = await _json(client, year)
    answer = await client.get("/api/v1/yearly.xlsx", params={"year": 2025}, headers=year["headers"])
    assert answer.status == 200
    book = load_workbook(io.BytesIO(await answer.read()), read_only=True)
    assert book.sheetnames == ["Tổng hợp", "Cụm", "Phiên họp", "Điểm cầu"]

    def rates(row: tuple[Any, ...], first: int) -> list[Any]:
        """After the name columns: count, whole, rate for each of the five measures (a
        read-only sheet drops the empty cells that end a row)."""
        cells = list(row[first:]) + [None] * (15 - len(row[first:]))
        return cells[2::3]

    clusters = list(book["Cụm"].iter_rows(min_row=2, values_only=True))
    expected = [list(c["figures"]["rates"].values()) for c in data["clusters"]]
    assert [rates(row, 1) for row in clusters[:-1]] == expected
    assert clusters[-1][0] == "Tổng cộng" and rates(clusters[-1], 1) == list(TOTALS.values())
    sites = list(book["Điểm cầu"].iter_rows(min_row=2, values_only=True))
    assert [row[1] for row in sites] == [s["code"] for s in data["sites"]]
    assert [rates(row, 3) for row in sites] == [
        list(s["figures"]["rates"].values()) for s in data["sites"]
    ]
    sessions = list(book["Phiên họp"].iter_rows(min_row=2, values_only=True))
    assert [row[:2] for row in sessions] == [
        ("10/03/2025", "Giao ban quý I"),
        ("10/06/2025", "Giao ban quý II"),
    ]


async def test_the_page_shows_the_charts_with_their_numbers_as_text(
    client: TestClient, year: dict[str, Any]
):
    await login(client, "sec")
    page = await client.get("/yearly", params={"year": 2025})
    html = await page.text()
    assert page.status == 200, html
    # Each chart is in the page as an SVG image, and as a file of its own.
    assert html.count('<img src="data:image/svg+xml;base64,') == 3
    for chart in ("clusters", "sessions", "measures"):
        assert f'data-testid="chart-{chart}"' in html
        svg = await client.get("/yearly/chart.svg", params={"chart": chart, "year": 2025})
        body = await svg.text()
        assert svg.status == 200 and svg.content_type == "image/svg+xml"
        assert "<svg" in body and "<script" not in body
        assert "sandbox" in svg.headers["Content-Security-Policy"]
    measures = await client.get("/yearly/chart.svg", params={"chart": "measures", "year": 2025})
    assert "Cụm Bắc" in await measures.text()
    # The text beside the charts: the same rates as the JSON.
    assert "57.1 %" in html and "71.4 %" in html and "66.7 %" in html
    assert 'data-testid="site-A1"' in html and "Cụm Nam" in html
    assert (await client.get("/yearly/chart.svg", params={"chart": "pie"})).status == 404
    # The sites sorted by attendance, lowest first: the southern ones (0 %) before A1.
    low_first = await (
        await client.get("/yearly", params={"year": 2025, "sort": "attended", "desc": "0"})
    ).text()
    assert low_first.index('data-testid="site-B1"') < low_first.index('data-testid="site-A1"')
    high_first = await (
        await client.get("/yearly", params={"year": 2025, "sort": "attended", "desc": "1"})
    ).text()
    assert high_first.index('data-testid="site-A1"') < high_first.index('data-testid="site-B1"')


async def test_the_pdf_opens_and_names_the_clusters(client: TestClient, year: dict[str, Any]):
    answer = await client.get(
        "/api/v1/yearly.pdf", params={"year": 2025, "lang": "en"}, headers=year["headers"]
    )
    assert answer.status == 200 and answer.content_type == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"],
        input=await answer.read(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "The year at a glance 2025" in text
    assert "Cụm Bắc" in text and "Cụm Nam" in text and "57.1 %" in text
    # Below 50 % attendance: the southern sites, not the northern ones.
    low = text.split("Sites with an attendance below 50 %")[1]
    assert "B1" in low and "B2" in low and "A1" not in low


async def test_only_the_office_sees_the_year(client: TestClient, year: dict[str, Any]):
    await login(client, "leader")
    assert (await client.get("/yearly")).status == 403
    assert (await client.get("/api/v1/yearly")).status == 403
    assert (await client.get("/api/v1/yearly.xlsx")).status == 403
