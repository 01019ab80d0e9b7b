"""Who may do what with difficulties, supervised items and the summaries.

The expected outcomes are written out by hand, not derived from the permission matrix.
"""

from datetime import timedelta

import pytest

from app.clock import today

# For each role, the status of each call made with a key of that role. The leader key
# is bound to the project's leader and the unit key to the project's unit.
CALLS = ("raise", "list", "read", "patch", "start", "note", "timeline", "item", "items", "task", "tasks", "report",
         "dstats", "sstats", "workload")
EXPECTED: dict[str, tuple[int, ...]] = {
    #              raise list read patch start note time item items task tasks report dstat sstat workload
    "admin":       (201,  200, 200, 200,  201,  201, 200, 201, 200,  201, 200,  201,   200,  200,  200),
    "bureau":      (201,  200, 200, 200,  201,  201, 200, 201, 200,  201, 200,  201,   200,  200,  200),
    "leader":      (403,  200, 200, 403,  403,  201, 200, 403, 200,  403, 200,  403,   200,  200,  200),
    "unit":        (403,  200, 200, 403,  201,  201, 200, 403, 200,  403, 200,  201,   403,  403,  403),
    "integration": (403,  403, 403, 403,  403,  403, 403, 403, 403,  403, 403,  403,   403,  403,  403),
    "viewer":      (403,  200, 200, 403,  403,  403, 200, 403, 200,  403, 200,  403,   200,  200,  200),
}  # fmt: skip


async def world(api):
    """A project with a leader and a unit, a difficulty on it, and a supervised task for the unit."""
    leader, unit = await api.leader(), await api.unit()
    project = await api.project(leader_id=leader["id"], unit_id=unit["id"])
    difficulty = await api.difficulty(project)
    item = await api.item(project_ids=[project["id"]])
    task = await api.task(item, unit, "2099-12-31")
    return project, leader, unit, difficulty, item, task


@pytest.mark.parametrize("role", list(EXPECTED))
async def test_each_role_may_do_what_the_table_says(api, role):
    project, leader, unit, d, item, task = await world(api)
    key = await api.key(role, leader_id=leader["id"] if role == "leader" else None,
                        unit_id=unit["id"] if role == "unit" else None)
    c = api.client
    etag = {"If-Match": "*"}
    got = {
        "raise": await c.post(f"/api/v1/projects/{project['id']}/difficulties", headers=key,
                              json={"title": "缺工", "category": "labour", "due_on": "2099-01-01"}),
        "list": await c.get("/api/v1/difficulties", headers=key),
        "read": await c.get(f"/api/v1/difficulties/{d['id']}", headers=key),
        "patch": await c.patch(f"/api/v1/difficulties/{d['id']}", headers={**key, **etag}, json={"title": "新"}),
        "start": await c.post(f"/api/v1/difficulties/{d['id']}/transitions", headers={**key, **etag},
                              json={"to": "in_progress"}),
        "note": await c.post(f"/api/v1/difficulties/{d['id']}/notes", headers=key, json={"note": "已对接"}),
        "timeline": await c.get(f"/api/v1/difficulties/{d['id']}/timeline", headers=key),
        "item": await c.post("/api/v1/supervision-items", headers=key,
                             json={"title": "督办", "source": "leader_instruction"}),
        "items": await c.get("/api/v1/supervision-items", headers=key),
        "task": await c.post(f"/api/v1/supervision-items/{item['id']}/tasks", headers=key,
                             json={"title": "t", "unit_id": unit["id"], "deadline": "2099-01-01"}),
        "tasks": await c.get("/api/v1/supervision-tasks", headers=key),
        "report": await c.post(f"/api/v1/supervision-tasks/{task['id']}/progress", headers={**key, **etag},
                               json={"percent": 30}),
        "dstats": await c.get("/api/v1/stats/difficulties", headers=key),
        "sstats": await c.get("/api/v1/stats/supervision", headers=key, params={"year": 2099}),
        "workload": await c.get(f"/api/v1/leaders/{leader['id']}/difficulties-summary", headers=key),
    }
    assert tuple(got) == CALLS
    assert {name: r.status_code for name, r in got.items()} == dict(zip(CALLS, EXPECTED[role], strict=True))
    for r in got.values():
        if r.status_code == 403:
            assert r.json()["code"] == "forbidden"


async def test_without_a_key_everything_is_unauthorized(api):
    for path in ("/api/v1/difficulties", "/api/v1/supervision-items", "/api/v1/stats/difficulties"):
        assert (await api.client.get(path)).status_code == 401


# --- a unit: its own difficulties and tasks ----------------------------------------------


async def test_a_unit_reads_the_difficulties_assigned_to_it_or_on_its_projects_and_no_others(api):
    own_unit, other_unit = await api.unit(), await api.unit()
    own_project = await api.project(unit_id=own_unit["id"])
    other_project = await api.project(unit_id=other_unit["id"])
    on_own_project = await api.difficulty(own_project, unit_id=other_unit["id"])  # assigned elsewhere
    assigned = await api.difficulty(other_project, unit_id=own_unit["id"])
    foreign = await api.difficulty(other_project)
    key = await api.key("unit", unit_id=own_unit["id"])

    r = await api.client.get("/api/v1/difficulties", headers=key, params={"sort": "created_at"})
    assert [d["id"] for d in r.json()["items"]] == [on_own_project["id"], assigned["id"]]
    assert (await api.client.get(f"/api/v1/difficulties/{assigned['id']}", headers=key)).status_code == 200
    for path in (f"/api/v1/difficulties/{foreign['id']}", f"/api/v1/difficulties/{foreign['id']}/timeline"):
        r = await api.client.get(path, headers=key)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await api.client.post(f"/api/v1/difficulties/{foreign['id']}/notes", headers=key, json={"note": "x"})
    assert r.status_code == 404
    # Through a project it is not responsible for, it sees only what is assigned to it.
    r = await api.client.get(f"/api/v1/projects/{other_project['id']}/difficulties", headers=key)
    assert r.status_code == 200 and [d["id"] for d in r.json()["items"]] == [assigned["id"]]
    unrelated = await api.project(unit_id=other_unit["id"])
    await api.difficulty(unrelated)
    assert (await api.client.get(f"/api/v1/projects/{unrelated['id']}/difficulties", headers=key)).status_code == 404


async def test_a_unit_updates_only_the_difficulties_assigned_to_it(api):
    own_unit, other_unit = await api.unit(), await api.unit()
    own_project = await api.project(unit_id=own_unit["id"])
    mine = await api.difficulty(own_project)
    assigned_elsewhere = await api.difficulty(own_project, unit_id=other_unit["id"])
    key = await api.key("unit", unit_id=own_unit["id"])

    assert (await api.move_difficulty(mine, "in_progress", headers=key)).status_code == 201
    r = await api.client.post(f"/api/v1/difficulties/{mine['id']}/notes", headers=key,
                              json={"note": "已提交用地预审材料"})
    assert r.status_code == 201 and r.json()["actor_name"] == "unit key"
    assert (await api.move_difficulty(mine, "resolved", headers=key, resolution="预审已批复")).status_code == 201
    # Confirming is not the unit's to do.
    refused = await api.move_difficulty(mine, "closed", headers=key)
    assert refused.status_code == 403
    assert (await api.move_difficulty(mine, "in_progress", headers=key, reason="x")).status_code == 403

    for attempt in (api.move_difficulty(assigned_elsewhere, "in_progress", headers=key),
                    api.client.post(f"/api/v1/difficulties/{assigned_elsewhere['id']}/notes", headers=key,
                                    json={"note": "x"})):
        r = await attempt
        assert r.status_code == 403 and r.json()["code"] == "not_in_charge"
    assert (await api.get_difficulty(assigned_elsewhere["id"]))["status"] == "open"


async def test_a_unit_sees_and_reports_only_its_own_tasks(api):
    own_unit, other_unit = await api.unit(), await api.unit()
    shared = await api.item()
    mine = await api.task(shared, own_unit, "2099-06-30")
    theirs = await api.task(shared, other_unit, "2099-06-30")
    elsewhere = await api.item()
    not_mine = await api.task(elsewhere, other_unit, "2099-06-30")
    key = await api.key("unit", unit_id=own_unit["id"])

    r = await api.client.get("/api/v1/supervision-tasks", headers=key)
    assert [t["id"] for t in r.json()["items"]] == [mine["id"]]
    r = await api.client.get(f"/api/v1/supervision-items/{shared['id']}/tasks", headers=key)
    assert [t["id"] for t in r.json()["items"]] == [mine["id"]]
    r = await api.client.get("/api/v1/supervision-items", headers=key)
    assert [i["id"] for i in r.json()["items"]] == [shared["id"]]
    assert (await api.client.get(f"/api/v1/supervision-items/{elsewhere['id']}", headers=key)).status_code == 404
    for task in (theirs, not_mine):
        assert (await api.client.get(f"/api/v1/supervision-tasks/{task['id']}", headers=key)).status_code == 404
        r = await api.client.post(f"/api/v1/supervision-tasks/{task['id']}/progress",
                                  headers={**key, "If-Match": "*"}, json={"percent": 50})
        assert r.status_code == 404
    assert (await api.report(mine, 40, headers=key, note="已完成方案编制")).status_code == 201
    r = await api.client.patch(f"/api/v1/supervision-tasks/{mine['id']}", headers={**key, "If-Match": "*"},
                               json={"deadline": "2100-01-01"})
    assert r.status_code == 403


# --- a leader: the difficulties in their charge -------------------------------------------


async def test_a_leader_closes_and_rejects_only_the_difficulties_of_projects_in_their_charge(api):
    mine, other = await api.leader(), await api.leader()
    unit = await api.unit()
    my_project = await api.project(leader_id=mine["id"], unit_id=unit["id"])
    other_project = await api.project(leader_id=other["id"], unit_id=unit["id"])
    key = await api.key("leader", leader_id=mine["id"])

    a = await api.walk_difficulty(await api.difficulty(my_project), "resolved")
    b = await api.walk_difficulty(await api.difficulty(my_project), "resolved")
    foreign = await api.walk_difficulty(await api.difficulty(other_project), "resolved")

    r = await api.move_difficulty(a, "closed", headers=key, note="经核实已解决")
    assert r.status_code == 201 and r.json()["actor_name"] == "leader key"
    assert (await api.move_difficulty(b, "in_progress", headers=key, reason="企业反映仍未解决")).status_code == 201
    r = await api.client.post(f"/api/v1/difficulties/{b['id']}/notes", headers=key, json={"note": "请加快办理"})
    assert r.status_code == 201

    for attempt in (api.move_difficulty(foreign, "closed", headers=key),
                    api.move_difficulty(foreign, "in_progress", headers=key, reason="x"),
                    api.client.post(f"/api/v1/difficulties/{foreign['id']}/notes", headers=key, json={"note": "x"})):
        r = await attempt
        assert r.status_code == 403 and r.json()["code"] == "not_in_charge"
    assert (await api.get_difficulty(foreign["id"], headers=key))["status"] == "resolved"  # reads everything

    # Starting and resolving belong to the unit and the bureau.
    fresh = await api.difficulty(my_project)
    assert (await api.move_difficulty(fresh, "in_progress", headers=key)).status_code == 403


async def test_a_leader_assigned_to_a_difficulty_acts_on_it_though_the_project_is_anothers(api):
    assigned, project_leader = await api.leader(), await api.leader()
    unit = await api.unit()
    project = await api.project(leader_id=project_leader["id"], unit_id=unit["id"])
    d = await api.walk_difficulty(await api.difficulty(project, leader_id=assigned["id"]), "resolved")
    key = await api.key("leader", leader_id=assigned["id"])
    assert (await api.move_difficulty(d, "closed", headers=key)).status_code == 201


async def test_days_overdue_are_counted_for_the_workload(api):
    leader, unit = await api.leader(), await api.unit()
    project = await api.project(leader_id=leader["id"], unit_id=unit["id"])
    await api.difficulty(project, raised_on="2022-01-01", due_on=str(today() - timedelta(days=4)))
    key = await api.key("leader", leader_id=leader["id"])
    r = await api.client.get(f"/api/v1/leaders/{leader['id']}/difficulties-summary", headers=key)
    assert r.json()["overdue_difficulties"][0]["days_overdue"] == 4
