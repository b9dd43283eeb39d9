"""The year at a glance: the page with its charts and tables, and the charts as SVG."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from aiohttp import web

from agendas.yearly import charts, stats
from agendas.yearly.labels import COUNT_LABELS, MEASURE_LABELS
from agendas.yearly.stats import SiteRow, YearlyReport
from meetings.accounts.models import Role
from meetings.core.access import allow
from meetings.core.headers import as_document
from meetings.core.keys import settings_key, translations_key
from meetings.core.pages import render
from meetings.core.store import utcnow
from meetings.core.web import db, int_query, url

#: The office's roles (an administrator is always admitted).
OFFICE = (Role.organiser, Role.chair, Role.secretary)
#: Sites per page of the page's table (the workbook has them all).
PAGE_SIZE = 100
SORTS = ("code", "name", *MEASURE_LABELS)


@dataclass(frozen=True)
class Filters:
    year: int
    series_id: int | None

    def query(self) -> dict[str, str | int]:
        chosen: dict[str, str | int] = {"year": self.year}
        return chosen | ({"series": self.series_id} if self.series_id else {})


def filters(request: web.Request) -> Filters:
    """`?year=` (default: this year in the office's zone) and `?series=` (default: all)."""
    zone = request.app[settings_key].organisation.timezone
    year = int_query(request, "year", stats.current_year(utcnow(), zone), 2000, 2100)
    series = int_query(request, "series", 0, 0, 2**31 - 1)
    return Filters(year, series or None)


async def load(request: web.Request) -> tuple[Filters, YearlyReport]:
    chosen = filters(request)
    async with db(request) as session:
        report = await stats.yearly_report(
            session,
            year=chosen.year,
            zone=request.app[settings_key].organisation.timezone,
            now=utcnow(),
            series_id=chosen.series_id,
        )
    return chosen, report


def sorted_sites(rows: Iterable[SiteRow], key: str, *, descending: bool = False) -> list[SiteRow]:
    """The per-site table sorted by a column: `code`, `name` or a measure's rate (sites
    without one last)."""
    if key in ("code", "name"):
        return sorted(rows, key=lambda r: str(getattr(r, key)), reverse=descending)
    rated = [(r.figures.rates().get(key), r) for r in rows]
    present = sorted(
        ((value, r) for value, r in rated if value is not None),
        key=lambda pair: pair[0],
        reverse=descending,
    )
    return [r for _v, r in present] + [r for value, r in rated if value is None]


@allow(*OFFICE)
async def yearly_page(request: web.Request) -> web.Response:
    chosen, report = await load(request)
    async with db(request) as session:
        series = await stats.series_choices(session)
    sort = request.query.get("sort", "code")
    sort = sort if sort in SORTS else "code"
    descending = request.query.get("desc") == "1"
    pages = max(1, -(-len(report.sites) // PAGE_SIZE))
    page = int_query(request, "page", 1, 1, pages)
    ordered = sorted_sites(report.sites, sort, descending=descending)
    return render(
        request,
        "yearly/yearly.html",
        {
            "nav": "yearly",
            "filters": chosen,
            "report": report,
            "series": series,
            "images": await asyncio.to_thread(
                charts.data_uris, report, request[translations_key].gettext
            ),
            "measures": MEASURE_LABELS,
            "count_labels": COUNT_LABELS,
            "sites": ordered[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
            "sort": sort,
            "descending": descending,
            "page": page,
            "pages": pages,
            "session_label": partial(charts.session_label, report),
            "wholes": dict(stats.MEASURES),
            "link": partial(_link, request, chosen),
            "chart_url": partial(_chart_url, request, chosen),
        },
    )


def _link(request: web.Request, chosen: Filters, **extra: str | int) -> str:
    """The page again with the same filters and another order or page."""
    return url(request, "yearly", query=chosen.query() | extra)


def _chart_url(request: web.Request, chosen: Filters, name: str) -> str:
    return url(request, "yearly_chart", query={"chart": name} | chosen.query())


@allow(*OFFICE)
async def yearly_chart(request: web.Request) -> web.Response:
    """One chart (`?chart=`, with the filters) as an SVG image, shown with <img>; its
    numbers are in the page's tables."""
    name = request.query.get("chart", "")
    if name not in charts.CHARTS:
        raise web.HTTPNotFound(text=f"no chart {name[:40]}")
    _chosen, report = await load(request)
    gettext = request[translations_key].gettext
    body = await asyncio.to_thread(charts.to_svg, report, name, gettext)
    response = web.Response(
        body=body, content_type="image/svg+xml", headers={"Cache-Control": "no-store"}
    )
    return as_document(response)
