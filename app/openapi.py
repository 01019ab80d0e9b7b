"""The OpenAPI document, made to say exactly what the service does.

FastAPI derives the document from the Python signatures, which say a little more or less
than the service: a header the code checks itself is declared optional, a partial
update's field is typed ``X | None`` though ``null`` is refused, a dependency shared by
every route declares ``Idempotency-Key`` on reads. These are corrected here, in one
pass over the generated document, rather than bent into every signature:

- ``If-Match`` is required where it is declared (428 answers its absence);
- ``Idempotency-Key`` is declared on POSTs only (nothing else reads it);
- a partial update's field that refuses ``null`` (``reject_null``) is not nullable;
- a schema used only in requests states its defaults in prose, not as ``default``:
  generated clients (openapi-typescript) take a ``default`` to mean the field is always
  there, and would make a client send what the service fills in itself;
- each create's 201 answer has ``links`` to the read, update and sub-resources of what it
  made, so that a client (or stateful testing) can chain the calls.
"""

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.errors import _routes

METHODS = ("get", "put", "post", "patch", "delete")


def install(app: FastAPI) -> None:
    """Serve the corrected document as ``/openapi.json`` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes, openapi_version=app.openapi_version)
            app.openapi_schema = correct(document, app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def correct(document: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    for _path, method, operation in _operations(document):
        parameters = operation.get("parameters", [])
        kept = []
        for parameter in parameters:
            header = parameter["name"].lower() if parameter["in"] == "header" else None
            if header == "idempotency-key" and method != "post":
                continue
            if header == "if-match":
                parameter["required"] = True
            if header in ("if-match", "idempotency-key"):  # a header is a string or absent, never null
                parameter["schema"] = _not_null(parameter["schema"])
            kept.append(parameter)
        if parameters:
            operation["parameters"] = kept
    for model in _patch_models(app):
        schema = schemas.get(model.__name__)
        if schema is not None:
            for name in _refusing_null(model):
                if name in schema.get("properties", {}):
                    schema["properties"][name] = _not_null(schema["properties"][name])
    _state_defaults_in_prose(document, schemas)
    _link_creates(document)
    return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _patch_models(app: FastAPI) -> list[type[BaseModel]]:
    models = []
    for route in _routes(app.routes):
        if isinstance(route, APIRoute) and route.body_field is not None:
            annotation = route.body_field.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                models.append(annotation)
    return models


def _refusing_null(model: type[BaseModel]) -> set[str]:
    """The fields a ``reject_null`` validator guards."""
    names: set[str] = set()
    for decorator in model.__pydantic_decorators__.field_validators.values():
        if getattr(decorator.func, "__func__", decorator.func).__name__ == "_not_null":
            names.update(decorator.info.fields)
    return names


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    branches = schema.get("anyOf")
    if not branches:
        return schema
    kept = [b for b in branches if b != {"type": "null"}]
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    if rest.get("default", "") is None:
        del rest["default"]
    return {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.removeprefix("#/components/schemas/")
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _closure(names: set[str], schemas: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo.extend(_refs(schemas[name]))
    return seen


def _state_defaults_in_prose(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    in_requests: set[str] = set()
    in_answers: set[str] = set()
    for _, _, operation in _operations(document):
        in_requests.update(_refs(operation.get("requestBody", {})))
        in_requests.update(_refs(operation.get("parameters", [])))
        in_answers.update(_refs(operation.get("responses", {})))
    request_only = _closure(in_requests, schemas) - _closure(in_answers, schemas)
    for name in request_only:
        for prop in schemas[name].get("properties", {}).values():
            if "default" in prop:
                default = prop.pop("default")
                shown = "null" if default is None else (str(default).lower() if isinstance(default, bool)
                                                       else str(default))
                note = f"When omitted: `{shown}`." if not isinstance(default, list | dict) or default else (
                    "When omitted: none.")
                prop["description"] = f"{prop['description']} {note}" if prop.get("description") else note


def _response_ref(operation: dict[str, Any], status: str) -> str | None:
    content = operation.get("responses", {}).get(status, {}).get("content", {})
    refs = list(_refs(content.get("application/json", {}).get("schema", {})))
    return refs[0] if len(refs) == 1 else None


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _link_creates(document: dict[str, Any]) -> None:
    paths: dict[str, Any] = document.get("paths", {})
    # Item paths (ending in a parameter) and what their GET answers.
    items = {path: _response_ref(item["get"], "200") for path, item in paths.items()
             if "get" in item and path.endswith("}")}
    for path, method, operation in _operations(document):
        if method != "post" or "201" not in operation.get("responses", {}):
            continue
        made = _response_ref(operation, "201")
        outer = _path_params(path)
        targets = {p for p, ref in items.items() if made is not None and ref == made}
        targets |= {p for p in items if p.rsplit("/", 1)[0] == path}
        links: dict[str, Any] = {}
        for item_path in sorted(targets):
            params = _path_params(item_path)
            new = [p for p in params if p not in outer]
            if len(new) != 1 or not new[0].endswith("_id"):
                continue  # the answer's id names one new thing, found by its id
            values = {p: "$response.body#/id" if p == new[0] else f"$request.path.{p}" for p in params}
            for target, target_item in paths.items():
                if (target != item_path and not target.startswith(item_path + "/")) or _path_params(target) != params:
                    continue
                for target_method in METHODS:
                    target_op = target_item.get(target_method)
                    if target_op is None or "operationId" not in target_op:
                        continue
                    links[target_op["operationId"]] = {
                        "operationId": target_op["operationId"], "parameters": values,
                        "description": f"`{target_method.upper()} {target}` for what was made.",
                    }
        if links:
            operation["responses"]["201"]["links"] = links
