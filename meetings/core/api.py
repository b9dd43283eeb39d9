"""The service's own JSON: health and the OpenAPI document of every part's operations."""

from __future__ import annotations

import json

from aiohttp import web

from meetings.core.access import public, public_sessionless
from meetings.core.openapi import build_document
from meetings.core.routing import operations_key

#: The health check's answer, encoded once: load balancers ask several times a second.
HEALTHY = json.dumps({"status": "ok"}).encode()


@public_sessionless
async def health(request: web.Request) -> web.Response:
    return web.Response(body=HEALTHY, content_type="application/json")


@public
async def openapi_document(request: web.Request) -> web.Response:
    document = build_document(request.app[operations_key], title="giaoban API", version="1")
    return web.json_response(document)
