"""/stats/investment over HTTP: completion against the plan and time progress, colours, ranks."""

from datetime import timedelta

from app.clock import today
from tests.factories import assert_invalid
from tests.progress.helpers import accepted, building, file, months_ago, plan, review

STATS = "/api/v1/stats/investment"


async def world(api):
    """Leader A: one project on time progress in June (600 of 1200, all reported in June).
    Leader B: one 30 points behind (240 of 1200), one 15 behind (350 of 1000, reported in
    February). No leader: one without a plan (50)."""
    a, b = await api.leader("甲"), await api.leader("乙")
    p1 = await building(api, leader_id=a["id"], funding_source="foreign", investor_country="JP")
    p2 = await building(api, leader_id=b["id"])
    p3 = await building(api, leader_id=b["id"])
    p4 = await building(api)
    await plan(api, p1, 2022, 1200)
    await plan(api, p2, 2022, 1200)
    await plan(api, p3, 2022, 1000)
    await accepted(api, p1, 2022, 6, 600, fdi_utilised={"amount": "10.00", "currency": "USD"},
                   funds_arrived=[{"source": "bank_loans", "amount": {"amount": "300", "currency": "CNY"}}])
    await accepted(api, p2, 2022, 6, 240)
    await accepted(api, p3, 2022, 2, 350)
    await accepted(api, p4, 2022, 3, 50)
    await accepted(api, p1, 2022, 7, 999)  # after the month asked
    await file(api, p2, 2022, 5, 5000)  # never reviewed
    returned = await file(api, p3, 2022, 4, 7000)
    await review(api, returned, "return", reason="数据有误")
    return a, b


async def get(api, **params):
    r = await api.client.get(STATS, headers=api.admin, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_city_total_is_completion_against_plan_and_time_progress(api):
    await world(api)
    body = await get(api, year=2022, month=6)
    assert body["time_progress"] == "0.5000" and body["evaluated_on"] == "2022-06-30"
    total = body["total"]
    assert total["projects"] == 4
    assert total["planned"] == {"amount": "3400.00", "currency": "CNY"}
    assert total["completed_ytd"] == {"amount": "1240.00", "currency": "CNY"}
    assert total["completion_rate"] == "0.3647" and total["gap_points"] == "-13.5"
    assert total["health"] == {"green": 1, "amber": 1, "red": 1, "no_plan": 1}
    funds = {f["source"]: f["amount"]["amount"] for f in total["funds_arrived_ytd"]}
    assert funds["bank_loans"] == "300.00" and funds["own_funds"] == "0.00"
    assert total["fdi_utilised_ytd"] == {"amount": "10.00", "currency": "USD"}
    assert body["groups"] == [] and body["rules"] == {"amber_behind_points": 10, "red_behind_points": 30}


async def test_leaders_are_ranked_by_completion_rate_with_the_change_since_last_month(api):
    a, b = await world(api)
    body = await get(api, year=2022, month=6, group_by="leader")
    groups = {g["key"]: g for g in body["groups"]}
    assert [g["key"] for g in body["groups"]] == [a["id"], b["id"], None]
    assert groups[a["id"]]["completion_rate"] == "0.5000" and groups[a["id"]]["gap_points"] == "0.0"
    assert groups[b["id"]]["completion_rate"] == "0.2682"
    assert groups[b["id"]]["health"] == {"green": 0, "amber": 1, "red": 1, "no_plan": 0}
    # In May leader A had completed nothing and B 350 of 2200: they swapped places in June.
    assert (groups[a["id"]]["rank"], groups[a["id"]]["rank_change"]) == (1, 1)
    assert (groups[b["id"]]["rank"], groups[b["id"]]["rank_change"]) == (2, -1)
    assert groups[None]["rank"] is None and groups[None]["completion_rate"] is None
    r = await api.client.get(groups[b["id"]]["plans"], headers=api.admin)
    assert len(r.json()["items"]) == 2
    january = await get(api, year=2022, month=1, group_by="leader")
    assert all(g["rank_change"] is None for g in january["groups"])


async def test_as_of_counts_only_what_was_accepted_by_then(api):
    await world(api)
    yesterday = today() - timedelta(days=1)
    body = await get(api, year=2022, month=6, as_of=str(yesterday))
    assert body["total"]["completed_ytd"]["amount"] == "0.00" and body["total"]["planned"]["amount"] == "3400.00"
    assert body["total"]["health"] == {"green": 0, "amber": 0, "red": 3, "no_plan": 0}


async def test_groups_by_every_dimension(api):
    await world(api)
    for dimension in ("unit", "zone", "industry", "designation", "target", "stage"):
        body = await get(api, year=2022, month=6, group_by=dimension)
        assert sum(g["projects"] for g in body["groups"]) == 4, dimension
        assert sum(int(g["planned"]["amount"].split(".")[0]) for g in body["groups"]) == 3400
    body = await get(api, year=2022, month=6, group_by="stage")
    assert [g["key"] for g in body["groups"]] == ["under_construction"]


async def test_bad_questions_are_refused_naming_the_parameter(api):
    ahead = months_ago(-1)
    r = await api.client.get(STATS, headers=api.admin, params={"year": ahead[0], "month": ahead[1]})
    assert_invalid(r, "month", "future")
    r = await api.client.get(STATS, headers=api.admin, params={"year": 2022, "month": 6, "group_by": "colour"})
    assert_invalid(r, "group_by")
    r = await api.client.get(STATS, headers=api.admin,
                             params={"year": 2022, "month": 6, "as_of": str(today() + timedelta(days=1))})
    assert_invalid(r, "as_of", "future")
    unit = await api.unit()
    r = await api.client.get(STATS, headers=await api.key("unit", unit_id=unit["id"]),
                             params={"year": 2022, "month": 6})
    assert r.status_code == 403


async def test_by_target_with_no_project_and_no_target_there_is_no_group(api):
    # Found by the property test: ungrouped, the aggregate answered a group of none over nothing.
    r = await api.client.get("/api/v1/stats/investment", headers=api.admin,
                             params={"year": 2022, "month": 6, "group_by": "target"})
    assert r.status_code == 200, r.text
    assert r.json()["groups"] == []
