"""The OpenAPI document says what the API does with bad input: every error status an
operation can answer, with the error body, and every limit a value is held to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import BaseModel, RootModel, ValidationError
from sqlmodel import SQLModel

from meetings.core.routing import operations_key
from meetings.core.types import MAX_INT, Patch

ERROR = {"$ref": "#/components/schemas/Error"}
WRITES = {"post", "put", "patch", "delete"}
#: Strings whose form is fixed by their format rather than by a length.
FORMATS = {"date-time", "date", "binary"}


@pytest.fixture
async def document(client: TestClient) -> dict[str, Any]:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    return dict(await response.json())


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


async def test_every_operation_lists_every_error_it_can_answer_with_the_error_body(
    document: dict[str, Any],
):
    missing = []
    for name, operation in operations(document):
        method, path = name.lower().split(" ", 1)
        expected = {"400", "401", "403", "404", "422"}
        if method in WRITES:
            expected.add("409")
        if "requestBody" in operation:
            expected |= {"413", "415"}
        if "{site_token}" in path:
            expected.add("429")
        responses = operation["responses"]
        for status in sorted(expected):
            schema = responses.get(status, {}).get("content", {}).get("application/json", {})
            if schema.get("schema") != ERROR:
                missing.append(f"{name}: {status}")
    assert missing == []


def _unbounded(
    schema: dict[str, Any], where: str, schemas: dict[str, Any], seen: frozenset[str]
) -> Iterator[str]:
    """Every place in `schema` where a value has no limit: a string without maxLength, an
    integer past the store's range, a list or a map without a largest size."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _unbounded(schemas[name], where, schemas, seen | {name})
        return
    for part in schema.get("anyOf", []) + schema.get("allOf", []):
        yield from _unbounded(part, where, schemas, seen)
    kind = schema.get("type")
    fixed = "enum" in schema or "const" in schema or schema.get("format") in FORMATS
    if kind == "string" and "maxLength" not in schema and not fixed:
        yield f"{where}: text without maxLength"
    if kind == "integer" and not (
        schema.get("minimum", -MAX_INT - 2) >= -MAX_INT - 1
        and schema.get("maximum", MAX_INT + 1) <= MAX_INT
    ):
        yield f"{where}: integer outside 32 bits"
    if kind == "array":
        if "maxItems" not in schema:
            yield f"{where}: list without maxItems"
        yield from _unbounded(schema.get("items", {}), f"{where}[]", schemas, seen)
    for name, value in schema.get("properties", {}).items():
        yield from _unbounded(value, f"{where}.{name}", schemas, seen)
    if isinstance(extra := schema.get("additionalProperties"), dict):
        if "maxProperties" not in schema:
            yield f"{where}: map without maxProperties"
        yield from _unbounded(extra, f"{where}{{}}", schemas, seen)
        yield from _unbounded(schema.get("propertyNames", {}), f"{where}<key>", schemas, seen)


async def test_every_value_a_request_carries_has_its_limit_in_the_document(
    document: dict[str, Any],
):
    schemas = document["components"]["schemas"]
    found = []
    for name, operation in operations(document):
        for parameter in operation.get("parameters", []):
            where = f"{name} {parameter['name']}"
            found += _unbounded(parameter["schema"], where, schemas, frozenset())
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            found += _unbounded(body["schema"], f"{name} body", schemas, frozenset())
    assert found == []


def _admits_null(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(_admits_null(s) for s in schema.get("anyOf", []))


def test_null_is_refused_wherever_the_document_says_a_field_cannot_be_null(
    client: TestClient,
):
    """Every JSON body, field by field: a null the schema does not allow is a 422 naming
    that field, never a value that reaches a NOT NULL column."""
    bodies = {op.body for op in client.app[operations_key] if op.body is not None}
    accepted = []
    for model in sorted(bodies, key=lambda m: m.__name__):
        if issubclass(model, RootModel):
            continue
        properties = model.model_json_schema()["properties"]
        for name, schema in properties.items():
            if _admits_null(schema):
                continue
            try:
                model.model_validate({name: None})
            except ValidationError as exc:
                if any(error["loc"] == (name,) for error in exc.errors()):
                    continue
            accepted.append(f"{model.__name__}.{name}")
    assert accepted == []


def _tables() -> dict[str, type[SQLModel]]:
    found: dict[str, type[SQLModel]] = {}
    pending: list[type[BaseModel]] = [SQLModel]
    while pending:
        model = pending.pop()
        pending += model.__subclasses__()
        if getattr(model, "__table__", None) is not None:
            found[model.__name__] = model  # type: ignore[assignment]
    return found


def test_a_patch_lets_null_empty_only_a_column_that_may_be_empty(client: TestClient):
    tables = _tables()
    patches = [
        m for m in {op.body for op in client.app[operations_key]} if m and issubclass(m, Patch)
    ]
    assert {m.__name__ for m in patches} >= {"SiteUpdate", "ClusterUpdate", "MeetingUpdate"}
    wrong = []
    for patch in patches:
        table = tables[patch.__name__.removesuffix("Update")].__table__  # type: ignore[attr-defined]
        for name in patch.nullable:
            if name not in patch.model_fields or not table.columns[name].nullable:
                wrong.append(f"{patch.__name__}.{name}")
    assert wrong == []
