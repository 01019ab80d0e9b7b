"""A JSON body that repeats a key is refused (422 naming the key), on every route that
takes one: parsers keep the last of repeated keys silently, so ``{"role": "viewer",
"role": "admin"}`` made an admin key."""

import json

import pytest

from app.deps import parse_json
from tests.factories import assert_invalid, project_body


def _raw(*pairs: tuple[str, object]) -> bytes:
    return ("{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}").encode()


async def test_a_repeated_role_does_not_make_an_admin_key(api):
    before = await api.client.get("/api/v1/api-keys", headers=api.admin, params={"limit": 200})
    r = await api.client.post("/api/v1/api-keys", headers={**api.admin, "Content-Type": "application/json"},
                              content=_raw(("name", "双重角色"), ("role", "viewer"), ("role", "admin")))
    assert_invalid(r, "role", "more than once", code="duplicate_key")
    after = await api.client.get("/api/v1/api-keys", headers=api.admin, params={"limit": 200})
    assert [k["id"] for k in after.json()["items"]] == [k["id"] for k in before.json()["items"]]


async def test_every_json_route_refuses_a_repeated_key_nested_or_not(api):
    project = await api.project()
    leader = await api.leader()
    body = project_body()
    nested = json.dumps(body).replace('"currency": "CNY"', '"currency": "CNY", "currency": "USD"').encode()
    cases = [
        ("POST", "/api/v1/projects", nested, "total_investment.currency"),
        ("PATCH", f"/api/v1/projects/{project['id']}", _raw(("name", "甲"), ("name", "乙")), "name"),
        ("POST", f"/api/v1/projects/{project['id']}/transitions",
         _raw(("to", "signed"), ("occurred_on", "2022-07-01"), ("to", "terminated")), "to"),
        ("PATCH", f"/api/v1/leaders/{leader['id']}", _raw(("name", "甲"), ("name", "乙")), "name"),
        ("POST", "/api/v1/webhooks", _raw(("url", "http://127.0.0.1:9/a"), ("event_types", ["*"]),
                                          ("url", "http://127.0.0.1:9/b")), "url"),
    ]
    for method, path, raw, field in cases:
        r = await api.client.request(method, path, content=raw, headers={
            **api.admin, "Content-Type": "application/json", "If-Match": f'"{project["version"]}"'})
        assert_invalid(r, field, code="duplicate_key")
    assert (await api.get_project(project["id"]))["version"] == project["version"]


async def test_who_asks_comes_before_a_repeated_key(api):
    viewer = await api.key("viewer")
    raw = _raw(("name", "甲"), ("name", "乙"))
    r = await api.client.post("/api/v1/leaders", content=raw, headers={**viewer, "Content-Type": "application/json"})
    assert r.status_code == 403, r.text
    r = await api.client.post("/api/v1/leaders", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 401, r.text


@pytest.mark.parametrize(("raw", "path"), [
    (b'{"a": 1, "b": {"c": 1, "c": 2}}', "b.c"),
    (b'{"items": [{"x": 1}, {"x": 1, "y": 2, "x": 3}]}', "items.1.x"),
    (b'{"a": 1, "a": 1}', "a"),
    (b'[{"k": 1, "k": 2}]', "0.k"),
])
def test_the_repeated_key_is_named_by_its_path(raw: bytes, path: str) -> None:
    assert parse_json(raw)[1] == path


def test_a_body_without_repeats_is_parsed_as_json_would() -> None:
    raw = json.dumps({"a": [1, {"b": None, "c": "中文"}], "d": 1.5}).encode()
    assert parse_json(raw) == (json.loads(raw), None)
