"""``/stats/*`` and the leaders' dashboards, by example: what each figure means."""

from datetime import timedelta

import httpx

from app.clock import today
from app.config import Settings
from app.main import create_app


async def lived(api, moves, **fields):
    """A project created in ``moves[0]``'s stage and moved through the rest, via the API."""
    (stage, on), *rest = moves
    p = await api.project(stage=stage, stage_entered_on=on, **fields)
    for to, on in rest:
        r = await api.move(p, to, on, reason="终止" if to == "terminated" else None)
        assert r.status_code == 201, r.text
        p = await api.get_project(p["id"])
    return p


async def pipeline(api, **params):
    r = await api.client.get("/api/v1/stats/pipeline", headers=api.admin, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def by_stage(api, **params):
    return {g["key"]["stage"]: g["count"] for g in (await pipeline(api, group_by="stage", **params))["groups"]}


async def target_stats(api, year=2022, **params):
    r = await api.client.get("/api/v1/stats/targets", headers=api.admin, params={"year": year, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_todays_pipeline_is_the_current_state_of_the_registry(api):
    await lived(api, [("negotiating", "2022-01-10"), ("signed", "2022-03-01")])
    await lived(api, [("negotiating", "2022-01-10")])
    await lived(api, [("preliminary", "2021-05-01"), ("under_construction", "2022-02-01")])
    await lived(api, [("negotiating", "2022-01-10"), ("terminated", "2022-02-01")])
    counts = await by_stage(api)
    for stage, n in counts.items():
        r = await api.client.get("/api/v1/projects", headers=api.admin, params={"stage": stage})
        assert len(r.json()["items"]) == n, stage
    assert counts == {"negotiating": 1, "signed": 1, "under_construction": 1, "terminated": 1}
    assert await by_stage(api, as_of=str(today())) == counts


async def test_the_stage_on_a_past_date_is_the_last_move_dated_on_or_before_it(api):
    await lived(api, [("negotiating", "2022-01-10"), ("signed", "2022-03-01"), ("registered", "2022-03-01"),
                      ("preliminary", "2022-05-01")])
    assert await by_stage(api, as_of="2022-01-09") == {}
    assert await by_stage(api, as_of="2022-02-28") == {"negotiating": 1}
    # Signed and registered the same day: the empty interval of "signed" never counts.
    assert await by_stage(api, as_of="2022-03-01") == {"registered": 1}
    assert await by_stage(api, as_of="2022-04-30") == {"registered": 1}
    assert await by_stage(api, as_of="2022-05-01") == {"preliminary": 1}


async def test_a_correction_changes_the_past_from_its_date_on(api):
    p = await lived(api, [("negotiating", "2022-01-10"), ("signed", "2022-03-01")])
    r = await api.move(p, "negotiating", "2022-04-01", reason="签约未生效")
    assert r.status_code == 201
    assert await by_stage(api, as_of="2022-03-15") == {"signed": 1}
    assert await by_stage(api, as_of="2022-04-01") == {"negotiating": 1}


async def test_archived_projects_count_until_the_day_they_were_archived(api):
    p = await lived(api, [("negotiating", "2022-01-10")])
    await lived(api, [("negotiating", "2022-01-10")])
    r = await api.client.delete(f"/api/v1/projects/{p['id']}", headers={**api.admin, "If-Match": '"1"'})
    assert r.status_code == 200
    assert await by_stage(api, as_of="2022-06-30") == {"negotiating": 2}
    assert await by_stage(api) == {"negotiating": 1}


async def test_as_of_cannot_be_in_the_future(api):
    tomorrow = str(today() + timedelta(days=1))
    for path in ("/api/v1/stats/pipeline", "/api/v1/stats/leaders", "/api/v1/stats/project-health"):
        r = await api.client.get(path, headers=api.admin, params={"as_of": tomorrow})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "as_of", path


async def test_group_by_takes_repeated_or_comma_separated_dimensions(api):
    leader = await api.leader()
    await lived(api, [("negotiating", "2022-01-10")], leader_id=leader["id"], zone="other")
    a = await pipeline(api, group_by="stage,leader")
    b = await api.client.get("/api/v1/stats/pipeline?group_by=stage&group_by=leader", headers=api.admin)
    assert a["groups"] == b.json()["groups"]
    assert a["groups"][0]["key"] == {"stage": "negotiating", "leader": leader["id"]}
    assert a["group_by"] == ["stage", "leader"]
    for bad in ("colour", "stage,stage"):
        r = await api.client.get("/api/v1/stats/pipeline", headers=api.admin, params={"group_by": bad})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "group_by"


async def test_projects_with_no_leader_are_a_group_with_its_own_link(api):
    leader = await api.leader()
    mine = await lived(api, [("negotiating", "2022-01-10")], leader_id=leader["id"])
    nobodys = await lived(api, [("negotiating", "2022-01-10")])
    groups = (await pipeline(api, group_by="leader"))["groups"]
    assert [(g["key"]["leader"], g["count"]) for g in groups] == [(leader["id"], 1), (None, 1)]
    listed = await api.client.get(groups[1]["projects"], headers=api.admin)
    assert [p["id"] for p in listed.json()["items"]] == [nobodys["id"]]
    only = await pipeline(api, leader_id=str(leader["id"]))
    assert only["total"]["count"] == 1
    listed = await api.client.get(only["total"]["projects"], headers=api.admin)
    assert [p["id"] for p in listed.json()["items"]] == [mine["id"]]


async def test_the_year_is_the_year_a_project_entered_its_stage(api):
    await lived(api, [("preliminary", "2020-05-01"), ("under_construction", "2021-03-01")])
    await lived(api, [("under_construction", "2022-02-01")])
    groups = (await pipeline(api, group_by="stage,year", as_of="2022-06-30"))["groups"]
    assert [(g["key"]["stage"], g["key"]["year"], g["count"]) for g in groups] == [
        ("under_construction", 2021, 1), ("under_construction", 2022, 1)]
    assert (await pipeline(api, year="2021", as_of="2022-06-30"))["total"]["count"] == 1


async def test_the_funnel_counts_who_moved_on_and_the_median_days_in_each_stage(api):
    await lived(api, [("negotiating", "2022-01-01"), ("signed", "2022-01-11")])  # 10 days
    await lived(api, [("negotiating", "2022-01-01"), ("signed", "2022-01-31")])  # 30 days
    await lived(api, [("negotiating", "2022-01-01"), ("signed", "2022-02-10"), ("terminated", "2022-03-01")])
    await lived(api, [("negotiating", "2022-01-01")])
    funnel = {f["stage"]: f for f in (await pipeline(api, as_of="2022-06-30"))["funnel"]}
    negotiating, signed = funnel["negotiating"], funnel["signed"]
    assert (negotiating["entered"], negotiating["moved_on"], negotiating["terminated"],
            negotiating["in_stage"]) == (4, 3, 0, 1)
    assert negotiating["share_moved_on"] == "0.7500"
    assert negotiating["median_days"] == "30.0"  # of 10, 30, 40
    assert negotiating["median_days_in_stage_now"] == "180.0"
    assert (signed["entered"], signed["moved_on"], signed["terminated"], signed["in_stage"]) == (3, 0, 1, 2)
    assert signed["median_days"] == "19.0"  # the one stay that ended: 2022-02-10 .. 03-01
    assert signed["median_days_in_stage_now"] == "160.0"  # 170 and 150 days
    assert (await pipeline(api, funnel="false"))["funnel"] is None
    # Two months earlier, fewer moves had happened.
    earlier = {f["stage"]: f for f in (await pipeline(api, as_of="2022-01-20"))["funnel"]}
    assert (earlier["negotiating"]["moved_on"], earlier["signed"]["entered"]) == (1, 1)


async def test_a_list_target_counts_members_done_late_and_by_leader(api):
    lead = await api.leader()
    done = await lived(api, [("signed", "2021-12-01"), ("registered", "2022-04-01")], leader_id=lead["id"],
                       total_investment={"amount": "100.00", "currency": "CNY"})
    late = await lived(api, [("negotiating", "2021-10-01")], planned_sign_on="2022-03-01",
                       total_investment={"amount": "40.00", "currency": "CNY"})
    on_time = await lived(api, [("negotiating", "2021-10-01")], planned_sign_on="2022-09-01", leader_id=lead["id"],
                          total_investment={"amount": "10.00", "currency": "CNY"})
    dropped = await lived(api, [("negotiating", "2021-10-01"), ("terminated", "2022-02-01")],
                          planned_sign_on="2022-01-15", total_investment={"amount": "50.00", "currency": "CNY"})
    r = await api.client.post("/api/v1/targets", headers=api.admin, json={
        "year": 2022, "title": "签约注册", "goal_stage": "registered", "target_count": 4,
        "target_amount": {"amount": "200.00", "currency": "CNY"}, "membership": "list",
        "members": [done["id"], late["id"], on_time["id"], dropped["id"]]})
    target = r.json()
    [item] = await target_stats(api, as_of="2022-06-30")
    assert (item["members"]["count"], item["done"]["count"], item["late"]["count"], item["dropped"]["count"]) == (
        4, 1, 1, 1)
    assert item["done"]["total"]["amount"] == "100.00" and item["members"]["total"]["amount"] == "200.00"
    assert (item["share_done"], item["share_done_amount"]) == ("0.2500", "0.5000")
    assert [(b["leader_id"], b["members"]["count"], b["done"]["count"], b["late"]["count"])
            for b in item["by_leader"]] == [(lead["id"], 2, 1, 0), (None, 2, 0, 1)]
    standing = await api.client.get(f"/api/v1/targets/{target['id']}/projects", headers=api.admin,
                                    params={"as_of": "2022-06-30"})
    assert {p["id"]: p["status"] for p in standing.json()["items"]} == {
        done["id"]: "done", late["id"]: "late", on_time["id"]: "open", dropped["id"]: "dropped"}
    # Before the registration, nothing was done; a past year is judged as it ended.
    [march] = await target_stats(api, as_of="2022-03-31")
    assert march["done"]["count"] == 0 and march["evaluated_on"] == "2022-03-31"
    assert (await target_stats(api, year=2021))[0:] == []


async def test_a_criterion_target_counts_the_projects_that_move_in_its_year(api):
    already = await lived(api, [("negotiating", "2021-01-10"), ("signed", "2021-06-01")], funding_source="foreign",
                          investor_country="JP")
    signed = await lived(api, [("negotiating", "2021-01-10"), ("signed", "2022-06-01")], funding_source="foreign",
                         investor_country="JP")
    waiting = await lived(api, [("negotiating", "2022-02-10")], funding_source="foreign", investor_country="JP")
    await lived(api, [("negotiating", "2021-01-10"), ("terminated", "2021-12-01")], funding_source="foreign",
                investor_country="JP")
    await lived(api, [("negotiating", "2022-01-10"), ("signed", "2022-06-01")])  # domestic
    r = await api.client.post("/api/v1/targets", headers=api.admin, json={
        "year": 2022, "title": "外资签约60个", "goal_stage": "signed", "target_count": 60,
        "membership": "criterion", "criterion": {"funding_source": ["foreign"]}})
    assert r.status_code == 201, r.text
    [item] = await target_stats(api, as_of="2022-12-31")
    assert (item["members"]["count"], item["done"]["count"]) == (2, 1)
    listed = await api.client.get(item["members"]["projects"], headers=api.admin)
    assert {p["id"] for p in listed.json()["items"]} == {signed["id"], waiting["id"]}
    assert already["id"] not in {p["id"] for p in listed.json()["items"]}


async def test_a_designation_goal_is_met_when_granted_for_the_year(api):
    granted = await lived(api, [("preliminary", "2021-10-01")], designations=[
        {"designation": "city_key", "status": "granted", "year": 2022, "decided_on": "2022-05-20"}])
    last_year = await lived(api, [("preliminary", "2021-10-01")], designations=[
        {"designation": "city_key", "status": "granted", "year": 2021, "decided_on": "2021-05-20"}])
    candidate = await lived(api, [("preliminary", "2021-10-01")], designations=[
        {"designation": "city_key", "status": "candidate", "year": 2022}])
    await api.client.post("/api/v1/targets", headers=api.admin, json={
        "year": 2022, "title": "争取列入市重点项目", "goal_designation": "city_key", "target_count": 3,
        "membership": "list", "members": [granted["id"], last_year["id"], candidate["id"]]})
    assert (await target_stats(api, as_of="2022-05-19"))[0]["done"]["count"] == 0
    assert (await target_stats(api, as_of="2022-05-20"))[0]["done"]["count"] == 1


async def status_page(api, **params):
    r = await api.client.get("/api/v1/stats/project-health", headers=api.admin, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_projects_status_names_the_rule_and_the_inputs_behind_it(api):
    lead = await api.leader()
    p = await lived(api, [("preliminary", "2022-01-01")], leader_id=lead["id"], planned_start_on="2022-03-01")
    page = await status_page(api, as_of="2022-03-02")
    [item] = page["items"]
    assert item["health"] == "amber"
    assert item["reasons"] == [{"rule": "start_overdue", "health": "amber", "days": 1, "points": None,
                                "months": None, "inputs": {
        "as_of": "2022-03-02", "stage": "preliminary", "planned_start_on": "2022-03-01",
        "amber_after_days": 1, "red_after_days": 90}}]
    assert {r["rule"]: (r["amber_after_days"], r["red_after_days"]) for r in page["rules"]} == {
        "sign_overdue": (1, None), "start_overdue": (1, 90), "production_overdue": (None, 1), "stalled": (180, None),
        "no_follow_up": (None, None),  # per stage: max_days_by_stage
        "investment_behind": (10, 30), "report_missing": (1, 2)}
    # Three months late: red. And six months without a move: stalled too.
    [item] = (await status_page(api, as_of="2022-07-01"))["items"]
    assert item["health"] == "red"
    assert [(r["rule"], r["health"], r["days"]) for r in item["reasons"]] == [
        ("start_overdue", "red", 122), ("stalled", "amber", 181)]
    assert (await status_page(api, as_of="2022-02-28"))["items"][0]["health"] == "green"
    assert (await status_page(api, as_of="2022-07-01", health="green"))["items"] == []
    assert [i["id"] for i in (await status_page(api, as_of="2022-07-01", leader_id=lead["id"],
                                                 late="true"))["items"]] == [p["id"]]


async def test_a_planned_production_date_passed_is_red_at_once(api):
    await lived(api, [("under_construction", "2022-01-01")], planned_production_on="2022-05-31")
    [item] = (await status_page(api, as_of="2022-06-01"))["items"]
    assert item["health"] == "red" and item["reasons"][0]["rule"] == "production_overdue"


async def test_status_thresholds_come_from_the_settings(api, settings):
    await lived(api, [("preliminary", "2022-01-01")], planned_start_on="2022-03-01")
    strict = create_app(Settings(database_url=settings.database_url, health_start_overdue_red_days=10,
                                 health_stalled_amber_days=None))
    async with strict.router.lifespan_context(strict), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=strict), base_url="http://strict") as client:
        r = await client.get("/api/v1/stats/project-health", headers=api.admin, params={"as_of": "2022-03-15"})
    [item] = r.json()["items"]
    assert item["health"] == "red" and [x["rule"] for x in item["reasons"]] == ["start_overdue"]
    rules = {x["rule"]: x for x in r.json()["rules"]}
    assert rules["start_overdue"]["red_after_days"] == 10 and rules["stalled"]["amber_after_days"] is None


def test_the_former_names_of_the_health_thresholds_are_still_read(monkeypatch):
    monkeypatch.setenv("PIPELINE_STATUS_STALLED_AMBER_DAYS", "30")
    monkeypatch.setenv("PIPELINE_HEALTH_START_OVERDUE_RED_DAYS", "12")
    got = Settings()
    assert (got.health_stalled_amber_days, got.health_start_overdue_red_days) == (30, 12)


async def test_the_former_path_of_project_health_answers_the_same_and_is_deprecated(api):
    await lived(api, [("preliminary", "2022-01-01")], planned_start_on="2022-03-01")
    params = {"as_of": "2022-07-01"}
    new = await api.client.get("/api/v1/stats/project-health", headers=api.admin, params={**params, "health": "red"})
    old = await api.client.get("/api/v1/stats/project-status", headers=api.admin, params={**params, "status": "red"})
    assert new.status_code == old.status_code == 200
    assert new.json() == old.json() and new.json()["items"][0]["health"] == "red"
    none = await api.client.get("/api/v1/stats/project-status", headers=api.admin, params={**params, "status": "green"})
    assert none.json()["items"] == []
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    assert paths["/api/v1/stats/project-status"]["get"]["deprecated"] is True
    assert "deprecated" not in paths["/api/v1/stats/project-health"]["get"]


async def test_health_and_late_have_labels_of_their_own(api):
    enums = (await api.client.get("/api/v1/meta/enums", headers=api.admin)).json()
    health = {v["value"]: v["labels"]["zh-CN"] for v in enums["project_health"]}
    late = {v["value"]: v["labels"]["zh-CN"] for v in enums["target_project_status"]}["late"]
    assert late not in health.values() and len(set(health.values())) == 3
    assert [v["value"] for v in enums["project_health"]] == ["green", "amber", "red"]


async def test_a_leaders_dashboard_shows_their_projects_late_statuses_and_targets(api):
    lead, other = await api.leader(), await api.leader()
    red = await lived(api, [("under_construction", "2021-01-01")], leader_id=lead["id"],
                      planned_production_on="2022-01-31")
    green = await lived(api, [("negotiating", "2022-05-01")], leader_id=lead["id"], planned_sign_on="2022-12-01",
                        total_investment={"amount": "10.00", "currency": "USD"})
    await lived(api, [("negotiating", "2022-05-01")], leader_id=other["id"])
    await api.client.post("/api/v1/targets", headers=api.admin, json={
        "year": 2022, "title": "投产", "goal_stage": "in_production", "target_count": 1, "membership": "list",
        "members": [red["id"]]})
    r = await api.client.get(f"/api/v1/leaders/{lead['id']}/dashboard", headers=api.admin,
                             params={"as_of": "2022-06-30"})
    assert r.status_code == 200, r.text
    board = r.json()
    assert board["leader"]["id"] == lead["id"] and board["as_of"] == "2022-06-30"
    assert board["projects"]["count"] == 2
    assert board["projects"]["total_cny"] == {"amount": None, "currency": "CNY", "rates": [],
                                              "missing_rates": ["USD"]}
    assert {s["stage"]: s["count"] for s in board["by_stage"] if s["count"]} == {
        "negotiating": 1, "under_construction": 1}
    assert (board["health"]["red"], board["health"]["amber"], board["health"]["green"]) == (1, 0, 1)
    assert [p["id"] for p in board["attention"]] == [red["id"]]
    assert board["late"]["count"] == 1
    late = await api.client.get(board["late"]["projects"], headers=api.admin)
    assert [p["id"] for p in late.json()["items"]] == [red["id"]]
    [share] = board["targets"]
    assert (share["title"], share["members"]["count"], share["late"]["count"]) == ("投产", 1, 1)
    assert board["open_difficulties"]["count"] == 0 and board["overdue_tasks"]["count"] == 0
    assert green["id"] not in [p["id"] for p in board["attention"]]

    leaders = (await api.client.get("/api/v1/stats/leaders", headers=api.admin,
                                    params={"as_of": "2022-06-30"})).json()["items"]
    mine = next(item for item in leaders if item["leader_id"] == lead["id"])
    assert (mine["projects"]["count"], mine["late"]["count"], mine["health"]["red"]) == (2, 1, 1)
    assert mine["by_stage"]["under_construction"] == 1 and mine["dashboard"].startswith(
        f"/api/v1/leaders/{lead['id']}/dashboard")
    assert [t["title"] for t in mine["targets"]] == ["投产"]


async def test_an_unknown_leaders_dashboard_is_404(api):
    r = await api.client.get("/api/v1/leaders/999999/dashboard", headers=api.admin)
    assert r.status_code == 404


async def test_a_leaders_dashboard_counts_their_open_and_overdue_difficulties_and_tasks(api):
    lead, other, unit = await api.leader(), await api.leader(), await api.unit()
    mine = await api.project(leader_id=lead["id"], unit_id=unit["id"])
    theirs = await api.project(leader_id=other["id"], unit_id=unit["id"])
    await api.difficulty(mine, raised_on="2022-01-04", due_on="2022-01-31")  # overdue
    await api.difficulty(mine, due_on="2099-12-31")
    await api.walk_difficulty(await api.difficulty(mine, raised_on="2022-01-04", due_on="2022-01-31"), "closed")
    await api.difficulty(theirs, raised_on="2022-01-04", due_on="2022-01-31")
    item = await api.item(project_ids=[mine["id"]])
    await api.task(item, unit, "2022-03-31")  # overdue
    await api.task(item, unit, "2099-12-31")
    board = (await api.client.get(f"/api/v1/leaders/{lead['id']}/dashboard", headers=api.admin)).json()
    link = f"/api/v1/leaders/{lead['id']}/difficulties-summary"
    assert board["open_difficulties"] == {"count": 2, "overdue": 1, "items": link}
    assert board["overdue_tasks"] == {"count": 1, "overdue": 1, "items": link}
