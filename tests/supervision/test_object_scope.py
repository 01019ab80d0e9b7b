"""A unit key sees only what is its own, and cannot tell another unit's things from
missing ones: a cursor does not open another unit's project, and an item shared with two
units shows each only its own tasks and projects."""

from tests.factories import assert_problem

FUTURE = "2099-06-30"


async def test_a_cursor_does_not_open_another_units_project(api):
    unit_a, unit_b = await api.unit(), await api.unit()
    own = await api.project(unit_id=unit_a["id"])
    other = await api.project(unit_id=unit_b["id"])
    for _ in range(3):
        await api.difficulty(own, unit_id=unit_a["id"])
        await api.difficulty(other, unit_id=unit_b["id"])
    key = await api.key("unit", unit_id=unit_a["id"])
    first = await api.client.get(f"/api/v1/projects/{own['id']}/difficulties", headers=key, params={"limit": 1})
    assert first.status_code == 200 and first.json()["next_cursor"]
    cursor = first.json()["next_cursor"]
    for params in ({}, {"cursor": cursor}, {"cursor": cursor, "limit": 200}, {"status": "open"}):
        r = await api.client.get(f"/api/v1/projects/{other['id']}/difficulties", headers=key, params=params)
        missing = await api.client.get("/api/v1/projects/999999/difficulties", headers=key, params=params)
        assert_problem(r, 404, "not_found")
        assert_problem(missing, 404, "not_found")
    # Its own project still pages on.
    r = await api.client.get(f"/api/v1/projects/{own['id']}/difficulties", headers=key, params={"cursor": cursor})
    assert r.status_code == 200 and len(r.json()["items"]) == 2  # the other two of three


async def test_a_difficulty_assigned_to_the_unit_opens_that_project_only_for_it(api):
    unit_a, unit_b = await api.unit(), await api.unit()
    other = await api.project(unit_id=unit_b["id"])
    mine = await api.difficulty(other, unit_id=unit_a["id"])
    await api.difficulty(other, unit_id=unit_b["id"])
    key = await api.key("unit", unit_id=unit_a["id"])
    r = await api.client.get(f"/api/v1/projects/{other['id']}/difficulties", headers=key)
    assert r.status_code == 200 and [d["id"] for d in r.json()["items"]] == [mine["id"]]


async def test_a_shared_item_shows_each_unit_only_its_own_tasks_and_projects(api):
    unit_a, unit_b = await api.unit(), await api.unit()
    project_a = await api.project(unit_id=unit_a["id"])
    project_b = await api.project(unit_id=unit_b["id"])
    item = await api.item(project_ids=[project_a["id"], project_b["id"]])
    task_a = await api.task(item, unit_a, FUTURE)
    await api.task(item, unit_b, "2022-01-31")  # B's, overdue
    await api.task(item, unit_b, FUTURE)
    r = await api.client.post(f"/api/v1/supervision-tasks/{task_a['id']}/progress",
                              headers={**api.admin, "If-Match": f'"{task_a["version"]}"'},
                              json={"percent": 100, "reported_on": "2022-06-30", "note": "完成"})
    assert r.status_code == 201, r.text

    key_a = await api.key("unit", unit_id=unit_a["id"])
    seen = (await api.client.get(f"/api/v1/supervision-items/{item['id']}", headers=key_a)).json()
    listed = (await api.client.get("/api/v1/supervision-items", headers=key_a)).json()["items"]
    assert [i["id"] for i in listed] == [item["id"]] and listed[0] == seen
    assert seen["project_ids"] == [project_a["id"]]
    assert (seen["task_count"], seen["done_count"], seen["overdue_count"]) == (1, 1, 0)
    assert seen["status"] == "done" and seen["percent"] == 100

    whole = (await api.client.get(f"/api/v1/supervision-items/{item['id']}", headers=api.admin)).json()
    assert sorted(whole["project_ids"]) == sorted([project_a["id"], project_b["id"]])
    assert (whole["task_count"], whole["done_count"], whole["overdue_count"]) == (3, 1, 1)
    assert whole["status"] == "overdue"
