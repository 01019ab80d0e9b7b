"""Supervision (督查督办): items decomposed into tasks, progress reports, and the roll-up."""

from datetime import timedelta

import pytest

from app.clock import today

PAST = str(today() - timedelta(days=10))
FUTURE = str(today() + timedelta(days=30))


async def get_item(api, item_id, headers=None):
    r = await api.client.get(f"/api/v1/supervision-items/{item_id}", headers=headers or api.admin)
    assert r.status_code == 200, r.text
    return r.json()


async def get_task(api, task_id):
    r = await api.client.get(f"/api/v1/supervision-tasks/{task_id}", headers=api.admin)
    assert r.status_code == 200, r.text
    return r.json()


async def test_an_item_is_picked_with_its_source_and_projects_and_awaits_decomposition(api):
    p1, p2 = await api.project(), await api.project()
    bureau = await api.key("bureau")
    r = await api.client.post("/api/v1/supervision-items", headers=bureau, json={
        "title": "推进日本电产项目签约注册", "source": "leader_instruction", "source_ref": "市长批示〔2022〕12号",
        "project_ids": [p2["id"], p1["id"]]})
    assert r.status_code == 201, r.text
    item = r.json()
    assert (item["status"], item["task_count"], item["percent"], item["created_by"]) == ("pending", 0, 0, "bureau key")
    assert item["project_ids"] == sorted([p1["id"], p2["id"]])
    assert r.headers["ETag"] == '"1"' and r.headers["Location"] == f"/api/v1/supervision-items/{item['id']}"
    [event] = await api.audit(resource_type="supervision_item")
    assert event["action"] == "supervision_item.create" and event["after"]["source"] == "leader_instruction"


@pytest.mark.parametrize(("body", "field"), [
    ({"source": "rumour"}, "source"),
    ({"project_ids": [1, 1]}, "project_ids"),
    ({"project_ids": [999_999]}, "project_ids"),
    ({"title": " "}, "title"),
])
async def test_bad_item_input_names_the_field(api, body, field):
    r = await api.client.post("/api/v1/supervision-items", headers=api.admin,
                              json={"title": "督办", "source": "plan_item", **body})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


async def test_the_items_status_rolls_up_from_its_tasks(api):
    unit = await api.unit()
    item = await api.item()
    t1 = await api.task(item, unit, FUTURE)
    assert (await get_item(api, item["id"]))["status"] == "in_progress"
    t2 = await api.task(item, unit, PAST)
    rolled = await get_item(api, item["id"])
    assert (rolled["status"], rolled["task_count"], rolled["overdue_count"]) == ("overdue", 2, 1)
    assert (await api.report(t2, 100, note="已完成")).status_code == 201
    assert (await api.report(t1, 45)).status_code == 201
    rolled = await get_item(api, item["id"])
    assert (rolled["status"], rolled["done_count"], rolled["overdue_count"], rolled["percent"]) == (
        "in_progress", 1, 0, 73)  # (100 + 45) / 2 = 72.5, rounded half up
    assert (await api.report(t1, 100)).status_code == 201
    assert (await get_item(api, item["id"]))["status"] == "done"


async def test_a_progress_report_moves_the_task_and_100_percent_marks_it_done(api):
    unit = await api.unit()
    task = await api.task(await api.item(), unit, "2022-06-30")
    r = await api.report(task, 30, reported_on="2022-05-10", note="完成方案编制")
    assert r.status_code == 201, r.text
    assert (r.json()["percent"], r.json()["reported_on"]) == (30, "2022-05-10")
    assert r.headers["ETag"] == '"2"'
    current = await get_task(api, task["id"])
    assert (current["percent"], current["done"], current["overdue"], current["last_reported_on"]) == (
        30, False, True, "2022-05-10")
    assert (await api.report(task, 100, reported_on="2022-07-02")).status_code == 201
    done = await get_task(api, task["id"])
    assert (done["done"], done["completed_on"], done["overdue"]) == (True, "2022-07-02", False)
    late = await api.report(task, 100)
    assert late.status_code == 409 and late.json()["code"] == "task_done"
    r = await api.client.get(f"/api/v1/supervision-tasks/{task['id']}/progress", headers=api.admin)
    assert [(p["percent"], p["reported_on"], p["note"]) for p in r.json()["items"]] == [
        (30, "2022-05-10", "完成方案编制"), (100, "2022-07-02", None)]
    assert len(await api.audit(resource_id=str(task["id"]), action="supervision_task.progress")) == 2


async def test_a_report_needs_if_match_a_sane_percent_and_a_date_in_order(api):
    task = await api.task(await api.item(), await api.unit(), FUTURE)
    url = f"/api/v1/supervision-tasks/{task['id']}/progress"
    assert (await api.client.post(url, headers=api.admin, json={"percent": 10})).status_code == 428
    r = await api.client.post(url, headers={**api.admin, "If-Match": '"7"'}, json={"percent": 10})
    assert r.status_code == 412
    for body, field in (({"percent": 101}, "percent"), ({"percent": -1}, "percent"),
                        ({"percent": 5, "reported_on": str(today() + timedelta(days=1))}, "reported_on")):
        r = await api.client.post(url, headers={**api.admin, "If-Match": '"1"'}, json=body)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field
    assert (await api.report(task, 20, reported_on="2022-05-10")).status_code == 201
    r = await api.report(task, 30, reported_on="2022-05-09")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reported_on"


async def test_the_bureau_edits_an_item_and_replaces_its_links(api):
    p1, p2, p3 = await api.project(), await api.project(), await api.project()
    item = await api.item(project_ids=[p1["id"], p2["id"]])
    r = await api.client.patch(f"/api/v1/supervision-items/{item['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"title": "新标题", "project_ids": [p3["id"], p2["id"]]})
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["project_ids"], r.json()["version"]) == (
        "新标题", sorted([p2["id"], p3["id"]]), 2)
    [event] = await api.audit(resource_id=str(item["id"]), action="supervision_item.update")
    assert event["before"]["project_ids"] == sorted([p1["id"], p2["id"]])
    r = await api.client.get("/api/v1/supervision-items", headers=api.admin, params={"project_id": p1["id"]})
    assert r.json()["items"] == []
    stale = await api.client.patch(f"/api/v1/supervision-items/{item['id']}", headers={**api.admin, "If-Match": '"1"'},
                                   json={"title": "x"})
    assert stale.status_code == 412


async def test_a_task_is_reassigned_and_rescheduled_with_an_audit_trail(api):
    unit, other = await api.unit(), await api.unit()
    task = await api.task(await api.item(), unit, "2099-01-01")
    r = await api.client.patch(f"/api/v1/supervision-tasks/{task['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"unit_id": other["id"], "deadline": "2099-02-01"})
    assert r.status_code == 200, r.text
    [event] = await api.audit(resource_id=str(task["id"]), action="supervision_task.update")
    assert event["before"] == {"unit_id": unit["id"], "deadline": "2099-01-01"}
    r = await api.client.patch(f"/api/v1/supervision-tasks/{task['id']}", headers={**api.admin, "If-Match": "*"},
                               json={"unit_id": 999_999})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "unit_id"


async def test_an_archived_item_leaves_the_lists_and_takes_no_more_work(api):
    unit = await api.unit()
    item = await api.item()
    task = await api.task(item, unit, FUTURE)
    r = await api.client.delete(f"/api/v1/supervision-items/{item['id']}", headers={**api.admin, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["archived_at"] is not None
    again = await api.client.delete(f"/api/v1/supervision-items/{item['id']}", headers={**api.admin, "If-Match": "*"})
    assert again.status_code == 409 and again.json()["code"] == "item_archived"
    assert (await api.client.get("/api/v1/supervision-items", headers=api.admin)).json()["items"] == []
    archived = await api.client.get("/api/v1/supervision-items", headers=api.admin, params={"archived": "true"})
    assert [i["id"] for i in archived.json()["items"]] == [item["id"]]
    assert (await api.client.get("/api/v1/supervision-tasks", headers=api.admin)).json()["items"] == []
    r = await api.report(task, 50)
    assert r.status_code == 409 and r.json()["code"] == "item_archived"
    r = await api.client.post(f"/api/v1/supervision-items/{item['id']}/tasks", headers=api.admin,
                              json={"title": "t", "unit_id": unit["id"], "deadline": FUTURE})
    assert r.status_code == 409


async def test_items_and_tasks_are_listed_by_their_filters(api):
    u1, u2 = await api.unit(), await api.unit()
    project = await api.project()
    pending = await api.item(source="plan_item")
    late = await api.item(source="leader_instruction", project_ids=[project["id"]])
    t_late = await api.task(late, u1, PAST)
    t_open = await api.task(late, u2, FUTURE)
    finished = await api.item(source="meeting_decision")
    t_done = await api.task(finished, u1, FUTURE)
    await api.report(t_done, 100)

    async def item_ids(**params):
        r = await api.client.get("/api/v1/supervision-items", headers=api.admin, params={"sort": "created_at",
                                                                                         **params})
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert await item_ids() == [pending["id"], late["id"], finished["id"]]
    assert await item_ids(status="overdue") == [late["id"]]
    assert await item_ids(status=["pending", "done"]) == [pending["id"], finished["id"]]
    assert await item_ids(source="plan_item") == [pending["id"]]
    assert await item_ids(project_id=project["id"]) == [late["id"]]

    async def task_ids(**params):
        r = await api.client.get("/api/v1/supervision-tasks", headers=api.admin, params=params)
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["items"]]

    assert await task_ids() == [t_late["id"], t_open["id"], t_done["id"]]  # by deadline
    assert await task_ids(overdue="true") == [t_late["id"]]
    assert await task_ids(done="true") == [t_done["id"]]
    assert await task_ids(unit_id=u1["id"]) == [t_late["id"], t_done["id"]]
    assert await task_ids(deadline_from=str(today())) == [t_open["id"], t_done["id"]]
    assert await task_ids(item_id=late["id"], sort="-deadline") == [t_open["id"], t_late["id"]]
    page = await api.client.get("/api/v1/supervision-tasks", headers=api.admin, params={"limit": 2})
    rest = await api.client.get("/api/v1/supervision-tasks", headers=api.admin,
                                params={"limit": 2, "cursor": page.json()["next_cursor"]})
    assert [t["id"] for t in page.json()["items"] + rest.json()["items"]] == [t_late["id"], t_open["id"],
                                                                              t_done["id"]]


async def test_a_task_for_a_missing_item_or_unit_is_refused(api):
    unit = await api.unit()
    r = await api.client.post("/api/v1/supervision-items/999999/tasks", headers=api.admin,
                              json={"title": "t", "unit_id": unit["id"], "deadline": FUTURE})
    assert r.status_code == 404
    item = await api.item()
    r = await api.client.post(f"/api/v1/supervision-items/{item['id']}/tasks", headers=api.admin,
                              json={"title": "t", "unit_id": 999_999, "deadline": FUTURE})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "unit_id"
