"""Annual plans (年度计划) over HTTP: one per project and year, CNY, a split that adds up."""

from app.clock import today
from tests.factories import assert_invalid, assert_problem
from tests.progress.helpers import building, cny, plan

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
