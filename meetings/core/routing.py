"""How a part declares its routes, and how the composition root mounts them all.

Each part (register, planning, record, …) has a `routes.py` whose `ROUTES` lists its
API operations (which also feed the OpenAPI document) and its pages. The root passes
every part's `Routes` to `mount`; no module holds the table of all parts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

from meetings.core.access import Handler


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    type: str = "string"
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """One API endpoint: its route, and the models that validate and describe it."""

    method: str
    path: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    #: The response model; `is_collection` wraps it as {"items": [...], "total": N}.
    response: type[BaseModel] | None = None
    is_collection: bool = False
    status: int = 200
    query: tuple[Param, ...] = ()
    #: Non-JSON bodies or responses: media type → schema description.
    body_media: tuple[str, ...] = ()
    #: The media type of a non-JSON answer, or every type it may have (a download whose
    #: type is the file's, the minutes in the format asked for).
    response_media: str | tuple[str, ...] | None = None
    tags: tuple[str, ...] = field(default=())
    #: The route's name, unique in the app (`api_` + the handler's name), for `url_for`.
    name: str = field(kw_only=True)


@dataclass(frozen=True)
class Page:
    """One HTML page or form target, with the name `url_for` builds its links from."""

    method: str
    path: str
    handler: Handler
    name: str


@dataclass(frozen=True)
class Routes:
    """What one part contributes to the application's URL space."""

    api: tuple[Operation, ...] = ()
    pages: tuple[Page, ...] = ()


PAGING = (
    Param("limit", "page size (1-1000, default 100)", "integer"),
    Param("offset", "items to skip", "integer"),
)

#: Every API operation of the app, for the OpenAPI document.
operations_key = web.AppKey("operations", tuple[Operation, ...])


def _aiohttp_path(path: str) -> str:
    """`{id}` and `{…_id}` match digits only, so `/sites/export.csv` is not a site id;
    `{fmt}` is one of the minutes' formats."""
    path = path.replace("{fmt}", "{fmt:(?:html|docx|pdf|md)}")
    return re.sub(r"{(\w*id)}", r"{\1:\\d+}", path)


def mount(app: web.Application, parts: Iterable[Routes]) -> None:
    """Adds every part's operations and pages to the router, and keeps the operations."""
    operations: list[Operation] = []
    for part in parts:
        for op in part.api:
            app.router.add_route(op.method, _aiohttp_path(op.path), op.handler, name=op.name)
            operations.append(op)
        for page in part.pages:
            app.router.add_route(page.method, page.path, page.handler, name=page.name)
    app[operations_key] = tuple(operations)
