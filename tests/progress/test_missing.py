"""未按时报送: who must report a month, who has not, who filed late."""

from app.clock import today
from tests.factories import assert_invalid
from tests.progress.helpers import building, file, months_ago

MISSING = "/api/v1/progress-reports/missing"


async def test_missing_and_late_reports_are_listed_per_unit(api):
    east, west = await api.unit("东区"), await api.unit("西区")
    filed = await building(api, unit_id=east["id"])
    silent = await building(api, unit_id=east["id"])
    late = await building(api, unit_id=west["id"])
    orphan = await building(api)
    await api.project(unit_id=west["id"])  # negotiating: need not report
    designated = await api.project(stage="preliminary", stage_entered_on="2019-06-01", unit_id=west["id"],
                                   designations=[{"designation": "city_key", "status": "granted"}])
    year, month = months_ago(2)  # its due day is past: any filing today is late
    await file(api, filed, year, month)
    await file(api, late, year, month)
    r = await api.client.get(MISSING, headers=api.admin, params={"year": year, "month": month})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["as_of"] == str(today())
    by_unit = {u["unit_id"]: u for u in body["items"]}
    assert list(by_unit) == [east["id"], west["id"], None]
    assert by_unit[east["id"]]["required"] == 2 and by_unit[east["id"]]["unit_name"] == "东区"
    assert [p["project_id"] for p in by_unit[east["id"]]["missing"]] == [silent["id"]]
    # Both filings were made today, long after the due day.
    assert [p["project_id"] for p in by_unit[east["id"]]["late"]] == [filed["id"]]
    assert by_unit[west["id"]]["required"] == 2
    assert [p["project_id"] for p in by_unit[west["id"]]["missing"]] == [designated["id"]]
    assert [p["project_id"] for p in by_unit[west["id"]]["late"]] == [late["id"]]
    assert [p["project_id"] for p in by_unit[None]["missing"]] == [orphan["id"]]


async def test_a_project_under_construction_after_the_month_need_not_report_it(api):
    project = await api.project(stage="preliminary", stage_entered_on="2019-01-01")
    r = await api.move(project, "under_construction", "2022-03-10")
    assert r.status_code == 201, r.text
    r = await api.client.get(MISSING, headers=api.admin, params={"year": 2022, "month": 2})
    assert r.json()["items"] == []
    r = await api.client.get(MISSING, headers=api.admin, params={"year": 2022, "month": 3})
    assert [p["project_id"] for u in r.json()["items"] for p in u["missing"]] == [project["id"]]


async def test_a_unit_sees_only_its_own_duty_and_a_future_month_is_refused(api):
    unit = await api.unit()
    await building(api, unit_id=unit["id"])
    await building(api)
    key = await api.key("unit", unit_id=unit["id"])
    year, month = months_ago(1)
    r = await api.client.get(MISSING, headers=key, params={"year": year, "month": month})
    assert [u["unit_id"] for u in r.json()["items"]] == [unit["id"]]
    ahead = months_ago(-1)
    r = await api.client.get(MISSING, headers=api.admin, params={"year": ahead[0], "month": ahead[1]})
    assert_invalid(r, "month", "future")
