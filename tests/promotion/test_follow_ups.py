"""The follow-up log (跟踪记录): append-only entries, corrections, next contacts and who sees them."""

from datetime import date, timedelta

from app.clock import today
from tests.factories import assert_invalid, assert_problem

API = "/api/v1"


def log_of(project):
    return f"{API}/projects/{project['id']}/follow-ups"


async def entry(api, project, headers=None, **fields):
    body = {"occurred_on": str(today()), "kind": "visit", "summary": "走访企业，了解投资意向", **fields}
    r = await api.client.post(log_of(project), headers=headers or api.admin, json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def test_an_entry_is_kept_with_its_leaders_and_next_contact_and_audited(api):
    leader = await api.leader()
    p = await api.project()
    day = today() - timedelta(days=3)
    e = await entry(api, p, occurred_on=str(day), kind="meeting", leader_ids=[leader["id"]],
                    participants="日方代表团三人", next_step="报送投资协议草案",
                    next_contact_on=str(day + timedelta(days=10)))
    assert (e["kind"], e["leader_ids"], e["corrects_id"], e["corrected_by_id"]) == ("meeting", [leader["id"]],
                                                                                    None, None)
    assert e["overdue"] is False and e["actor_name"] == "test admin"
    listed = (await api.client.get(log_of(p), headers=api.admin)).json()
    assert listed["items"] == [e] and listed["next_cursor"] is None
    assert (await api.client.get(f"{API}/follow-ups/{e['id']}", headers=api.admin)).json() == e
    events = await api.audit(resource_type="follow_up")
    assert [(x["action"], x["resource_id"]) for x in events] == [("follow_up.create", str(e["id"]))]


async def test_the_kinds_have_chinese_labels(api):
    enums = (await api.client.get(f"{API}/meta/enums", headers=api.admin)).json()
    labels = {v["value"]: v["labels"]["zh-CN"] for v in enums["follow_up_kind"]}
    assert set(labels) == {"visit", "meeting", "inspection", "call", "video_call", "ceremony", "other"}
    assert labels["inspection"] == "考察"


async def test_a_follow_up_dated_in_the_future_is_422_and_writes_nothing(api):
    p = await api.project()
    r = await api.client.post(log_of(p), headers=api.admin, json={
        "occurred_on": str(today() + timedelta(days=1)), "kind": "call", "summary": "电话"})
    assert_invalid(r, "occurred_on", "future")
    assert (await api.client.get(log_of(p), headers=api.admin)).json()["items"] == []


async def test_a_next_contact_before_the_entry_is_422_naming_it(api):
    p = await api.project()
    r = await api.client.post(log_of(p), headers=api.admin, json={
        "occurred_on": "2022-05-10", "kind": "call", "summary": "电话", "next_contact_on": "2022-05-09"})
    assert_invalid(r, "next_contact_on", "before occurred_on")
    assert (await api.client.get(log_of(p), headers=api.admin)).json()["items"] == []


async def test_an_unknown_leader_is_422_naming_leader_ids(api):
    p = await api.project()
    r = await api.client.post(log_of(p), headers=api.admin, json={
        "occurred_on": "2022-05-10", "kind": "visit", "summary": "走访", "leader_ids": [9999]})
    assert_invalid(r, "leader_ids")
    assert await api.audit(resource_type="follow_up") == []


async def test_a_correction_replaces_the_entry_it_points_at_and_a_second_is_409(api):
    p = await api.project()
    wrong = await entry(api, p, occurred_on="2022-05-10", next_contact_on="2022-05-20")
    fixed = await entry(api, p, occurred_on="2022-05-11", next_contact_on="2099-01-01", corrects_id=wrong["id"],
                        summary="更正：实际为5月11日走访")
    log = (await api.client.get(log_of(p), headers=api.admin)).json()["items"]
    assert [(x["id"], x["corrected_by_id"]) for x in log] == [(wrong["id"], fixed["id"]), (fixed["id"], None)]
    # The corrected entry's next contact no longer counts.
    assert [x["overdue"] for x in log] == [False, False]
    r = await api.client.post(log_of(p), headers=api.admin, json={
        "occurred_on": "2022-05-11", "kind": "visit", "summary": "再次更正", "corrects_id": wrong["id"]})
    assert_problem(r, 409, "already_corrected")
    other = await api.project()
    r = await api.client.post(log_of(other), headers=api.admin, json={
        "occurred_on": "2022-05-11", "kind": "visit", "summary": "别的项目", "corrects_id": fixed["id"]})
    assert_invalid(r, "corrects_id")


async def test_a_passed_next_contact_is_overdue_until_a_newer_entry_is_made(api):
    leader = await api.leader()
    p = await api.project(leader_id=leader["id"])
    first = await entry(api, p, occurred_on="2022-03-01", next_contact_on="2022-03-15")
    assert first["overdue"] is True
    overdue = (await api.client.get(f"{API}/follow-ups", headers=api.admin,
                                    params={"overdue": "true", "leader_id": leader["id"]})).json()["items"]
    assert [x["id"] for x in overdue] == [first["id"]]
    newer = await entry(api, p, occurred_on="2022-03-20", kind="call")
    assert newer["overdue"] is False
    overdue = (await api.client.get(f"{API}/follow-ups", headers=api.admin, params={"overdue": "true"})).json()
    assert overdue["items"] == []


async def test_a_terminated_project_has_nothing_overdue(api):
    p = await api.project(stage_entered_on="2022-01-01")
    await entry(api, p, occurred_on="2022-03-01", next_contact_on="2022-03-15")
    r = await api.move(p, "terminated", "2022-04-01", reason="投资方撤回")
    assert r.status_code == 201, r.text
    assert (await api.client.get(f"{API}/follow-ups", headers=api.admin, params={"overdue": "true"})).json()[
        "items"] == []


async def test_the_list_filters_by_kind_dates_unit_and_leader_present(api):
    leader, other_leader = await api.leader(), await api.leader()
    unit = await api.unit()
    p = await api.project(unit_id=unit["id"])
    q = await api.project(leader_id=other_leader["id"])
    a = await entry(api, p, occurred_on="2022-02-01", kind="visit", leader_ids=[leader["id"]])
    b = await entry(api, p, occurred_on="2022-03-01", kind="call")
    c = await entry(api, q, occurred_on="2022-04-01", kind="inspection")

    async def ids(**params):
        r = await api.client.get(f"{API}/follow-ups", headers=api.admin, params=params)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["items"]]

    assert await ids() == [c["id"], b["id"], a["id"]]
    assert await ids(kind="call") == [b["id"]]
    assert await ids(since="2022-02-15", until="2022-03-31") == [b["id"]]
    assert await ids(unit_id=unit["id"]) == [b["id"], a["id"]]
    assert await ids(leader_id=leader["id"]) == [a["id"]]
    assert await ids(leader_id=other_leader["id"]) == [c["id"]]
    r = await api.client.get(f"{API}/follow-ups", headers=api.admin, params={"since": "2022-03-01",
                                                                           "until": "2022-02-01"})
    assert_invalid(r, "until")


async def test_the_list_pages_by_keyset(api):
    p = await api.project()
    made = [await entry(api, p, occurred_on=str(date(2022, 1, 1) + timedelta(days=i % 3))) for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.client.get(log_of(p), headers=api.admin, params=params)).json()
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["id"] for e in sorted(made, key=lambda e: (e["occurred_on"], e["id"]))]


async def test_units_write_on_their_projects_and_leaders_read_theirs(api):
    unit, other_unit = await api.unit(), await api.unit()
    leader, other_leader = await api.leader(), await api.leader()
    own = await api.project(unit_id=unit["id"], leader_id=leader["id"])
    foreign = await api.project(unit_id=other_unit["id"], leader_id=other_leader["id"])
    unit_key = await api.key("unit", unit_id=unit["id"])
    written = await entry(api, own, headers=unit_key)
    r = await api.client.post(log_of(foreign), headers=unit_key, json={
        "occurred_on": "2022-01-05", "kind": "call", "summary": "电话"})
    assert_problem(r, 404, "not_found")
    present = await entry(api, foreign, leader_ids=[leader["id"]])
    elsewhere = await entry(api, foreign)

    leader_key = await api.key("leader", leader_id=leader["id"])
    r = await api.client.post(log_of(own), headers=leader_key, json={
        "occurred_on": "2022-01-05", "kind": "call", "summary": "电话"})
    assert_problem(r, 403, "forbidden")
    seen = (await api.client.get(f"{API}/follow-ups", headers=leader_key)).json()["items"]
    assert sorted(x["id"] for x in seen) == sorted([written["id"], present["id"]])
    r = await api.client.get(f"{API}/follow-ups/{elsewhere['id']}", headers=leader_key)
    assert_problem(r, 404, "not_found")
    seen = (await api.client.get(f"{API}/follow-ups", headers=unit_key)).json()["items"]
    assert [x["id"] for x in seen] == [written["id"]]


# --- the clocks: the no_follow_up rule and the leader's dashboard ---------------------------


async def statuses(api, as_of, **params):
    r = await api.client.get(f"{API}/stats/project-health", headers=api.admin, params={"as_of": as_of, **params})
    assert r.status_code == 200, r.text
    return r.json()


def reason(status, rule):
    return next((x for x in status["reasons"] if x["rule"] == rule), None)


async def test_no_follow_up_turns_amber_past_the_stage_allowance_and_red_past_twice_it(api):
    p = await api.project(stage_entered_on="2022-01-01")
    await entry(api, p, occurred_on="2022-02-01", kind="visit")
    cases = {"2022-03-03": None, "2022-03-04": "amber", "2022-04-02": "amber", "2022-04-03": "red"}
    for as_of, expected in cases.items():
        [item] = (await statuses(api, as_of))["items"]
        found = reason(item, "no_follow_up")
        assert (found and found["health"]) == expected, (as_of, item)
    [item] = (await statuses(api, "2022-04-03"))["items"]
    found = reason(item, "no_follow_up")
    assert found["days"] == 61
    assert found["inputs"] == {"as_of": "2022-04-03", "stage": "negotiating", "stage_entered_on": "2022-01-01",
                               "last_follow_up_on": "2022-02-01", "max_days": 30, "amber_after_days": 31,
                               "red_after_days": 61}
    rules = {r["rule"]: r for r in (await statuses(api, "2022-04-03"))["rules"]}
    assert rules["no_follow_up"]["max_days_by_stage"] == {"negotiating": 30, "signed": 30}


async def test_a_newer_entry_or_a_stage_move_restarts_the_clock_and_construction_ends_it(api):
    p = await api.project(stage_entered_on="2022-01-01")
    await entry(api, p, occurred_on="2022-01-02")
    [item] = (await statuses(api, "2022-02-15"))["items"]
    assert reason(item, "no_follow_up")["health"] == "amber"
    await entry(api, p, occurred_on="2022-02-10", kind="call")
    [item] = (await statuses(api, "2022-02-15"))["items"]
    assert reason(item, "no_follow_up") is None
    # Dated before the new entry, the answer for that day is still amber: the history is kept.
    [item] = (await statuses(api, "2022-02-09"))["items"]
    assert reason(item, "no_follow_up")["health"] == "amber"
    p = await api.get_project(p["id"])
    assert (await api.move(p, "signed", "2022-03-20")).status_code == 201
    [item] = (await statuses(api, "2022-03-25"))["items"]
    assert reason(item, "no_follow_up") is None  # 5 days since signing, not 43 since the call


async def test_a_project_without_a_follow_up_log_is_not_measured(api):
    await api.project(stage_entered_on="2022-01-01")
    [item] = (await statuses(api, "2022-06-01"))["items"]
    assert reason(item, "no_follow_up") is None


async def test_the_leaders_dashboard_counts_overdue_next_contacts_with_a_link(api):
    leader = await api.leader()
    p = await api.project(leader_id=leader["id"], stage_entered_on="2022-01-01")
    q = await api.project(stage_entered_on="2022-01-01")
    await entry(api, p, occurred_on="2022-03-01", next_contact_on="2022-03-10")
    await entry(api, q, occurred_on="2022-03-01", next_contact_on="2022-03-12", leader_ids=[leader["id"]])
    await entry(api, q, occurred_on="2022-03-01", next_contact_on="2022-06-01")  # newer: q's first is superseded

    async def section(as_of):
        r = await api.client.get(f"{API}/leaders/{leader['id']}/dashboard", headers=api.admin,
                                 params={"as_of": as_of})
        assert r.status_code == 200, r.text
        return r.json()["overdue_follow_ups"]

    assert (await section("2022-03-10"))["count"] == 0
    found = await section("2022-03-11")
    assert found["count"] == found["overdue"] == 1
    listed = (await api.client.get(found["items"], headers=api.admin)).json()["items"]
    assert [x["project_id"] for x in listed] == [p["id"]]
