"""The OpenAPI 3.1 document, generated from the route table and its pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from meetings.core.routing import Operation
from meetings.core.types import MAX_INT

#: Methods that change something: a stale version or a taken value answers 409.
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: The longest text a query or path parameter is documented to take.
_MAX_PARAMETER_TEXT = 200

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {
                            "field": {"type": "string"},
                            "message": {"type": "string"},
                            "line": {"type": "integer"},
                        },
                    },
                },
            },
        }
    },
}

#: What a non-JSON answer holds, where more can be said than "a string": each event of
#: an event stream (meetings/attendance/live.py) is named and carries a JSON object.
MEDIA_SCHEMAS: dict[str, dict[str, Any]] = {
    "text/event-stream": {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"type": "string", "enum": ["snapshot", "update"]},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": {"type": "object"},
            },
            "retry": {"type": "integer"},
        },
    },
}


def build_document(
    operations: tuple[Operation, ...], *, title: str, version: str
) -> dict[str, Any]:
    models: set[tuple[type[BaseModel], JsonSchemaMode]] = set()
    for op in operations:
        if op.body is not None:
            models.add((op.body, "validation"))
        if op.response is not None:
            models.add((op.response, "serialization"))
    keyed, schema = models_json_schema(
        sorted(models, key=lambda m: (m[0].__name__, m[1])),
        ref_template="#/components/schemas/{model}",
    )
    components: dict[str, Any] = dict(schema.get("$defs", {}))
    components["Error"] = ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, keyed)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "giaoban_session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }


def _operation(op: Operation, keyed: dict[Any, Any]) -> dict[str, Any]:
    name = re.sub(r"[^a-z0-9]+", "_", f"{op.method} {op.path}".lower()).strip("_")
    found: dict[str, Any] = {"operationId": name, "summary": op.summary, "tags": list(op.tags)}
    if parameters := _parameters(op):
        found["parameters"] = parameters
    if body := _request_body(op, keyed):
        found["requestBody"] = body
    found["responses"] = _responses(op, keyed)
    return found


def _parameters(op: Operation) -> list[dict[str, Any]]:
    """The path's {placeholders} (ids when they end in "id"), then the query, with the
    bounds the handlers hold them to (web.path_id, web.int_query)."""
    parameters: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": _path_schema(p)}
        for p in re.findall(r"{(\w+)}", op.path)
    ]
    parameters += [
        {
            "name": q.name,
            "in": "query",
            "required": q.required,
            "description": q.description,
            "schema": (
                {"type": "integer", "minimum": 0, "maximum": MAX_INT}
                if q.type == "integer"
                else {"type": q.type, "maxLength": _MAX_PARAMETER_TEXT}
            ),
        }
        for q in op.query
    ]
    return parameters


def _path_schema(name: str) -> dict[str, Any]:
    if name.endswith("id"):
        return {"type": "integer", "minimum": 1, "maximum": MAX_INT}
    if name == "fmt":
        return {"type": "string", "enum": ["html", "docx", "pdf", "md"]}
    return {"type": "string", "maxLength": _MAX_PARAMETER_TEXT}


def _request_body(op: Operation, keyed: dict[Any, Any]) -> dict[str, Any] | None:
    """A JSON body by its model, or an upload in one of the operation's media types."""
    if op.body is not None:
        return {
            "required": True,
            "content": {"application/json": {"schema": keyed[(op.body, "validation")]}},
        }
    if op.body_media:
        return {
            "required": True,
            "content": {
                m: {"schema": {"type": "string", "format": "binary"}} for m in op.body_media
            },
        }
    return None


def _responses(op: Operation, keyed: dict[Any, Any]) -> dict[str, Any]:
    """The success (a model, a page of items, a file or nothing) and the errors' shape."""
    responses: dict[str, Any] = {}
    if op.response is not None:
        item = keyed[(op.response, "serialization")]
        schema = (
            {
                "type": "object",
                "required": ["items", "total"],
                "properties": {
                    "items": {"type": "array", "items": item},
                    "total": {"type": "integer"},
                },
            }
            if op.is_collection
            else item
        )
        responses[str(op.status)] = {
            "description": "OK",
            "content": {"application/json": {"schema": schema}},
        }
    elif op.response_media:
        given = (op.response_media,) if isinstance(op.response_media, str) else op.response_media
        media = [m.split(";")[0].strip() for m in given]  # "text/html; charset=utf-8"
        responses[str(op.status)] = {
            "description": "OK",
            "content": {m: {"schema": MEDIA_SCHEMAS.get(m, {"type": "string"})} for m in media},
        }
    else:
        responses[str(op.status)] = {"description": "Done"}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for status, text in _errors(op).items():
        responses[status] = {"description": text, **error}
    return responses


def _errors(op: Operation) -> dict[str, str]:
    """Every error status the operation can answer (each with the Error body)."""
    found = {
        "400": "Malformed: a body that is not JSON or not a form, a bad number in the query",
        "401": "Not authenticated",
        "403": "Role not allowed, or no CSRF token with a session cookie",
        "404": "Not found (also an id past 2^31-1)",
    }
    if op.method.upper() in _WRITES:
        found["409"] = "Conflict: a stale version, or a value another record holds"
    if op.body is not None or op.body_media:
        found["413"] = "Body too large"
        found["415"] = "Unsupported media type: not a body this operation takes"
    found["422"] = "Validation error: every field at fault is named in details"
    if "{site_token}" in op.path:  # meetings.core.link_guard
        found["429"] = "Too many unknown links from this address; see Retry-After"
    return found
