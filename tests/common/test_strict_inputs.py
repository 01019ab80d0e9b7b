"""What the schema says a value is, it must be: a boolean is true or false, an amount a
decimal string, an instant an ISO 8601 string; lax readings (0 as false, 0.5 as a unix
time) are refused. Found by schemathesis (negative_data_rejection)."""

from tests.factories import assert_invalid, project_body


async def test_a_boolean_is_true_or_false(api):
    r = await api.client.post("/api/v1/projects", headers=api.admin, json=project_body(on_hold=0))
    assert_invalid(r, "on_hold")
    project = await api.project()
    r = await api.client.patch(f"/api/v1/projects/{project['id']}", json={"on_hold": "yes"},
                               headers={**api.admin, "If-Match": f'"{project["version"]}"'})
    assert_invalid(r, "on_hold")
    r = await api.client.post("/api/v1/webhooks", headers=api.admin,
                              json={"url": "http://127.0.0.1:9/a", "event_types": ["*"], "active": 1})
    assert_invalid(r, "active")
    r = await api.client.patch(f"/api/v1/projects/{project['id']}", json={"on_hold": True},
                               headers={**api.admin, "If-Match": f'"{project["version"]}"'})
    assert r.status_code == 200 and r.json()["on_hold"] is True


async def test_an_amount_is_a_decimal_string_not_a_number(api):
    for amount in (0, 100000000, 1.5):
        body = project_body(total_investment={"amount": amount, "currency": "CNY"})
        r = await api.client.post("/api/v1/projects", headers=api.admin, json=body)
        assert_invalid(r, "total_investment.amount", "decimal string")
    made = await api.project(total_investment={"amount": "100000000", "currency": "CNY"})
    assert made["total_investment"] == {"amount": "100000000.00", "currency": "CNY"}


async def test_an_instant_is_written_out(api):
    for value in ("0.5", "1700000000", "0"):
        r = await api.client.get("/api/v1/audit-events", headers=api.admin, params={"until": value})
        assert_invalid(r, "until", "ISO 8601")
    for value in ("2022-06-05T08:00:00Z", "2022-06-05T08:00:00+08:00", "2022-06-05T08:00:00.5Z"):
        r = await api.client.get("/api/v1/audit-events", headers=api.admin, params={"since": value})
        assert r.status_code == 200, r.text


async def test_a_count_is_a_number_not_a_boolean(api):
    body = {"year": 2022, "title": "签约项目数", "goal_stage": "signed", "target_count": True}
    r = await api.client.post("/api/v1/targets", headers=api.admin, json=body)
    assert_invalid(r, "target_count")


async def test_a_name_is_measured_as_sent_before_white_space_is_stripped(api):
    r = await api.client.post("/api/v1/leaders", headers=api.admin, json={"name": "\u00a0" + "张" * 100})
    assert_invalid(r, "name", "at most 100")
    made = await api.leader(" " + "张" * 99)
    assert made["name"] == "张" * 99


async def test_a_time_limit_and_linked_ids_are_numbers_not_booleans(api):
    r = await api.client.post("/api/v1/approval-kinds", headers=api.admin,
                              json={"code": "bool_limit", "name": "布尔时限", "default_time_limit_days": True})
    assert_invalid(r, "default_time_limit_days")
    project = await api.project()
    r = await api.client.post("/api/v1/supervision-items", headers=api.admin,
                              json={"title": "督办", "source": "meeting_decision", "project_ids": [True]})
    assert_invalid(r, "project_ids.0")
    r = await api.client.post("/api/v1/supervision-items", headers=api.admin,
                              json={"title": "督办", "source": "meeting_decision", "project_ids": [project["id"]]})
    assert r.status_code == 201, r.text
