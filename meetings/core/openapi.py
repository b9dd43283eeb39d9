"""The OpenAPI 3.1 document, generated from the route table and its pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from meetings.core.routing import Operation

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
    """The path's {placeholders} (integers when they end in "id"), then the query."""
    parameters: list[dict[str, Any]] = [
        {
            "name": p,
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if p.endswith("id") else "string"},
        }
        for p in re.findall(r"{(\w+)}", op.path)
    ]
    parameters += [
        {
            "name": q.name,
            "in": "query",
            "required": q.required,
            "description": q.description,
            "schema": {"type": q.type},
        }
        for q in op.query
    ]
    return parameters


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
        responses[str(op.status)] = {
            "description": "OK",
            "content": {op.response_media: {"schema": {"type": "string"}}},
        }
    else:
        responses[str(op.status)] = {"description": "Done"}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for status, text in (
        ("401", "Not authenticated"),
        ("403", "Role not allowed"),
        ("404", "Not found"),
        ("409", "Conflict or stale version"),
        ("422", "Validation error"),
    ):
        responses[status] = {"description": text, **error}
    return responses
