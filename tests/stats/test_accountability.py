"""The accountability summaries, checked against brute-force references, and a leader's workload."""

import statistics
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from app.clock import today
from app.models import (
    Difficulty,
    DifficultyEvent,
    SupervisionItem,
    SupervisionItemProject,
    SupervisionProgress,
    SupervisionTask,
)

BOUNDED = settings(max_examples=20, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CATEGORIES = ["land", "financing", "approval", "utilities", "labour", "policy", "other"]
FIGURES = ("count", "unresolved", "overdue", "resolved", "resolved_on_time", "median_days_to_resolve",
           "on_time_share")


async def wipe(api):
    """Empty the difficulty and supervision tables between generated examples."""
    async with api.app.state.engine.begin() as conn:
        for model in (DifficultyEvent, Difficulty, SupervisionProgress, SupervisionTask, SupervisionItemProject,
                      SupervisionItem):
            await conn.execute(delete(model))


def share(part, whole):
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))) if whole else None


# --- difficulties -------------------------------------------------------------------------

difficulty_specs = st.lists(st.fixed_dictionaries({
    "project": st.integers(0, 2),
    "unit": st.none() | st.integers(0, 2),  # None: the project's unit
    "category": st.sampled_from(CATEGORIES[:4]),
    "raised_ago": st.integers(0, 500),
    "due_after": st.integers(0, 90),
    "status": st.sampled_from(["open", "in_progress", "resolved", "closed"]),
    "resolve_after": st.integers(0, 120),
}), max_size=7)


def reference_figures(rows, now):
    resolved = [r for r in rows if r["resolved_on"] is not None]
    on_time = sum(r["resolved_on"] <= r["due_on"] for r in resolved)
    days = [(r["resolved_on"] - r["raised_on"]).days for r in resolved]
    unresolved = [r for r in rows if r["status"] in ("open", "in_progress")]
    return {"count": len(rows), "unresolved": len(unresolved),
            "overdue": sum(r["due_on"] < now for r in unresolved), "resolved": len(resolved),
            "resolved_on_time": on_time,
            "median_days_to_resolve": str(Decimal(str(statistics.median(days))).quantize(Decimal("0.1")))
            if days else None,
            "on_time_share": share(on_time, len(resolved))}


def reference_groups(rows, key, now):
    groups = defaultdict(list)
    for r in rows:
        groups[r[key]].append(r)
    # Largest first, then by key with no key last: the order the endpoint promises.
    order = sorted(groups, key=lambda k: (-len(groups[k]), k is None, k if k is not None else 0))
    return [(k, reference_figures(groups[k], now)) for k in order]


@BOUNDED
@given(specs=difficulty_specs, year_pick=st.sampled_from([None, 0, 1]))
async def test_the_difficulty_summary_matches_a_brute_force_count(api, specs, year_pick):
    await wipe(api)
    now = today()
    if not hasattr(api, "people"):
        leaders = [await api.leader() for _ in range(2)]
        units = [await api.unit() for _ in range(3)]
        projects = [await api.project(leader_id=leaders[0]["id"], unit_id=units[0]["id"]),
                    await api.project(leader_id=leaders[1]["id"], unit_id=units[1]["id"]),
                    await api.project(unit_id=units[2]["id"])]  # no leader in charge
        api.people = (units, projects)
    units, projects = api.people
    rows = []
    for spec in specs:
        project = projects[spec["project"]]
        raised_on = now - timedelta(days=spec["raised_ago"])
        due_on = raised_on + timedelta(days=spec["due_after"])
        body = {"title": "困难", "category": spec["category"], "raised_on": str(raised_on), "due_on": str(due_on)}
        if spec["unit"] is not None:
            body["unit_id"] = units[spec["unit"]]["id"]
        r = await api.client.post(f"/api/v1/projects/{project['id']}/difficulties", headers=api.admin, json=body)
        assert r.status_code == 201, r.text
        d = r.json()
        resolved_on = min(raised_on + timedelta(days=spec["resolve_after"]), now)
        moves = {"open": [], "in_progress": [("in_progress", {})],
                 "resolved": [("in_progress", {}), ("resolved", {"resolution": "已解决"})],
                 "closed": [("in_progress", {}), ("resolved", {"resolution": "已解决"}), ("closed", {})]}
        for version, (to, extra) in enumerate(moves[spec["status"]], start=1):
            r = await api.client.post(f"/api/v1/difficulties/{d['id']}/transitions",
                                      headers={**api.admin, "If-Match": f'"{version}"'},
                                      json={"to": to, "occurred_on": str(resolved_on), **extra})
            assert r.status_code == 201, r.text
        rows.append({"category": d["category"], "unit_id": d["unit_id"], "leader_id": d["leader_id"],
                     "status": spec["status"], "raised_on": raised_on, "due_on": due_on,
                     "resolved_on": resolved_on if spec["status"] in ("resolved", "closed") else None})

    year = None if year_pick is None else now.year - year_pick
    r = await api.client.get("/api/v1/stats/difficulties", headers=api.admin,
                             params={} if year is None else {"year": year})
    assert r.status_code == 200, r.text
    got = r.json()
    counted = [row for row in rows if year is None or row["raised_on"].year == year]
    assert (got["today"], got["year"]) == (str(now), year)
    assert got["overall"] == reference_figures(counted, now)
    assert got["by_status"] == [{"status": s, "count": c} for s, c in sorted(Counter(
        row["status"] for row in counted).items())]
    assert [(g["category"], {f: g[f] for f in FIGURES}) for g in got["by_category"]] == \
        reference_groups(counted, "category", now)
    assert [(g["unit_id"], {f: g[f] for f in FIGURES}) for g in got["by_unit"]] == \
        reference_groups(counted, "unit_id", now)
    assert [(g["leader_id"], {f: g[f] for f in FIGURES}) for g in got["by_leader"]] == \
        reference_groups(counted, "leader_id", now)
    names = {u["id"]: u["name"] for u in units}
    assert all(g["unit_name"] == names[g["unit_id"]] for g in got["by_unit"])


async def test_the_difficulty_summary_of_a_known_case(api):
    unit = await api.unit()
    project = await api.project(unit_id=unit["id"])
    for raised, due, resolved in (("2022-01-01", "2022-01-10", "2022-01-05"),   # 4 days, on time
                                  ("2022-01-01", "2022-01-10", "2022-01-12"),   # 11 days, late
                                  ("2022-02-01", "2022-03-01", "2022-02-08"),   # 7 days, on time
                                  ("2022-02-01", "2022-03-01", "2022-02-11")):  # 10 days, on time
        d = await api.difficulty(project, raised_on=raised, due_on=due, category="approval")
        await api.walk_difficulty(d, "resolved", on=resolved)
    await api.difficulty(project, raised_on="2022-01-01", due_on="2022-01-31", category="land")  # overdue
    r = await api.client.get("/api/v1/stats/difficulties", headers=api.admin, params={"year": 2022})
    overall = r.json()["overall"]
    assert overall == {"count": 5, "unresolved": 1, "overdue": 1, "resolved": 4, "resolved_on_time": 3,
                       "median_days_to_resolve": "8.5", "on_time_share": "0.7500"}
    assert [g["category"] for g in r.json()["by_category"]] == ["approval", "land"]
    assert r.json()["by_leader"] == [{"leader_id": None, "leader_name": None, **overall}]
    assert (await api.client.get("/api/v1/stats/difficulties", headers=api.admin,
                                 params={"year": 2021})).json()["overall"]["count"] == 0


# --- supervision --------------------------------------------------------------------------

task_specs = st.lists(st.fixed_dictionaries({
    "unit": st.integers(0, 3),
    "item": st.integers(0, 1),
    "deadline": st.integers(-30, 395),  # days after 1 January of the assessed year
    "done_after": st.none() | st.integers(-60, 60),  # completion relative to the deadline; None: not done
}), max_size=10)


def reference_assessment(tasks, year, now):
    per_unit = defaultdict(lambda: {"tasks": 0, "done_on_time": 0, "done_late": 0, "overdue": 0, "open": 0})
    for t in tasks:
        if t["deadline"].year != year or t["archived"]:
            continue
        figures = per_unit[t["unit_id"]]
        figures["tasks"] += 1
        if t["completed_on"] is not None:
            figures["done_on_time" if t["completed_on"] <= t["deadline"] else "done_late"] += 1
        else:
            figures["overdue" if t["deadline"] < now else "open"] += 1

    def merit(f):
        return (-Fraction(f["done_on_time"], f["tasks"]), f["overdue"], f["done_late"])

    units = [{"unit_id": u, **f, "on_time_rate": share(f["done_on_time"], f["tasks"]),
              "rank": 1 + sum(merit(g) < merit(f) for g in per_unit.values())} for u, f in per_unit.items()]
    units.sort(key=lambda u: (u["rank"], u["unit_id"]))
    totals = {k: sum(f[k] for f in per_unit.values()) for k in ("tasks", "done_on_time", "done_late", "overdue",
                                                                 "open")}
    return units, {**totals, "on_time_rate": share(totals["done_on_time"], totals["tasks"])}


@BOUNDED
@given(specs=task_specs, archive_second=st.booleans(), year_pick=st.sampled_from([0, 1]))
async def test_the_year_end_assessment_matches_a_brute_force_ranking(api, specs, archive_second, year_pick):
    await wipe(api)
    now = today()
    if not hasattr(api, "units"):
        api.units = [await api.unit() for _ in range(4)]
    units = api.units
    items = [await api.item(), await api.item()]
    year = now.year - year_pick
    start = date(year, 1, 1)
    tasks = []
    for spec in specs:
        deadline = start + timedelta(days=spec["deadline"])
        task = await api.task(items[spec["item"]], units[spec["unit"]], deadline)
        completed_on = None
        if spec["done_after"] is not None and deadline + timedelta(days=spec["done_after"]) <= now:
            completed_on = deadline + timedelta(days=spec["done_after"])
            r = await api.client.post(f"/api/v1/supervision-tasks/{task['id']}/progress",
                                      headers={**api.admin, "If-Match": '"1"'},
                                      json={"percent": 100, "reported_on": str(completed_on)})
            assert r.status_code == 201, r.text
        tasks.append({"unit_id": task["unit_id"], "deadline": deadline, "completed_on": completed_on,
                      "archived": archive_second and spec["item"] == 1})
    if archive_second:
        r = await api.client.delete(f"/api/v1/supervision-items/{items[1]['id']}",
                                    headers={**api.admin, "If-Match": "*"})
        assert r.status_code == 200

    r = await api.client.get("/api/v1/stats/supervision", headers=api.admin, params={"year": year})
    assert r.status_code == 200, r.text
    got = r.json()
    expected_units, expected_overall = reference_assessment(tasks, year, now)
    assert (got["year"], got["today"]) == (year, str(now))
    assert got["overall"] == expected_overall
    names = {u["id"]: u["name"] for u in units}
    assert got["units"] == [{**u, "unit_name": names[u["unit_id"]]} for u in expected_units]


async def test_the_assessment_ranks_by_on_time_rate_then_fewer_overdue_then_fewer_late(api):
    a, b, c, d, e = [await api.unit(name=name) for name in ("甲局", "乙局", "丙局", "丁局", "戊局")]
    item = await api.item()

    async def task(unit, deadline, done_on=None):
        t = await api.task(item, unit, deadline)
        if done_on:
            assert (await api.report(t, 100, reported_on=done_on)).status_code == 201

    await task(a, "2022-03-01", "2022-02-20")   # a: half on time, 1 overdue
    await task(a, "2022-06-01")
    for unit in (b, e):                         # b, e: half on time, 1 late
        await task(unit, "2022-03-01", "2022-02-20")
        await task(unit, "2022-06-01", "2022-06-05")
    for _ in range(2):                          # d: half on time, 2 late
        await task(d, "2022-03-01", "2022-02-20")
        await task(d, "2022-06-01", "2022-06-05")
    await task(c, "2022-03-01", "2022-03-01")   # c: all on time
    await task(c, "2023-01-05")                 # another year: not counted
    r = await api.client.get("/api/v1/stats/supervision", headers=api.admin, params={"year": 2022})
    ranking = [(u["rank"], u["unit_name"], u["tasks"], u["on_time_rate"]) for u in r.json()["units"]]
    assert ranking == [(1, "丙局", 1, "1.0000"), (2, "乙局", 2, "0.5000"), (2, "戊局", 2, "0.5000"),
                       (4, "丁局", 4, "0.5000"), (5, "甲局", 2, "0.5000")]
    assert r.json()["overall"] == {"tasks": 11, "done_on_time": 6, "done_late": 4, "overdue": 1, "open": 0,
                                   "on_time_rate": "0.5455"}
    assert (await api.client.get("/api/v1/stats/supervision", headers=api.admin)).status_code == 422


# --- a leader's workload ------------------------------------------------------------------


async def test_a_leaders_workload_lists_open_and_overdue_difficulties_and_overdue_tasks(api):
    leader, other = await api.leader(), await api.leader()
    unit = await api.unit()
    mine = await api.project(leader_id=leader["id"], unit_id=unit["id"], name="稀土电缆项目")
    theirs = await api.project(leader_id=other["id"], unit_id=unit["id"])
    past = str(today() - timedelta(days=5))
    late = await api.difficulty(mine, title="用地指标", raised_on="2022-01-01", due_on=past)
    waiting = await api.walk_difficulty(await api.difficulty(mine, raised_on="2022-01-01", due_on=past), "resolved")
    upcoming = await api.difficulty(mine, due_on="2099-01-01")
    await api.walk_difficulty(await api.difficulty(mine), "closed")
    await api.difficulty(theirs, due_on=past, raised_on="2022-01-01")
    item = await api.item(title="电缆项目开工督办", project_ids=[mine["id"]])
    overdue_task = await api.task(item, unit, past)
    await api.task(item, unit, "2099-01-01")
    elsewhere = await api.item(project_ids=[theirs["id"]])
    await api.task(elsewhere, unit, past)

    viewer = await api.key("viewer")
    r = await api.client.get(f"/api/v1/leaders/{leader['id']}/difficulties-summary", headers=viewer)
    assert r.status_code == 200, r.text
    w = r.json()
    assert (w["leader_id"], w["today"]) == (leader["id"], str(today()))
    assert (w["open_difficulty_count"], w["overdue_difficulty_count"], w["overdue_task_count"]) == (3, 1, 1)
    assert [d["id"] for d in w["open_difficulties"]] == [late["id"], waiting["id"], upcoming["id"]]
    [summary] = w["overdue_difficulties"]
    assert summary == {"id": late["id"], "project_id": mine["id"], "project_name": "稀土电缆项目",
                       "title": "用地指标", "category": "land", "status": "open", "unit_id": unit["id"],
                       "unit_name": unit["name"], "due_on": past, "days_overdue": 5, "escalation_level": "unit"}
    [task] = w["overdue_tasks"]
    assert (task["id"], task["item_title"], task["days_overdue"], task["percent"]) == (
        overdue_task["id"], "电缆项目开工督办", 5, 0)
    limited = await api.client.get(f"/api/v1/leaders/{leader['id']}/difficulties-summary", headers=viewer,
                                   params={"limit": 1})
    assert [d["id"] for d in limited.json()["open_difficulties"]] == [late["id"]]
    assert limited.json()["open_difficulty_count"] == 3
    missing = await api.client.get("/api/v1/leaders/999999/difficulties-summary", headers=viewer)
    assert missing.status_code == 404


async def test_the_workload_service_is_callable_for_the_dashboard(api):
    from app.models.accountability import LeaderWorkload
    from app.services.stats.accountability import leader_workload

    leader = await api.leader()
    async with api.app.state.sessionmaker() as session:
        workload = await leader_workload(session, leader_id=leader["id"], today=date(2022, 6, 30))
    assert isinstance(workload, LeaderWorkload)
    assert (workload.today, workload.open_difficulties, workload.overdue_tasks) == (date(2022, 6, 30), [], [])
