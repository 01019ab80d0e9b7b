"""Every aggregate, with and without ``as_of``, equals a brute-force count of the raw rows.

Random worlds (projects with stage histories — same-day moves, corrections, terminations
— designations, dated rates, list and criterion targets with dated membership) are
written straight into the database; the answers come over HTTP; the expectations are
computed in ``tests/stats_reference.py`` from the same rows.
"""

import os
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.clock import today
from tests import stats_reference as ref

# STATS_EXAMPLES=500 for a deeper search than the suite's bounded one.
PROPERTY = settings(max_examples=int(os.environ.get("STATS_EXAMPLES", "25")), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
AS_OF = st.one_of(st.none(), st.dates(min_value=date(2020, 6, 1), max_value=date(2023, 12, 31)))
DIMENSIONS = ["stage", "funding_source", "zone", "industry", "leader", "unit", "year"]


def money(items: list[dict[str, str]]) -> dict[str, Decimal]:
    return {m["currency"]: Decimal(m["amount"]) for m in items}


def converted(total: dict[str, Any]) -> tuple[Decimal | None, list[str]]:
    return (Decimal(total["amount"]) if total["amount"] is not None else None), total["missing_rates"]


def days(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


async def get(api, path: str, **params: Any) -> dict[str, Any]:
    r = await api.client.get(path, headers=api.admin, params={k: v for k, v in params.items() if v is not None})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def listed(api, link: str) -> set[int]:
    """The ids a figure's link lists (every page)."""
    ids: set[int] = set()
    cursor = None
    while True:
        page = urlencode({"limit": 200, **({"cursor": cursor} if cursor else {})})
        r = await api.client.get(f"{link}{'&' if '?' in link else '?'}{page}", headers=api.admin)
        assert r.status_code == 200, r.text
        ids |= {item["id"] for item in r.json()["items"]}
        if (cursor := r.json()["next_cursor"]) is None:
            return ids


@PROPERTY
@given(world=ref.worlds(), as_of=AS_OF, group_by=st.lists(st.sampled_from(DIMENSIONS), unique=True, max_size=3))
async def test_the_pipeline_on_any_date_is_the_brute_force_count_of_the_stage_history(api, world, as_of, group_by):
    await ref.load(api.app, world)
    body = await get(api, "/api/v1/stats/pipeline", group_by=",".join(group_by) or None,
                     as_of=as_of and as_of.isoformat())
    on = as_of or today()
    expected = ref.pipeline(world, on, group_by)
    assert body["as_of"] == on.isoformat()
    assert body["total"]["count"] == expected["count"]
    assert money(body["total"]["totals"]) == expected["totals"]
    assert converted(body["total"]["total_cny"]) == expected["total_cny"]
    groups = {tuple(g["key"][d] for d in group_by): (g["count"], money(g["totals"]), converted(g["total_cny"]))
              for g in body["groups"]}
    assert groups == expected["groups"]
    for f in body["funnel"]:
        want = expected["funnel"][f["stage"]]
        got = {k: f[k] for k in ("entered", "moved_on", "terminated", "in_stage")}
        got |= {"median_days": days(f["median_days"]), "median_days_in_stage_now": days(f["median_days_in_stage_now"])}
        assert got == want, f["stage"]
    # Each group's link lists exactly its projects.
    for g in body["groups"][:3]:
        key = tuple(g["key"][d] for d in group_by)
        members = {p.id for p in ref.current(world, on) if ref.state_on(p, on) is not None
                   and tuple(ref.dimension(world, p, on, d) for d in group_by) == key}
        assert await listed(api, g["projects"]) == members


@PROPERTY
@given(world=ref.worlds(), as_of=AS_OF, year=st.sampled_from([2021, 2022]))
async def test_each_targets_progress_is_the_brute_force_count_of_its_members(api, world, as_of, year):
    await ref.load(api.app, world)
    body = await get(api, "/api/v1/stats/targets", year=year, as_of=as_of and as_of.isoformat())
    on = as_of or today()
    expected = sorted((t for t in world.targets if t.year == year and not t.archived), key=lambda t: t.id)
    assert [item["target"]["id"] for item in body["items"]] == [t.id for t in expected]
    for item, t in zip(body["items"], expected, strict=True):
        want = ref.target_progress(world, t, on)
        assert item["evaluated_on"] == want["evaluated_on"].isoformat()

        def part(members: dict[str, Any], done: dict[str, Any], late: dict[str, Any]) -> dict[str, Any]:
            return {"members": members["count"], "done": done["count"], "late": late["count"],
                    "member_totals": money(members["totals"]), "done_totals": money(done["totals"]),
                    "member_total": converted(members["total"]), "done_total": converted(done["total"])}

        assert part(item["members"], item["done"], item["late"]) == {k: want[k] for k in (
            "members", "done", "late", "member_totals", "done_totals", "member_total", "done_total")}
        assert item["dropped"]["count"] == want["dropped"]
        assert {b["leader_id"]: part(b["members"], b["done"], b["late"]) for b in item["by_leader"]} == \
            want["by_leader"]
        target_count = item["target"]["target_count"]
        assert item["share_done"] == (str((Decimal(want["done"]) / target_count).quantize(Decimal("0.0001")))
                                      if target_count else None)
        # The figures' links list exactly the projects counted.
        evaluated = want["evaluated_on"]
        members = ref.members(world, t, evaluated)
        assert await listed(api, item["members"]["projects"]) == {p.id for p in members}
        assert await listed(api, item["done"]["projects"]) == {p.id for p in members if ref.done(t, p, evaluated)}
        assert await listed(api, item["late"]["projects"]) == {
            p.id for p in members if not ref.done(t, p, evaluated) and ref.late(p, evaluated)}


@PROPERTY
@given(world=ref.worlds(), as_of=AS_OF)
async def test_each_leaders_statuses_and_late_projects_are_the_brute_force_count(api, world, as_of):
    await ref.load(api.app, world)
    on = as_of or today()
    body = await get(api, "/api/v1/stats/leaders", as_of=as_of and as_of.isoformat())
    expected = ref.leader_view(world, on)
    got = {}
    for item in body["items"]:
        if item["projects"]["count"] == 0:
            assert item["leader_id"] not in expected
            continue
        got[item["leader_id"]] = {
            "count": item["projects"]["count"], "by_stage": {s: n for s, n in item["by_stage"].items() if n},
            "green": item["health"]["green"], "amber": item["health"]["amber"], "red": item["health"]["red"],
            "late": item["late"]["count"], "totals": money(item["projects"]["totals"])}
    assert got == {leader: {**view, "by_stage": dict(view["by_stage"]), "totals": dict(view["totals"])}
                   for leader, view in expected.items()}

    leader_id = world.leader_ids[0]
    dashboard = await get(api, f"/api/v1/leaders/{leader_id}/dashboard", as_of=as_of and as_of.isoformat())
    own = [p for p in ref.current(world, on) if p.leader == 0 and ref.state_on(p, on) is not None]
    assert dashboard["projects"]["count"] == len(own)
    assert {s["stage"]: s["count"] for s in dashboard["by_stage"] if s["count"]} == \
        dict(expected.get(leader_id, {"by_stage": {}})["by_stage"])
    assert {p["id"]: p["health"] for p in dashboard["attention"]} == {
        p.id: ref.status(p, on) for p in own if ref.status(p, on) in ("red", "amber")}
    assert await listed(api, dashboard["late"]["projects"]) == {p.id for p in own if ref.late(p, on)}
