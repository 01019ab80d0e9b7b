"""Monthly reports (月报) over HTTP: filing, versions, review, who may do what, bad input."""

from datetime import date
from typing import Any

from app.clock import today
from app.services.progress.rules import due_on
from tests.factories import assert_invalid, assert_problem
from tests.progress.helpers import accepted, building, cny, file, months_ago, review

REPORTS = "/api/v1/progress-reports"


def amounts(report: dict[str, Any]) -> tuple[str, str, str]:
    return (report["investment_completed"]["amount"], report["investment_ytd"]["amount"],
            report["investment_since_start"]["amount"])


async def count_rows(api) -> tuple[int, int]:
    r = await api.client.get(REPORTS, headers=api.admin, params={"limit": 200})
    return len(r.json()["items"]), len(await api.audit(resource_type="progress_report"))


async def test_a_report_carries_its_figures_who_filed_it_and_when_it_was_due(api):
    project = await api.project(stage="under_construction", stage_entered_on="2019-01-01",
                                funding_source="foreign", investor_country="JP")
    year, month = months_ago(1)
    r = await api.client.post(f"/api/v1/projects/{project['id']}/progress-reports", headers=api.admin, json={
        "year": year, "month": month, "investment_completed": cny("3000000.00"),
        "investment_split": {"construction": cny(2000000), "equipment": cny(900000), "other": cny(100000)},
        "funds_arrived": [{"source": "bank_loans", "amount": cny(1000000)},
                          {"source": "own_funds", "amount": cny(500000)}],
        "fdi_utilised": {"amount": "200000.00", "currency": "USD"},
        "physical_progress": "主体结构施工至12层", "problems": "用工紧张", "next_month_plan": "主体封顶",
        "expected_investment": [{"quarter": 4, "amount": cny(9000000)}]})
    assert r.status_code == 201, r.text
    report = r.json()
    assert r.headers["Location"] == f"{REPORTS}/{report['id']}" and r.headers["ETag"] == '"1"'
    assert report["status"] == "submitted" and report["revision"] == 1 and report["counts"] is False
    assert report["investment_split"]["equipment"] == cny("900000.00")
    assert {f["source"]: f["amount"]["amount"] for f in report["funds_arrived"]} == {
        "own_funds": "500000.00", "bank_loans": "1000000.00"}
    assert report["fdi_utilised"] == {"amount": "200000.00", "currency": "USD"}
    assert report["filed_by"] == "test admin" and report["filed_on"] == str(today())
    due = due_on(year, month, 5)
    assert report["due_on"] == str(due) and report["late"] is (today() > due)
    assert report["not_required"] is False
    # Nothing counts before the bureau accepts it.
    assert amounts(report) == ("3000000.00", "0.00", "0.00")
    done = await review(api, report)
    assert done["status"] == "accepted" and done["counts"] is True and done["accepted_on"] == str(today())
    assert amounts(done) == ("3000000.00", "3000000.00", "3000000.00")


async def test_the_sources_of_funds_are_labelled_in_chinese(api):
    r = await api.client.get("/api/v1/meta/enums", headers=api.admin)
    labels = {v["value"]: v["labels"]["zh-CN"] for v in r.json()["funds_source"]}
    assert labels == {"own_funds": "自有资金", "bank_loans": "银行贷款", "government_funds": "政府资金",
                      "special_bonds": "专项债", "foreign_capital": "外资", "other": "其他"}
    assert {v["value"] for v in r.json()["report_status"]} == {"submitted", "accepted", "returned"}


async def test_year_to_date_and_since_start_add_the_accepted_months(api):
    project = await building(api)
    await accepted(api, project, 2021, 11, 100)
    await accepted(api, project, 2021, 12, 200)
    await accepted(api, project, 2022, 1, 1000)
    await file(api, project, 2022, 3, 5000)  # not reviewed: does not count
    feb = await accepted(api, project, 2022, 2, 2000)
    assert amounts(feb) == ("2000.00", "3000.00", "3300.00")
    r = await api.client.get(f"/api/v1/projects/{project['id']}/progress-reports", headers=api.admin,
                             params={"year": 2022})
    by_month = {i["month"]: amounts(i) for i in r.json()["items"]}
    assert by_month == {1: ("1000.00", "1000.00", "1300.00"), 2: ("2000.00", "3000.00", "3300.00"),
                        3: ("5000.00", "3000.00", "3300.00")}


async def test_a_returned_month_is_filed_again_as_a_new_version_and_every_version_is_kept(api):
    project = await building(api)
    first = await file(api, project, 2022, 5, 1000)
    returned = await review(api, first, "return", reason="到位资金与银行流水不符")
    assert returned["status"] == "returned" and returned["review_reason"] == "到位资金与银行流水不符"
    second = await file(api, project, 2022, 5, 1200)
    assert second["revision"] == 2 and amounts(second) == ("1200.00", "0.00", "0.00")
    second = await review(api, second)
    assert amounts(second)[1] == "1200.00"
    r = await api.client.get(f"{REPORTS}/{first['id']}/versions", headers=api.admin)
    assert [(v["revision"], v["status"], v["counts"]) for v in r.json()] == [
        (1, "returned", False), (2, "accepted", True)]


async def test_an_accepted_month_keeps_counting_until_its_correction_is_accepted(api):
    project = await building(api)
    original = await accepted(api, project, 2022, 4, 1000)
    correction = await file(api, project, 2022, 4, 1500)
    r = await api.client.get(f"{REPORTS}/{original['id']}", headers=api.admin)
    assert r.json()["counts"] is True and amounts(r.json())[1] == "1000.00"
    # A month has one version awaiting review at a time.
    r = await api.client.post(f"/api/v1/projects/{project['id']}/progress-reports", headers=api.admin,
                              json={"year": 2022, "month": 4, "investment_completed": cny(1)})
    assert_problem(r, 409, "report_pending_review")
    corrected = await review(api, correction)
    assert corrected["counts"] is True and amounts(corrected)[1] == "1500.00"
    r = await api.client.get(f"{REPORTS}/{original['id']}", headers=api.admin)
    assert r.json()["counts"] is False and r.json()["superseded_on"] == str(today())
    assert r.json()["status"] == "accepted"


async def test_only_a_submitted_report_is_reviewed_and_a_return_says_why(api):
    project = await building(api)
    report = await accepted(api, project, 2022, 1)
    r = await api.client.post(f"{REPORTS}/{report['id']}/review", headers={**api.admin, "If-Match": '"2"'},
                              json={"decision": "return", "reason": "重新核实"})
    assert_problem(r, 409, "report_not_submitted")
    pending = await file(api, project, 2022, 2)
    r = await api.client.post(f"{REPORTS}/{pending['id']}/review", headers={**api.admin, "If-Match": '"1"'},
                              json={"decision": "return"})
    assert_invalid(r, "reason")
    r = await api.client.post(f"{REPORTS}/{pending['id']}/review", headers=api.admin, json={"decision": "accept"})
    assert_problem(r, 428, "if_match_required")
    r = await api.client.get(f"{REPORTS}/{pending['id']}", headers=api.admin)
    assert r.json()["status"] == "submitted"


async def test_bad_reports_are_refused_naming_the_field_and_nothing_is_written(api):
    project = await building(api)
    url = f"/api/v1/projects/{project['id']}/progress-reports"
    year, month = months_ago(1)
    ahead = months_ago(-1)
    before = await count_rows(api)
    cases = [
        ({"year": ahead[0], "month": ahead[1], "investment_completed": cny(1)}, "month", "future"),
        ({"year": year, "month": month, "investment_completed": cny("-5")}, "investment_completed.amount", None),
        ({"year": year, "month": month, "investment_completed": {"amount": "5.00", "currency": "USD"}},
         "investment_completed", "CNY"),
        ({"year": year, "month": month, "investment_completed": cny(10),
          "investment_split": {"construction": cny(5), "equipment": cny(4), "other": cny(0)}},
         "investment_split", "add up"),
        ({"year": year, "month": month, "investment_completed": cny(10),
          "fdi_utilised": {"amount": "1.00", "currency": "USD"}}, "fdi_utilised", "foreign"),
        ({"year": year, "month": month, "investment_completed": cny(10),
          "funds_arrived": [{"source": "own_funds", "amount": cny(1)}, {"source": "own_funds", "amount": cny(2)}]},
         "funds_arrived", "once"),
        ({"year": year, "month": 13, "investment_completed": cny(1)}, "month", None),
    ]
    for body, field, message in cases:
        r = await api.client.post(url, headers=api.admin, json=body)
        assert_invalid(r, field, message)
    assert await count_rows(api) == before


async def test_a_project_that_need_not_report_may_report_flagged_not_required(api):
    negotiating = await api.project()
    report = await file(api, negotiating, 2022, 3)
    assert report["not_required"] is True
    preliminary = await api.project(stage="preliminary", stage_entered_on="2020-01-01",
                                    designations=[{"designation": "key_preliminary", "status": "granted"}])
    assert (await file(api, preliminary, 2022, 3))["not_required"] is False
    applied = await api.project(stage="preliminary", stage_entered_on="2020-01-01",
                                designations=[{"designation": "city_key", "status": "applied"}])
    assert (await file(api, applied, 2022, 3))["not_required"] is True


async def test_units_file_for_their_own_projects_and_the_bureau_reviews(api):
    unit, other = await api.unit(), await api.unit()
    own = await building(api, unit_id=unit["id"])
    theirs = await building(api, unit_id=other["id"])
    unit_key = await api.key("unit", unit_id=unit["id"])
    report = await file(api, own, 2022, 6, headers=unit_key)
    assert report["filed_by"] == "unit key"
    r = await api.client.post(f"/api/v1/projects/{theirs['id']}/progress-reports", headers=unit_key,
                              json={"year": 2022, "month": 6, "investment_completed": cny(1)})
    assert_problem(r, 404, "not_found")
    r = await api.client.post(f"{REPORTS}/{report['id']}/review", headers={**unit_key, "If-Match": '"1"'},
                              json={"decision": "accept"})
    assert_problem(r, 403, "forbidden")
    foreign_report = await file(api, theirs, 2022, 6)
    r = await api.client.get(f"{REPORTS}/{foreign_report['id']}", headers=unit_key)
    assert_problem(r, 404, "not_found")
    r = await api.client.get(REPORTS, headers=unit_key)
    assert [i["id"] for i in r.json()["items"]] == [report["id"]]

    leader = await api.leader()
    for headers in (await api.key("viewer"), await api.key("leader", leader_id=leader["id"])):
        r = await api.client.post(f"/api/v1/projects/{own['id']}/progress-reports", headers=headers,
                                  json={"year": 2022, "month": 7, "investment_completed": cny(1)})
        assert_problem(r, 403, "forbidden")
        r = await api.client.get(f"{REPORTS}/{report['id']}", headers=headers)
        assert r.status_code == 200
    bureau = await api.key("bureau")
    done = await review(api, report, headers=bureau)
    assert done["reviewed_by"] == "bureau key"
    actions = sorted(e["action"] for e in await api.audit(resource_type="progress_report"))
    assert actions == ["progress_report.accept", "progress_report.file", "progress_report.file"]


async def test_reports_are_listed_by_month_status_unit_and_lateness(api):
    unit = await api.unit()
    a = await building(api, unit_id=unit["id"])
    b = await building(api)
    ra = await accepted(api, a, 2022, 1)
    rb = await file(api, b, 2022, 1)
    rc = await file(api, b, 2022, 2)

    async def ids(**params):
        r = await api.client.get(REPORTS, headers=api.admin, params=params)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert await ids(year=2022, month=1) == [rb["id"], ra["id"]]
    assert await ids(status="submitted") == [rc["id"], rb["id"]]
    assert await ids(unit_id=unit["id"]) == [ra["id"]]
    assert await ids(late="true") == [rc["id"], rb["id"], ra["id"]]  # 2022 is long past its due days
    assert await ids(late="false") == []


async def test_filing_and_review_are_webhook_events(api):
    hook = await api.webhook("http://127.0.0.1:9/hook", ["progress_report.*"])
    project = await building(api)
    first = await file(api, project, 2022, 1)
    await review(api, first, "return", reason="数据有误")
    await accepted(api, project, 2022, 1)
    types = sorted(d["event_type"] for d in await api.deliveries(hook["id"]))
    assert types == ["progress_report.accepted", "progress_report.returned", "progress_report.submitted",
                     "progress_report.submitted"]


async def test_the_due_day_is_a_setting(api, settings, monkeypatch):
    monkeypatch.setattr(settings, "progress_report_due_day", 20)
    project = await building(api)
    report = await file(api, project, 2022, 12)
    assert report["due_on"] == str(date(2023, 1, 20))
