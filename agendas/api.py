"""JSON API of the record and the minutes (thin: parse, call the domain, answer)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web
from sqlmodel import SQLModel

from agendas import minutes, record
from agendas.models import FocusStatus
from agendas.record_models import (
    ActionItemIn,
    ContributionIn,
    NotesIn,
    RecommendationStatus,
    RecommendationUpdate,
)
from meetings.access import ANY_ROLE, ORGANISERS, allow, current_user
from meetings.errors import FieldProblem, Invalid
from meetings.keys import settings_key
from meetings.models import Line, Role
from meetings.web import db, int_query, items_response, json_body, model_response, path_id

#: Who keeps the record: the secretary, with the organisers (and admins).
RECORD_KEEPERS = (*ORGANISERS, Role.secretary)
#: Who approves the minutes.
APPROVERS = (Role.chair,)
FORMATS = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def author(request: web.Request) -> str:
    user = current_user(request)
    return (user.full_name or user.username) if user else ""


@allow(*ANY_ROLE)
async def get_notes(request: web.Request) -> web.Response:
    async with db(request) as session:
        found = await record.notes(session, path_id(request))
    return web.json_response({k: v.model_dump(mode="json") for k, v in found.items()})


@allow(*RECORD_KEEPERS)
async def put_notes(request: web.Request) -> web.Response:
    data = await json_body(request, NotesIn)
    async with db(request) as session:
        saved = await record.save_notes(session, path_id(request), data, author=author(request))
    return web.json_response({k: v.model_dump(mode="json") for k, v in saved.items()})


class FocusOutcomeIn(SQLModel):
    status: FocusStatus
    summary: Line = ""


@allow(*RECORD_KEEPERS)
async def put_focus_outcome(request: web.Request) -> web.Response:
    data = await json_body(request, FocusOutcomeIn)
    async with db(request) as session:
        item = await record.set_focus_outcome(
            session, path_id(request), path_id(request, "focus_id"), data.status, data.summary
        )
        out = FocusOutcomeIn(status=item.status, summary=item.summary)
    return model_response(out)


@allow(*ANY_ROLE)
async def list_contributions(request: web.Request) -> web.Response:
    async with db(request) as session:
        await minutes.get_meeting_row(session, path_id(request))
        items = await record.contributions(session, path_id(request))
    return items_response(items, len(items))


@allow(*RECORD_KEEPERS)
async def create_contribution(request: web.Request) -> web.Response:
    data = await json_body(request, ContributionIn)
    async with db(request) as session:
        item = await record.add_contribution(
            session, path_id(request), data, source="secretary", author=author(request)
        )
    return model_response(item, status=201)


@allow(*RECORD_KEEPERS)
async def delete_contribution(request: web.Request) -> web.Response:
    async with db(request) as session:
        await record.delete_contribution(
            session, path_id(request), path_id(request, "contribution_id")
        )
    return web.Response(status=204)


@allow(*ANY_ROLE)
async def list_recommendations(request: web.Request) -> web.Response:
    raw = request.query.get("status") or None
    if raw is not None and raw not in RecommendationStatus.__members__:
        raise Invalid("bad status", [FieldProblem("status", "open, answered or closed")])
    async with db(request) as session:
        items = await record.recommendations(
            session,
            status=RecommendationStatus(raw) if raw else None,
            site_id=int_query(request, "site_id", 0, 0, 2**31) or None,
            cluster_id=int_query(request, "cluster_id", 0, 0, 2**31) or None,
            topic=request.query.get("topic") or None,
            meeting_id=int_query(request, "meeting_id", 0, 0, 2**31) or None,
            limit=int_query(request, "limit", 500, 1, 10_000),
            offset=int_query(request, "offset", 0, 0, 2**31),
        )
    return items_response(items, len(items))


@allow(*RECORD_KEEPERS, *APPROVERS)
async def update_recommendation(request: web.Request) -> web.Response:
    data = await json_body(request, RecommendationUpdate)
    if not data.answered_by:
        data.answered_by = author(request)
    async with db(request) as session:
        item = await record.update_recommendation(session, path_id(request), data)
    return model_response(item)


@allow(*ANY_ROLE)
async def list_actions(request: web.Request) -> web.Response:
    async with db(request) as session:
        await minutes.get_meeting_row(session, path_id(request))
        items = await record.actions(session, path_id(request))
    return items_response(items, len(items))


@allow(*RECORD_KEEPERS)
async def create_action(request: web.Request) -> web.Response:
    data = await json_body(request, ActionItemIn)
    async with db(request) as session:
        item = await record.add_action(session, path_id(request), data)
    return model_response(item, status=201)


@allow(*RECORD_KEEPERS)
async def delete_action(request: web.Request) -> web.Response:
    async with db(request) as session:
        await record.delete_action(session, path_id(request), path_id(request, "action_id"))
    return web.Response(status=204)


class MinutesState(SQLModel):
    version: int
    status: str
    approved_by: str = ""


@allow(*ANY_ROLE)
async def build_minutes(request: web.Request) -> web.Response:
    """(Re)build the draft: which version it is, and its state."""
    async with db(request) as session:
        data = await minutes.build(
            session, path_id(request), request.app[settings_key].organisation
        )
    return model_response(MinutesState(version=data.version, status=data.status))


@allow(*APPROVERS)
async def approve_minutes(request: web.Request) -> web.Response:
    async with db(request) as session:
        row = await minutes.approve(
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
    """One rendering of the draft (version None) or of an approved version."""
    from agendas import minutes_render  # WeasyPrint and python-docx load on first use

    settings = request.app[settings_key]
    async with db(request) as session:
        if version:
            data = minutes.data_of(await minutes.approved(session, meeting_id, version))
        else:
            data = await minutes.build(session, meeting_id, settings.organisation)
    render = {
        "html": minutes_render.to_html,
        "md": minutes_render.to_markdown,
        "docx": minutes_render.to_docx,
        "pdf": minutes_render.to_pdf,
    }[fmt]
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
    return web.Response(
        body=body.encode() if isinstance(body, str) else body,
        headers={
            "Content-Type": FORMATS[fmt],
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


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
        raise Invalid("bad language", [FieldProblem("lang", "vi or en")])
    version = int_query(request, "version", 0, 0, 10_000) or None
    return await minutes_file(request, path_id(request), fmt, version=version, locale=lang)


@allow(*ANY_ROLE)
async def list_minutes_versions(request: web.Request) -> web.Response:
    async with db(request) as session:
        await minutes.get_meeting_row(session, path_id(request))
        items = await minutes.versions(session, path_id(request))
    return items_response(items, len(items))
