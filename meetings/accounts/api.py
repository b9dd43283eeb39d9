"""JSON API handlers for the register and accounts: parse, call the domain, respond."""

from __future__ import annotations

from aiohttp import web

from meetings.accounts import accounts
from meetings.accounts.models import Role, UserCreate, UserPublic, UserUpdate
from meetings.core.access import ANY_ROLE, allow, require_user
from meetings.core.web import db, items_response, json_body, model_response, path_id


@allow(*ANY_ROLE)
async def me(request: web.Request) -> web.Response:
    return model_response(UserPublic.model_validate(require_user(request)))


@allow(Role.admin)
async def list_users(request: web.Request) -> web.Response:
    async with db(request) as session:
        users = await accounts.list_users(session)
    return items_response(users, len(users))


@allow(Role.admin)
async def create_user(request: web.Request) -> web.Response:
    data = await json_body(request, UserCreate)
    async with db(request) as session:
        user = await accounts.create_user(session, data)
    return model_response(user, status=201)


@allow(Role.admin)
async def update_user(request: web.Request) -> web.Response:
    data = await json_body(request, UserUpdate)
    async with db(request) as session:
        user = await accounts.update_user(session, path_id(request), data)
    return model_response(user)
