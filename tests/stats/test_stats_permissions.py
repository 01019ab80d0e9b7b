"""Who may read and write targets, exchange rates, statistics and dashboards.

The expected outcomes are written out by hand, role by role: targets and rates are
written by admin and bureau and read by admin, bureau, leader and viewer; a leader reads
every leader's dashboard; units and approval systems get 403 on all of it.
"""

import pytest

ROLES = ["admin", "bureau", "leader", "unit", "integration", "viewer"]
READ = {"admin": 200, "bureau": 200, "leader": 200, "unit": 403, "integration": 403, "viewer": 200}
WRITE = {"admin": 201, "bureau": 201, "leader": 403, "unit": 403, "integration": 403, "viewer": 403}
CHANGE = {"admin": 200, "bureau": 200, "leader": 403, "unit": 403, "integration": 403, "viewer": 403}

EXPECTED = {
    "GET /targets": READ,
    "GET /targets/{target}": READ,
    "GET /targets/{target}/members": READ,
    "GET /targets/{target}/projects": READ,
    "POST /targets": WRITE,
    "PATCH /targets/{target}": CHANGE,
    "POST /targets/{target}/members": CHANGE,
    "GET /exchange-rates": READ,
    "POST /exchange-rates": WRITE,
    "PATCH /exchange-rates/{rate}": CHANGE,
    "GET /stats/pipeline": READ,
    "GET /stats/pipeline/projects": READ,
    "GET /stats/targets?year=2022": READ,
    "GET /stats/leaders": READ,
    "GET /stats/project-health": READ,
    "GET /stats/project-status": READ,
    "GET /leaders/{other_leader}/dashboard": READ,  # a leader reads any leader's dashboard
}


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_gets_what_the_table_says(api, role):
    own, other = await api.leader(), await api.leader()
    unit = await api.unit()
    headers = await api.key(role, leader_id=own["id"] if role == "leader" else None,
                            unit_id=unit["id"] if role == "unit" else None)
    p = await api.project(unit_id=unit["id"])
    target = (await api.client.post("/api/v1/targets", headers=api.admin, json={
        "year": 2022, "title": "目标", "goal_stage": "signed", "target_count": 1, "membership": "list"})).json()
    rate = (await api.client.post("/api/v1/exchange-rates", headers=api.admin, json={
        "currency": "USD", "rate": "6.5", "valid_from": "2022-01-04"})).json()
    ids = {"target": target["id"], "rate": rate["id"], "other_leader": other["id"]}
    bodies = {
        "POST /targets": {"year": 2022, "title": "新目标", "goal_stage": "signed", "target_count": 1,
                          "membership": "list"},
        "PATCH /targets/{target}": {"title": "改名"},
        "POST /targets/{target}/members": {"add": [p["id"]], "on": "2022-03-01"},
        "POST /exchange-rates": {"currency": "EUR", "rate": "7.1", "valid_from": "2022-02-01"},
        "PATCH /exchange-rates/{rate}": {"rate": "6.6"},
    }
    outcomes = {}
    for endpoint in EXPECTED:
        method, path = endpoint.split(" ")
        url = "/api/v1" + path.format(**ids)
        extra = {"If-Match": "*"} if method == "PATCH" or (endpoint.endswith("/members") and method == "POST") else {}
        r = await api.client.request(method, url, headers={**headers, **extra}, json=bodies.get(endpoint))
        outcomes[endpoint] = r.status_code
    assert outcomes == {endpoint: expected[role] for endpoint, expected in EXPECTED.items()}
