"""Every role against the feature routes that no other module's role table exercises.

``tests/access/test_access.py`` names, in ``ROLE_TABLES_ELSEWHERE``, the module whose role table
covers each newer route. These routes are listed there but were not called role by role in
their module; their table is here, one test case per role per route. The expected answers
are written out by hand from the routers' ``Allowed(Action.x)`` and the services' scoping
rules, never derived from ``app.services.permissions.MATRIX``.

Every case builds its own data with the admin key. The leader key is bound to the project's
leader and the unit key to the project's unit (which is also the unit of the supervised
task), so an answer reflects the role and not the scope.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update

from app.models import WebhookDelivery
from tests.factories import Api

API = "/api/v1"
ROLES = ("admin", "bureau", "leader", "unit", "integration", "viewer")

# route                                          admin bureau leader unit integration viewer
EXPECTED: dict[str, tuple[int, int, int, int, int, int]] = {
    # tests/supervision/test_difficulty_permissions.py
    "GET /projects/{id}/difficulties":                (200,  200,   200,  200,  403,  200),
    "GET /supervision-items/{id}":                    (200,  200,   200,  200,  403,  200),
    "PATCH /supervision-items/{id}":                  (200,  200,   403,  403,  403,  403),
    "DELETE /supervision-items/{id}":                 (200,  200,   403,  403,  403,  403),
    "GET /supervision-items/{id}/tasks":              (200,  200,   200,  200,  403,  200),
    "GET /supervision-tasks/{id}":                    (200,  200,   200,  200,  403,  200),
    "PATCH /supervision-tasks/{id}":                  (200,  200,   403,  403,  403,  403),
    "GET /supervision-tasks/{id}/progress":           (200,  200,   200,  200,  403,  200),
    # tests/approvals/test_approvals.py
    "GET /approval-kinds/{code}":                     (200,  200,   200,  200,  200,  200),
    "DELETE /approval-kinds/{code}":                  (200,  403,   403,  403,  403,  403),
    "GET /api-keys/{id}/signing-secret":              (200,  403,   403,  403,  403,  403),
    "GET /webhooks/{id}":                             (200,  403,   403,  403,  403,  403),
    "PATCH /webhooks/{id}":                           (200,  403,   403,  403,  403,  403),
    "DELETE /webhooks/{id}":                          (200,  403,   403,  403,  403,  403),
    "GET /webhooks/{id}/deliveries/{id}":             (200,  403,   403,  403,  403,  403),
    "POST /webhooks/{id}/deliveries/{id}/redeliver":  (200,  403,   403,  403,  403,  403),
    # tests/stats/test_stats_permissions.py
    "DELETE /targets/{id}":                           (200,  200,   403,  403,  403,  403),
    "GET /targets/{id}/members/history":              (200,  200,   200,  403,  403,  200),
    "GET /exchange-rates/{id}":                       (200,  200,   200,  403,  403,  200),
}  # fmt: skip

CASES = [pytest.param(route, role, status, id=f"{role}-{route}")
         for route, row in EXPECTED.items() for role, status in zip(ROLES, row, strict=True)]


@dataclass
class World:
    """A project with its leader and unit, a supervised item on it and a task for its unit."""

    api: Api
    leader: dict[str, Any]
    unit: dict[str, Any]
    project: dict[str, Any]

    async def item_and_task(self) -> tuple[dict[str, Any], dict[str, Any]]:
        item = await self.api.item(project_ids=[self.project["id"]])
        task = await self.api.task(item, self.unit, "2099-12-31")
        return item, task


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any] | None = None
    etag_from: str | None = None  # a path whose ETag (read with the admin key) is sent as If-Match


async def _target(api: Api) -> dict[str, Any]:
    r = await api.client.post(f"{API}/targets", headers=api.admin, json={
        "year": 2022, "title": "签约目标", "goal_stage": "signed", "target_count": 1, "membership": "list"})
    assert r.status_code == 201, r.text
    target = dict(r.json())
    p = await api.project()
    r = await api.client.post(f"{API}/targets/{target['id']}/members", headers={**api.admin, "If-Match": "*"},
                              json={"add": [p["id"]], "on": "2022-03-01"})
    assert r.status_code == 200, r.text
    return target


async def _pending_delivery(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    hook = await api.webhook("http://127.0.0.1:9/hooks")
    await api.project()  # project.created: one delivery, pending (no worker runs in the tests)
    [delivery] = await api.deliveries(hook["id"])
    return hook, delivery


async def difficulties_of_project(w: World) -> Call:
    await w.api.difficulty(w.project)
    return Call("GET", f"/projects/{w.project['id']}/difficulties")


async def read_item(w: World) -> Call:
    item, _ = await w.item_and_task()
    return Call("GET", f"/supervision-items/{item['id']}")


async def patch_item(w: World) -> Call:
    item, _ = await w.item_and_task()
    return Call("PATCH", f"/supervision-items/{item['id']}", {"title": "改过的督办事项"},
                etag_from=f"/supervision-items/{item['id']}")


async def archive_item(w: World) -> Call:
    item, _ = await w.item_and_task()
    return Call("DELETE", f"/supervision-items/{item['id']}", etag_from=f"/supervision-items/{item['id']}")


async def tasks_of_item(w: World) -> Call:
    item, _ = await w.item_and_task()
    return Call("GET", f"/supervision-items/{item['id']}/tasks")


async def read_task(w: World) -> Call:
    _, task = await w.item_and_task()
    return Call("GET", f"/supervision-tasks/{task['id']}")


async def patch_task(w: World) -> Call:
    _, task = await w.item_and_task()
    return Call("PATCH", f"/supervision-tasks/{task['id']}", {"title": "改过的任务"},
                etag_from=f"/supervision-tasks/{task['id']}")


async def progress_of_task(w: World) -> Call:
    _, task = await w.item_and_task()
    r = await w.api.report(task, 40)
    assert r.status_code == 201, r.text
    return Call("GET", f"/supervision-tasks/{task['id']}/progress")


async def read_kind(w: World) -> Call:
    return Call("GET", "/approval-kinds/construction_permit")


async def archive_kind(w: World) -> Call:
    r = await w.api.client.post(f"{API}/approval-kinds", headers=w.api.admin,
                                json={"code": "pilot_kind", "name": "试点事项"})
    assert r.status_code == 201, r.text
    return Call("DELETE", "/approval-kinds/pilot_kind", etag_from="/approval-kinds/pilot_kind")


async def read_signing_secret(w: World) -> Call:
    system = await w.api.integration()
    return Call("GET", f"/api-keys/{system.key_id}/signing-secret")


async def read_webhook(w: World) -> Call:
    hook = await w.api.webhook("http://127.0.0.1:9/hooks")
    return Call("GET", f"/webhooks/{hook['id']}")


async def patch_webhook(w: World) -> Call:
    hook = await w.api.webhook("http://127.0.0.1:9/hooks")
    return Call("PATCH", f"/webhooks/{hook['id']}", {"description": "审批系统"}, etag_from=f"/webhooks/{hook['id']}")


async def archive_webhook(w: World) -> Call:
    hook = await w.api.webhook("http://127.0.0.1:9/hooks")
    return Call("DELETE", f"/webhooks/{hook['id']}", etag_from=f"/webhooks/{hook['id']}")


async def read_delivery(w: World) -> Call:
    hook, delivery = await _pending_delivery(w.api)
    return Call("GET", f"/webhooks/{hook['id']}/deliveries/{delivery['id']}")


async def redeliver(w: World) -> Call:
    hook, delivery = await _pending_delivery(w.api)
    # Only a delivery that gave up, was cancelled or was delivered may be sent again, and
    # only the worker (not running here) moves one there: mark it as given up directly.
    async with w.api.app.state.sessionmaker() as session, session.begin():
        await session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery["id"])  # type: ignore[arg-type]
                              .values(status="failed"))
    return Call("POST", f"/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver")


async def archive_target(w: World) -> Call:
    target = await _target(w.api)
    return Call("DELETE", f"/targets/{target['id']}", etag_from=f"/targets/{target['id']}")


async def member_history(w: World) -> Call:
    target = await _target(w.api)
    return Call("GET", f"/targets/{target['id']}/members/history")


async def read_rate(w: World) -> Call:
    r = await w.api.client.post(f"{API}/exchange-rates", headers=w.api.admin,
                                json={"currency": "USD", "rate": "6.5", "valid_from": "2022-01-04"})
    assert r.status_code == 201, r.text
    return Call("GET", f"/exchange-rates/{r.json()['id']}")


PREPARE: dict[str, Callable[[World], Awaitable[Call]]] = {
    "GET /projects/{id}/difficulties": difficulties_of_project,
    "GET /supervision-items/{id}": read_item,
    "PATCH /supervision-items/{id}": patch_item,
    "DELETE /supervision-items/{id}": archive_item,
    "GET /supervision-items/{id}/tasks": tasks_of_item,
    "GET /supervision-tasks/{id}": read_task,
    "PATCH /supervision-tasks/{id}": patch_task,
    "GET /supervision-tasks/{id}/progress": progress_of_task,
    "GET /approval-kinds/{code}": read_kind,
    "DELETE /approval-kinds/{code}": archive_kind,
    "GET /api-keys/{id}/signing-secret": read_signing_secret,
    "GET /webhooks/{id}": read_webhook,
    "PATCH /webhooks/{id}": patch_webhook,
    "DELETE /webhooks/{id}": archive_webhook,
    "GET /webhooks/{id}/deliveries/{id}": read_delivery,
    "POST /webhooks/{id}/deliveries/{id}/redeliver": redeliver,
    "DELETE /targets/{id}": archive_target,
    "GET /targets/{id}/members/history": member_history,
    "GET /exchange-rates/{id}": read_rate,
}


def test_every_route_of_the_table_is_one_that_another_module_was_said_to_cover() -> None:
    from tests.access.test_access import COVERED_ELSEWHERE

    assert set(PREPARE) == set(EXPECTED)
    assert set(EXPECTED) <= set(COVERED_ELSEWHERE)


@pytest.mark.postgres_only
@pytest.mark.parametrize(("route", "role", "expected"), CASES)
async def test_each_role_gets_what_the_table_says(api: Api, route: str, role: str, expected: int) -> None:
    leader, unit = await api.leader(), await api.unit()
    project = await api.project(leader_id=leader["id"], unit_id=unit["id"])
    headers = await api.key(role, leader_id=leader["id"] if role == "leader" else None,
                            unit_id=unit["id"] if role == "unit" else None)
    call = await PREPARE[route](World(api, leader, unit, project))
    assert route.startswith(f"{call.method} /")
    if call.etag_from is not None:
        r = await api.client.get(f"{API}{call.etag_from}", headers=api.admin)
        assert r.status_code == 200, r.text
        headers = {**headers, "If-Match": r.headers["ETag"]}
    r = await api.client.request(call.method, f"{API}{call.path}", headers=headers, json=call.body)
    assert r.status_code == expected, r.text
    if expected == 403:
        assert r.json()["code"] == "forbidden"
