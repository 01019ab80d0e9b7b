"""/stats/approvals: counts, median decision days, the share within the limit and what is
overdue, per kind and authority, the same on both databases."""

import itertools
import statistics
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.clock import today

START = date(2022, 3, 1)
_authorities = itertools.count(1)


async def decided(api, project, days, *, kind="construction_permit", authority="市行政审批服务局", limit=5,
                  status="approved"):
    return await api.approval(project, kind=kind, authority=authority, status=status, time_limit_days=limit,
                              submitted_on=str(START), decided_on=str(START + timedelta(days=days)))


async def stats(api, headers=None, **params):
    r = await api.client.get("/api/v1/stats/approvals", headers=headers or api.admin, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_figures_per_kind_and_authority(api):
    p = await api.project()
    for days in (2, 4, 10):
        await decided(api, p, days)
    await decided(api, p, 3, authority="西海岸新区行政审批局", status="rejected")
    await decided(api, p, 6, authority="西海岸新区行政审批局")
    for days in (1, 2, 3, 8):
        await decided(api, p, days, kind="energy_conservation_review", authority="市发展改革委", limit=None)
    await api.approval(p, status="submitted", submitted_on=str(today() - timedelta(days=30)))  # overdue
    await api.approval(p, status="accepted", submitted_on=str(today()))  # waiting, within its limit
    await api.approval(p)  # not started

    body = await stats(api)
    assert body["as_of"] == str(today())
    groups = {(g["kind"], g["authority"]): g for g in body["groups"]}
    assert list(groups) == [("construction_permit", "市行政审批服务局"),
                            ("construction_permit", "西海岸新区行政审批局"),
                            ("energy_conservation_review", "市发展改革委")]
    city = groups[("construction_permit", "市行政审批服务局")]
    assert city == {"kind": "construction_permit", "kind_name": "施工许可", "authority": "市行政审批服务局",
                    "count": 6, "submitted": 5, "decided": 3, "approved": 3, "rejected": 0,
                    "median_days_to_decision": 4.0, "decided_with_limit": 3, "decided_within_limit": 2,
                    "share_within_limit": 0.6667, "pending": 2, "overdue": 1}
    district = groups[("construction_permit", "西海岸新区行政审批局")]
    assert (district["median_days_to_decision"], district["approved"], district["rejected"],
            district["share_within_limit"]) == (4.5, 1, 1, 0.5)
    energy = groups[("energy_conservation_review", "市发展改革委")]
    assert (energy["median_days_to_decision"], energy["decided_with_limit"], energy["share_within_limit"]) == (
        2.5, 0, None)
    total = body["total"]
    assert (total["count"], total["decided"], total["pending"], total["overdue"]) == (12, 9, 2, 1)
    assert total["median_days_to_decision"] == statistics.median([2, 4, 10, 3, 6, 1, 2, 3, 8])
    assert (total["decided_with_limit"], total["decided_within_limit"]) == (5, 3)


async def test_filters_narrow_the_figures(api):
    p = await api.project()
    await api.approval(p, status="submitted", submitted_on="2022-01-10")
    await api.approval(p, status="submitted", submitted_on="2023-01-10", kind="energy_conservation_review")
    body = await stats(api, submitted_from="2023-01-01")
    assert [g["kind"] for g in body["groups"]] == ["energy_conservation_review"]
    body = await stats(api, kind="construction_permit", submitted_to="2022-12-31")
    assert body["total"]["count"] == 1
    assert (await stats(api, authority="无此机关"))["total"] == {
        "count": 0, "submitted": 0, "decided": 0, "approved": 0, "rejected": 0, "median_days_to_decision": None,
        "decided_with_limit": 0, "decided_within_limit": 0, "share_within_limit": None, "pending": 0, "overdue": 0}


async def test_archived_items_and_projects_do_not_count_and_units_count_their_own(api):
    unit = await api.unit()
    mine = await api.project(unit_id=unit["id"])
    other = await api.project()
    gone = await api.project()
    await decided(api, mine, 3)
    await decided(api, other, 9)
    await decided(api, gone, 100)
    mistake = await decided(api, mine, 50)
    await api.client.delete(f"/api/v1/projects/{mine['id']}/approvals/{mistake['id']}",
                            headers={**api.admin, "If-Match": '"1"'})
    await api.client.delete(f"/api/v1/projects/{gone['id']}", headers={**api.admin, "If-Match": '"1"'})
    assert (await stats(api))["total"]["median_days_to_decision"] == 6.0
    key = await api.key("unit", unit_id=unit["id"])
    assert (await stats(api, key))["total"]["median_days_to_decision"] == 3.0


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.lists(st.integers(0, 400), min_size=1, max_size=12))
async def test_the_median_is_the_median(api, days):
    p = await api.project()
    authority = f"审批机关{next(_authorities)}"
    for d in days:
        await decided(api, p, d, authority=authority, limit=30)
    [group] = (await stats(api, authority=authority))["groups"]
    assert group["median_days_to_decision"] == statistics.median(days)
    assert group["decided_within_limit"] == sum(d <= 30 for d in days)
