"""The two rules of monthly scheduling on the status endpoint and the leaders' dashboards:
investment_behind (points behind time progress) and report_missing (due months unfiled)."""

from datetime import date

from app.clock import today
from tests.progress.helpers import accepted, building, file, plan

STATUS = "/api/v1/stats/project-health"


def last_due_month(on: date) -> tuple[int, int]:
    """The latest month whose report was due (the 5th of the next month) before ``on``."""
    year, month = (on.year, on.month - 1) if on.month > 1 else (on.year - 1, 12)
    if date(on.year, on.month, 5) >= on:
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return year, month


def before(year: int, month: int) -> tuple[int, int]:
    return (year, month - 1) if month > 1 else (year - 1, 12)


async def statuses(api) -> dict[int, dict[str, dict]]:
    r = await api.client.get(STATUS, headers=api.admin, params={"limit": 200})
    assert r.status_code == 200, r.text
    return {i["id"]: {reason["rule"]: reason for reason in i["reasons"]} for i in r.json()["items"]}


async def test_investment_behind_and_missing_reports_colour_a_project_with_their_inputs(api, settings, monkeypatch):
    # Thresholds low enough that the rule bites in any month of the year this runs in.
    monkeypatch.setattr(settings, "health_investment_behind_amber_points", 5)
    monkeypatch.setattr(settings, "health_investment_behind_red_points", 7)
    year, month = last_due_month(today())
    leader = await api.leader()
    behind = await building(api, leader_id=leader["id"])
    idle = await building(api, leader_id=leader["id"])
    once = await building(api)
    waiting = await api.project()  # negotiating: nothing to report
    await plan(api, behind, year, 120000)
    await plan(api, idle, year, 120000)
    # 6 points behind time progress: amber.
    await accepted(api, behind, year, month, 10000 * month - 7200)
    await file(api, once, *before(year, month))

    got = await statuses(api)
    reason = got[behind["id"]]["investment_behind"]
    assert reason["health"] == "amber" and reason["points"] == "6.0" and reason["days"] is None
    assert reason["inputs"] | {"as_of": None} == {
        "as_of": None, "stage": "under_construction", "month": f"{year}-{month:02d}", "planned": "120000.00",
        "completed_ytd": f"{10000 * month - 7200}.00", "time_progress": f"{month}/12", "amber_behind_points": 5,
        "red_behind_points": 7}
    assert "report_missing" not in got[behind["id"]]
    # Nothing completed: at least 8.3 points behind, red; and two due months unfiled, red.
    assert got[idle["id"]]["investment_behind"]["health"] == "red"
    assert got[idle["id"]]["report_missing"]["health"] == "red" and got[idle["id"]]["report_missing"]["months"] == 2
    # The last due month unfiled, the one before filed: amber. No plan: no investment rule.
    assert got[once["id"]]["report_missing"]["health"] == "amber"
    assert got[once["id"]]["report_missing"]["inputs"]["month"] == f"{year}-{month:02d}"
    assert set(got[once["id"]]) == {"report_missing"}
    assert got[waiting["id"]] == {}
    r = await api.client.get(STATUS, headers=api.admin)
    units = {rule["rule"]: rule["unit"] for rule in r.json()["rules"]}
    assert units["investment_behind"] == "points" and units["report_missing"] == "months"
    assert units["stalled"] == "days"


async def test_a_leaders_dashboard_shows_their_completion_rate_and_missing_reports(api):
    year, month = last_due_month(today())
    leader, other = await api.leader(), await api.leader()
    mine = await building(api, leader_id=leader["id"])
    await building(api, leader_id=leader["id"])  # reports nothing
    theirs = await building(api, leader_id=other["id"])
    await plan(api, mine, year, 1200)
    await plan(api, theirs, year, 1200)
    await accepted(api, mine, year, month, 100 * month)  # on time progress
    await accepted(api, mine, *before(year, month), 1)

    r = await api.client.get(f"/api/v1/leaders/{leader['id']}/dashboard", headers=api.admin)
    assert r.status_code == 200, r.text
    board = r.json()
    progress = board["investment"]
    assert (progress["year"], progress["month"]) == (year, month)
    assert progress["planned"]["amount"] == "1200.00"
    assert progress["completed_ytd"]["amount"] == f"{100 * month + (1 if month > 1 else 0)}.00"
    assert progress["rank"] == 1 and progress["figures"].startswith("/api/v1/stats/investment?")
    assert board["missing_reports"]["count"] == 1
    assert board["missing_reports"]["projects"] == f"/api/v1/progress-reports/missing?year={year}&month={month}"

    r = await api.client.get("/api/v1/stats/leaders", headers=api.admin)
    items = {i["leader_id"]: i for i in r.json()["items"]}
    assert items[other["id"]]["investment"]["completion_rate"] == "0.0000"
    assert items[other["id"]]["investment"]["rank"] == 2
    assert items[other["id"]]["missing_reports"]["count"] == 1
    assert items[leader["id"]]["missing_reports"]["count"] == 1


async def test_only_a_designated_preliminary_project_misses_reports(api):
    granted = await api.project(stage="preliminary", stage_entered_on="2019-01-01",
                                designations=[{"designation": "city_key", "status": "granted"}])
    plain = await api.project(stage="preliminary", stage_entered_on="2019-01-01")
    got = await statuses(api)
    assert got[granted["id"]]["report_missing"]["months"] == 2
    assert "report_missing" not in got[plain["id"]]


async def test_a_targets_late_list_shows_the_monthly_rules_where_they_apply(api, settings, monkeypatch):
    # Thresholds low enough that the rule bites in any month of the year this runs in.
    monkeypatch.setattr(settings, "health_investment_behind_amber_points", 5)
    monkeypatch.setattr(settings, "health_investment_behind_red_points", 7)
    year, month = last_due_month(today())
    behind = await building(api, planned_production_on="2020-06-30")
    quiet = await building(api, planned_production_on="2020-06-30")
    talks = await api.project(planned_sign_on="2020-06-30")  # negotiating: nothing to report
    await plan(api, behind, year, 120000)
    await accepted(api, behind, year, month, 1)
    await accepted(api, behind, *before(year, month), 1)
    r = await api.client.post("/api/v1/targets", headers=api.admin, json={
        "year": today().year, "title": "在建项目按期投产", "goal_stage": "in_production", "target_count": 3,
        "membership": "list", "members": [behind["id"], quiet["id"], talks["id"]],
        "members_since": f"{today().year}-01-01"})
    assert r.status_code == 201, r.text
    late = await api.client.get(f"/api/v1/targets/{r.json()['id']}/projects", headers=api.admin,
                                params={"status": "late"})
    assert late.status_code == 200, late.text
    items = {i["id"]: i for i in late.json()["items"]}
    assert set(items) == {behind["id"], quiet["id"], talks["id"]}
    expected = await statuses(api)
    for item in items.values():
        assert {reason["rule"]: reason for reason in item["reasons"]} == {
            rule: reason for rule, reason in expected[item["id"]].items()
            if rule in ("investment_behind", "report_missing")}
    assert [reason["rule"] for reason in items[behind["id"]]["reasons"]] == ["investment_behind"]
    assert items[behind["id"]]["reasons"][0]["health"] == "red"
    assert [(reason["rule"], reason["months"]) for reason in items[quiet["id"]]["reasons"]] == [
        ("report_missing", 2)]
    assert items[talks["id"]]["reasons"] == []
