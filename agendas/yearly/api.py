"""The year at a glance over the JSON API, and the yearly summary report as files."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

from aiohttp import web

from agendas.yearly import files
from agendas.yearly.models import yearly_public
from agendas.yearly.views import OFFICE, load
from meetings.core.access import allow
from meetings.core.keys import locale_key, settings_key
from meetings.core.web import download, model_response

#: A file of the report: `files.to_xlsx` or `files.to_pdf`.
Builder = Callable[..., bytes]


@allow(*OFFICE)
async def get_yearly(request: web.Request) -> web.Response:
    _chosen, report = await load(request)
    return model_response(yearly_public(report))


def _name(request: web.Request, year: int, series_id: int | None, ext: str) -> str:
    series = f"-series{series_id}" if series_id else ""
    return f"tong-hop-nam-{year}{series}-{request[locale_key]}.{ext}"


async def _file(request: web.Request, build: Builder, media_type: str, ext: str) -> web.Response:
    """The report built in a worker thread (a workbook of every site, a PDF layout)."""
    chosen, report = await load(request)
    organisation = request.app[settings_key].organisation.name
    body = await asyncio.to_thread(
        partial(build, report, organisation=organisation, locale=request[locale_key])
    )
    return download(body, media_type, _name(request, chosen.year, chosen.series_id, ext))


@allow(*OFFICE)
async def yearly_xlsx(request: web.Request) -> web.Response:
    return await _file(request, files.to_xlsx, files.XLSX_MEDIA_TYPE, "xlsx")


@allow(*OFFICE)
async def yearly_pdf(request: web.Request) -> web.Response:
    return await _file(request, files.to_pdf, files.PDF_MEDIA_TYPE, "pdf")
