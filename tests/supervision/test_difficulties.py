"""Difficulties (困难问题): raising them, their status machine, notes, edits and lists."""

import asyncio
from datetime import timedelta

import pytest

from app.clock import today

STATUSES = ["open", "in_progress", "resolved", "closed"]
LEGAL = {("open", "in_progress"): "start", ("in_progress", "resolved"): "resolve",
         ("resolved", "closed"): "close", ("resolved", "in_progress"): "reject"}
ILLEGAL = [(a, b) for a in STATUSES for b in STATUSES if (a, b) not in LEGAL]
TEXT = {"resolution": "已完成土地调规", "reason": "用地指标仍未落实"}


async def project_with_people(api, **overrides):
    leader, unit = await api.leader(), await api.unit()
    project = await api.project(leader_id=leader["id"], unit_id=unit["id"], **overrides)
    return project, leader, unit


@pytest.mark.parametrize(("current", "to"), list(LEGAL), ids=[f"{a}->{b}" for a, b in LEGAL])
async def test_a_difficulty_makes_each_legal_move(api, current, to):
    project, _, _ = await project_with_people(api)
    d = await api.walk_difficulty(await api.difficulty(project), current)
    r = await api.move_difficulty(d, to, **TEXT, note="已电话沟通")
    assert r.status_code == 201, r.text
    entry = r.json()
    assert (entry["kind"], entry["from_status"], entry["to_status"]) == (LEGAL[(current, to)], current, to)
    assert entry["occurred_on"] == str(today()) and entry["actor_name"] == "test admin"
    assert r.headers["ETag"] == f'"{d["version"] + 1}"'
    after = await api.get_difficulty(d["id"])
    assert (after["status"], after["version"]) == (to, d["version"] + 1)
    assert (await api.timeline(d["id"]))[-1]["id"] == entry["id"]


@pytest.mark.parametrize(("current", "to"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
async def test_a_difficulty_refuses_each_illegal_move(api, current, to):
    project, _, _ = await project_with_people(api)
    d = await api.walk_difficulty(await api.difficulty(project), current)
    before = await api.timeline(d["id"])
    r = await api.move_difficulty(d, to, **TEXT)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "invalid_transition"
    assert (await api.get_difficulty(d["id"]))["status"] == current
    assert await api.timeline(d["id"]) == before


async def test_a_raised_difficulty_takes_the_projects_unit_and_leader_and_records_who_raised_it(api):
    project, leader, unit = await project_with_people(api)
    bureau = await api.key("bureau")
    r = await api.client.post(f"/api/v1/projects/{project['id']}/difficulties", headers=bureau, json={
        "title": "项目用地指标不足", "description": "需调整土地利用总体规划", "category": "land",
        "due_on": "2099-06-30"})
    assert r.status_code == 201, r.text
    d = r.json()
    assert (d["unit_id"], d["leader_id"], d["status"], d["escalation_level"]) == (
        unit["id"], leader["id"], "open", "unit")
    assert (d["raised_by"], d["raised_on"], d["overdue"]) == ("bureau key", str(today()), False)
    assert r.headers["ETag"] == '"1"' and r.headers["Location"] == f"/api/v1/difficulties/{d['id']}"
    [raised] = await api.timeline(d["id"])
    assert (raised["kind"], raised["to_status"], raised["note"]) == ("raised", "open", "需调整土地利用总体规划")
    [event] = await api.audit(resource_type="difficulty", resource_id=str(d["id"]))
    assert (event["action"], event["actor_name"]) == ("difficulty.create", "bureau key")
    assert event["after"]["title"] == "项目用地指标不足"


async def test_the_unit_and_leader_can_be_chosen_instead_of_the_projects(api):
    project, _, _ = await project_with_people(api)
    other_leader, other_unit = await api.leader(), await api.unit()
    d = await api.difficulty(project, unit_id=other_unit["id"], leader_id=other_leader["id"])
    assert (d["unit_id"], d["leader_id"]) == (other_unit["id"], other_leader["id"])


async def test_a_difficulty_needs_a_unit_when_the_project_has_none(api):
    project = await api.project()
    r = await api.client.post(f"/api/v1/projects/{project['id']}/difficulties", headers=api.admin,
                              json={"title": "缺电", "category": "utilities", "due_on": "2099-01-01"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "unit_id"


@pytest.mark.parametrize(("body", "field"), [
    ({"raised_on": str(today() + timedelta(days=1))}, "raised_on"),
    ({"raised_on": "2022-03-01", "due_on": "2022-02-28"}, "due_on"),
    ({"category": "weather"}, "category"),
    ({"title": ""}, "title"),
    ({"title": "a\x00b"}, "title"),
    ({"unit_id": 999_999}, "unit_id"),
    ({"leader_id": 999_999}, "leader_id"),
    ({"status": "closed"}, "status"),
])
async def test_bad_input_when_raising_names_the_field(api, body, field):
    project, _, _ = await project_with_people(api)
    r = await api.client.post(f"/api/v1/projects/{project['id']}/difficulties", headers=api.admin,
                              json={"title": "融资困难", "category": "financing", "due_on": "2099-01-01", **body})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


async def test_raising_on_a_missing_project_is_not_found_and_on_an_archived_one_a_conflict(api):
    r = await api.client.post("/api/v1/projects/999999/difficulties", headers=api.admin,
                              json={"title": "x", "category": "other", "due_on": "2099-01-01"})
    assert r.status_code == 404
    project, _, _ = await project_with_people(api)
    await api.client.delete(f"/api/v1/projects/{project['id']}", headers={**api.admin, "If-Match": '"1"'})
    r = await api.client.post(f"/api/v1/projects/{project['id']}/difficulties", headers=api.admin,
                              json={"title": "x", "category": "other", "due_on": "2099-01-01"})
    assert r.status_code == 409 and r.json()["code"] == "project_archived"


async def test_resolving_needs_a_resolution_and_rejecting_needs_a_reason(api):
    project, _, _ = await project_with_people(api)
    d = await api.walk_difficulty(await api.difficulty(project), "in_progress")
    r = await api.move_difficulty(d, "resolved")
    assert r.status_code == 422 and r.json()["errors"] == [
        {"field": "resolution", "message": "is required to resolve a difficulty"}]
    assert (await api.move_difficulty(d, "resolved", resolution="已协调电力公司接入")).status_code == 201
    resolved = await api.get_difficulty(d["id"])
    assert (resolved["resolution"], resolved["resolved_on"]) == ("已协调电力公司接入", str(today()))
    r = await api.move_difficulty(d, "in_progress")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    assert (await api.move_difficulty(d, "in_progress", reason="尚未正式送电")).status_code == 201
    rejected = await api.get_difficulty(d["id"])
    assert (rejected["status"], rejected["resolution"], rejected["resolved_on"]) == ("in_progress", None, None)
    kinds = [(e["kind"], e["note"]) for e in await api.timeline(d["id"])]
    assert kinds[-2:] == [("resolve", "已协调电力公司接入"), ("reject", "尚未正式送电")]


async def test_a_rejected_difficulty_can_be_resolved_again_and_closed(api):
    project, _, _ = await project_with_people(api)
    d = await api.walk_difficulty(await api.difficulty(project), "resolved")
    assert (await api.move_difficulty(d, "in_progress", reason="未落实")).status_code == 201
    assert (await api.move_difficulty(d, "resolved", resolution="已落实")).status_code == 201
    assert (await api.move_difficulty(d, "closed")).status_code == 201
    final = await api.get_difficulty(d["id"])
    assert (final["status"], final["resolution"], final["closed_on"]) == ("closed", "已落实", str(today()))
    assert [e["kind"] for e in await api.timeline(d["id"])] == [
        "raised", "start", "resolve", "reject", "resolve", "close"]


async def test_a_move_is_dated_not_in_the_future_and_not_before_the_previous_one(api):
    project, _, _ = await project_with_people(api)
    d = await api.difficulty(project, raised_on="2022-03-01", due_on="2022-06-30")
    r = await api.move_difficulty(d, "in_progress", occurred_on="2022-02-28")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "occurred_on"
    r = await api.move_difficulty(d, "in_progress", occurred_on=str(today() + timedelta(days=1)))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "occurred_on"
    assert (await api.move_difficulty(d, "in_progress", occurred_on="2022-03-05")).status_code == 201
    r = await api.move_difficulty(d, "resolved", resolution="x", occurred_on="2022-03-04")
    assert r.status_code == 422
    assert (await api.move_difficulty(d, "resolved", resolution="x", occurred_on="2022-03-05")).status_code == 201
    assert (await api.get_difficulty(d["id"]))["resolved_on"] == "2022-03-05"


async def test_a_move_needs_if_match_and_a_stale_one_moves_nothing(api):
    project, _, _ = await project_with_people(api)
    d = await api.difficulty(project)
    url = f"/api/v1/difficulties/{d['id']}/transitions"
    r = await api.client.post(url, headers=api.admin, json={"to": "in_progress"})
    assert r.status_code == 428 and r.json()["code"] == "if_match_required"
    ok = await api.client.post(url, headers={**api.admin, "If-Match": '"1"'}, json={"to": "in_progress"})
    assert ok.status_code == 201
    stale = await api.client.post(url, headers={**api.admin, "If-Match": '"1"'},
                                  json={"to": "resolved", "resolution": "x"})
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    assert (await api.get_difficulty(d["id"]))["status"] == "in_progress"


async def test_every_status_change_is_audited_with_before_and_after(api):
    project, _, _ = await project_with_people(api)
    d = await api.walk_difficulty(await api.difficulty(project), "closed")
    events = await api.audit(resource_type="difficulty", resource_id=str(d["id"]), action="difficulty.transition")
    assert [(e["before"]["status"], e["after"]["status"], e["after"]["kind"]) for e in reversed(events)] == [
        ("open", "in_progress", "start"), ("in_progress", "resolved", "resolve"), ("resolved", "closed", "close")]


async def test_progress_notes_form_a_dated_timeline(api):
    project, _, _ = await project_with_people(api)
    d = await api.difficulty(project, raised_on="2022-05-01", due_on="2022-07-01")
    url = f"/api/v1/difficulties/{d['id']}/notes"
    for on, note in (("2022-05-03", "已召开协调会"), ("2022-05-10", "自然资源局已受理")):
        r = await api.client.post(url, headers=api.admin, json={"note": note, "occurred_on": on})
        assert r.status_code == 201, r.text
        assert r.json()["kind"] == "note"
    r = await api.client.post(url, headers=api.admin, json={"note": "x", "occurred_on": "2022-04-30"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "occurred_on"
    assert (await api.client.post(url, headers=api.admin, json={"note": ""})).status_code == 422
    timeline = await api.timeline(d["id"])
    assert [(e["kind"], e["occurred_on"], e["note"]) for e in timeline] == [
        ("raised", "2022-05-01", None), ("note", "2022-05-03", "已召开协调会"),
        ("note", "2022-05-10", "自然资源局已受理")]
    # A note is an addition, not a change of the difficulty: its ETag stays.
    assert (await api.get_difficulty(d["id"]))["version"] == 1
    assert len(await api.audit(resource_id=str(d["id"]), action="difficulty.note")) == 2


async def test_a_closed_difficulty_takes_no_notes_and_no_edits(api):
    project, _, _ = await project_with_people(api)
    d = await api.walk_difficulty(await api.difficulty(project), "closed")
    r = await api.client.post(f"/api/v1/difficulties/{d['id']}/notes", headers=api.admin, json={"note": "补充"})
    assert r.status_code == 409 and r.json()["code"] == "difficulty_closed"
    r = await api.client.patch(f"/api/v1/difficulties/{d['id']}", headers={**api.admin, "If-Match": "*"},
                               json={"title": "改名"})
    assert r.status_code == 409 and r.json()["code"] == "difficulty_closed"


async def test_the_bureau_edits_a_difficulty_and_the_change_is_audited(api):
    project, _, _ = await project_with_people(api)
    d = await api.difficulty(project, due_on="2099-01-31")
    new_unit = await api.unit()
    bureau = await api.key("bureau")
    r = await api.client.patch(f"/api/v1/difficulties/{d['id']}", headers={**bureau, "If-Match": '"1"'},
                               json={"due_on": "2099-03-31", "unit_id": new_unit["id"], "category": "approval"})
    assert r.status_code == 200, r.text
    assert (r.json()["due_on"], r.json()["unit_id"], r.json()["category"]) == ("2099-03-31", new_unit["id"],
                                                                               "approval")
    assert r.headers["ETag"] == '"2"'
    [event] = await api.audit(resource_id=str(d["id"]), action="difficulty.update")
    assert event["before"] == {"category": "land", "unit_id": d["unit_id"], "due_on": "2099-01-31", "version": 1}
    assert event["after"] == {"category": "approval", "unit_id": new_unit["id"], "due_on": "2099-03-31", "version": 2}
    for body, field in (({"status": "closed"}, "status"), ({"due_on": None}, "due_on"),
                        ({"due_on": "1999-01-01"}, "due_on")):
        bad = await api.client.patch(f"/api/v1/difficulties/{d['id']}", headers={**api.admin, "If-Match": "*"},
                                     json=body)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == field


async def test_a_difficulty_past_its_due_date_is_overdue_until_resolved(api):
    project, _, _ = await project_with_people(api)
    yesterday = str(today() - timedelta(days=1))
    d = await api.difficulty(project, raised_on="2022-01-01", due_on=yesterday)
    assert d["overdue"] is True
    assert (await api.walk_difficulty(d, "in_progress"))["overdue"] is True
    assert (await api.walk_difficulty(await api.difficulty(project, raised_on="2022-01-01", due_on=yesterday),
                                      "resolved"))["overdue"] is False
    due_today = await api.difficulty(project, due_on=str(today()))
    assert due_today["overdue"] is False


async def test_the_list_filters_by_every_field_and_pages_by_keyset(api):
    p1, leader1, _unit1 = await project_with_people(api)
    p2, _leader2, unit2 = await project_with_people(api)
    past = str(today() - timedelta(days=3))
    a = await api.difficulty(p1, category="land", raised_on="2022-01-01", due_on=past)
    b = await api.difficulty(p1, category="financing", due_on="2099-01-01")
    c = await api.difficulty(p2, category="land", due_on="2098-01-01")
    e = await api.walk_difficulty(await api.difficulty(p2, category="labour", raised_on="2022-01-01", due_on=past),
                                  "resolved")

    async def ids(**params):
        r = await api.client.get("/api/v1/difficulties", headers=api.admin, params=params)
        assert r.status_code == 200, r.text
        return [d["id"] for d in r.json()["items"]]

    assert await ids() == [a["id"], e["id"], c["id"], b["id"]]  # by due date
    assert await ids(sort="-due_on") == [b["id"], c["id"], e["id"], a["id"]]
    assert await ids(overdue="true") == [a["id"]]
    assert await ids(overdue="false") == [e["id"], c["id"], b["id"]]
    assert await ids(category="land") == [a["id"], c["id"]]
    assert await ids(category=["land", "labour"]) == [a["id"], e["id"], c["id"]]
    assert await ids(status="resolved") == [e["id"]]
    assert await ids(unit_id=unit2["id"]) == [e["id"], c["id"]]
    assert await ids(leader_id=leader1["id"]) == [a["id"], b["id"]]
    assert await ids(project_id=p2["id"]) == [e["id"], c["id"]]
    assert await ids(escalation_level="unit") == [a["id"], e["id"], c["id"], b["id"]]
    assert await ids(escalation_level="leader") == []
    r = await api.client.get(f"/api/v1/projects/{p1['id']}/difficulties", headers=api.admin,
                             params={"category": "financing"})
    assert [d["id"] for d in r.json()["items"]] == [b["id"]]

    seen, cursor = [], None
    while True:
        r = await api.client.get("/api/v1/difficulties", headers=api.admin,
                                 params={"limit": 3, "sort": "raised_on", **({"cursor": cursor} if cursor else {})})
        seen += [d["id"] for d in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [a["id"], e["id"], b["id"], c["id"]]
    bad = await api.client.get("/api/v1/difficulties", headers=api.admin, params={"sort": "title"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "sort"


async def test_the_enums_carry_chinese_labels(api):
    r = await api.client.get("/api/v1/meta/enums", headers=api.admin)
    labels = {name: {v["value"]: v["labels"]["zh-CN"] for v in values} for name, values in r.json().items()}
    assert labels["difficulty_category"] == {"land": "用地", "financing": "融资", "approval": "审批",
                                             "utilities": "水电气热配套", "labour": "用工", "policy": "政策",
                                             "other": "其他"}
    assert set(labels["difficulty_status"]) == {"open", "in_progress", "resolved", "closed"}
    assert labels["escalation_level"]["supervision_office"] == "督查室"
    assert set(labels["supervision_source"]) == {"leader_instruction", "meeting_decision", "plan_item"}


async def test_concurrent_moves_on_one_version_exactly_one_wins(api):
    project, _, _ = await project_with_people(api)
    d = await api.difficulty(project)
    responses = await asyncio.gather(*(
        api.client.post(f"/api/v1/difficulties/{d['id']}/transitions", headers={**api.admin, "If-Match": '"1"'},
                        json={"to": "in_progress", "note": f"第{i}次"}) for i in range(10)))
    assert sorted(r.status_code for r in responses) == [201] + [412] * 9
    assert [e["kind"] for e in await api.timeline(d["id"])] == ["raised", "start"]


async def test_a_retried_raise_with_an_idempotency_key_raises_one_difficulty(api):
    project, _, _ = await project_with_people(api)
    headers = {**api.admin, "Idempotency-Key": "difficulty-ledger-7"}
    body = {"title": "施工用电未接入", "category": "utilities", "due_on": "2099-01-01"}
    url = f"/api/v1/projects/{project['id']}/difficulties"
    first, again = [await api.client.post(url, headers=headers, json=body) for _ in range(2)]
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    r = await api.client.get(url, headers=api.admin)
    assert len(r.json()["items"]) == 1
