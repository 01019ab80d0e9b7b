"""The OpenAPI document says what the service does: what it requires is required, what it
refuses is not offered, what it fills in itself a client may leave out, and each create
says where what it made can be read, changed and extended."""

from typing import Any

import pytest

from app.models.project import ProjectUpdate
from tests.factories import assert_invalid, assert_problem, project_body

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture
async def document(api) -> dict[str, Any]:
    r = await api.client.get("/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def operations(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def headers_of(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"].lower(): p for p in operation.get("parameters", []) if p["in"] == "header"}


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


async def test_if_match_is_required_wherever_it_is_declared_and_428_answers_its_absence(api, document):
    declared = [(path, method) for path, method, op in operations(document) if "if-match" in headers_of(op)]
    assert len(declared) > 15
    for path, method, op in operations(document):
        if "if-match" in headers_of(op):
            header = headers_of(op)["if-match"]
            assert header["required"] is True and header["schema"]["type"] == "string", (method, path)
    project = await api.project()
    r = await api.client.patch(f"/api/v1/projects/{project['id']}", headers=api.admin, json={"name": "无条件"})
    assert_problem(r, 428, "if_match_required")


async def test_idempotency_key_is_declared_on_posts_only(document):
    for path, method, op in operations(document):
        declared = "idempotency-key" in headers_of(op)
        assert declared == (method == "post" and path.startswith("/api/")), (method, path)
        if declared:
            schema = headers_of(op)["idempotency-key"]["schema"]
            assert schema["type"] == "string" and schema["maxLength"] == 255 and "anyOf" not in schema


async def test_a_partial_update_field_that_refuses_null_is_not_nullable(api, document):
    schema = document["components"]["schemas"]["ProjectUpdate"]["properties"]
    refusing = {"name", "investor", "investor_country", "funding_source", "industry", "zone", "total_investment",
                "designations", "on_hold"} & set(ProjectUpdate.model_fields)
    for name in refusing:
        assert "anyOf" not in schema[name] or {"type": "null"} not in schema[name]["anyOf"], name
    project = await api.project()
    r = await api.client.patch(f"/api/v1/projects/{project['id']}", json={"name": None},
                               headers={**api.admin, "If-Match": f'"{project["version"]}"'})
    assert_invalid(r, "name", "null")
    # A field the service does clear with null stays nullable, and null clears it.
    assert {"type": "null"} in schema["planned_sign_on"]["anyOf"]
    r = await api.client.patch(f"/api/v1/projects/{project['id']}", json={"planned_sign_on": None},
                               headers={**api.admin, "If-Match": f'"{project["version"]}"'})
    assert r.status_code == 200, r.text


async def test_defaulted_request_fields_are_optional_for_generated_clients(api, document):
    """openapi-typescript makes a property with a ``default`` required; a schema used only in
    requests says its default in prose, and the service fills it in."""
    answers = {ref for _, _, op in operations(document) for ref in _refs(op.get("responses", {}))}
    shared = _closure(answers, document)
    requests = _closure({ref for _, _, op in operations(document) for ref in _refs(op.get("requestBody", {}))},
                        document)
    assert "ProjectCreate" in requests - shared
    for name in requests - shared:
        for prop_name, prop in document["components"]["schemas"][name].get("properties", {}).items():
            assert "default" not in prop, (name, prop_name)
    create = document["components"]["schemas"]["ProjectCreate"]
    assert {"stage", "on_hold"}.isdisjoint(create["required"])
    assert "negotiating" in create["properties"]["stage"]["description"]
    body = project_body()
    assert "stage" not in body and "on_hold" not in body
    made = await api.project()
    assert made["stage"] == "negotiating" and made["on_hold"] is False


def _refs(node: Any):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"].rsplit("/", 1)[1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _closure(names: set[str], document: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(document["components"]["schemas"][name]))
    return seen


async def test_each_create_links_to_the_read_update_and_sub_resources_of_what_it_made(api, document):
    by_id = {op["operationId"]: (path, method) for path, method, op in operations(document)}
    linked = 0
    for path, _method, op in operations(document):
        for name, link in op["responses"].get("201", {}).get("links", {}).items():
            linked += 1
            target_path, _ = by_id[link["operationId"]]
            params = {p.strip("{}") for p in target_path.split("/") if p.startswith("{")}
            assert set(link["parameters"]) == params, (path, name)
    assert linked > 30
    links = document["paths"]["/api/v1/projects"]["post"]["responses"]["201"]["links"]
    targets = {by_id[link["operationId"]] for link in links.values()}
    assert {("/api/v1/projects/{project_id}", "get"), ("/api/v1/projects/{project_id}", "patch"),
            ("/api/v1/projects/{project_id}/transitions", "post")} <= targets
    # Followed as a client would: the expression picks the id out of the answer.
    made = await api.project()
    link = links[document["paths"]["/api/v1/projects/{project_id}"]["get"]["operationId"]]
    assert link["parameters"] == {"project_id": "$response.body#/id"}
    r = await api.client.get(f"/api/v1/projects/{made[link['parameters']['project_id'].rsplit('/', 1)[1]]}",
                             headers=api.admin)
    assert r.status_code == 200 and r.json()["id"] == made["id"]


async def test_who_may_act_is_decided_before_the_idempotency_key_and_the_body_are_read(api):
    viewer = await api.key("viewer")
    malformed = {"Idempotency-Key": "k" * 300}
    r = await api.client.post("/api/v1/projects", headers={**viewer, **malformed}, json={"name": ""})
    assert_problem(r, 403, "forbidden")
    r = await api.client.post("/api/v1/projects", headers={**api.admin, **malformed}, json=project_body())
    assert_invalid(r, "Idempotency-Key")
    r = await api.client.post("/api/v1/projects", headers=malformed, json={"name": ""})
    assert_problem(r, 401, "unauthorized")
