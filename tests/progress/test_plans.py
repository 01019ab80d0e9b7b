"""Annual plans (年度计划) over HTTP: one per project and year, CNY, a split that adds up."""

from datetime import UTC, datetime, timedelta

from app.clock import today
from tests.factories import assert_invalid, assert_problem
from tests.progress.helpers import accepted, building, cny, plan

PLANS = "/api/v1/annual-plans"


async def test_a_plan_is_created_read_and_changed_with_etags_and_audited(api):
    project = await building(api)
    year = today().year
    r = await api.client.post(f"/api/v1/projects/{project['id']}/annual-plans", headers=api.admin, json={
        "year": year, "planned_investment": cny("12000000.00"), "progress_goal": "主体结构封顶",
        "quarterly": [cny(2000000), cny(3000000), cny(3000000), cny(4000000)]})
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["ETag"] == '"1"' and r.headers["Location"] == f"{PLANS}/{created['id']}"
    assert created["planned_investment"] == cny("12000000.00")
    assert [q["amount"] for q in created["quarterly"]] == ["2000000.00", "3000000.00", "3000000.00", "4000000.00"]
    assert created["progress_goal"] == "主体结构封顶" and created["year"] == year

    r = await api.client.get(f"{PLANS}/{created['id']}", headers=api.admin)
    assert r.status_code == 200 and r.json() == created

    r = await api.client.patch(f"{PLANS}/{created['id']}", headers=api.admin, json={"progress_goal": "竣工"})
    assert_problem(r, 428, "if_match_required")
    r = await api.client.patch(f"{PLANS}/{created['id']}", headers={**api.admin, "If-Match": '"7"'},
                               json={"progress_goal": "竣工"})
    assert_problem(r, 412, "version_mismatch")
    r = await api.client.patch(f"{PLANS}/{created['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"planned_investment": cny(8000000), "quarterly": None})
    assert r.status_code == 200, r.text
    assert r.json()["planned_investment"] == cny("8000000.00") and r.json()["quarterly"] is None
    assert r.headers["ETag"] == '"2"'

    events = await api.audit(resource_type="annual_plan")
    assert sorted(e["action"] for e in events) == ["annual_plan.create", "annual_plan.update"]
    update = next(e for e in events if e["action"] == "annual_plan.update")
    assert update["before"]["planned_investment"] == cny("12000000.00")
    assert update["after"]["planned_investment"] == cny("8000000.00")


async def test_a_second_plan_for_the_same_year_is_a_conflict_and_writes_nothing(api):
    project = await building(api)
    await plan(api, project, 2022)
    r = await api.client.post(f"/api/v1/projects/{project['id']}/annual-plans", headers=api.admin,
                              json={"year": 2022, "planned_investment": cny(5)})
    assert_problem(r, 409, "plan_exists")
    r = await api.client.get(f"/api/v1/projects/{project['id']}/annual-plans", headers=api.admin)
    assert [p["planned_investment"]["amount"] for p in r.json()] == ["12000000.00"]
    await plan(api, project, 2023, "1.00")
    r = await api.client.get(f"/api/v1/projects/{project['id']}/annual-plans", headers=api.admin)
    assert [p["year"] for p in r.json()] == [2022, 2023]


async def test_bad_plans_are_refused_naming_the_field(api):
    project = await building(api)
    url = f"/api/v1/projects/{project['id']}/annual-plans"
    r = await api.client.post(url, headers=api.admin,
                              json={"year": 2022, "planned_investment": {"amount": "5.00", "currency": "USD"}})
    assert_invalid(r, "planned_investment", "CNY")
    r = await api.client.post(url, headers=api.admin, json={
        "year": 2022, "planned_investment": cny(10), "quarterly": [cny(1), cny(2), cny(3), cny(5)]})
    assert_invalid(r, "quarterly", "add up")
    r = await api.client.post(url, headers=api.admin, json={
        "year": 2022, "planned_investment": cny(10), "quarterly": [cny(5), cny(5)]})
    assert_invalid(r, "quarterly")
    r = await api.client.post(url, headers=api.admin, json={"year": 2022, "planned_investment": cny("-1")})
    assert_invalid(r, "planned_investment.amount")
    created = await plan(api, project, 2022, "10.00", quarterly=[cny(1), cny(2), cny(3), cny(4)])
    # Changing the plan alone leaves a split that no longer adds up.
    r = await api.client.patch(f"{PLANS}/{created['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"planned_investment": cny(11)})
    assert_invalid(r, "quarterly", "add up")
    r = await api.client.get(f"{PLANS}/{created['id']}", headers=api.admin)
    assert r.json() == created
    assert len(await api.audit(resource_type="annual_plan")) == 1
    r = await api.client.post("/api/v1/projects/999999/annual-plans", headers=api.admin,
                              json={"year": 2022, "planned_investment": cny(1)})
    assert_problem(r, 404, "not_found")


async def test_plans_are_listed_by_year_leader_unit_and_zone(api):
    leader, unit = await api.leader(), await api.unit()
    a = await building(api, leader_id=leader["id"], zone="western_district")
    b = await building(api, unit_id=unit["id"])
    pa, pb = await plan(api, a, 2022), await plan(api, b, 2022)
    await plan(api, a, 2023)

    async def ids(**params):
        r = await api.client.get(PLANS, headers=api.admin, params=params)
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()["items"]]

    assert await ids(year=2022) == [pa["id"], pb["id"]]
    assert await ids(year=2022, leader_id=leader["id"]) == [pa["id"]]
    assert await ids(year=2022, leader_id="none") == [pb["id"]]
    assert await ids(year=2022, unit_id=unit["id"]) == [pb["id"]]
    assert await ids(year=2022, zone="western_district") == [pa["id"]]
    r = await api.client.get(PLANS, headers=api.admin, params={"year": 2022, "limit": 1})
    page = r.json()
    assert [p["id"] for p in page["items"]] == [pa["id"]] and page["next_cursor"]
    r = await api.client.get(PLANS, headers=api.admin, params={"year": 2022, "limit": 1, "cursor": page["next_cursor"]})
    assert [p["id"] for p in r.json()["items"]] == [pb["id"]] and r.json()["next_cursor"] is None


async def test_bureau_writes_plans_leaders_and_viewers_read_and_units_see_their_own(api):
    unit, other = await api.unit(), await api.unit()
    own = await building(api, unit_id=unit["id"])
    theirs = await building(api, unit_id=other["id"])
    bureau = await api.key("bureau")
    created = await plan(api, own, 2022, headers=bureau)
    await plan(api, theirs, 2022)
    leader = await api.leader()
    for role in ("leader", "viewer", "unit"):
        headers = await api.key(role, unit_id=unit["id"] if role == "unit" else None,
                                leader_id=leader["id"] if role == "leader" else None)
        r = await api.client.post(f"/api/v1/projects/{own['id']}/annual-plans", headers=headers,
                                  json={"year": 2023, "planned_investment": cny(1)})
        assert_problem(r, 403, "forbidden")
        r = await api.client.get(f"{PLANS}/{created['id']}", headers=headers)
        assert r.status_code == 200
    unit_key = await api.key("unit", unit_id=unit["id"])
    r = await api.client.get(PLANS, headers=unit_key, params={"year": 2022})
    assert [p["project_id"] for p in r.json()["items"]] == [own["id"]]
    r = await api.client.get(f"/api/v1/projects/{theirs['id']}/annual-plans", headers=unit_key)
    assert_problem(r, 404, "not_found")


# --- revisions (计划调整) and the two clocks ------------------------------------------------------


async def investment(api, month: int, **params: str) -> dict:
    r = await api.client.get("/api/v1/stats/investment", headers=api.admin,
                             params={"year": 2022, "month": month, **params})
    assert r.status_code == 200, r.text
    return dict(r.json()["total"])


async def test_a_revised_plan_counts_from_its_date_and_an_earlier_knowledge_reads_the_plan_then(api):
    project = await building(api)
    created = await plan(api, project, 2022, "12000000.00")
    await accepted(api, project, 2022, 1, "1000000.00")
    before_revision = datetime.now(UTC)
    url, etag = f"{PLANS}/{created['id']}", {"If-Match": '"1"'}
    r = await api.client.patch(url, headers={**api.admin, **etag},
                               json={"planned_investment": cny(6000000), "effective_on": "2022-07-01"})
    assert r.status_code == 200, r.text
    assert r.json()["planned_investment"] == cny("6000000.00")

    # June's figures keep the plan in force then; December's take the revision; known before it, the old one.
    assert (await investment(api, 6))["planned"] == cny("12000000.00")
    december = await investment(api, 12)
    assert december["planned"] == cny("6000000.00") and december["completion_rate"] == "0.1667"
    then = await investment(api, 12, known_on=before_revision.isoformat())
    assert then["planned"] == cny("12000000.00") and then["completion_rate"] == "0.0833"

    # A revision dated before the later one, to another amount, would undo it.
    r = await api.client.patch(url, headers={**api.admin, "If-Match": '"2"'},
                               json={"planned_investment": cny(9000000), "effective_on": "2022-03-01"})
    assert_problem(r, 409, "later_change")
    future = (today() + timedelta(days=1)).isoformat()
    r = await api.client.patch(url, headers={**api.admin, "If-Match": '"2"'},
                               json={"planned_investment": cny(9000000), "effective_on": future})
    assert_invalid(r, "effective_on")
    assert (await investment(api, 12))["planned"] == cny("6000000.00")


async def test_a_corrected_report_counts_from_its_acceptance_and_not_before_by_an_earlier_knowledge(api):
    project = await building(api)
    await plan(api, project, 2022, "12000000.00")
    await accepted(api, project, 2022, 3, "1000000.00")
    between = datetime.now(UTC)
    await accepted(api, project, 2022, 3, "3000000.00")  # the corrected figure replaces the first
    assert (await investment(api, 3))["completed_ytd"] == cny("3000000.00")
    assert (await investment(api, 3, known_on=between.isoformat()))["completed_ytd"] == cny("1000000.00")
    r = await api.client.get("/api/v1/stats/investment", headers=api.admin,
                             params={"year": 2022, "month": 3, "known_on": between.isoformat()})
    assert r.json()["known_on"] == between.isoformat().replace("+00:00", "Z")
    # Before the plan was set, by that knowledge there was no plan, and no report either.
    long_ago = await investment(api, 3, known_on="2000-01-01")
    assert long_ago["projects"] == 0 and long_ago["planned"] == cny("0.00")
