"""The demo's monthly scheduling: plans for every project under construction, reports to
October 2022 (some late, returned and corrected, awaiting review, missing), a believable year."""

from datetime import datetime, timedelta
from decimal import Decimal

from app.demo import DEMO_LAST_DATE


async def test_the_demo_year_has_plans_reports_and_a_believable_completion_rate(demo):
    api, summary = demo.api, demo.summary
    assert summary.annual_plans == 478 and summary.progress_reports > 478 * 6

    r = await api.client.get("/api/v1/annual-plans", headers=api.admin, params={"year": 2022, "limit": 200})
    assert len(r.json()["items"]) == 200 and r.json()["next_cursor"]

    r = await api.client.get("/api/v1/stats/investment", headers=api.admin,
                             params={"year": 2022, "month": 10, "as_of": str(DEMO_LAST_DATE)})
    assert r.status_code == 200, r.text
    body = r.json()
    total = body["total"]
    # The 478 under construction with their plans, and the registered foreign projects that
    # reported utilised FDI this year (no plan: they are not building yet).
    assert body["time_progress"] == "0.8333" and total["projects"] == 478 + total["health"]["no_plan"]
    assert 0 < total["health"]["no_plan"] <= 13
    # Behind time progress by a few points, as cities report it; some green, some red.
    assert Decimal("0.65") < Decimal(total["completion_rate"]) < Decimal("0.8333")
    assert -20 < Decimal(total["gap_points"]) < 0
    assert all(total["health"][c] > 20 for c in ("green", "amber", "red"))
    assert Decimal(total["fdi_utilised_ytd"]["amount"]) > 0

    r = await api.client.get("/api/v1/progress-reports/missing", headers=api.admin,
                             params={"year": 2022, "month": 10})
    units = r.json()["items"]
    assert sum(len(u["missing"]) for u in units) > 0 and sum(len(u["late"]) for u in units) > 0

    r = await api.client.get("/api/v1/progress-reports", headers=api.admin,
                             params={"year": 2022, "status": "returned", "limit": 5})
    returned = r.json()["items"]
    assert returned
    r = await api.client.get(f"/api/v1/progress-reports/{returned[0]['id']}/versions", headers=api.admin)
    assert [v["status"] for v in r.json()] == ["returned", "accepted"]
    r = await api.client.get("/api/v1/progress-reports", headers=api.admin,
                             params={"year": 2022, "month": 10, "status": "submitted"})
    assert r.json()["items"], "some of October's reports await review"


async def test_the_demo_revised_some_plans_at_mid_year_and_the_months_before_keep_the_first_plan(demo):
    api, summary = demo.api, demo.summary
    assert summary.plans_revised == 5

    async def planned(month: int, **params: str) -> Decimal:
        r = await api.client.get("/api/v1/stats/investment", headers=api.admin,
                                 params={"year": 2022, "month": month, "as_of": str(DEMO_LAST_DATE), **params})
        assert r.status_code == 200, r.text
        return Decimal(r.json()["total"]["planned"]["amount"])

    # The five plans were cut by a fifth from 2022-07-01, recorded when the demo was seeded.
    june, october = await planned(6), await planned(10)
    assert october < june
    r = await api.client.get("/api/v1/audit-events", headers=api.admin,
                             params={"resource_type": "annual_plan", "action": "annual_plan.update"})
    assert r.status_code == 200, r.text
    revisions = r.json()["items"]
    assert len(revisions) == 5
    cut = sum(Decimal(e["before"]["planned_investment"]["amount"]) - Decimal(e["after"]["planned_investment"]["amount"])
              for e in revisions)
    assert june - october == cut  # the same projects hold plans in both months: only the revisions differ
    # Known as before the revisions were recorded (each when its plan says it was updated), October
    # is planned as June is.
    plans = [(await api.client.get(f"/api/v1/annual-plans/{e['resource_id']}", headers=api.admin)).json()
             for e in revisions]
    first = min(datetime.fromisoformat(p["updated_at"].replace("Z", "+00:00")) for p in plans)
    before = (first - timedelta(microseconds=1)).isoformat()
    assert await planned(10, known_on=before) == june
