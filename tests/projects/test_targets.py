"""``/targets``: setting the year's targets and keeping a list target's list, with its history."""

from app.clock import today

FOREIGN = {"year": 2022, "title": "外资大项目签约注册", "goal_stage": "registered", "target_count": 2,
           "target_amount": {"amount": "300000000.00", "currency": "USD"}, "membership": "list"}


async def create(api, headers=None, **body):
    r = await api.client.post("/api/v1/targets", headers=headers or api.admin, json={**FOREIGN, **body})
    assert r.status_code == 201, r.text
    return r.json()


async def members(api, target_id, **params):
    r = await api.client.get(f"/api/v1/targets/{target_id}/members", headers=api.admin, params=params)
    assert r.status_code == 200, r.text
    return sorted(m["project_id"] for m in r.json()["items"])


async def change(api, target, headers=None, **body):
    return await api.client.post(f"/api/v1/targets/{target['id']}/members", json=body,
                                 headers={**(headers or api.admin), "If-Match": f'"{target["version"]}"'})


async def test_a_list_target_is_created_with_its_projects_from_the_first_of_its_year(api):
    a, b = await api.project(), await api.project()
    bureau = await api.key("bureau")
    r = await api.client.post("/api/v1/targets", headers=bureau,
                              json={**FOREIGN, "members": [a["id"], b["id"]], "plan_rates": {"usd": "6.5"}})
    assert r.status_code == 201, r.text
    target = r.json()
    assert r.headers["ETag"] == '"1"' and r.headers["Location"] == f"/api/v1/targets/{target['id']}"
    assert (target["currency"], target["plan_rates"], target["membership"]) == ("USD", {"USD": "6.5"}, "list")
    assert await members(api, target["id"], as_of="2022-01-01") == [a["id"], b["id"]]
    assert await members(api, target["id"], as_of="2021-12-31") == []
    events = await api.audit(resource_type="target")
    assert [e["action"] for e in events] == ["target.create"]
    assert events[0]["after"]["members"] == [a["id"], b["id"]]


async def test_a_target_needs_exactly_one_goal(api):
    for goal in ({}, {"goal_stage": "signed", "goal_designation": "city_key"}):
        body = {k: v for k, v in FOREIGN.items() if k != "goal_stage"} | goal
        r = await api.client.post("/api/v1/targets", headers=api.admin, json=body)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "goal_stage", r.text


async def test_negotiating_is_not_a_goal(api):
    r = await api.client.post("/api/v1/targets", headers=api.admin, json={**FOREIGN, "goal_stage": "negotiating"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "goal_stage"


async def test_a_criterion_target_has_a_criterion_and_no_list(api):
    p = await api.project()
    r = await api.client.post("/api/v1/targets", headers=api.admin, json={**FOREIGN, "membership": "criterion"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "criterion"
    r = await api.client.post("/api/v1/targets", headers=api.admin, json={
        **FOREIGN, "membership": "criterion", "criterion": {"funding_source": ["foreign"]}, "members": [p["id"]]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "members"
    target = await create(api, membership="criterion", criterion={"funding_source": ["foreign"], "zone": []})
    assert target["criterion"] == {"funding_source": ["foreign"], "zone": [], "industry": []}
    r = await change(api, target, add=[p["id"]])
    assert r.status_code == 409 and r.json()["code"] == "not_a_list_target"


async def test_members_must_be_current_projects_named_once(api):
    p = await api.project()
    r = await api.client.post("/api/v1/targets", headers=api.admin, json={**FOREIGN, "members": [p["id"], 999999]})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "members", "message": "no current project has id 999999"}]
    r = await api.client.post("/api/v1/targets", headers=api.admin, json={**FOREIGN, "members": [p["id"], p["id"]]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "members"


async def test_a_plan_rate_for_cny_is_refused(api):
    r = await api.client.post("/api/v1/targets", headers=api.admin, json={**FOREIGN, "plan_rates": {"CNY": "1"}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "plan_rates"


async def test_membership_changes_are_dated_and_kept_in_history(api):
    a, b, c = await api.project(), await api.project(), await api.project()
    target = await create(api, members=[a["id"], b["id"]])
    r = await change(api, target, add=[c["id"]], remove=[a["id"]], on="2022-07-01", note="调整名单")
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"' and r.json()["version"] == 2
    assert await members(api, target["id"], as_of="2022-06-30") == [a["id"], b["id"]]
    assert await members(api, target["id"], as_of="2022-07-01") == [b["id"], c["id"]]
    assert await members(api, target["id"]) == [b["id"], c["id"]]
    history = (await api.client.get(f"/api/v1/targets/{target['id']}/members/history", headers=api.admin)).json()
    rows = {(m["project_id"], m["added_on"], m["removed_on"]) for m in history["items"]}
    assert rows == {(a["id"], "2022-01-01", "2022-07-01"), (b["id"], "2022-01-01", None),
                    (c["id"], "2022-07-01", None)}
    removed = next(m for m in history["items"] if m["project_id"] == a["id"])
    assert removed["removed_by"] == "test admin" and removed["removed_at"] is not None
    event = (await api.audit(action="target.members"))[0]
    assert event["before"] == {"member_count": 2}
    assert event["after"] | {"note": None} == {"member_count": 2, "added": [c["id"]], "removed": [a["id"]],
                                               "on": "2022-07-01", "note": None}


async def test_a_project_can_leave_and_rejoin_the_list(api):
    a = await api.project()
    target = await create(api, members=[a["id"]])
    target = (await change(api, target, remove=[a["id"]], on="2022-03-01")).json()
    target = (await change(api, target, add=[a["id"]], on="2022-05-01")).json()
    assert await members(api, target["id"], as_of="2022-04-01") == []
    assert await members(api, target["id"], as_of="2022-05-01") == [a["id"]]


async def test_membership_changes_that_contradict_the_list_are_refused(api):
    a, b = await api.project(), await api.project()
    target = await create(api, members=[a["id"]])
    cases = [
        ({"add": [a["id"]]}, "add"),  # already on it
        ({"remove": [b["id"]]}, "remove"),  # not on it
        ({"remove": [a["id"]], "on": "2021-12-31"}, "on"),  # before it joined
        ({"add": [b["id"]], "on": str(today().replace(year=today().year + 1))}, "on"),  # in the future
        ({"add": [b["id"]], "remove": [b["id"]]}, "remove"),
        ({}, "add"),
    ]
    for body, field in cases:
        r = await change(api, target, **body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field, body
    removed = (await change(api, target, remove=[a["id"]], on="2022-06-01")).json()
    r = await change(api, removed, add=[a["id"]], on="2022-05-01")  # would overlap its first stay
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "on"


async def test_membership_changes_need_the_current_version(api):
    a = await api.project()
    target = await create(api)
    r = await api.client.post(f"/api/v1/targets/{target['id']}/members", headers=api.admin, json={"add": [a["id"]]})
    assert r.status_code == 428
    assert (await change(api, target, add=[a["id"]])).status_code == 200
    stale = await change(api, target, remove=[a["id"]])
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"


async def test_a_target_is_changed_with_if_match_and_audited(api):
    target = await create(api)
    url = f"/api/v1/targets/{target['id']}"
    assert (await api.client.patch(url, headers=api.admin, json={"target_count": 3})).status_code == 428
    r = await api.client.patch(url, headers={**api.admin, "If-Match": '"1"'},
                               json={"target_count": 3, "target_amount": {"amount": "1.00", "currency": "CNY"},
                                     "plan_rates": {"USD": "6.75"}})
    assert r.status_code == 200, r.text
    assert (r.json()["target_count"], r.json()["currency"], r.headers["ETag"]) == (3, "CNY", '"2"')
    event = (await api.audit(action="target.update"))[0]
    assert event["before"]["target_count"] == 2 and event["after"]["target_count"] == 3
    assert event["after"]["plan_rates"] == {"USD": "6.75"}
    r = await api.client.patch(url, headers={**api.admin, "If-Match": '"2"'},
                               json={"criterion": {"zone": ["other"]}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "criterion"
    r = await api.client.patch(url, headers={**api.admin, "If-Match": '"2"'}, json={"title": None})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "title"


async def test_an_archived_target_leaves_the_lists_and_the_statistics(api):
    target = await create(api)
    url = f"/api/v1/targets/{target['id']}"
    r = await api.client.delete(url, headers={**api.admin, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["archived_at"] is not None
    listed = (await api.client.get("/api/v1/targets", headers=api.admin, params={"year": 2022})).json()
    assert listed["items"] == []
    archived = (await api.client.get("/api/v1/targets", headers=api.admin, params={"archived": True})).json()
    assert [t["id"] for t in archived["items"]] == [target["id"]]
    stats = (await api.client.get("/api/v1/stats/targets", headers=api.admin, params={"year": 2022})).json()
    assert stats["items"] == []
    again = await api.client.delete(url, headers={**api.admin, "If-Match": '"2"'})
    assert again.status_code == 409 and again.json()["code"] == "target_archived"


async def test_targets_are_listed_by_year_in_pages(api):
    ids = [(await create(api, year=2022))["id"] for _ in range(3)] + [(await create(api, year=2023))["id"]]
    page1 = (await api.client.get("/api/v1/targets", headers=api.admin, params={"year": 2022, "limit": 2})).json()
    page2 = (await api.client.get("/api/v1/targets", headers=api.admin,
                                  params={"year": 2022, "limit": 2, "cursor": page1["next_cursor"]})).json()
    assert [t["id"] for t in page1["items"] + page2["items"]] == ids[:3]
    assert page2["next_cursor"] is None
    one = await api.client.get(f"/api/v1/targets/{ids[0]}", headers=api.admin)
    assert one.status_code == 200 and one.headers["ETag"] == '"1"'
    assert (await api.client.get("/api/v1/targets/999999", headers=api.admin)).status_code == 404


async def test_a_criterion_names_zones_and_industries_of_the_tables(api):
    park = await api.client.post("/api/v1/zones", headers=api.admin, json={"key": "new_park", "name": "新园区"})
    assert park.status_code == 201, park.text
    target = await create(api, membership="criterion", criterion={"zone": ["new_park"], "industry": ["logistics"]})
    assert target["criterion"]["zone"] == ["new_park"]
    for criterion, field in (({"zone": ["atlantis"]}, "criterion.zone"), ({"industry": ["alchemy"]},
                                                                          "criterion.industry")):
        r = await api.client.post("/api/v1/targets", headers=api.admin,
                                  json={**FOREIGN, "membership": "criterion", "criterion": criterion})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    r = await api.client.get("/api/v1/targets", headers=api.admin)
    assert len(r.json()["items"]) == 1
