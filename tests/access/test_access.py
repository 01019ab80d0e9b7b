"""Who may do what, and the record of what they did, tested through HTTP on a real database.

1. The role matrix: every role against every endpoint, the expected answer written out by
   hand below (never derived from ``app.services.permissions.MATRIX``, or this test could
   not fail when the matrix goes wrong).
2. Object-level access: a unit key sees its own unit's projects only, and another unit's
   project is a 404, never a 403; a leader key reads everything and changes nothing.
3. Keys: revoked, expired, malformed, unknown and missing keys are a 401 with a stable
   code; a key's secret is shown once and never again.
4. Audit: every change leaves exactly one event with its before and after; a failed
   request leaves none and changes nothing; the trail is filterable, paged and read-only.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from app.models import ApiKey, IdempotencyRecord
from tests.factories import Api, project_body

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
CODE = "2020-370214-04-01-123456"
OTHER_CODE = "2018-370214-04-01-654321"
INVESTOR = "青岛测试投资有限公司"
Headers = dict[str, str]

# --------------------------------------------------------------------------------------
# 1. The role matrix, written out by hand.
# --------------------------------------------------------------------------------------

ROLES = ("admin", "bureau", "leader", "unit", "integration", "viewer")

# For the unit key, "{id}" and "{code}" name a project of its OWN unit (the tests of
# section 2 cover other units' projects). For the leader key, the project is its own
# leader's. Registry "{id}"s are the leader / unit the key is bound to (where it is).
#
# endpoint                                  admin bureau leader unit integration viewer
EXPECTED: dict[str, tuple[int, int, int, int, int, int]] = {
    "POST /projects":                        (201,  201,   403,  403,  403,  403),
    "GET /projects":                         (200,  200,   200,  200,  403,  200),
    "GET /projects/{id}":                    (200,  200,   200,  200,  403,  200),
    "GET /projects/by-code/{code}":          (200,  200,   200,  200,  200,  200),
    "PATCH /projects/{id}":                  (200,  200,   403,  403,  403,  403),
    "DELETE /projects/{id}":                 (200,  200,   403,  403,  403,  403),
    "POST /projects/{id}/transitions":       (201,  201,   403,  403,  403,  403),
    "GET /projects/{id}/transitions":        (200,  200,   200,  200,  403,  200),
    "POST /leaders":                         (201,  201,   403,  403,  403,  403),
    "GET /leaders":                          (200,  200,   200,  200,  403,  200),
    "GET /leaders/{id}":                     (200,  200,   200,  200,  403,  200),
    "PATCH /leaders/{id}":                   (200,  200,   403,  403,  403,  403),
    "DELETE /leaders/{id}":                  (200,  200,   403,  403,  403,  403),
    "POST /units":                           (201,  201,   403,  403,  403,  403),
    "GET /units":                            (200,  200,   200,  200,  403,  200),
    "GET /units/{id}":                       (200,  200,   200,  200,  403,  200),
    "PATCH /units/{id}":                     (200,  200,   403,  403,  403,  403),
    "DELETE /units/{id}":                    (200,  200,   403,  403,  403,  403),
    "POST /api-keys":                        (201,  403,   403,  403,  403,  403),
    "GET /api-keys":                         (200,  403,   403,  403,  403,  403),
    "GET /api-keys/{id}":                    (200,  403,   403,  403,  403,  403),
    "DELETE /api-keys/{id}":                 (200,  403,   403,  403,  403,  403),
    "GET /audit-events":                     (200,  403,   403,  403,  403,  200),
    "GET /meta/enums":                       (200,  200,   200,  200,  200,  200),
    "GET /healthz":                          (200,  200,   200,  200,  200,  200),
    "GET /readyz":                           (200,  200,   200,  200,  200,  200),
}  # fmt: skip

# The audit action an allowed call of each mutating endpoint records; reads record none.
AUDIT_ACTION: dict[str, str] = {
    "POST /projects": "project.create",
    "PATCH /projects/{id}": "project.update",
    "DELETE /projects/{id}": "project.archive",
    "POST /projects/{id}/transitions": "project.transition",
    "POST /leaders": "leader.create",
    "PATCH /leaders/{id}": "leader.update",
    "DELETE /leaders/{id}": "leader.archive",
    "POST /units": "unit.create",
    "PATCH /units/{id}": "unit.update",
    "DELETE /units/{id}": "unit.archive",
    "POST /api-keys": "api_key.create",
    "DELETE /api-keys/{id}": "api_key.revoke",
}


# Routes whose role table lives with their feature's tests, by module.
ROLE_TABLES_ELSEWHERE: dict[str, tuple[str, ...]] = {
    "tests/supervision/test_difficulty_permissions.py": (
        "POST /projects/{id}/difficulties", "GET /projects/{id}/difficulties", "GET /difficulties",
        "GET /difficulties/{id}", "PATCH /difficulties/{id}", "POST /difficulties/{id}/transitions",
        "POST /difficulties/{id}/notes", "GET /difficulties/{id}/timeline", "GET /leaders/{id}/difficulties-summary",
        "GET /stats/difficulties", "GET /stats/supervision", "POST /supervision-items", "GET /supervision-items",
        "GET /supervision-items/{id}", "PATCH /supervision-items/{id}", "DELETE /supervision-items/{id}",
        "POST /supervision-items/{id}/tasks", "GET /supervision-items/{id}/tasks", "GET /supervision-tasks",
        "GET /supervision-tasks/{id}", "PATCH /supervision-tasks/{id}", "POST /supervision-tasks/{id}/progress",
        "GET /supervision-tasks/{id}/progress"),
    "tests/approvals/test_approvals.py": (
        "POST /projects/{id}/approvals", "GET /projects/{id}/approvals", "GET /projects/{id}/approvals/{id}",
        "PATCH /projects/{id}/approvals/{id}", "DELETE /projects/{id}/approvals/{id}", "GET /approvals",
        "GET /stats/approvals", "GET /approval-kinds", "GET /approval-kinds/{code}", "POST /approval-kinds",
        "PATCH /approval-kinds/{code}", "DELETE /approval-kinds/{code}", "GET /integrations/approval-events",
        "PUT /api-keys/{id}/signing-secret", "GET /api-keys/{id}/signing-secret", "GET /webhooks", "POST /webhooks",
        "GET /webhooks/{id}", "PATCH /webhooks/{id}", "DELETE /webhooks/{id}", "GET /webhooks/{id}/deliveries",
        "GET /webhooks/{id}/deliveries/{id}", "POST /webhooks/{id}/deliveries/{id}/redeliver"),
    "tests/approvals/test_approval_events.py": ("POST /integrations/approval-events",),
    "tests/ledger/test_ledger_jobs.py": ("GET /imports/{id}",),
    "tests/progress/test_progress_permissions.py": (
        "POST /projects/{id}/annual-plans", "GET /projects/{id}/annual-plans", "GET /annual-plans",
        "GET /annual-plans/{id}", "PATCH /annual-plans/{id}", "POST /projects/{id}/progress-reports",
        "GET /projects/{id}/progress-reports", "GET /progress-reports", "GET /progress-reports/missing",
        "GET /progress-reports/{id}", "GET /progress-reports/{id}/versions", "POST /progress-reports/{id}/review",
        "POST /imports/progress-reports", "GET /exports/progress-reports", "GET /stats/investment"),
    "tests/stats/test_stats_permissions.py": (
        "GET /targets", "POST /targets", "GET /targets/{id}", "PATCH /targets/{id}", "DELETE /targets/{id}",
        "POST /targets/{id}/members", "GET /targets/{id}/members", "GET /targets/{id}/members/history",
        "GET /targets/{id}/projects", "GET /exchange-rates", "POST /exchange-rates", "GET /exchange-rates/{id}",
        "PATCH /exchange-rates/{id}", "GET /stats/pipeline", "GET /stats/pipeline/projects", "GET /stats/targets",
        "GET /stats/leaders", "GET /stats/project-health", "GET /stats/project-status",
        "GET /leaders/{id}/dashboard"),
    "tests/stats/test_forecast.py": ("GET /stats/forecast",),
    "tests/stats/test_bulletin.py": ("GET /reports/monthly",),
    "tests/ledger/test_ledger_import.py": ("POST /imports/projects",),
    "tests/ledger/test_ledger_export.py": ("GET /exports/projects",),
    "tests/promotion/test_promotion_permissions.py": (
        "POST /investors", "GET /investors", "GET /investors/{id}", "PATCH /investors/{id}",
        "DELETE /investors/{id}", "POST /projects/{id}/follow-ups", "GET /projects/{id}/follow-ups",
        "GET /follow-ups", "GET /follow-ups/{id}", "POST /projects/{id}/fdi-receipts",
        "GET /projects/{id}/fdi-receipts", "POST /signing-events", "GET /signing-events", "GET /signing-events/{id}",
        "PATCH /signing-events/{id}", "DELETE /signing-events/{id}", "GET /stats/signing-events/{id}",
        "GET /stats/cohorts"),
    "tests/projects/test_project_codes.py": ("GET /projects/{id}/codes",),
    "tests/projects/test_reference.py": tuple(f"{method} /{path}{suffix}" for path in ("zones", "industries")
                                              for method, suffix in (("POST", ""), ("GET", ""), ("GET", "/{id}"),
                                                                     ("PATCH", "/{id}"), ("DELETE", "/{id}"))),
}
# Routes above whose cells, role by role, are in tests/access/test_roles_features.py.
ROLE_TABLES_ELSEWHERE["tests/access/test_roles_features.py"] = (
    "GET /projects/{id}/difficulties",
    "GET /supervision-items/{id}",
    "PATCH /supervision-items/{id}",
    "DELETE /supervision-items/{id}",
    "GET /supervision-items/{id}/tasks",
    "GET /supervision-tasks/{id}",
    "PATCH /supervision-tasks/{id}",
    "GET /supervision-tasks/{id}/progress",
    "GET /approval-kinds/{code}",
    "DELETE /approval-kinds/{code}",
    "GET /api-keys/{id}/signing-secret",
    "GET /webhooks/{id}",
    "PATCH /webhooks/{id}",
    "DELETE /webhooks/{id}",
    "GET /webhooks/{id}/deliveries/{id}",
    "POST /webhooks/{id}/deliveries/{id}/redeliver",
    "DELETE /targets/{id}",
    "GET /targets/{id}/members/history",
    "GET /exchange-rates/{id}",
)
COVERED_ELSEWHERE = {route: module for module, routes in ROLE_TABLES_ELSEWHERE.items() for route in routes}


def test_the_matrix_names_every_route_of_the_app() -> None:
    """The tables must list every route the app documents, so a new endpoint cannot
    slip in without its row (and no row may name a route that does not exist)."""
    from app.main import create_app

    paths = create_app().openapi()["paths"]
    routes = {f"{method.upper()} {re.sub(r'{[a-z_]*id}', '{id}', path.removeprefix(API))}"
              for path, operations in paths.items() for method in operations}
    assert not set(EXPECTED) & set(COVERED_ELSEWHERE)
    assert routes == set(EXPECTED) | set(COVERED_ELSEWHERE)


@dataclass
class World:
    """What one cell of the matrix needs: a key of the role and the things it acts on."""

    headers: Headers
    key_id: int
    leader: dict[str, Any]
    unit: dict[str, Any]
    project: dict[str, Any] | None = None
    victim_key_id: int | None = None


async def new_key(api: Api, role: str, **binding: Any) -> tuple[Headers, int, str]:
    """A key made through the API: (headers, id, secret)."""
    r = await api.client.post(f"{API}/api-keys", headers=api.admin, json={"name": f"{role} key", "role": role,
                                                                           **binding})
    assert r.status_code == 201, r.text
    secret = r.json()["key"]
    return {"Authorization": f"Bearer {secret}"}, r.json()["id"], secret


async def key_id_of(api: Api, headers: Headers) -> int:
    prefix = headers["Authorization"].removeprefix("Bearer ipk_").partition("_")[0]
    r = await api.client.get(f"{API}/api-keys", headers=api.admin, params={"limit": 200})
    assert r.status_code == 200, r.text
    return int(next(k["id"] for k in r.json()["items"] if k["prefix"] == prefix))


async def etag_of(api: Api, path: str) -> str:
    r = await api.client.get(f"{API}{path}", headers=api.admin)
    assert r.status_code == 200, r.text
    return r.headers["ETag"]


async def last_event_id(api: Api) -> int:
    items = await api.audit(limit=1)
    return int(items[0]["id"]) if items else 0


async def events_after(api: Api, event_id: int) -> list[dict[str, Any]]:
    return [e for e in await api.audit() if e["id"] > event_id]


async def make_world(api: Api, role: str, resource: str) -> World:
    leader = await api.leader()
    unit = await api.unit()
    binding = {"leader": {"leader_id": leader["id"]}, "unit": {"unit_id": unit["id"]}}.get(role, {})
    headers, key_id, _ = await new_key(api, role, **binding)
    world = World(headers=headers, key_id=key_id, leader=leader, unit=unit)
    if resource == "projects":
        world.project = await api.project(code=CODE, leader_id=leader["id"], unit_id=unit["id"],
                                          stage_entered_on="2024-01-01", investor=INVESTOR)
    if resource == "api-keys":
        _, world.victim_key_id, _ = await new_key(api, "viewer")
    return world


def body_for(method: str, template: str) -> dict[str, Any] | None:
    bodies: dict[str, Callable[[], dict[str, Any]]] = {
        # The world's investor: a new one would be created, with an event of its own.
        "POST /projects": lambda: project_body(investor=INVESTOR),
        "PATCH /projects/{id}": lambda: {"name": "改名后的项目"},
        "POST /projects/{id}/transitions": lambda: {"to": "signed", "occurred_on": "2024-02-01", "note": "签约"},
        "POST /leaders": lambda: {"name": "新任领导", "title": "副市长"},
        "PATCH /leaders/{id}": lambda: {"title": "常务副市长"},
        "POST /units": lambda: {"name": "新的责任单位"},
        "PATCH /units/{id}": lambda: {"contact": "张三 0532-12345678"},
        "POST /api-keys": lambda: {"name": "a new key", "role": "viewer"},
    }
    make = bodies.get(f"{method} {template}")
    return make() if make else None


async def request_for(api: Api, world: World, endpoint: str) -> tuple[str, str, Headers, dict[str, Any] | None]:
    method, template = endpoint.split(" ")
    resource = template.split("/")[1]
    ids = {"projects": world.project["id"] if world.project else None, "leaders": world.leader["id"],
           "units": world.unit["id"], "api-keys": world.victim_key_id}
    path = template.replace("{id}", str(ids.get(resource))).replace("{code}", CODE)
    url = path if resource in ("healthz", "readyz") else f"{API}{path}"
    headers = dict(world.headers)
    needs_if_match = (method in ("PATCH", "DELETE") and resource != "api-keys") or (
        method == "POST" and template.endswith("/transitions"))
    if needs_if_match:
        headers["If-Match"] = await etag_of(api, f"/{resource}/{ids[resource]}")
    return method, url, headers, body_for(method, template)


MATRIX_CASES = [
    pytest.param(role, endpoint, statuses[i], id=f"{role}-{endpoint}")
    for endpoint, statuses in EXPECTED.items()
    for i, role in enumerate(ROLES)
]


@pytest.mark.postgres_only
@pytest.mark.parametrize(("role", "endpoint", "expected"), MATRIX_CASES)
async def test_each_role_gets_exactly_the_access_the_matrix_grants(api: Api, role: str, endpoint: str,
                                                                   expected: int) -> None:
    resource = endpoint.split(" ")[1].split("/")[1]
    world = await make_world(api, role, resource)
    method, url, headers, body = await request_for(api, world, endpoint)
    baseline = await last_event_id(api)

    r = await api.client.request(method, url, headers=headers, json=body)

    assert r.status_code == expected, r.text
    new_events = await events_after(api, baseline)
    if expected == 403:
        assert r.headers["content-type"] == PROBLEM_JSON
        assert r.json()["code"] == "forbidden"
    if 200 <= expected < 300 and endpoint in AUDIT_ACTION:
        assert [(e["action"], e["actor_key_id"]) for e in new_events] == [(AUDIT_ACTION[endpoint], world.key_id)]
    else:
        assert new_events == []
    if endpoint == "GET /projects" and expected == 200:
        assert world.project is not None
        assert [p["id"] for p in r.json()["items"]] == [world.project["id"]]


# --------------------------------------------------------------------------------------
# 2. Object-level access.
# --------------------------------------------------------------------------------------


@dataclass
class TwoUnits:
    mine: dict[str, Any]
    theirs: dict[str, Any]
    my_project: dict[str, Any]
    their_project: dict[str, Any]
    unit_key: Headers


async def two_units(api: Api) -> TwoUnits:
    mine, theirs = await api.unit(), await api.unit()
    my_project = await api.project(unit_id=mine["id"], code=CODE, name="我方单位的项目")
    their_project = await api.project(unit_id=theirs["id"], code=OTHER_CODE, name="他方单位的项目")
    unit_key = await api.key("unit", unit_id=mine["id"])
    return TwoUnits(mine, theirs, my_project, their_project, unit_key)


OTHER_UNIT_READS = {
    "GET /projects/{id}": lambda p: f"{API}/projects/{p['id']}",
    "GET /projects/by-code/{code}": lambda p: f"{API}/projects/by-code/{p['code']}",
    "GET /projects/{id}/transitions": lambda p: f"{API}/projects/{p['id']}/transitions",
}


async def test_unit_key_reads_its_own_units_project(api: Api) -> None:
    t = await two_units(api)
    for url in (f"{API}/projects/{t.my_project['id']}", f"{API}/projects/by-code/{CODE}"):
        r = await api.client.get(url, headers=t.unit_key)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == t.my_project["id"]
    r = await api.client.get(f"{API}/projects/{t.my_project['id']}/transitions", headers=t.unit_key)
    assert r.status_code == 200
    assert [e["to_stage"] for e in r.json()["items"]] == ["negotiating"]


@pytest.mark.parametrize("endpoint", list(OTHER_UNIT_READS))
async def test_unit_key_gets_404_not_403_for_another_units_project(api: Api, endpoint: str) -> None:
    t = await two_units(api)
    r = await api.client.get(OTHER_UNIT_READS[endpoint](t.their_project), headers=t.unit_key)
    assert r.status_code == 404, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["code"] == "not_found"
    assert t.their_project["name"] not in r.text


async def test_unit_key_cannot_tell_another_units_project_from_a_missing_one(api: Api) -> None:
    t = await two_units(api)
    theirs = await api.client.get(f"{API}/projects/{t.their_project['id']}", headers=t.unit_key)
    missing = await api.client.get(f"{API}/projects/999999", headers=t.unit_key)
    assert theirs.status_code == missing.status_code == 404
    assert {k: v for k, v in theirs.json().items() if k not in ("detail", "instance")} == \
           {k: v for k, v in missing.json().items() if k not in ("detail", "instance")}
    by_code = await api.client.get(f"{API}/projects/by-code/{OTHER_CODE}", headers=t.unit_key)
    missing_code = await api.client.get(f"{API}/projects/by-code/2016-370214-04-01-000001", headers=t.unit_key)
    assert by_code.status_code == missing_code.status_code == 404
    assert by_code.json()["code"] == missing_code.json()["code"] == "not_found"


@pytest.mark.parametrize("endpoint", ["PATCH /projects/{id}", "DELETE /projects/{id}",
                                      "POST /projects/{id}/transitions"])
async def test_unit_key_cannot_change_any_project_and_learns_nothing_from_trying(api: Api, endpoint: str) -> None:
    """Whether the project is its own, another unit's or missing, the answer is one 403."""
    t = await two_units(api)
    method, template = endpoint.split(" ")
    baseline = await last_event_id(api)
    for project_id in (t.my_project["id"], t.their_project["id"], 999999):
        r = await api.client.request(method, f"{API}{template.replace('{id}', str(project_id))}",
                                     headers={**t.unit_key, "If-Match": '"1"'}, json=body_for(method, template))
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "forbidden"
    assert await events_after(api, baseline) == []


async def test_unit_key_does_not_see_another_units_project_in_the_list(api: Api) -> None:
    t = await two_units(api)
    mine_archived = await api.project(unit_id=t.mine["id"])
    theirs_archived = await api.project(unit_id=t.theirs["id"])
    for p in (mine_archived, theirs_archived):
        r = await api.client.delete(f"{API}/projects/{p['id']}", headers={**api.admin, "If-Match": '"1"'})
        assert r.status_code == 200, r.text

    async def ids(**params: Any) -> list[int]:
        r = await api.client.get(f"{API}/projects", headers=t.unit_key, params=params)
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()["items"]]

    assert await ids() == [t.my_project["id"]]
    assert await ids(unit_id=t.theirs["id"]) == []
    assert await ids(code=OTHER_CODE) == []
    assert await ids(q="他方") == []
    assert await ids(archived="true") == [mine_archived["id"]]
    assert await ids(limit=1, sort="-created_at") == [t.my_project["id"]]


async def test_unit_key_does_not_see_projects_without_a_unit(api: Api) -> None:
    unit = await api.unit()
    orphan = await api.project(code=CODE)
    key = await api.key("unit", unit_id=unit["id"])
    r = await api.client.get(f"{API}/projects/{orphan['id']}", headers=key)
    assert r.status_code == 404
    r = await api.client.get(f"{API}/projects", headers=key)
    assert r.json()["items"] == []


async def test_unit_key_loses_sight_of_a_project_handed_to_another_unit(api: Api) -> None:
    t = await two_units(api)
    r = await api.client.patch(f"{API}/projects/{t.my_project['id']}", json={"unit_id": t.theirs["id"]},
                               headers={**api.admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    r = await api.client.get(f"{API}/projects/{t.my_project['id']}", headers=t.unit_key)
    assert r.status_code == 404
    r = await api.client.get(f"{API}/projects", headers=t.unit_key)
    assert r.json()["items"] == []


async def test_leader_key_reads_every_project_not_only_its_own(api: Api) -> None:
    me, other = await api.leader(), await api.leader()
    unit = await api.unit()
    own = await api.project(leader_id=me["id"], code=CODE)
    others = await api.project(leader_id=other["id"], unit_id=unit["id"], code=OTHER_CODE)
    nobodys = await api.project()
    key = await api.key("leader", leader_id=me["id"])
    r = await api.client.get(f"{API}/projects", headers=key, params={"sort": "created_at"})
    assert r.status_code == 200
    assert [p["id"] for p in r.json()["items"]] == [own["id"], others["id"], nobodys["id"]]
    for p in (own, others, nobodys):
        assert (await api.client.get(f"{API}/projects/{p['id']}", headers=key)).status_code == 200
        assert (await api.client.get(f"{API}/projects/{p['id']}/transitions", headers=key)).status_code == 200
    assert (await api.client.get(f"{API}/projects/by-code/{OTHER_CODE}", headers=key)).status_code == 200
    for path in ("/leaders", f"/leaders/{other['id']}", "/units", f"/units/{unit['id']}", "/meta/enums"):
        assert (await api.client.get(f"{API}{path}", headers=key)).status_code == 200, path


@pytest.mark.parametrize("endpoint", ["POST /projects", "PATCH /projects/{id}", "DELETE /projects/{id}",
                                      "POST /projects/{id}/transitions"])
async def test_leader_key_gets_403_on_changing_projects_even_its_own(api: Api, endpoint: str) -> None:
    me = await api.leader()
    own = await api.project(leader_id=me["id"], stage_entered_on="2024-01-01")
    key = await api.key("leader", leader_id=me["id"])
    method, template = endpoint.split(" ")
    baseline = await last_event_id(api)
    r = await api.client.request(method, f"{API}{template.replace('{id}', str(own['id']))}",
                                 headers={**key, "If-Match": '"1"'}, json=body_for(method, template))
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "forbidden"
    assert await events_after(api, baseline) == []
    assert await api.get_project(own["id"]) == own


# --------------------------------------------------------------------------------------
# 3. Keys.
# --------------------------------------------------------------------------------------


def assert_401(r: httpx.Response, code: str) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["www-authenticate"] == "Bearer"
    body = r.json()
    assert body["code"] == code
    assert body["status"] == 401
    assert {"type", "title", "detail"} <= set(body)


async def test_a_revoked_key_fails_with_401_on_its_very_next_request(api: Api) -> None:
    headers, key_id, _ = await new_key(api, "admin")
    assert (await api.client.get(f"{API}/meta/enums", headers=headers)).status_code == 200
    r = await api.client.delete(f"{API}/api-keys/{key_id}", headers=api.admin)
    assert r.status_code == 200, r.text
    assert r.json()["revoked_at"] is not None
    baseline = await last_event_id(api)
    assert_401(await api.client.get(f"{API}/meta/enums", headers=headers), "key_revoked")
    assert_401(await api.client.post(f"{API}/leaders", headers=headers, json={"name": "不该出现"}), "key_revoked")
    assert await events_after(api, baseline) == []
    r = await api.client.get(f"{API}/leaders", headers=api.admin)
    assert r.json()["items"] == []


async def test_revoking_a_key_twice_is_a_409_and_a_missing_key_a_404(api: Api) -> None:
    _, key_id, _ = await new_key(api, "viewer")
    assert (await api.client.delete(f"{API}/api-keys/{key_id}", headers=api.admin)).status_code == 200
    r = await api.client.delete(f"{API}/api-keys/{key_id}", headers=api.admin)
    assert r.status_code == 409
    assert r.json()["code"] == "key_revoked"
    r = await api.client.delete(f"{API}/api-keys/999999", headers=api.admin)
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


async def test_an_expired_key_fails_with_401(api: Api) -> None:
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = await api.client.post(f"{API}/api-keys", headers=api.admin,
                              json={"name": "short-lived", "role": "viewer", "expires_at": soon})
    assert r.status_code == 201, r.text
    key_id, headers = r.json()["id"], {"Authorization": f"Bearer {r.json()['key']}"}
    assert (await api.client.get(f"{API}/meta/enums", headers=headers)).status_code == 200

    async with api.app.state.sessionmaker() as session, session.begin():
        await session.execute(update(ApiKey).where(ApiKey.id == key_id)
                              .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    assert_401(await api.client.get(f"{API}/meta/enums", headers=headers), "key_expired")


async def test_a_key_cannot_be_issued_already_expired(api: Api) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    r = await api.client.post(f"{API}/api-keys", headers=api.admin,
                              json={"name": "stillborn", "role": "viewer", "expires_at": past})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["expires_at"]


@pytest.mark.parametrize("authorization", [
    pytest.param("Bearer", id="bearer-without-token"),
    pytest.param("Bearer ", id="bearer-blank"),
    pytest.param("Bearer not-a-key", id="not-our-format"),
    pytest.param("Basic dXNlcjpwYXNzd29yZA==", id="basic-scheme"),
    pytest.param("ipk_0123456789ab_secret", id="no-scheme"),
    pytest.param("Bearer ipk_", id="prefix-only"),
    pytest.param("Bearer ipk_0123456789ab", id="no-secret"),
    pytest.param("Bearer ipk__secret", id="empty-prefix"),
    pytest.param("Bearer ipk_0123456789abcdef0_secret", id="overlong-prefix"),
    pytest.param("Bearer ipk_0123456789ab_" + "x" * 43, id="unknown-key"),
    pytest.param("Bearer ipk_' OR 1=1 --_x", id="sql-in-prefix"),
])
async def test_a_malformed_or_unknown_key_gets_401_with_a_stable_code(api: Api, authorization: str) -> None:
    r = await api.client.get(f"{API}/projects", headers={"Authorization": authorization})
    assert_401(r, "unauthorized")


async def test_a_real_key_with_a_wrong_secret_gets_the_same_401_as_an_unknown_key(api: Api) -> None:
    _, _, secret = await new_key(api, "admin")
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    assert_401(await api.client.get(f"{API}/projects", headers={"Authorization": f"Bearer {forged}"}),
               "unauthorized")


async def test_no_authorization_header_gets_401(api: Api) -> None:
    for method, path in (("GET", "/projects"), ("GET", "/meta/enums"), ("POST", "/leaders"),
                         ("GET", "/audit-events"), ("GET", "/api-keys")):
        r = await api.client.request(method, f"{API}{path}", json={"name": "x"} if method == "POST" else None)
        assert_401(r, "unauthorized")


@pytest.mark.parametrize("who", ["no-key", "viewer"])
async def test_a_change_without_a_key_or_role_is_refused_before_if_match_is_asked_for(api: Api, who: str) -> None:
    project = await api.project()
    headers = {} if who == "no-key" else await api.key("viewer")
    r = await api.client.patch(f"{API}/projects/{project['id']}", headers=headers, json={"name": "x"})
    assert r.status_code == (401 if who == "no-key" else 403), r.text


async def test_the_key_secret_is_shown_only_in_the_create_response(api: Api) -> None:
    r = await api.client.post(f"{API}/api-keys", headers=api.admin, json={"name": "once", "role": "bureau"})
    assert r.status_code == 201
    created = r.json()
    secret = created["key"]
    assert secret.startswith(f"ipk_{created['prefix']}_")
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["location"] == f"{API}/api-keys/{created['id']}"
    hidden = secret.split("_", 2)[2]

    reads = [
        await api.client.get(f"{API}/api-keys", headers=api.admin),
        await api.client.get(f"{API}/api-keys", headers=api.admin, params={"revoked": "false"}),
        await api.client.get(f"{API}/api-keys/{created['id']}", headers=api.admin),
        await api.client.get(f"{API}/audit-events", headers=api.admin),
        await api.client.delete(f"{API}/api-keys/{created['id']}", headers=api.admin),
        await api.client.get(f"{API}/api-keys", headers=api.admin, params={"revoked": "true"}),
    ]
    for read in reads:
        assert read.status_code == 200, read.text
        assert hidden not in read.text
        assert "secret_hash" not in read.text
    for item in reads[0].json()["items"]:
        assert "key" not in item
    assert "key" not in reads[2].json()


async def test_a_key_created_with_an_idempotency_key_is_still_stored_only_as_a_hash(api: Api) -> None:
    r = await api.client.post(f"{API}/api-keys", headers={**api.admin, "Idempotency-Key": "issue-1"},
                              json={"name": "retried", "role": "viewer"})
    assert r.status_code == 201
    hidden = r.json()["key"].split("_", 2)[2]
    async with api.app.state.sessionmaker() as session:
        stored = [rec.response_body or "" for rec in (await session.execute(select(IdempotencyRecord))).scalars()]
    assert all(hidden not in body for body in stored)


async def test_listing_keys_shows_no_secret_fields(api: Api) -> None:
    await new_key(api, "viewer")
    r = await api.client.get(f"{API}/api-keys", headers=api.admin)
    assert r.status_code == 200
    for item in r.json()["items"]:
        assert set(item) == {"id", "name", "role", "prefix", "leader_id", "unit_id", "created_at", "created_by",
                             "expires_at", "revoked_at", "last_used_at"}


# --------------------------------------------------------------------------------------
# 4. Audit.
# --------------------------------------------------------------------------------------


def without(d: dict[str, Any] | None, *keys: str) -> dict[str, Any] | None:
    return None if d is None else {k: v for k, v in d.items() if k not in keys}


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def only_new_event(api: Api, baseline: int) -> dict[str, Any]:
    new = await events_after(api, baseline)
    assert len(new) == 1, new
    return new[0]


def assert_changed_fields(event: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> None:
    """``before``/``after`` hold exactly the changed fields. The row version, which every
    change bumps, may be there too, but then with its true values."""
    assert without(event["before"], "version") == before
    assert without(event["after"], "version") == after
    if "version" in (event["before"] or {}) or "version" in (event["after"] or {}):
        assert event["after"]["version"] == event["before"]["version"] + 1


Ready = Callable[[], Awaitable[None]]


@dataclass
class Change:
    """A change made for the audit tests: the response and the event it must have left."""

    response: httpx.Response
    action: str
    resource_type: str
    resource_id: int
    actor_key_id: int
    check: Callable[[dict[str, Any], httpx.Response], None]


async def _project_create(api: Api, bureau: Headers, bureau_id: int, ready: Ready) -> Change:
    body = project_body(name="审计项目", code=CODE)
    # The investor exists, so the project is linked to it (a new one would be a change of its own).
    r = await api.client.post(f"{API}/investors", headers=bureau,
                              json={"name": body["investor"], "country": body["investor_country"]})
    assert r.status_code == 201, r.text
    await ready()
    r = await api.client.post(f"{API}/projects", headers=bureau, json=body)

    def check(e: dict[str, Any], r: httpx.Response) -> None:
        assert e["before"] is None
        assert e["after"] == without(r.json(), "updated_at")
        assert e["after"]["name"] == "审计项目"
        assert e["after"]["stage"] == "negotiating"

    return Change(r, "project.create", "project", r.json()["id"], bureau_id, check)


async def _project_update(api: Api, bureau: Headers, bureau_id: int, ready: Ready) -> Change:
    p = await api.project(name="甲项目")
    await ready()
    r = await api.client.patch(f"{API}/projects/{p['id']}", headers={**bureau, "If-Match": '"1"'},
                               json={"name": "乙项目", "on_hold": True, "zone": p["zone"]})

    def check(e: dict[str, Any], r: httpx.Response) -> None:
        assert_changed_fields(e, {"name": "甲项目", "on_hold": False}, {"name": "乙项目", "on_hold": True})

    return Change(r, "project.update", "project", p["id"], bureau_id, check)


async def _project_update_money(api: Api, bureau: Headers, bureau_id: int, ready: Ready) -> Change:
    p = await api.project()
    new_money = {"amount": "3260000000.00", "currency": "USD"}
    await ready()
    r = await api.client.patch(f"{API}/projects/{p['id']}", headers={**bureau, "If-Match": '"1"'},
                               json={"total_investment": new_money})

    def check(e: dict[str, Any], r: httpx.Response) -> None:
        assert_changed_fields(e, {"total_investment": p["total_investment"]}, {"total_investment": new_money})

    return Change(r, "project.update", "project", p["id"], bureau_id, check)


async def _project_archive(api: Api, bureau: Headers, bureau_id: int, ready: Ready) -> Change:
    p = await api.project()
    await ready()
    r = await api.client.delete(f"{API}/projects/{p['id']}", headers={**bureau, "If-Match": '"1"'})

    def check(e: dict[str, Any], r: httpx.Response) -> None:
        assert e["before"] == {"archived_at": None}
        assert set(e["after"]) == {"archived_at"}
        assert instant(e["after"]["archived_at"]) == instant(r.json()["archived_at"])

    return Change(r, "project.archive", "project", p["id"], bureau_id, check)


async def _project_transition(api: Api, bureau: Headers, bureau_id: int, ready: Ready) -> Change:
    p = await api.project(stage_entered_on="2024-01-01")
    await ready()
    r = await api.move(p, "signed", "2024-02-01", headers=bureau, note="签约仪式")

    def check(e: dict[str, Any], r: httpx.Response) -> None:
        assert e["before"]["stage"] == "negotiating"
        assert e["after"]["stage"] == "signed"
        assert e["after"]["stage_entered_on"] == "2024-02-01"
        assert e["after"].get("note") == "签约仪式"

    return Change(r, "project.transition", "project", p["id"], bureau_id, check)


async def _leader_create(api: Api, bureau: Headers, bureau_id: int, ready: Ready) -> Change:
    await ready()
    r = await api.client.post(f"{API}/leaders", headers=bureau, json={"name": "王市长", "title": "副市长"})

    def check(e: dict[str, Any], r: httpx.Response) -> None:
        assert e["before"] is None
        assert e["after"] == without(r.json(), "updated_at")

    return Change(r, "leader.create", "leader", r.json()["id"], bureau_id, check)


async def _leader_update(api: Api, bureau: Headers, bureau_id: int, ready: Ready) -> Change:
    leader = await api.leader(name="李市长")
    await ready()
    r = await api.client.patch(f"{API}/leaders/{leader['id']}", headers={**bureau, "If-Match": '"1"'},
                               json={"name": "李副市长", "title": "副市长"})

    def check(e: dict[str, Any], r: httpx.Response) -> None:
        assert_changed_fields(e, {"name": "李市长"}, {"name": "李副市长"})

    return Change(r, "leader.update", "leader", leader["id"], bureau_id, check)


async def _leader_archive(api: Api, bureau: Headers, bureau_id: int, ready: Ready) -> Change:
    leader = await api.leader()
    await ready()
    r = await api.client.delete(f"{API}/leaders/{leader['id']}", headers={**bureau, "If-Match": '"1"'})

    def check(e: dict[str, Any], r: httpx.Response) -> None:
        assert e["before"] == {"archived_at": None}
        assert instant(e["after"]["archived_at"]) == instant(r.json()["archived_at"])

    return Change(r, "leader.archive", "leader", leader["id"], bureau_id, check)


async def _unit_create(api: Api, bureau: Headers, bureau_id: int, ready: Ready) -> Change:
    await ready()
    r = await api.client.post(f"{API}/units", headers=bureau, json={"name": "市发展改革委", "kind": "department"})

    def check(e: dict[str, Any], r: httpx.Response) -> None:
        assert e["before"] is None
        assert e["after"] == without(r.json(), "updated_at")

    return Change(r, "unit.create", "unit", r.json()["id"], bureau_id, check)


async def _unit_update(api: Api, bureau: Headers, bureau_id: int, ready: Ready) -> Change:
    unit = await api.unit(name="市商务局")
    await ready()
    r = await api.client.patch(f"{API}/units/{unit['id']}", headers={**bureau, "If-Match": '"1"'},
                               json={"contact": "赵科长"})

    def check(e: dict[str, Any], r: httpx.Response) -> None:
        assert_changed_fields(e, {"contact": None}, {"contact": "赵科长"})

    return Change(r, "unit.update", "unit", unit["id"], bureau_id, check)


async def _unit_archive(api: Api, bureau: Headers, bureau_id: int, ready: Ready) -> Change:
    unit = await api.unit()
    await ready()
    r = await api.client.delete(f"{API}/units/{unit['id']}", headers={**bureau, "If-Match": '"1"'})

    def check(e: dict[str, Any], r: httpx.Response) -> None:
        assert e["before"] == {"archived_at": None}
        assert instant(e["after"]["archived_at"]) == instant(r.json()["archived_at"])

    return Change(r, "unit.archive", "unit", unit["id"], bureau_id, check)


async def _api_key_create(api: Api, bureau: Headers, bureau_id: int, ready: Ready) -> Change:
    admin_id = await key_id_of(api, api.admin)
    await ready()
    r = await api.client.post(f"{API}/api-keys", headers=api.admin, json={"name": "审批系统", "role": "integration"})

    def check(e: dict[str, Any], r: httpx.Response) -> None:
        assert e["before"] is None
        assert e["after"] == without(r.json(), "key", "last_used_at")
        assert r.json()["key"].split("_", 2)[2] not in str(e)

    return Change(r, "api_key.create", "api_key", r.json()["id"], admin_id, check)


async def _api_key_revoke(api: Api, bureau: Headers, bureau_id: int, ready: Ready) -> Change:
    admin_id = await key_id_of(api, api.admin)
    await ready()
    r = await api.client.delete(f"{API}/api-keys/{bureau_id}", headers=api.admin)

    def check(e: dict[str, Any], r: httpx.Response) -> None:
        assert e["before"] == {"revoked_at": None}
        assert instant(e["after"]["revoked_at"]) == instant(r.json()["revoked_at"])

    return Change(r, "api_key.revoke", "api_key", bureau_id, admin_id, check)


CHANGES: dict[str, Callable[[Api, Headers, int, Ready], Awaitable[Change]]] = {
    "project-create": _project_create,
    "project-patch": _project_update,
    "project-patch-money": _project_update_money,
    "project-archive": _project_archive,
    "project-transition": _project_transition,
    "leader-create": _leader_create,
    "leader-patch": _leader_update,
    "leader-archive": _leader_archive,
    "unit-create": _unit_create,
    "unit-patch": _unit_update,
    "unit-archive": _unit_archive,
    "api-key-create": _api_key_create,
    "api-key-revoke": _api_key_revoke,
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_every_change_leaves_exactly_one_audit_event_with_its_before_and_after(api: Api, change: str) -> None:
    bureau, bureau_id, _ = await new_key(api, "bureau")
    baseline: list[int] = []

    async def ready() -> None:  # called by the scenario after its set-up, just before its request
        baseline.append(await last_event_id(api))

    made = await CHANGES[change](api, bureau, bureau_id, ready)

    assert made.response.status_code in (200, 201), made.response.text
    event = await only_new_event(api, baseline[0])
    assert event["action"] == made.action
    assert event["resource_type"] == made.resource_type
    assert event["resource_id"] == str(made.resource_id)
    assert event["actor_key_id"] == made.actor_key_id
    assert event["request_id"] == made.response.headers["X-Request-ID"]
    for side in ("before", "after"):
        assert "updated_at" not in (event[side] or {})
    made.check(event, made.response)


async def test_a_transitions_audit_event_shows_both_old_and_new_stage_entered_on(api: Api) -> None:
    p = await api.project(stage_entered_on="2024-01-01")
    r = await api.move(p, "signed", "2024-02-01")
    assert r.status_code == 201
    event = (await api.audit(action="project.transition"))[0]
    assert event["before"]["stage_entered_on"] == "2024-01-01"
    assert event["after"]["stage_entered_on"] == "2024-02-01"


async def test_the_request_id_sent_with_a_change_is_recorded_on_its_audit_event(api: Api) -> None:
    leader = await api.leader()
    r = await api.client.patch(f"{API}/leaders/{leader['id']}", json={"title": "市长"},
                               headers={**api.admin, "If-Match": '"1"', "X-Request-ID": "oa-flow-20240201-0001"})
    assert r.status_code == 200, r.text
    assert r.headers["X-Request-ID"] == "oa-flow-20240201-0001"
    event = (await api.audit(resource_type="leader", action="leader.update"))[0]
    assert event["request_id"] == "oa-flow-20240201-0001"


# --- a failed request leaves no event and changes nothing -----------------------------


@dataclass
class Scene:
    bureau: Headers
    viewer: Headers
    leader_key: Headers
    project: dict[str, Any]
    stale_etag: str
    signed: dict[str, Any]
    archived: dict[str, Any]
    leader: dict[str, Any]
    unit: dict[str, Any]
    archived_unit: dict[str, Any]
    revoked_key_id: int


async def scene(api: Api) -> Scene:
    bureau, viewer = await api.key("bureau"), await api.key("viewer")
    leader = await api.leader(name="孙市长")
    leader_key = await api.key("leader", leader_id=leader["id"])
    unit = await api.unit(name="市工信局")
    archived_unit = await api.unit(name="已撤销的单位")
    r = await api.client.delete(f"{API}/units/{archived_unit['id']}", headers={**api.admin, "If-Match": '"1"'})
    assert r.status_code == 200
    project = await api.project(name="原名", stage_entered_on="2024-01-01", leader_id=leader["id"])
    stale_etag = f'"{project["version"]}"'
    r = await api.client.patch(f"{API}/projects/{project['id']}", json={"investor": "新的投资方"},
                               headers={**api.admin, "If-Match": stale_etag})
    assert r.status_code == 200
    signed = await api.project(stage="signed", stage_entered_on="2024-01-01")
    archived = await api.project()
    r = await api.client.delete(f"{API}/projects/{archived['id']}", headers={**api.admin, "If-Match": '"1"'})
    assert r.status_code == 200
    _, revoked_key_id, _ = await new_key(api, "viewer")
    assert (await api.client.delete(f"{API}/api-keys/{revoked_key_id}", headers=api.admin)).status_code == 200
    r = await api.client.patch(f"{API}/leaders/{leader['id']}", json={"title": "副市长（常务）"},
                               headers={**api.admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    leader = r.json()
    return Scene(bureau, viewer, leader_key, await api.get_project(project["id"]), stale_etag, signed,
                 await api.get_project(archived["id"]), leader, unit, archived_unit, revoked_key_id)


async def everything(api: Api) -> dict[str, Any]:
    """All the state a request could change, as the admin reads it."""
    state: dict[str, Any] = {}
    for path in ("/projects", "/leaders", "/units"):
        for archived in ("false", "true"):
            r = await api.client.get(f"{API}{path}", headers=api.admin, params={"archived": archived, "limit": 200})
            state[f"{path}?archived={archived}"] = r.json()["items"]
    for p in state["/projects?archived=false"] + state["/projects?archived=true"]:
        r = await api.client.get(f"{API}/projects/{p['id']}/transitions", headers=api.admin)
        state[f"transitions {p['id']}"] = r.json()["items"]
    r = await api.client.get(f"{API}/api-keys", headers=api.admin, params={"limit": 200})
    state["/api-keys"] = [without(k, "last_used_at") for k in r.json()["items"]]
    state["/audit-events"] = await api.audit()
    return state


Send = Callable[[], Awaitable[httpx.Response]]
# A failing request: given the scene, do any set-up of its own, and return the request
# (to be sent once the state has been taken).
Failure = Callable[[Api, Scene], Awaitable[Send]]


def _patch_project(body: dict[str, Any], *, who: str = "bureau", etag: str | None = "current") -> Failure:
    async def prepare(api: Api, s: Scene) -> Send:
        headers = dict(getattr(s, who))
        if etag == "current":
            headers["If-Match"] = f'"{s.project["version"]}"'
        elif etag == "stale":
            headers["If-Match"] = s.stale_etag
        return lambda: api.client.patch(f"{API}/projects/{s.project['id']}", headers=headers, json=body)

    return prepare


def _move(target: str, to: str, on: str, *, who: str = "bureau", **extra: Any) -> Failure:
    async def prepare(api: Api, s: Scene) -> Send:
        return lambda: api.move(getattr(s, target), to, on, headers=getattr(s, who), **extra)

    return prepare


def _send(method: str, path: str, *, who: str = "bureau", etag: str | None = None,
          body: Callable[[Scene], Any] | None = None) -> Failure:
    """A request whose path (``{project}``, ``{leader}``, ``{unit}``, ``{archived_unit}``,
    ``{revoked_key}``) and If-Match come from the scene."""

    async def prepare(api: Api, s: Scene) -> Send:
        url = API + path.format(project=s.project["id"], leader=s.leader["id"], unit=s.unit["id"],
                                archived_unit=s.archived_unit["id"], revoked_key=s.revoked_key_id)
        headers = dict(api.admin if who == "admin" else getattr(s, who))
        if etag == "current":
            headers["If-Match"] = await etag_of(api, url.removeprefix(API))
        elif etag is not None:
            headers["If-Match"] = etag
        json = body(s) if body else None
        return lambda: api.client.request(method, url, headers=headers, json=json)

    return prepare


async def _create_project_taken_code(api: Api, s: Scene) -> Send:
    r = await api.client.patch(f"{API}/projects/{s.signed['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"code": CODE})
    assert r.status_code == 200, r.text
    return lambda: api.client.post(f"{API}/projects", headers=s.bureau, json=project_body(code=CODE))


FAILURES: dict[str, tuple[Failure, int, str]] = {
    "project-create-bad-country-422": (
        _send("POST", "/projects", body=lambda s: project_body(investor_country="XX")), 422, "validation_error"),
    "project-create-unknown-leader-422": (
        _send("POST", "/projects", body=lambda s: project_body(leader_id=999999)), 422, "validation_error"),
    "project-create-archived-unit-422": (
        _send("POST", "/projects", body=lambda s: project_body(unit_id=s.archived_unit["id"])), 422,
        "validation_error"),
    "project-create-taken-code-409": (_create_project_taken_code, 409, "code_taken"),
    "project-create-by-viewer-403": (
        _send("POST", "/projects", who="viewer", body=lambda s: project_body()), 403, "forbidden"),
    "project-patch-empty-name-422": (_patch_project({"name": ""}), 422, "validation_error"),
    "project-patch-read-only-stage-422": (_patch_project({"stage": "signed"}), 422, "validation_error"),
    "project-patch-dates-out-of-order-422": (
        _patch_project({"planned_sign_on": "2025-06-01", "planned_start_on": "2025-01-01"}), 422,
        "validation_error"),
    "project-patch-stale-if-match-412": (_patch_project({"name": "新名"}, etag="stale"), 412, "version_mismatch"),
    "project-patch-no-if-match-428": (_patch_project({"name": "新名"}, etag=None), 428, "if_match_required"),
    "project-patch-by-viewer-403": (_patch_project({"name": "新名"}, who="viewer"), 403, "forbidden"),
    "project-patch-by-leader-403": (_patch_project({"name": "新名"}, who="leader_key"), 403, "forbidden"),
    "project-archive-stale-if-match-412": (
        _send("DELETE", "/projects/{project}", etag='"1"'), 412, "version_mismatch"),
    "project-archive-by-viewer-403": (
        _send("DELETE", "/projects/{project}", who="viewer", etag='"2"'), 403, "forbidden"),
    "transition-skipping-a-stage-409": (_move("project", "registered", "2024-02-01"), 409, "invalid_transition"),
    "transition-to-the-same-stage-409": (_move("signed", "signed", "2024-02-01"), 409, "invalid_transition"),
    "transition-of-an-archived-project-409": (_move("archived", "signed", "2024-02-01"), 409, "project_archived"),
    "transition-backward-by-bureau-403": (
        _move("signed", "negotiating", "2024-02-01", reason="录入错误"), 403, "correction_requires_admin"),
    "transition-terminate-without-reason-422": (
        _move("project", "terminated", "2024-02-01"), 422, "validation_error"),
    "transition-before-the-previous-move-422": (_move("project", "signed", "2023-12-31"), 422, "validation_error"),
    "transition-in-the-future-422": (_move("project", "signed", "2099-01-01"), 422, "validation_error"),
    "transition-stale-if-match-412": (
        _send("POST", "/projects/{project}/transitions", etag='"1"',
              body=lambda s: {"to": "signed", "occurred_on": "2024-02-01"}), 412, "version_mismatch"),
    "transition-by-viewer-403": (_move("project", "signed", "2024-02-01", who="viewer"), 403, "forbidden"),
    "leader-create-empty-name-422": (_send("POST", "/leaders", body=lambda s: {"name": " "}), 422,
                                     "validation_error"),
    "leader-create-by-leader-403": (
        _send("POST", "/leaders", who="leader_key", body=lambda s: {"name": "自封的领导"}), 403, "forbidden"),
    "leader-patch-stale-if-match-412": (
        _send("PATCH", "/leaders/{leader}", etag='"1"', body=lambda s: {"name": "改名"}), 412, "version_mismatch"),
    "leader-patch-null-name-422": (
        _send("PATCH", "/leaders/{leader}", etag="current", body=lambda s: {"name": None}), 422,
        "validation_error"),
    "leader-archive-stale-if-match-412": (_send("DELETE", "/leaders/{leader}", etag='"1"'), 412,
                                          "version_mismatch"),
    "unit-create-taken-name-409": (_send("POST", "/units", body=lambda s: {"name": "市工信局"}), 409, "name_taken"),
    "unit-patch-by-viewer-403": (
        _send("PATCH", "/units/{unit}", who="viewer", etag="current", body=lambda s: {"contact": "x"}), 403,
        "forbidden"),
    "unit-archive-twice-409": (_send("DELETE", "/units/{archived_unit}", etag="current"), 409,
                               "already_archived"),
    "api-key-create-by-bureau-403": (
        _send("POST", "/api-keys", body=lambda s: {"name": "my own admin", "role": "admin"}), 403, "forbidden"),
    "api-key-create-unit-key-without-unit-422": (
        _send("POST", "/api-keys", who="admin", body=lambda s: {"name": "nobody's", "role": "unit"}), 422,
        "validation_error"),
    "api-key-revoke-twice-409": (_send("DELETE", "/api-keys/{revoked_key}", who="admin"), 409, "key_revoked"),
    "api-key-revoke-by-bureau-403": (_send("DELETE", "/api-keys/{revoked_key}"), 403, "forbidden"),
}


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_a_failed_request_leaves_no_audit_event_and_changes_nothing(api: Api, failure: str) -> None:
    s = await scene(api)
    prepare, status, code = FAILURES[failure]
    send = await prepare(api, s)
    before = await everything(api)

    r = await send()

    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["code"] == code
    if status == 422:
        assert r.json()["errors"], r.json()
    assert await everything(api) == before


# --- reading the trail ----------------------------------------------------------------


async def test_audit_events_are_filterable_by_resource_action_actor_and_time(api: Api) -> None:
    bureau, bureau_id, _ = await new_key(api, "bureau")
    admin_id = await key_id_of(api, api.admin)
    one = await api.leader(name="甲领导")                                          # admin: leader.create
    r = await api.client.post(f"{API}/leaders", headers=bureau, json={"name": "乙领导"})  # bureau: leader.create
    two = r.json()
    r = await api.client.patch(f"{API}/leaders/{one['id']}", headers={**bureau, "If-Match": '"1"'},
                               json={"title": "市长"})                             # bureau: leader.update
    assert r.status_code == 200
    unit = await api.unit()                                                         # admin: unit.create
    r = await api.client.delete(f"{API}/leaders/{one['id']}", headers={**api.admin, "If-Match": '"2"'})
    assert r.status_code == 200                                                     # admin: leader.archive

    async def actions(**params: Any) -> list[tuple[str, str]]:
        return [(e["action"], e["resource_id"]) for e in await api.audit(**params)]

    l1, l2, u = str(one["id"]), str(two["id"]), str(unit["id"])
    assert await actions(resource_type="leader") == [
        ("leader.archive", l1), ("leader.update", l1), ("leader.create", l2), ("leader.create", l1)]
    assert await actions(resource_type="leader", resource_id=l1) == [
        ("leader.archive", l1), ("leader.update", l1), ("leader.create", l1)]
    assert await actions(resource_type="unit", resource_id=u) == [("unit.create", u)]
    assert await actions(action="leader.create") == [("leader.create", l2), ("leader.create", l1)]
    assert await actions(actor_key_id=bureau_id) == [("leader.update", l1), ("leader.create", l2)]
    assert await actions(actor_key_id=admin_id, resource_type="leader") == [
        ("leader.archive", l1), ("leader.create", l1)]
    assert await actions(resource_type="project") == []

    trail = await api.audit(resource_type="leader")
    update_at = trail[1]["occurred_at"]  # the leader.update
    assert await actions(resource_type="leader", since=update_at) == [("leader.archive", l1), ("leader.update", l1)]
    assert await actions(resource_type="leader", until=update_at) == [("leader.create", l2), ("leader.create", l1)]
    assert await actions(resource_type="leader", since=update_at, until=trail[0]["occurred_at"]) == [
        ("leader.update", l1)]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await actions(since=future) == []

    r = await api.client.get(f"{API}/audit-events", headers=api.admin, params={"since": "2024-01-01T00:00:00"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "since"


async def test_audit_events_are_cursor_paged_newest_first_each_event_once(api: Api) -> None:
    for i in range(4):
        await api.leader(name=f"翻页领导{i}")
        await api.unit(name=f"翻页单位{i}")
    everything_at_once = [e["id"] for e in await api.audit()]
    assert len(everything_at_once) >= 9
    assert everything_at_once == sorted(everything_at_once, reverse=True)

    pagings: list[tuple[int, dict[str, str]]] = [(2, {}), (3, {"resource_type": "unit"}),
                                                 (1, {"action": "leader.create"})]
    for limit, filters in pagings:
        seen: list[int] = []
        cursor = None
        pages = 0
        for _ in range(50):
            pages += 1
            r = await api.client.get(f"{API}/audit-events", headers=api.admin,
                                     params={"limit": limit, **filters, **({"cursor": cursor} if cursor else {})})
            assert r.status_code == 200, r.text
            page = r.json()
            assert len(page["items"]) <= limit
            seen += [e["id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        expected = [e["id"] for e in await api.audit(**filters)]
        assert seen == expected, filters
        assert len(set(seen)) == len(seen)
        assert pages == -(-len(expected) // limit) > 1, (pages, len(expected), limit)

    r = await api.client.get(f"{API}/audit-events", headers=api.admin, params={"cursor": "bm90LWEtY3Vyc29y"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_cursor"


async def test_the_audit_trail_has_no_route_to_change_or_delete_events(api: Api) -> None:
    await api.leader()
    trail = await api.audit()
    event_id = trail[0]["id"]
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        r = await api.client.request(method, f"{API}/audit-events", headers=api.admin, json={"action": "x"})
        assert r.status_code == 405, (method, r.text)
        assert r.headers["content-type"] == PROBLEM_JSON
        assert r.json()["code"] == "method_not_allowed"
        assert r.headers["allow"] == "GET"
    for method in ("PUT", "PATCH", "DELETE"):
        r = await api.client.request(method, f"{API}/audit-events/{event_id}", headers=api.admin,
                                     json={"action": "x"})
        assert r.status_code in (404, 405), (method, r.text)
        assert r.headers["content-type"] == PROBLEM_JSON
    assert await api.audit() == trail


async def test_a_viewer_reads_the_audit_trail_but_the_bureau_does_not(api: Api) -> None:
    viewer, bureau = await api.key("viewer"), await api.key("bureau")
    r = await api.client.get(f"{API}/audit-events", headers=viewer)
    assert r.status_code == 200
    assert r.json()["items"] == await api.audit()
    r = await api.client.get(f"{API}/audit-events", headers=bureau)
    assert r.status_code == 403


def test_the_readme_shows_the_role_matrix_as_the_code_has_it() -> None:
    from pathlib import Path

    from app.services.access.permissions import MATRIX

    roles = ("admin", "bureau", "leader", "unit", "integration", "viewer")
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = {r for r, c in zip(roles, cells[1:], strict=True) if c == "✓"}
    assert rows == {action.value: {r.value for r in allowed} for action, allowed in MATRIX.items()}


async def _last_used(api: Api, name: str) -> datetime | None:
    async with api.app.state.sessionmaker() as session:
        return (await session.execute(select(ApiKey.last_used_at).where(ApiKey.name == name))).scalar_one()


@pytest.mark.parametrize("path", ["/api/v1/projects/{id}", "/api/v1/projects"])
async def test_a_read_without_a_session_records_the_keys_last_use_once_it_succeeds(api: Api, path: str) -> None:
    # GET by id and the list run without a session: the last use is written on a connection of their own.
    made = await api.project()
    viewer = await api.key("viewer")
    assert await _last_used(api, "viewer key") is None
    r = await api.client.get("/api/v1/projects/999999", headers=viewer)
    assert r.status_code == 404
    assert await _last_used(api, "viewer key") is None  # a refused request writes nothing, as with a session
    r = await api.client.get(path.format(id=made["id"]), headers=viewer)
    assert r.status_code == 200
    assert await _last_used(api, "viewer key") is not None
