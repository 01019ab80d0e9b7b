"""The past as it was: every attribute the aggregates read has a history in business time
(``effective_on``) and in recording time (``known_on``), by example."""

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.clock import today
from tests.factories import assert_invalid, assert_problem


async def by_leader(api, **params):
    r = await api.client.get("/api/v1/stats/pipeline", headers=api.admin,
                             params={"group_by": "leader", "funnel": "false", **params})
    assert r.status_code == 200, r.text
    return {g["key"]["leader"]: g["count"] for g in r.json()["groups"]}


async def patch(api, project, **body):
    current = await api.get_project(project["id"])
    return await api.client.patch(f"/api/v1/projects/{project['id']}", json=body,
                                  headers={**api.admin, "If-Match": f'"{current["version"]}"'})


async def test_a_reassignment_dated_in_the_past_changes_the_figures_from_its_date_on(api):
    a, b = await api.leader(), await api.leader()
    p = await api.project(stage_entered_on="2022-01-10", leader_id=a["id"])
    before_it = datetime.now(UTC)
    r = await patch(api, p, leader_id=b["id"], effective_on="2022-06-01")
    assert r.status_code == 200, r.text
    assert r.json()["leader_id"] == b["id"]
    assert await by_leader(api, as_of="2022-05-31") == {a["id"]: 1}
    assert await by_leader(api, as_of="2022-12-31") == {b["id"]: 1}
    assert await by_leader(api) == {b["id"]: 1}
    # As it had been recorded before the reassignment: last year's bulletin, given again.
    assert await by_leader(api, as_of="2022-12-31", known_on=before_it.isoformat()) == {a["id"]: 1}
    assert await by_leader(api, as_of="2022-12-31", known_on=datetime.now(UTC).isoformat()) == {b["id"]: 1}
    # Before the project was recorded at all, it is in no figure.
    assert await by_leader(api, as_of="2022-12-31", known_on="2022-12-31") == {}
    # A dashboard read by an earlier knowledge links to its figures read by the same knowledge.
    r = await api.client.get(f"/api/v1/leaders/{a['id']}/dashboard", headers=api.admin,
                             params={"as_of": "2022-12-31", "known_on": before_it.isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["projects"]["count"] == 1
    listed = await api.client.get(r.json()["projects"]["projects"], headers=api.admin)
    assert [x["id"] for x in listed.json()["items"]] == [p["id"]]
    listed = await api.client.get(r.json()["late"]["projects"], headers=api.admin)
    assert listed.status_code == 200 and "known_on" in r.json()["late"]["projects"]
    listed = await api.client.get("/api/v1/stats/pipeline/projects", headers=api.admin,
                                  params={"as_of": "2022-05-31", "leader_id": str(a["id"])})
    assert [(x["id"], x["leader_id"]) for x in listed.json()["items"]] == [(p["id"], a["id"])]


async def test_a_target_read_by_an_earlier_knowledge_lists_its_projects_as_known_then(api):
    a, b = await api.leader(), await api.leader()
    p = await api.project(stage_entered_on="2022-01-10", leader_id=a["id"])
    r = await api.client.post("/api/v1/targets", headers=api.admin, json={
        "year": 2022, "title": "签约项目", "goal_stage": "signed", "target_count": 1, "membership": "list",
        "members": [p["id"]]})
    assert r.status_code == 201, r.text
    before_it = datetime.now(UTC)
    assert (await patch(api, p, leader_id=b["id"], effective_on="2022-06-01")).status_code == 200

    async def leaders_of_target(**params):
        r = await api.client.get("/api/v1/stats/targets", headers=api.admin,
                                 params={"year": 2022, "as_of": "2022-12-31", **params})
        assert r.status_code == 200, r.text
        (item,) = r.json()["items"]
        return [x["leader_id"] for x in item["by_leader"]], item["members"]["projects"]

    assert (await leaders_of_target())[0] == [b["id"]]
    leaders, link = await leaders_of_target(known_on=before_it.isoformat())
    assert leaders == [a["id"]] and "known_on" in link
    listed = await api.client.get(link, headers=api.admin)
    assert listed.status_code == 200, listed.text
    assert [(x["id"], x["leader_id"]) for x in listed.json()["items"]] == [(p["id"], a["id"])]
    r = await api.client.get(link.replace("known_on=", "known_on=x"), headers=api.admin)
    assert_invalid(r, "known_on")


async def test_every_aggregate_says_which_knowledge_it_was_read_by(api):
    leader = await api.leader()
    await api.project(stage_entered_on="2022-01-10", leader_id=leader["id"])
    known_on = datetime(2026, 1, 5, 1, 2, 3, tzinfo=UTC)
    for path, params in (("/stats/pipeline", {}), ("/stats/targets", {"year": 2022}), ("/stats/project-health", {}),
                         ("/stats/leaders", {}), (f"/leaders/{leader['id']}/dashboard", {}),
                         ("/stats/investment", {"year": 2022, "month": 12}), ("/stats/forecast", {"year": 2022})):
        r = await api.client.get(f"/api/v1{path}", headers=api.admin, params=params)
        assert r.status_code == 200, (path, r.text)
        assert r.json()["known_on"] is None, path
        r = await api.client.get(f"/api/v1{path}", headers=api.admin,
                                 params={**params, "known_on": "2026-01-05T09:02:03+08:00"})
        assert r.status_code == 200, (path, r.text)
        assert r.json()["known_on"] == known_on.isoformat().replace("+00:00", "Z"), path
    r = await api.client.get("/api/v1/stats/leaders", headers=api.admin, params={"known_on": known_on.isoformat()})
    dashboard = next(i["dashboard"] for i in r.json()["items"] if i["leader_id"] == leader["id"])
    assert "known_on=" in dashboard


async def test_a_change_without_effective_on_takes_effect_today(api):
    a, b = await api.leader(), await api.leader()
    p = await api.project(stage_entered_on="2022-01-10", leader_id=a["id"])
    assert (await patch(api, p, leader_id=b["id"])).status_code == 200
    yesterday = str(today() - timedelta(days=1))
    assert await by_leader(api, as_of=yesterday) == {a["id"]: 1}
    assert await by_leader(api) == {b["id"]: 1}


async def test_a_change_dated_before_a_later_change_of_the_same_field_is_refused(api):
    a, b, c = await api.leader(), await api.leader(), await api.leader()
    p = await api.project(stage_entered_on="2022-01-10", leader_id=a["id"])
    assert (await patch(api, p, leader_id=b["id"], effective_on="2023-01-01")).status_code == 200
    r = await patch(api, p, leader_id=c["id"], effective_on="2022-09-01")
    body = assert_problem(r, 409, "later_change")
    assert body["errors"][0]["field"] == "effective_on"
    # The same leader from earlier on undoes nothing: b from 2022-11-01, as from 2023.
    r = await patch(api, p, leader_id=b["id"], effective_on="2022-11-01")
    assert r.status_code == 200, r.text
    assert await by_leader(api, as_of="2022-11-30") == {b["id"]: 1}
    assert await by_leader(api, as_of="2022-10-31") == {a["id"]: 1}
    # Another field may still be dated back: only the one that changes again is protected.
    r = await patch(api, p, zone="other", effective_on="2022-03-01")
    assert r.status_code == 200, r.text
    assert await by_leader(api, as_of="2022-10-31") == {a["id"]: 1}
    assert await by_leader(api, as_of="2023-01-01") == {b["id"]: 1}
    r = await api.client.get("/api/v1/stats/pipeline", headers=api.admin,
                             params={"group_by": "zone", "as_of": "2022-02-28", "funnel": "false"})
    assert [g["key"]["zone"] for g in r.json()["groups"]] == ["binhai_new_area"]


async def test_effective_on_is_checked(api):
    p = await api.project(stage_entered_on="2022-01-10")
    assert_invalid(await patch(api, p, on_hold=True, effective_on=str(today() + timedelta(days=1))),
                   "effective_on", "future")
    assert_invalid(await patch(api, p, on_hold=True, effective_on=None), "effective_on")


async def test_a_rescheduled_project_stays_late_on_the_dates_it_was_late(api):
    p = await api.project(stage_entered_on="2022-01-10", planned_sign_on="2022-03-01")
    r = await patch(api, p, planned_sign_on="2023-06-30", effective_on="2022-10-01")
    assert r.status_code == 200, r.text
    for as_of, late in (("2022-09-30", 1), ("2022-10-01", 0)):
        r = await api.client.get("/api/v1/stats/project-health", headers=api.admin,
                                 params={"as_of": as_of})
        assert r.status_code == 200, r.text
        reasons = [reason["rule"] for item in r.json()["items"] for reason in item["reasons"]]
        assert reasons.count("sign_overdue") == late, (as_of, reasons)


async def test_an_archived_project_counts_until_the_day_it_was_archived(api):
    a = await api.leader()
    p = await api.project(stage_entered_on="2022-01-10", leader_id=a["id"])
    before_it = datetime.now(UTC)
    r = await api.client.delete(f"/api/v1/projects/{p['id']}", headers={**api.admin, "If-Match": '"1"'})
    assert r.status_code == 200
    assert await by_leader(api, as_of=str(today() - timedelta(days=1))) == {a["id"]: 1}
    assert await by_leader(api) == {}
    assert await by_leader(api, known_on=before_it.isoformat()) == {a["id"]: 1}


async def test_known_on_is_checked(api):
    for bad in ("yesterday", "2022-13-01", "2022-01-01T25:00", "9999-12-31", "0001-01-01T00:00+08:00"):
        r = await api.client.get("/api/v1/stats/pipeline", headers=api.admin, params={"known_on": bad})
        assert_invalid(r, "known_on")


async def test_a_date_as_known_on_is_the_end_of_that_day_in_the_city(api):
    p = await api.project(stage_entered_on="2022-01-10")
    assert p["id"]
    assert await by_leader(api, known_on=str(today())) == {None: 1}
    assert await by_leader(api, known_on=str(today() - timedelta(days=1))) == {}


# --- the property: random histories against a brute-force replay ------------------------------

STAGES = ["negotiating", "signed", "registered", "preliminary", "under_construction", "in_production"]
START = date(2021, 1, 1)
EXAMPLES = settings(max_examples=int(os.environ.get("STATS_EXAMPLES", "12")), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@dataclass
class Story:
    """What the service was told, in order, and what it accepted: each project's creation,
    leader changes (effective_on, leader), moves (occurred_on, stage) and archiving, each
    with its place in the order of recording."""

    created: list[tuple[int, date, int]] = field(default_factory=list)  # (order, first day, leader)
    leaders: dict[int, list[tuple[int, date, int]]] = field(default_factory=dict)
    moves: dict[int, list[tuple[int, date, str]]] = field(default_factory=dict)
    archived: dict[int, int] = field(default_factory=dict)

    def leader_timeline(self, p: int, before: int) -> list[tuple[date, int]]:
        """The leader through time as known before the ``before``-th record: (from, leader), in date order."""
        timeline = [(date.min, self.created[p][2])]
        for order, effective_on, leader in self.leaders[p]:
            if order < before:
                timeline = [(d, v) for d, v in timeline if d < effective_on] + [(effective_on, leader)]
        return timeline

    def stage(self, p: int, on: date, before: int) -> str | None:
        order, first_day, _ = self.created[p]
        if order >= before or on < first_day:
            return None
        current = STAGES[0]
        for order, occurred_on, stage in self.moves[p]:
            if order < before and occurred_on <= on:
                current = stage
        return current

    def counts(self, on: date, before: int, today_: date) -> dict[tuple[int, str], int]:
        out: dict[tuple[int, str], int] = {}
        for p in range(len(self.created)):
            stage = self.stage(p, on, before)
            if stage is None or (self.archived.get(p, before) < before and on >= today_):
                continue
            leader = [v for d, v in self.leader_timeline(p, before) if d <= on][-1]
            out[(leader, stage)] = out.get((leader, stage), 0) + 1
        return out


DAY = st.dates(min_value=START, max_value=today())
OPS = st.lists(st.one_of(
    st.tuples(st.just("leader"), st.integers(0, 2), st.integers(0, 2), DAY),
    st.tuples(st.just("move"), st.integers(0, 2), DAY),
    st.tuples(st.just("archive"), st.integers(0, 2))), min_size=1, max_size=7)


@EXAMPLES
@given(first_days=st.lists(st.dates(min_value=START, max_value=date(2022, 12, 31)), min_size=3, max_size=3),
       ops=OPS, asked=st.lists(st.tuples(DAY, st.integers(0, 10)), min_size=1, max_size=3))
async def test_the_figures_on_any_date_by_any_knowledge_are_a_replay_of_what_was_recorded(
        api, first_days, ops, asked):
    leaders = [(await api.leader())["id"] for _ in range(3)]
    story, instants, order = Story(), [], 0
    ids = []
    for p, first_day in enumerate(first_days):
        instants.append(datetime.now(UTC))
        ids.append((await api.project(stage_entered_on=str(first_day), leader_id=leaders[p % 3]))["id"])
        story.created.append((order, first_day, leaders[p % 3]))
        story.leaders[p], story.moves[p] = [], []
        order += 1
    for op in ops:
        p = op[1]
        current = await api.get_project(ids[p])
        headers = {**api.admin, "If-Match": f'"{current["version"]}"'}
        instants.append(datetime.now(UTC))
        if op[0] == "leader":
            _, _, j, effective_on = op
            timeline = story.leader_timeline(p, order)
            at = [v for d, v in timeline if d <= effective_on][-1]
            values = [at] + [v for d, v in timeline if d > effective_on]
            undone = [b for a, b in pairwise(values) if b != a and b != leaders[j]]
            r = await api.client.patch(f"/api/v1/projects/{ids[p]}", headers=headers,
                                       json={"leader_id": leaders[j], "effective_on": str(effective_on)})
            if p in story.archived:
                assert_problem(r, 409, "project_archived")
            elif undone:  # a later change to another leader
                assert_problem(r, 409, "later_change")
            else:
                assert r.status_code == 200, r.text
                story.leaders[p].append((order, effective_on, leaders[j]))
        elif op[0] == "move":
            stage = current["stage"]
            previous_on = date.fromisoformat(current["stage_entered_on"])
            occurred_on = max(op[2], previous_on)
            if stage == STAGES[-1]:
                continue
            r = await api.move(current, STAGES[STAGES.index(stage) + 1], occurred_on)
            if p in story.archived:
                assert_problem(r, 409, "project_archived")
            else:
                assert r.status_code == 201, r.text
                story.moves[p].append((order, occurred_on, STAGES[STAGES.index(stage) + 1]))
        else:
            r = await api.client.delete(f"/api/v1/projects/{ids[p]}", headers=headers)
            if p in story.archived:
                assert r.status_code == 409, r.text
            else:
                assert r.status_code == 200, r.text
                story.archived[p] = order
        order += 1
    instants.append(datetime.now(UTC))
    for on, which in asked:
        before = min(which, len(instants) - 1)
        for known_on in (instants[before], None):
            params = {"group_by": "leader,stage", "as_of": str(on), "funnel": "false", "leader_id": leaders}
            if known_on is not None:
                params["known_on"] = known_on.isoformat()
            r = await api.client.get("/api/v1/stats/pipeline", headers=api.admin, params=params)
            assert r.status_code == 200, r.text
            got = {(g["key"]["leader"], g["key"]["stage"]): g["count"] for g in r.json()["groups"]}
            assert got == story.counts(on, before if known_on is not None else order, today()), (on, known_on)
