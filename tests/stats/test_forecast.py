"""``/stats/forecast``: the expected end of the year, with its method."""

from decimal import Decimal

from app.clock import today
from tests.factories import assert_invalid
from tests.progress.helpers import accepted, building, plan


async def test_a_project_is_forecast_by_the_larger_of_its_reported_quarters_and_its_run_rate(api):
    # Reports count from the day they are accepted (today): the forecast of the year just
    # ended, as of today, reads the year to December.
    year = today().year - 1
    slow, fast = await building(api), await building(api)
    await plan(api, slow, year, "12000000.00")
    await plan(api, fast, year, "12000000.00")
    for month in range(1, 13):
        await accepted(api, slow, year, month, "500000.00")
        await accepted(api, fast, year, month, "1000000.00")
    r = await api.client.get("/api/v1/stats/forecast", headers=api.admin, params={"year": year, "projects": "all"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reported_month"] == 12
    by_id = {p["project_id"]: p for p in body["projects"]}
    f = by_id[fast["id"]]
    assert f["method"] == "reported_quarters"  # a tie at the year's end: the reports'
    assert Decimal(f["expected_investment"]["amount"]) == Decimal("12000000.00")
    assert f["expected_to_miss"] is False
    s = by_id[slow["id"]]
    assert Decimal(s["expected_investment"]["amount"]) == Decimal("6000000.00")
    assert s["expected_to_miss"] is True and Decimal(s["expected_rate"]) == Decimal("0.5000")
    assert Decimal(body["total"]["expected_investment"]["amount"]) == Decimal("18000000.00")
    assert body["total"]["projects_expected_to_miss"] == 1


async def test_the_forecast_refuses_a_future_as_of_and_a_year_with_no_month_due(api):
    r = await api.client.get("/api/v1/stats/forecast", headers=api.admin, params={"year": 2022, "as_of": "2999-01-01"})
    assert_invalid(r, "as_of")
    r = await api.client.get("/api/v1/stats/forecast", headers=api.admin, params={"year": 2022, "as_of": "2022-02-01"})
    assert_invalid(r, "as_of")


async def test_the_demo_forecasts_each_2022_target(demo):
    r = await demo.api.client.get("/api/v1/stats/forecast", headers=demo.api.admin,
                                  params={"year": 2022, "as_of": "2022-11-30", "group_by": "leader"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reported_month"] == 10
    assert len(body["targets"]) == 4
    for t in body["targets"]:
        assert t["expected_done"] >= t["done"]
    assert body["total"]["projects"] == 478
    # Some October reports expect their fourth quarter: both methods make some projects' forecast.
    assert body["total"]["by_method"]["reported_quarters"] > 0 and body["total"]["by_method"]["run_rate"] > 0


async def test_the_forecast_is_read_by_the_roles_that_read_statistics(api):
    expected = {"admin": 200, "bureau": 200, "leader": 200, "unit": 403, "integration": 403, "viewer": 200}
    got = await api.read_status_by_role("/api/v1/stats/forecast", {"year": 2022})
    assert got == expected
