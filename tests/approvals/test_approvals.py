"""Approval items of projects and the catalogue of their kinds, through /approvals and
/approval-kinds."""

import sqlite3
from datetime import timedelta

import pytest

from app.cli import migrate
from app.clock import today
from app.models.approval import CATALOGUE


async def test_a_fresh_database_holds_the_catalogue_of_common_approval_kinds(api, database_url):
    r = await api.client.get("/api/v1/approval-kinds", headers=await api.key("viewer"))
    assert r.status_code == 200
    names = {k["code"]: (k["name"], k["default_time_limit_days"]) for k in r.json()["items"]}
    for code, name, days in [("project_approval_filing", "项目核准/备案", 20),
                             ("land_pre_review_siting", "用地预审与选址", 20),
                             ("land_use_planning_permit", "建设用地规划许可", 20),
                             ("construction_planning_permit", "建设工程规划许可", 20),
                             ("environmental_impact_assessment", "环境影响评价", 60),
                             ("energy_conservation_review", "节能审查", 20),
                             ("construction_permit", "施工许可", 7)]:
        assert names[code] == (name, days)


def test_the_migration_seeds_exactly_the_catalogue_the_code_knows(tmp_path):
    migrate(f"sqlite+aiosqlite:///{tmp_path / 'seed.db'}")
    with sqlite3.connect(tmp_path / "seed.db") as conn:
        rows = conn.execute("SELECT code, name, default_time_limit_days FROM approval_kinds ORDER BY id").fetchall()
    assert rows == list(CATALOGUE)


async def test_an_admin_extends_the_catalogue_and_items_use_the_new_kind(api):
    r = await api.client.post("/api/v1/approval-kinds", headers=api.admin,
                              json={"code": "civil_air_defense_review", "name": "人防工程审查",
                                    "default_time_limit_days": 10})
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == "/api/v1/approval-kinds/civil_air_defense_review"
    p = await api.project()
    item = await api.approval(p, kind="civil_air_defense_review", authority="市人防办")
    assert item["time_limit_days"] == 10
    again = await api.client.post("/api/v1/approval-kinds", headers=api.admin,
                                  json={"code": "civil_air_defense_review", "name": "别名"})
    assert again.status_code == 409 and again.json()["code"] == "code_taken"
    same_name = await api.client.post("/api/v1/approval-kinds", headers=api.admin,
                                      json={"code": "other_code", "name": "人防工程审查"})
    assert same_name.status_code == 409
    bad = await api.client.post("/api/v1/approval-kinds", headers=api.admin, json={"code": "Bad Code", "name": "x"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "code"


async def test_an_archived_kind_takes_no_new_items_but_keeps_its_old_ones(api):
    p = await api.project()
    old = await api.approval(p, kind="water_soil_conservation", authority="市水务局")
    r = await api.client.get("/api/v1/approval-kinds/water_soil_conservation", headers=api.admin)
    archived = await api.client.delete("/api/v1/approval-kinds/water_soil_conservation",
                                       headers={**api.admin, "If-Match": r.headers["ETag"]})
    assert archived.status_code == 200 and archived.json()["archived_at"]
    refused = await api.client.post(f"/api/v1/projects/{p['id']}/approvals", headers=api.admin,
                                    json={"kind": "water_soil_conservation", "authority": "市水务局"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "kind"
    assert [i["id"] for i in await api.approvals(p["id"])] == [old["id"]]
    listed = await api.client.get("/api/v1/approval-kinds?archived=true", headers=api.admin)
    assert [k["code"] for k in listed.json()["items"]] == ["water_soil_conservation"]


async def test_a_kinds_default_time_limit_changes_with_if_match(api):
    r = await api.client.get("/api/v1/approval-kinds/construction_permit", headers=api.admin)
    etag = r.headers["ETag"]
    missing = await api.client.patch("/api/v1/approval-kinds/construction_permit", headers=api.admin,
                                     json={"default_time_limit_days": 5})
    assert missing.status_code == 428
    ok = await api.client.patch("/api/v1/approval-kinds/construction_permit", headers={**api.admin, "If-Match": etag},
                                json={"default_time_limit_days": 5})
    assert ok.status_code == 200 and ok.json()["default_time_limit_days"] == 5
    stale = await api.client.patch("/api/v1/approval-kinds/construction_permit",
                                   headers={**api.admin, "If-Match": etag}, json={"name": "施工许可证核发"})
    assert stale.status_code == 412
    assert (await api.client.get("/api/v1/approval-kinds/nope", headers=api.admin)).status_code == 404


async def test_bureau_records_an_item_whose_time_limit_comes_from_its_kind(api):
    bureau = await api.key("bureau")
    p = await api.project()
    submitted = today() - timedelta(days=10)
    item = await api.approval(p, headers=bureau, kind="construction_permit", status="submitted",
                              submitted_on=str(submitted))
    assert item["time_limit_days"] == 7
    assert item["due_on"] == str(submitted + timedelta(days=7))
    assert (item["overdue"], item["decided_within_limit"], item["days_to_decision"]) == (True, None, None)
    no_limit = await api.approval(p, kind="energy_conservation_review", time_limit_days=None, status="submitted",
                                  submitted_on=str(submitted))
    assert (no_limit["time_limit_days"], no_limit["due_on"], no_limit["overdue"]) == (None, None, False)


async def test_a_decision_ends_the_wait_and_says_whether_it_kept_the_limit(api):
    p = await api.project()
    item = await api.approval(p, status="accepted", submitted_on="2022-03-01", time_limit_days=20)
    url = f"/api/v1/projects/{p['id']}/approvals/{item['id']}"
    r = await api.client.patch(url, headers={**api.admin, "If-Match": '"1"'},
                               json={"status": "approved", "decided_on": "2022-03-25"})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    got = r.json()
    assert (got["overdue"], got["days_to_decision"], got["decided_within_limit"], got["due_on"]) == (
        False, 24, False, "2022-03-21")
    [event] = await api.audit(resource_type="approval_item", action="approval.update")
    assert event["before"] == {"status": "accepted", "decided_on": None, "days_to_decision": None,
                               "decided_within_limit": None, "version": 1}
    assert event["after"]["status"] == "approved"


@pytest.mark.parametrize(("fields", "field"), [
    ({"status": "submitted"}, "submitted_on"),
    ({"status": "approved", "submitted_on": "2022-01-01"}, "decided_on"),
    ({"status": "accepted", "submitted_on": "2022-01-01", "decided_on": "2022-02-01"}, "decided_on"),
    ({"status": "rejected", "submitted_on": "2022-02-01", "decided_on": "2022-01-01"}, "decided_on"),
    ({"status": "not_started", "submitted_on": "2022-01-01"}, "submitted_on"),
    ({"status": "granted"}, "status"),
    ({"time_limit_days": 0}, "time_limit_days"),
    ({"authority": ""}, "authority"),
    ({"kind": "unknown_kind"}, "kind"),
    ({"reference": "a\x00b"}, "reference"),
    ({"id": 5}, "id"),
])
async def test_an_item_with_inconsistent_fields_is_refused_naming_the_field(api, fields, field):
    p = await api.project()
    r = await api.client.post(f"/api/v1/projects/{p['id']}/approvals", headers=api.admin,
                              json={"kind": "construction_permit", "authority": "市行政审批服务局", **fields})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


async def test_dates_in_the_future_are_refused(api):
    p = await api.project()
    r = await api.client.post(f"/api/v1/projects/{p['id']}/approvals", headers=api.admin,
                              json={"kind": "construction_permit", "authority": "市行政审批服务局",
                                    "status": "submitted", "submitted_on": str(today() + timedelta(days=1))})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "submitted_on"


async def test_a_patch_is_checked_against_the_resulting_item(api):
    p = await api.project()
    item = await api.approval(p, status="submitted", submitted_on="2022-05-01")
    url = f"/api/v1/projects/{p['id']}/approvals/{item['id']}"
    r = await api.client.patch(url, headers={**api.admin, "If-Match": '"1"'}, json={"status": "approved"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "decided_on"
    r = await api.client.patch(url, headers={**api.admin, "If-Match": '"1"'}, json={"status": None})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"
    assert (await api.client.patch(url, headers=api.admin, json={"note": "x"})).status_code == 428
    ok = await api.client.patch(url, headers={**api.admin, "If-Match": '"1"'}, json={"note": "补正材料"})
    assert ok.status_code == 200
    stale = await api.client.patch(url, headers={**api.admin, "If-Match": '"1"'}, json={"note": "again"})
    assert stale.status_code == 412


async def test_an_archived_item_leaves_the_list_and_keeps_its_history(api):
    p = await api.project()
    item = await api.approval(p)
    url = f"/api/v1/projects/{p['id']}/approvals/{item['id']}"
    r = await api.client.delete(url, headers={**api.admin, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["archived_at"]
    assert await api.approvals(p["id"]) == []
    archived = await api.client.get(f"/api/v1/projects/{p['id']}/approvals?archived=true", headers=api.admin)
    assert [i["id"] for i in archived.json()["items"]] == [item["id"]]
    assert (await api.client.get(url, headers=api.admin)).status_code == 200
    assert [e["action"] for e in await api.audit(resource_type="approval_item")] == [
        "approval.archive", "approval.create"]


async def test_an_item_is_reached_only_through_its_own_project(api):
    p, q = await api.project(), await api.project()
    item = await api.approval(p)
    r = await api.client.get(f"/api/v1/projects/{q['id']}/approvals/{item['id']}", headers=api.admin)
    assert r.status_code == 404
    assert (await api.client.get("/api/v1/projects/999/approvals", headers=api.admin)).status_code == 404


async def test_an_archived_project_takes_no_new_items(api):
    p = await api.project()
    await api.client.delete(f"/api/v1/projects/{p['id']}", headers={**api.admin, "If-Match": '"1"'})
    r = await api.client.post(f"/api/v1/projects/{p['id']}/approvals", headers=api.admin,
                              json={"kind": "construction_permit", "authority": "市行政审批服务局"})
    assert r.status_code == 409 and r.json()["code"] == "project_archived"


async def test_the_overdue_list_across_projects_is_what_to_chase(api):
    p, q = await api.project(), await api.project()
    long_ago = str(today() - timedelta(days=90))
    late = await api.approval(p, status="submitted", submitted_on=long_ago)
    await api.approval(q, status="submitted", submitted_on=str(today()))
    await api.approval(q, status="approved", submitted_on=long_ago, decided_on=long_ago)
    r = await api.client.get("/api/v1/approvals?overdue=true", headers=api.admin)
    assert [i["id"] for i in r.json()["items"]] == [late["id"]]
    r = await api.client.get("/api/v1/approvals?overdue=false", headers=api.admin)
    assert len(r.json()["items"]) == 2
    r = await api.client.get("/api/v1/approvals", headers=api.admin,
                             params={"status": ["submitted", "accepted"], "limit": 1})
    page1 = r.json()
    page2 = (await api.client.get("/api/v1/approvals", headers=api.admin,
                                  params={"status": ["submitted"], "limit": 1,
                                          "cursor": page1["next_cursor"]})).json()
    assert len(page1["items"]) == len(page2["items"]) == 1 and page2["next_cursor"] is None


async def test_a_unit_sees_the_approvals_of_its_own_projects_only(api):
    unit, other = await api.unit(), await api.unit()
    mine = await api.project(unit_id=unit["id"])
    theirs = await api.project(unit_id=other["id"])
    await api.approval(mine)
    hidden = await api.approval(theirs)
    key = await api.key("unit", unit_id=unit["id"])
    assert (await api.client.get(f"/api/v1/projects/{mine['id']}/approvals", headers=key)).status_code == 200
    r = await api.client.get(f"/api/v1/projects/{theirs['id']}/approvals/{hidden['id']}", headers=key)
    assert r.status_code == 404
    r = await api.client.get("/api/v1/approvals", headers=key)
    assert [i["project_id"] for i in r.json()["items"]] == [mine["id"]]


# --- who may do what: expected outcomes written out by hand ------------------------------

ROLES = ["admin", "bureau", "leader", "unit_own", "unit_other", "integration", "viewer"]
EXPECTED = {
    #                              admin bureau leader unit_own unit_other integration viewer
    "list project approvals":      (200,  200,   200,   200,     404,       403,        200),
    "read an approval":            (200,  200,   200,   200,     404,       403,        200),
    "create an approval":          (201,  201,   403,   403,     403,       403,        403),
    "change an approval":          (200,  200,   403,   403,     403,       403,        403),
    "archive an approval":         (200,  200,   403,   403,     403,       403,        403),
    "list approvals":              (200,  200,   200,   200,     200,       403,        200),
    "approval statistics":         (200,  200,   200,   200,     200,       403,        200),
    "list approval kinds":         (200,  200,   200,   200,     200,       200,        200),
    "add an approval kind":        (201,  403,   403,   403,     403,       403,        403),
    "change an approval kind":     (200,  403,   403,   403,     403,       403,        403),
    "list approval events":        (200,  200,   403,   403,     403,       403,        403),
    "set a signing secret":        (200,  403,   403,   403,     403,       403,        403),
    "list webhooks":               (200,  403,   403,   403,     403,       403,        403),
    "create a webhook":            (201,  403,   403,   403,     403,       403,        403),
    "list deliveries":             (200,  403,   403,   403,     403,       403,        403),
}  # fmt: skip


@pytest.mark.postgres_only
@pytest.mark.parametrize("action", list(EXPECTED))
async def test_who_may_do_what_with_approvals_events_and_webhooks(api, action):
    unit, other_unit, leader = await api.unit(), await api.unit(), await api.leader()
    p = await api.project(unit_id=unit["id"])
    item = await api.approval(p)
    system = await api.integration()
    hook = await api.webhook("http://127.0.0.1:9/hooks")
    keys = {"admin": api.admin, "bureau": await api.key("bureau"),
            "leader": await api.key("leader", leader_id=leader["id"]),
            "unit_own": await api.key("unit", unit_id=unit["id"]),
            "unit_other": await api.key("unit", unit_id=other_unit["id"]),
            "integration": system.headers, "viewer": await api.key("viewer")}
    item_url = f"/api/v1/projects/{p['id']}/approvals/{item['id']}"
    n = iter(range(1000))

    async def attempt(headers):
        match action:
            case "list project approvals":
                return await api.client.get(f"/api/v1/projects/{p['id']}/approvals", headers=headers)
            case "read an approval":
                return await api.client.get(item_url, headers=headers)
            case "create an approval":
                return await api.client.post(f"/api/v1/projects/{p['id']}/approvals", headers=headers,
                                             json={"kind": "construction_permit", "authority": "市行政审批服务局"})
            case "change an approval":
                return await api.client.patch(item_url, headers={**headers, "If-Match": "*"}, json={"note": "n"})
            case "archive an approval":
                fresh = await api.approval(p)
                return await api.client.delete(f"/api/v1/projects/{p['id']}/approvals/{fresh['id']}",
                                               headers={**headers, "If-Match": "*"})
            case "list approvals":
                return await api.client.get("/api/v1/approvals", headers=headers)
            case "approval statistics":
                return await api.client.get("/api/v1/stats/approvals", headers=headers)
            case "list approval kinds":
                return await api.client.get("/api/v1/approval-kinds", headers=headers)
            case "add an approval kind":
                return await api.client.post("/api/v1/approval-kinds", headers=headers,
                                             json={"code": f"kind_{next(n)}", "name": f"新事项{next(n)}"})
            case "change an approval kind":
                return await api.client.patch("/api/v1/approval-kinds/construction_permit",
                                              headers={**headers, "If-Match": "*"}, json={"name": "施工许可"})
            case "list approval events":
                return await api.client.get("/api/v1/integrations/approval-events", headers=headers)
            case "set a signing secret":
                return await api.client.put(f"/api/v1/api-keys/{system.key_id}/signing-secret", headers=headers,
                                            json={})
            case "list webhooks":
                return await api.client.get("/api/v1/webhooks", headers=headers)
            case "create a webhook":
                return await api.client.post("/api/v1/webhooks", headers=headers,
                                             json={"url": "http://127.0.0.1:9/x", "event_types": ["*"]})
            case "list deliveries":
                return await api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers)
        raise AssertionError(action)

    outcomes = {}
    for role in ROLES:
        r = await attempt(keys[role])
        outcomes[role] = r.status_code
    assert tuple(outcomes[r] for r in ROLES) == EXPECTED[action], outcomes


async def test_items_of_an_archived_project_and_archived_items_do_not_change(api):
    p = await api.project()
    kept, gone = await api.approval(p), await api.approval(p)
    gone_url = f"/api/v1/projects/{p['id']}/approvals/{gone['id']}"
    await api.client.delete(gone_url, headers={**api.admin, "If-Match": '"1"'})
    r = await api.client.patch(gone_url, headers={**api.admin, "If-Match": "*"}, json={"note": "x"})
    assert r.status_code == 409 and r.json()["code"] == "already_archived"
    await api.client.delete(f"/api/v1/projects/{p['id']}", headers={**api.admin, "If-Match": '"1"'})
    r = await api.client.patch(f"/api/v1/projects/{p['id']}/approvals/{kept['id']}",
                               headers={**api.admin, "If-Match": "*"}, json={"note": "x"})
    assert r.status_code == 409 and r.json()["code"] == "project_archived"
