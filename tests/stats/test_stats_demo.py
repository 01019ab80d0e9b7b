"""The plan's table, read from the service's own aggregates over the demo data set."""

from datetime import datetime, timedelta
from decimal import Decimal

from app.demo import PLAN_FIGURES, PLAN_TARGETS, PLAN_YEAR

PLAN_TABLE = {  # title: (count, amount, currency) — the policy opinion of 2022-06-05
    "外资大项目签约注册": (42, "3260000000.00", "USD"),
    "内资大项目签约落地": (21, "14600000000.00", "CNY"),
    "争取列入市重点项目": (27, "38300000000.00", "CNY"),
    "争取列入重点前期项目": (7, "10400000000.00", "CNY"),
}


async def test_the_plans_table_comes_out_of_the_targets_and_the_pipeline(demo):
    api, summary = demo.api, demo.summary
    assert (summary.targets, summary.exchange_rates) == (len(PLAN_TARGETS), 60)

    r = await api.client.get("/api/v1/stats/targets", headers=api.admin, params={"year": PLAN_YEAR})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    table = {i["target"]["title"]: (i["members"]["count"], i["members"]["totals"], i["members"]["total"]["amount"])
             for i in items}
    assert table == {title: (count, [{"amount": amount, "currency": currency}], amount)
                     for title, (count, amount, currency) in PLAN_TABLE.items()}
    for item in items:
        count, amount, currency = PLAN_TABLE[item["target"]["title"]]
        assert item["target"]["target_count"] == count
        assert item["target"]["target_amount"] == {"amount": amount, "currency": currency}
        assert item["evaluated_on"] == f"{PLAN_YEAR}-12-31"
        assert item["members"]["total"]["missing_rates"] == []
        assert sum(b["members"]["count"] for b in item["by_leader"]) == count
        assert sum(Decimal(b["members"]["total"]["amount"]) for b in item["by_leader"]) == Decimal(amount)

    foreign, domestic, city_key, key_preliminary = items
    # Registered (注册/落地) is the goal of the signing targets: 13 of 42 and 7 of 21 got there;
    # the designation candidates are all still candidates.
    assert (foreign["done"]["count"], domestic["done"]["count"]) == (13, 7)
    assert (city_key["done"]["count"], key_preliminary["done"]["count"]) == (0, 0)
    assert foreign["share_done"] == "0.3095"
    assert foreign["target"]["plan_rates"] == {"USD": "6.4"}

    r = await api.client.get("/api/v1/stats/pipeline", headers=api.admin, params={"group_by": "stage"})
    assert r.status_code == 200, r.text
    by_stage = {g["key"]["stage"]: g["count"] for g in r.json()["groups"]}
    assert by_stage["negotiating"] == PLAN_FIGURES["negotiating"]["count"] == 113
    assert by_stage["under_construction"] == PLAN_FIGURES["under_construction"]["count"] == 478
    assert r.json()["total"]["count"] == summary.projects
    assert r.json()["total"]["total_cny"]["missing_rates"] == []
    assert {rate["valid_from"] for rate in r.json()["total"]["total_cny"]["rates"]} == {"2022-12-01"}

    # On 30 June 2022, before most signings, the same targets stood lower.
    r = await api.client.get("/api/v1/stats/targets", headers=api.admin,
                             params={"year": PLAN_YEAR, "as_of": "2022-06-30"})
    june = {i["target"]["title"]: i for i in r.json()["items"]}
    assert june["外资大项目签约注册"]["members"]["count"] == 42
    assert june["外资大项目签约注册"]["done"]["count"] < 13


async def test_the_demo_reshuffle_moves_the_figures_by_leader_from_its_date_on(demo):
    api, summary = demo.api, demo.summary
    assert summary.reassigned == 6

    async def first_two(**params):
        r = await api.client.get("/api/v1/stats/pipeline", headers=api.admin,
                                 params={"group_by": "leader", "funnel": "false", **params})
        assert r.status_code == 200, r.text
        counts = {g["key"]["leader"]: g["count"] for g in r.json()["groups"]}
        return counts[1], counts[2]

    r = await api.client.get("/api/v1/audit-events", headers=api.admin,
                             params={"action": "project.update", "limit": 200})
    moved = [e["resource_id"] for e in r.json()["items"] if e["after"].get("leader_id") == 2]
    assert len(moved) == 6
    recorded = datetime.fromisoformat((await api.get_project(int(moved[0])))["updated_at"])
    assert await first_two(as_of="2022-08-31") == (60, 59)
    assert await first_two(as_of="2022-12-31") == (55, 68)
    assert await first_two(as_of="2022-12-31", known_on=(recorded - timedelta(microseconds=1)).isoformat()) == (61, 62)
