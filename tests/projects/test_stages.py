"""The stage state machine, driven through /projects/{id}/transitions."""

from datetime import date, timedelta
from itertools import pairwise

import pytest

from app.clock import today
from app.models.enums import STAGE_ORDER, Stage
from tests.factories import project_body

FORWARD = list(pairwise(STAGE_ORDER))
SKIPS = [(a, b) for i, a in enumerate(STAGE_ORDER) for b in STAGE_ORDER[i + 2:]]
BACKWARD = [(a, b) for i, a in enumerate(STAGE_ORDER) for b in STAGE_ORDER[:i]]
BEFORE_PRODUCTION = [s for s in STAGE_ORDER if s != Stage.in_production]
START = "2022-01-10"


async def history(api, project_id):
    r = await api.client.get(f"/api/v1/projects/{project_id}/transitions", headers=api.admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]


@pytest.mark.parametrize(("current", "to"), FORWARD, ids=[f"{a}->{b}" for a, b in FORWARD])
async def test_a_project_moves_forward_one_stage(api, current, to):
    bureau = await api.key("bureau")
    p = await api.project(stage=current, stage_entered_on=START)
    r = await api.move(p, to, "2022-03-01", headers=bureau, note="签约仪式")
    assert r.status_code == 201, r.text
    entry = r.json()
    assert (entry["kind"], entry["from_stage"], entry["to_stage"]) == ("advance", current, to)
    assert entry["occurred_on"] == "2022-03-01" and entry["note"] == "签约仪式"
    assert r.headers["ETag"] == '"2"'
    after = await api.get_project(p["id"])
    assert (after["stage"], after["stage_entered_on"], after["version"]) == (to, "2022-03-01", 2)


@pytest.mark.parametrize(("current", "to"), SKIPS, ids=[f"{a}->{b}" for a, b in SKIPS])
async def test_a_project_cannot_skip_a_stage(api, current, to):
    p = await api.project(stage=current, stage_entered_on=START)
    r = await api.move(p, to, "2022-03-01")
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "invalid_transition"
    assert (await api.get_project(p["id"]))["stage"] == current
    assert len(await history(api, p["id"])) == 1


async def test_foreign_project_cannot_skip_signing(api):
    p = await api.project(funding_source="foreign", investor_country="JP",
                          total_investment={"amount": "500000000.00", "currency": "USD"})
    r = await api.move(p, "registered", today())
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"


@pytest.mark.parametrize("stage", list(Stage))
async def test_moving_to_the_current_stage_is_refused(api, stage):
    p = await api.project(stage=stage, stage_entered_on=START)
    r = await api.move(p, stage, "2022-03-01", reason="重复")
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"


@pytest.mark.parametrize("current", BEFORE_PRODUCTION)
async def test_a_project_before_production_can_be_terminated_with_a_reason(api, current):
    p = await api.project(stage=current, stage_entered_on=START)
    r = await api.move(p, "terminated", "2022-05-01", reason="投资方撤资")
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "terminate" and r.json()["reason"] == "投资方撤资"
    assert (await api.get_project(p["id"]))["stage"] == "terminated"


async def test_terminating_needs_a_reason(api):
    p = await api.project()
    r = await api.move(p, "terminated", today())
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "reason", "message": "is required to terminate a project"}]
    assert (await api.get_project(p["id"]))["stage"] == "negotiating"


async def test_a_project_in_production_cannot_be_terminated(api):
    p = await api.project(stage="in_production", stage_entered_on=START)
    r = await api.move(p, "terminated", "2022-05-01", reason="停产")
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"


@pytest.mark.parametrize(("current", "to"), BACKWARD, ids=[f"{a}->{b}" for a, b in BACKWARD])
async def test_only_an_admin_moves_a_project_backward(api, current, to):
    bureau = await api.key("bureau")
    p = await api.project(stage=current, stage_entered_on=START)
    refused = await api.move(p, to, "2022-05-01", headers=bureau, reason="录入错误")
    assert refused.status_code == 403 and refused.json()["code"] == "correction_requires_admin"
    corrected = await api.move(p, to, "2022-05-01", reason="录入错误")
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["kind"] == "correction"
    assert [e["kind"] for e in await history(api, p["id"])] == ["created", "correction"]


async def test_a_correction_needs_a_reason(api):
    p = await api.project(stage="signed", stage_entered_on=START)
    r = await api.move(p, "negotiating", "2022-05-01")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"


async def test_an_admin_can_reopen_a_terminated_project_as_a_correction(api):
    p = await api.project(stage="terminated", stage_entered_on=START)
    bureau = await api.key("bureau")
    assert (await api.move(p, "negotiating", "2022-05-01", headers=bureau, reason="误终止")).status_code == 403
    r = await api.move(p, "negotiating", "2022-05-01", reason="误终止")
    assert r.status_code == 201 and r.json()["kind"] == "correction"


async def test_a_move_cannot_be_dated_in_the_future(api):
    p = await api.project()
    r = await api.move(p, "signed", today() + timedelta(days=1))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "occurred_on"


async def test_a_move_cannot_be_dated_before_the_previous_move(api):
    p = await api.project(stage_entered_on="2022-03-01")
    r = await api.move(p, "signed", "2022-02-28")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "occurred_on"
    same_day = await api.move(p, "signed", "2022-03-01")
    assert same_day.status_code == 201, same_day.text


async def test_a_project_cannot_be_created_with_a_future_stage_date(api):
    r = await api.client.post("/api/v1/projects", headers=api.admin,
                              json=project_body(stage_entered_on=str(today() + timedelta(days=1))))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "stage_entered_on"


async def test_the_history_is_the_full_life_oldest_first(api):
    p = await api.project(stage_entered_on="2021-11-01", note="首次洽谈")
    for to, on in (("signed", "2022-01-05"), ("registered", "2022-02-10"), ("preliminary", "2022-04-01")):
        r = await api.move(p, to, on)
        assert r.status_code == 201, r.text
        p = await api.get_project(p["id"])
    items = await history(api, p["id"])
    assert [(e["kind"], e["from_stage"], e["to_stage"], e["occurred_on"]) for e in items] == [
        ("created", None, "negotiating", "2021-11-01"),
        ("advance", "negotiating", "signed", "2022-01-05"),
        ("advance", "signed", "registered", "2022-02-10"),
        ("advance", "registered", "preliminary", "2022-04-01"),
    ]
    assert items[0]["note"] == "首次洽谈"
    assert all(e["actor_name"] == "test admin" for e in items)
    assert p["stage_entered_on"] == "2022-04-01"
    page1 = await api.client.get(f"/api/v1/projects/{p['id']}/transitions?limit=3", headers=api.admin)
    page2 = await api.client.get(f"/api/v1/projects/{p['id']}/transitions?limit=3&cursor="
                                 f"{page1.json()['next_cursor']}", headers=api.admin)
    assert [e["id"] for e in page1.json()["items"] + page2.json()["items"]] == [e["id"] for e in items]
    assert page2.json()["next_cursor"] is None


@pytest.mark.parametrize("stage", list(Stage))
async def test_a_project_can_be_created_in_any_stage_and_its_creation_opens_its_history(api, stage):
    p = await api.project(stage=stage, stage_entered_on="2020-06-30")
    assert (p["stage"], p["stage_entered_on"]) == (stage, "2020-06-30")
    items = await history(api, p["id"])
    assert [(e["kind"], e["to_stage"], e["occurred_on"]) for e in items] == [("created", stage, "2020-06-30")]


async def test_a_stale_if_match_moves_nothing(api):
    p = await api.project()
    first = await api.move(p, "signed", today())
    assert first.status_code == 201
    stale = await api.move(p, "terminated", today(), reason="重复提交")  # p still carries version 1
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    assert [e["to_stage"] for e in await history(api, p["id"])] == ["negotiating", "signed"]


async def test_a_move_without_if_match_is_refused(api):
    p = await api.project()
    r = await api.client.post(f"/api/v1/projects/{p['id']}/transitions", headers=api.admin,
                              json={"to": "signed", "occurred_on": str(today())})
    assert r.status_code == 428 and r.json()["code"] == "if_match_required"


async def test_an_archived_project_cannot_change_stage(api):
    p = await api.project()
    r = await api.client.delete(f"/api/v1/projects/{p['id']}", headers={**api.admin, "If-Match": '"1"'})
    assert r.status_code == 200
    moved = await api.move(await api.get_project(p["id"]), "signed", today())
    assert moved.status_code == 409 and moved.json()["code"] == "project_archived"


async def test_an_unknown_stage_is_a_validation_error(api):
    p = await api.project()
    r = await api.move(p, "approved", today())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to"


async def test_stage_dates_are_business_dates_in_the_city(api):
    p = await api.project()
    assert date.fromisoformat(p["stage_entered_on"]) == today()
