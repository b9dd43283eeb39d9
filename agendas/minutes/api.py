"""JSON API of the record and the minutes (thin: parse, call the domain, answer)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from sqlmodel import SQLModel

from agendas.minutes import approval, changes, minutes
from agendas.record.api import APPROVERS, author
from meetings.core.access import ANY_ROLE, allow
from meetings.core.errors import FieldProblem, Invalid
from meetings.core.headers import as_document
from meetings.core.keys import settings_key
from meetings.core.labels import N_
from meetings.core.web import db, int_query, items_response, model_response, path_id

#: Who approves the minutes.


FORMATS = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


class MinutesState(SQLModel):
    version: int
    status: str
    approved_by: str = ""
    #: A draft after an approved version: the parts of the record changed since.
    changes: list[str] = []


@allow(*ANY_ROLE)
async def build_minutes(request: web.Request) -> web.Response:
    """(Re)build the draft: which version the minutes are at, and whether it awaits
    approval (a draft) or is the approved one (the record unchanged since)."""
    async with db(request) as session:
        now = await approval.current(
            session, path_id(request), request.app[settings_key].organisation
        )
    data = now.data
    return model_response(
        MinutesState(
            version=data.version,
            status=data.status,
            approved_by=data.approved_by,
            changes=changes.sections(now.changes),
        )
    )


@allow(*APPROVERS)
async def approve_minutes(request: web.Request) -> web.Response:
    async with db(request) as session:
        row = await approval.approve(
            session,
            path_id(request),
            request.app[settings_key].organisation,
            approver=author(request),
        )
        out = MinutesState(version=row.number, status=row.status, approved_by=row.approved_by)
    return model_response(out, status=201)


async def minutes_file(
    request: web.Request, meeting_id: int, fmt: str, *, version: int | None, locale: str
) -> web.Response:
    """One rendering of an approved version, or (version None) of the minutes as they
    stand: the draft awaiting approval, else the latest approved version."""
    # The formats load on first use (WeasyPrint and python-docx within them on theirs).
    from agendas.minutes.docx import to_docx
    from agendas.minutes.html import to_html
    from agendas.minutes.markdown import to_markdown
    from agendas.minutes.pdf import to_pdf

    settings = request.app[settings_key]
    async with db(request) as session:
        if version:
            data = minutes.data_of(await minutes.approved(session, meeting_id, version))
        else:
            data = (await approval.current(session, meeting_id, settings.organisation)).data
    renderings: dict[str, Callable[..., str | bytes]] = {
        "html": to_html,
        "md": to_markdown,
        "docx": to_docx,
        "pdf": to_pdf,
    }
    render = renderings[fmt]
    # An approved version never changes: render it once and keep the file (a national
    # session's PDF takes most of a minute); the draft is rendered at every request.
    kept = settings.server.var_dir / "minutes" / f"{meeting_id}-v{data.version}-{locale}.{fmt}"
    body: str | bytes
    if data.status == "approved" and kept.is_file():
        body = await asyncio.to_thread(kept.read_bytes)
    else:
        body = await asyncio.to_thread(render, data, locale=locale)
        if data.status == "approved":
            await asyncio.to_thread(_keep, kept, body)
    state = "du-thao" if data.status == "draft" else "da-duyet"
    filename = f"bien-ban-{meeting_id}-v{data.version}-{state}.{fmt}"
    disposition = "inline" if fmt == "html" else "attachment"
    response = web.Response(
        body=body.encode() if isinstance(body, str) else body,
        headers={
            "Content-Type": FORMATS[fmt],
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
    # Shown in the browser with its own style sheet (it is also the PDF's source).
    return as_document(response) if fmt == "html" else response


def _keep(path: Path, body: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(body.encode() if isinstance(body, str) else body)
    partial.replace(path)  # a reader never sees half a file


@allow(*ANY_ROLE)
async def download_minutes(request: web.Request) -> web.Response:
    fmt = request.match_info["fmt"]
    settings = request.app[settings_key]
    lang = request.query.get("lang", settings.organisation.locale)
    if lang not in ("vi", "en"):
        raise Invalid("bad language", [FieldProblem("lang", N_("vi or en"))])
    version = int_query(request, "version", 0, 0, 10_000) or None
    return await minutes_file(request, path_id(request), fmt, version=version, locale=lang)


@allow(*ANY_ROLE)
async def list_minutes_versions(request: web.Request) -> web.Response:
    async with db(request) as session:
        await minutes.get_meeting_row(session, path_id(request))
        items = await minutes.versions(session, path_id(request))
    return items_response(items, len(items))
