"""Who may do what on investors, follow-ups, FDI receipts (retired) and signing events: every role
against every endpoint, the expected answer written out by hand."""

from typing import Any

import pytest

from tests.factories import Api

API = "/api/v1"
ROLES = ("admin", "bureau", "leader", "unit", "integration", "viewer")

# endpoint                              admin bureau leader unit integration viewer
EXPECTED: dict[str, tuple[int, ...]] = {
    "POST /investors":                   (201,  201,   403,  403,  403,  403),
    "GET /investors":                    (200,  200,   200,  200,  403,  200),
    "GET /investors/{id}":               (200,  200,   200,  200,  403,  200),
    "PATCH /investors/{id}":             (200,  200,   403,  403,  403,  403),
    "DELETE /investors/{id}":            (200,  200,   403,  403,  403,  403),
    "POST /projects/{id}/follow-ups":    (201,  201,   403,  201,  403,  403),
    "GET /projects/{id}/follow-ups":     (200,  200,   200,  200,  403,  200),
    "GET /follow-ups":                   (200,  200,   200,  200,  403,  200),
    "GET /follow-ups/{id}":              (200,  200,   200,  200,  403,  200),
    "POST /projects/{id}/fdi-receipts":  (410,  410,   403,  403,  403,  403),  # retired
    "GET /projects/{id}/fdi-receipts":   (200,  200,   200,  200,  403,  200),
    "POST /signing-events":              (201,  201,   403,  403,  403,  403),
    "GET /signing-events":               (200,  200,   200,  200,  403,  200),
    "GET /signing-events/{id}":          (200,  200,   200,  200,  403,  200),
    "PATCH /signing-events/{id}":        (200,  200,   403,  403,  403,  403),
    "DELETE /signing-events/{id}":       (200,  200,   403,  403,  403,  403),
    "GET /stats/signing-events/{id}":    (200,  200,   200,  403,  403,  200),
    "GET /stats/cohorts":                (200,  200,   200,  403,  403,  200),
}  # fmt: skip

BODIES: dict[str, dict[str, Any]] = {
    "POST /investors": {"name": "新客商", "country": "SG"},
    "PATCH /investors/{id}": {"group_name": "某集团"},
    "POST /projects/{id}/follow-ups": {"occurred_on": "2022-03-01", "kind": "visit", "summary": "走访"},
    "POST /projects/{id}/fdi-receipts": {"received_on": "2022-03-01", "amount": {"amount": "10.00", "currency": "USD"}},
    "POST /signing-events": {"name": "2022青岛投资推介会", "held_on": "2022-05-20"},
    "PATCH /signing-events/{id}": {"organiser": "市投资促进局"},
}


async def world(api: Api, role: str) -> tuple[dict[str, str], dict[str, str]]:
    """A key of ``role`` (a leader key bound to the project's leader, a unit key to its unit),
    and the ids its requests name."""
    leader, unit = await api.leader(), await api.unit()
    project = await api.project(leader_id=leader["id"], unit_id=unit["id"], funding_source="foreign",
                                investor_country="JP", stage_entered_on="2022-01-01")
    r = await api.client.post(f"{API}/projects/{project['id']}/follow-ups", headers=api.admin,
                              json={"occurred_on": "2022-02-01", "kind": "call", "summary": "电话联系"})
    assert r.status_code == 201, r.text
    binding = {"leader": {"leader_id": leader["id"]}, "unit": {"unit_id": unit["id"]}}.get(role, {})
    headers = api.admin if role == "admin" else await api.key(role, **binding)
    follow_up = r.json()["id"]
    r = await api.client.post(f"{API}/signing-events", headers=api.admin,
                              json={"name": "签约活动", "held_on": "2022-04-01"})
    assert r.status_code == 201, r.text
    return headers, {"investors": str(project["investor_id"]), "projects": str(project["id"]),
                     "follow-ups": str(follow_up), "signing-events": str(r.json()["id"])}


@pytest.mark.postgres_only
@pytest.mark.parametrize(("role", "endpoint", "expected"), [
    pytest.param(role, endpoint, statuses[i], id=f"{role}-{endpoint}")
    for endpoint, statuses in EXPECTED.items() for i, role in enumerate(ROLES)])
async def test_each_role_gets_exactly_the_access_written_here(api, role, endpoint, expected):
    headers, ids = await world(api, role)
    method, template = endpoint.split(" ")
    resource = template.split("/")[2] if template.startswith("/stats/") else template.split("/")[1]
    url = API + template.replace("{id}", ids.get(resource, ""), 1)
    if method in ("PATCH", "DELETE"):
        r = await api.client.get(url, headers=api.admin)
        headers = {**headers, "If-Match": r.headers["ETag"]}
    r = await api.client.request(method, url, headers=headers, json=BODIES.get(endpoint))
    assert r.status_code == expected, r.text
