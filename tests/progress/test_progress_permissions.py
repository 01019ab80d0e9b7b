"""Who may write and read annual plans, monthly reports, their review, their ledger and the
investment statistics, role by role, written out by hand.

Admin and bureau write plans and review reports; units file reports for their own
projects; leaders and viewers read; approval systems get 403 on all of it. The unit key
here acts on a project of its own unit (other units' projects are 404: test_reports.py).
"""

import pytest

from tests.ledger_files import csv_bytes, table
from tests.progress.helpers import building, cny, file, plan

ROLES = ["admin", "bureau", "leader", "unit", "integration", "viewer"]
READ = {"admin": 200, "bureau": 200, "leader": 200, "unit": 200, "integration": 403, "viewer": 200}
STATS = {"admin": 200, "bureau": 200, "leader": 200, "unit": 403, "integration": 403, "viewer": 200}
PLAN = {"admin": 201, "bureau": 201, "leader": 403, "unit": 403, "integration": 403, "viewer": 403}
CHANGE = {"admin": 200, "bureau": 200, "leader": 403, "unit": 403, "integration": 403, "viewer": 403}
FILE = {"admin": 201, "bureau": 201, "leader": 403, "unit": 201, "integration": 403, "viewer": 403}

EXPECTED = {
    "POST /projects/{project}/annual-plans": PLAN,
    "GET /projects/{project}/annual-plans": READ,
    "GET /annual-plans": READ,
    "GET /annual-plans/{plan}": READ,
    "PATCH /annual-plans/{plan}": CHANGE,
    "POST /projects/{project}/progress-reports": FILE,
    "GET /projects/{project}/progress-reports": READ,
    "GET /progress-reports": READ,
    "GET /progress-reports/missing?year=2022&month=1": READ,
    "GET /progress-reports/{report}": READ,
    "GET /progress-reports/{report}/versions": READ,
    "POST /progress-reports/{report}/review": CHANGE,
    "POST /imports/progress-reports?dry_run=true": CHANGE,
    "GET /exports/progress-reports?year=2022&format=csv": READ,
    "GET /stats/investment?year=2022&month=1": STATS,
}


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_gets_what_the_table_says(api, role):
    leader, unit = await api.leader(), await api.unit()
    headers = await api.key(role, leader_id=leader["id"] if role == "leader" else None,
                            unit_id=unit["id"] if role == "unit" else None)
    project = await building(api, unit_id=unit["id"], leader_id=leader["id"])
    the_plan = await plan(api, project, 2022)
    report = await file(api, project, 2022, 1)
    ids = {"project": project["id"], "plan": the_plan["id"], "report": report["id"]}
    bodies = {
        "POST /projects/{project}/annual-plans": {"year": 2023, "planned_investment": cny(100)},
        "PATCH /annual-plans/{plan}": {"progress_goal": "竣工"},
        "POST /projects/{project}/progress-reports": {"year": 2022, "month": 2, "investment_completed": cny(1)},
        "POST /progress-reports/{report}/review": {"decision": "accept"},
    }
    ledger = csv_bytes(table([{"项目名称": project["name"], "年度": 2022, "月份": 3, "本月完成投资(万元)": "1"}]))
    outcomes = {}
    for endpoint in EXPECTED:
        method, path = endpoint.split(" ")
        url = "/api/v1" + path.format(**ids)
        extra = {"If-Match": "*"} if method == "PATCH" or endpoint.endswith("/review") else {}
        if endpoint.startswith("POST /imports"):
            r = await api.client.post(url, headers=headers, files={"file": ("月报.csv", ledger)})
        else:
            r = await api.client.request(method, url, headers={**headers, **extra}, json=bodies.get(endpoint))
        outcomes[endpoint] = r.status_code
    assert outcomes == {endpoint: expected[role] for endpoint, expected in EXPECTED.items()}
