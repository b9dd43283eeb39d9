"""JSON API of the record and the minutes (thin: parse, call the domain, answer)."""

from __future__ import annotations

from aiohttp import web
from sqlmodel import Field, SQLModel

from agendas.minutes import minutes
from agendas.programme.models import FocusStatus
from agendas.record import action_items, recommendations, record
from agendas.record import notes as record_notes
from agendas.record.models import (
    ActionItemIn,
    ActionItemUpdate,
    ContributionIn,
    NotesIn,
    RecommendationStatus,
    RecommendationUpdate,
    SiteContributionIn,
)
from meetings.accounts.models import Role
from meetings.core.access import ANY_ROLE, ORGANISERS, allow, current_user, public_token
from meetings.core.errors import FieldProblem, Invalid
from meetings.core.labels import N_
from meetings.core.types import Line
from meetings.core.web import (
    db,
    int_query,
    items_response,
    json_body,
    link_site,
    model_response,
    path_id,
    private,
)

#: Who keeps the record: the secretary, with the organisers (and admins).
APPROVERS = (Role.chair,)
RECORD_KEEPERS = (*ORGANISERS, Role.secretary)


def author(request: web.Request) -> str:
    user = current_user(request)
    return (user.full_name or user.username) if user else ""


@allow(*ANY_ROLE)
async def get_notes(request: web.Request) -> web.Response:
    async with db(request) as session:
        found = await record_notes.notes(session, path_id(request))
    return web.json_response({k: v.model_dump(mode="json") for k, v in found.items()})


@allow(*RECORD_KEEPERS)
async def put_notes(request: web.Request) -> web.Response:
    data = await json_body(request, NotesIn)
    async with db(request) as session:
        saved = await record_notes.save_notes(
            session, path_id(request), data, author=author(request)
        )
    return web.json_response({k: v.model_dump(mode="json") for k, v in saved.items()})


class FocusOutcomeIn(SQLModel):
    status: FocusStatus
    summary: Line = Field(default="", max_length=500)


@allow(*RECORD_KEEPERS)
async def put_focus_outcome(request: web.Request) -> web.Response:
    data = await json_body(request, FocusOutcomeIn)
    async with db(request) as session:
        item = await record_notes.set_focus_outcome(
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
        raise Invalid("bad status", [FieldProblem("status", N_("open, answered or closed"))])
    async with db(request) as session:
        items = await recommendations.recommendations(
            session,
            status=RecommendationStatus(raw) if raw else None,
            site_id=int_query(request, "site_id", 0, 0, 2**31) or None,
            cluster_id=int_query(request, "cluster_id", 0, 0, 2**31) or None,
            topic=request.query.get("topic") or None,
            meeting_id=int_query(request, "meeting_id", 0, 0, 2**31) or None,
            unit=request.query.get("unit") or None,
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
        item = await recommendations.update_recommendation(session, path_id(request), data)
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
        item = await record.add_action(session, path_id(request), data, by=author(request))
    return model_response(item, status=201)


@allow(*RECORD_KEEPERS)
async def update_action(request: web.Request) -> web.Response:
    data = await json_body(request, ActionItemUpdate)
    async with db(request) as session:
        item = await action_items.update_action(
            session, path_id(request), path_id(request, "action_id"), data, by=author(request)
        )
    return model_response(item)


@allow(*ANY_ROLE)
async def action_history(request: web.Request) -> web.Response:
    async with db(request) as session:
        changes = await action_items.history(
            session, path_id(request), path_id(request, "action_id")
        )
    return items_response(changes, len(changes))


@allow(*RECORD_KEEPERS)
async def delete_action(request: web.Request) -> web.Response:
    async with db(request) as session:
        await record.delete_action(session, path_id(request), path_id(request, "action_id"))
    return web.Response(status=204)


# --- a site's own contribution, through its link -----------------------------------------


@public_token
async def post_site_contribution(request: web.Request) -> web.StreamResponse:
    async with db(request) as session:
        await link_site(request, session)  # a wrong link is 404 whatever the body
    data = await json_body(request, SiteContributionIn)
    async with db(request) as session:
        site = await link_site(request, session)
        item = await record.add_site_contribution(session, path_id(request), data, site=site)
    return private(model_response(item, status=201))
