"""Small helpers shared by the HTML views and the JSON API (never domain logic)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.core.keys import sessions_key

M = TypeVar("M", bound=BaseModel)


@asynccontextmanager
async def db(request: web.Request) -> AsyncIterator[AsyncSession]:
    """One transaction for the request's work: committed if the block ends normally."""
    async with request.app[sessions_key]() as session, session.begin():
        yield session


async def json_body(request: web.Request, model: type[M]) -> M:
    if request.content_type != "application/json":
        raise web.HTTPBadRequest(text="send the body as application/json")
    try:
        data = json.loads(await request.text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(text=f"the body is not valid JSON: {exc}") from None
    return model.model_validate(data)


def int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"query parameter {name} must be a whole number") from None
    if not low <= value <= high:
        raise web.HTTPBadRequest(text=f"query parameter {name} must be between {low} and {high}")
    return value


def path_id(request: web.Request, name: str = "id") -> int:
    return int(request.match_info[name])


def model_response(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        body=model.model_dump_json(), status=status, content_type="application/json"
    )


def items_response(items: list[Any], total: int) -> web.Response:
    body = '{"items":[' + ",".join(i.model_dump_json() for i in items) + f'],"total":{total}}}'
    return web.Response(body=body, content_type="application/json")
