"""Escalation: overdue difficulties climb the ladder, once, however many jobs run."""

import asyncio
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.clock import today
from app.config import EscalationRung, Settings
from app.main import create_app
from app.models import AuditEvent, DifficultyEvent
from app.services.supervision import escalation
from tests.command_line import migrated_sqlite, pipeline

DEFAULT_LADDER = [EscalationRung(level="leader", after_days=1),
                  EscalationRung(level="supervision_office", after_days=15)]
NOW = datetime(2022, 3, 2, 1, 0, tzinfo=UTC)


async def run(api, on, *, ladder=DEFAULT_LADDER, batch_size=200):
    return await escalation.run_job(api.app.state.sessionmaker, today=date.fromisoformat(on), now=NOW,
                                    ladder=ladder, batch_size=batch_size)


async def overdue_difficulty(api, *, due_on="2022-03-01", **kw):
    leader, unit = await api.leader(), await api.unit()
    project = await api.project(leader_id=leader["id"], unit_id=unit["id"])
    return await api.difficulty(project, raised_on="2022-01-10", due_on=due_on, **kw)


def steps(timeline):
    return [(e["from_level"], e["to_level"], e["occurred_on"], e["days_overdue"])
            for e in timeline if e["kind"] == "escalate"]


async def test_an_overdue_difficulty_climbs_the_ladder_day_by_day(api):
    d = await overdue_difficulty(api, due_on="2022-03-01")
    assert (await run(api, "2022-03-01")).escalated == 0  # due today: not yet late
    first = await run(api, "2022-03-02")
    assert (first.escalated, first.steps) == (1, 1)
    after = await api.get_difficulty(d["id"])
    assert (after["escalation_level"], after["version"]) == ("leader", 2)
    assert after["escalated_at"] == NOW.isoformat().replace("+00:00", "Z")
    assert (await run(api, "2022-03-02")).escalated == 0  # the same day again: nothing new
    assert (await run(api, "2022-03-15")).escalated == 0  # 14 days late: still the leader's
    assert (await run(api, "2022-03-16")).steps == 1  # 15 days late: the supervision office
    assert (await run(api, "2022-12-31")).escalated == 0  # the top of the ladder
    timeline = await api.timeline(d["id"])
    assert steps(timeline) == [("unit", "leader", "2022-03-02", 1),
                               ("leader", "supervision_office", "2022-03-16", 15)]
    assert timeline[-1]["actor_name"] == "escalation job"
    assert "15 days past its due date (2022-03-01)" in timeline[-1]["note"]
    events = await api.audit(resource_id=str(d["id"]), action="difficulty.escalate")
    assert [(e["before"], e["after"]) for e in reversed(events)] == [
        ({"escalation_level": "unit"}, {"escalation_level": "leader", "days_overdue": 1}),
        ({"escalation_level": "leader"}, {"escalation_level": "supervision_office", "days_overdue": 15})]


async def test_a_long_overdue_difficulty_climbs_every_rung_at_once_each_recorded(api):
    d = await overdue_difficulty(api, due_on="2022-03-01")
    result = await run(api, "2022-06-01")
    assert (result.escalated, result.steps) == (1, 2)
    assert steps(await api.timeline(d["id"])) == [("unit", "leader", "2022-06-01", 92),
                                                  ("leader", "supervision_office", "2022-06-01", 92)]
    assert len(await api.audit(resource_id=str(d["id"]), action="difficulty.escalate")) == 1


async def test_an_escalated_difficulty_stays_escalated_when_resolved_and_is_listed_by_level(api):
    d = await overdue_difficulty(api)
    await run(api, "2022-03-05")
    r = await api.client.get("/api/v1/difficulties", headers=api.admin, params={"escalation_level": "leader"})
    assert [x["id"] for x in r.json()["items"]] == [d["id"]]
    await api.walk_difficulty(d, "resolved")
    assert (await run(api, "2022-12-31")).escalated == 0
    assert (await api.get_difficulty(d["id"]))["escalation_level"] == "leader"


@pytest.mark.parametrize("status", ["resolved", "closed"])
async def test_resolved_and_closed_difficulties_do_not_escalate(api, status):
    d = await api.walk_difficulty(await overdue_difficulty(api), status, on="2022-02-01")
    assert (await run(api, "2022-12-31")).examined == 0
    assert (await api.get_difficulty(d["id"]))["escalation_level"] == "unit"


async def test_an_in_progress_difficulty_escalates_like_an_open_one(api):
    d = await api.walk_difficulty(await overdue_difficulty(api), "in_progress", on="2022-02-01")
    assert (await run(api, "2022-03-02")).escalated == 1
    assert (await api.get_difficulty(d["id"]))["status"] == "in_progress"


async def test_difficulties_of_archived_projects_do_not_escalate(api):
    d = await overdue_difficulty(api)
    project = await api.get_project(d["project_id"])
    await api.client.delete(f"/api/v1/projects/{project['id']}", headers={**api.admin, "If-Match": "*"})
    assert (await run(api, "2022-12-31")).examined == 0


async def test_the_ladder_is_configurable(api):
    d = await overdue_difficulty(api, due_on="2022-03-01")
    straight_up = [EscalationRung(level="supervision_office", after_days=3)]
    assert (await run(api, "2022-03-03", ladder=straight_up)).escalated == 0
    assert (await run(api, "2022-03-04", ladder=straight_up)).steps == 1
    assert steps(await api.timeline(d["id"])) == [("unit", "supervision_office", "2022-03-04", 3)]
    assert (await run(api, "2022-12-31", ladder=[])).examined == 0


@pytest.mark.parametrize("ladder", [
    [{"level": "unit", "after_days": 1}],
    [{"level": "supervision_office", "after_days": 1}, {"level": "leader", "after_days": 5}],
    [{"level": "leader", "after_days": 10}, {"level": "supervision_office", "after_days": 5}],
    [{"level": "leader", "after_days": 0}],
], ids=["starts-at-the-unit", "goes-down", "comes-sooner", "not-late"])
def test_a_ladder_that_does_not_climb_is_refused(ladder):
    with pytest.raises(ValidationError):
        Settings(escalation_ladder=ladder)


def test_the_ladder_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("PIPELINE_ESCALATION_LADDER", '[{"level": "leader", "after_days": 3}]')
    assert Settings().escalation_ladder == [EscalationRung(level="leader", after_days=3)]


async def escalation_counts(api):
    async with api.app.state.sessionmaker() as session:
        per_difficulty = (await session.execute(
            select(DifficultyEvent.difficulty_id, func.count()).where(DifficultyEvent.kind == "escalate")
            .group_by(DifficultyEvent.difficulty_id))).all()
        audits = (await session.execute(select(func.count()).select_from(AuditEvent)
                                        .where(AuditEvent.action == "difficulty.escalate"))).scalar_one()
    return dict(per_difficulty), audits


async def test_two_concurrent_job_runs_on_separate_sessions_escalate_each_difficulty_once(api):
    difficulties = [await overdue_difficulty(api) for _ in range(12)]

    async def one_run():
        async with api.app.state.sessionmaker() as session, session.begin():
            return await escalation.escalate_overdue(session, today=date(2022, 3, 2), now=NOW,
                                                     ladder=DEFAULT_LADDER)

    runs = await asyncio.gather(one_run(), one_run())
    assert sum(r.escalated for r in runs) == 12 and sum(r.steps for r in runs) == 12
    per_difficulty, audits = await escalation_counts(api)
    assert per_difficulty == {d["id"]: 1 for d in difficulties}
    assert audits == 12
    for d in difficulties:
        assert (await api.get_difficulty(d["id"]))["version"] == 2


async def test_many_concurrent_jobs_in_small_batches_still_escalate_each_difficulty_once(api):
    difficulties = [await overdue_difficulty(api) for _ in range(10)]
    runs = await asyncio.gather(*(run(api, "2022-06-01", batch_size=3) for _ in range(4)))
    assert sum(r.escalated for r in runs) == 10 and sum(r.steps for r in runs) == 20
    per_difficulty, audits = await escalation_counts(api)
    assert per_difficulty == {d["id"]: 2 for d in difficulties}
    assert audits == 10


async def test_the_periodic_job_started_with_the_app_escalates_on_its_own(api, database_url):
    d = await overdue_difficulty(api, due_on=str(today() - timedelta(days=2)))
    app = create_app(Settings(database_url=database_url, escalation_job_enabled=True,
                              escalation_interval_seconds=0.05))
    async with app.router.lifespan_context(app):
        for _ in range(200):
            if (await api.get_difficulty(d["id"]))["escalation_level"] == "leader":
                break
            await asyncio.sleep(0.05)
    assert (await api.get_difficulty(d["id"]))["escalation_level"] == "leader"
    assert steps(await api.timeline(d["id"])) == [("unit", "leader", str(today()), 2)]


async def test_the_escalate_command_runs_the_job_for_a_given_day(tmp_path):
    db = migrated_sqlite(tmp_path)
    key = pipeline("create-key", "--role", "admin", "--name", "运维", db=db).stdout.strip().splitlines()[-1]
    admin = {"Authorization": f"Bearer {key}"}
    app = create_app(Settings(database_url=db, escalation_job_enabled=False))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://cli") as client:
        unit = (await client.post("/api/v1/units", headers=admin, json={"name": "市自然资源局"})).json()
        project = (await client.post("/api/v1/projects", headers=admin, json={
            "name": "稀土电缆项目", "investor": "某电缆公司", "investor_country": "CN", "funding_source": "domestic",
            "industry": "new_materials", "zone": "binhai_new_area", "unit_id": unit["id"],
            "total_investment": {"amount": "1000000000.00", "currency": "CNY"}})).json()
        r = await client.post(f"/api/v1/projects/{project['id']}/difficulties", headers=admin, json={
            "title": "用地指标", "category": "land", "raised_on": "2022-05-01", "due_on": "2022-06-01"})
        assert r.status_code == 201, r.text

    done = pipeline("escalate", "--today", "2022-06-20", db=db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "escalated 1 difficulties (2 steps) of 1 examined"
    again = pipeline("escalate", "--today", "2022-06-20", db=db)
    assert again.stdout.strip() == "escalated 0 difficulties (0 steps) of 0 examined"
    assert pipeline("escalate", "--today", "20.6.2022", db=db).returncode == 2


async def test_the_database_refuses_a_second_step_to_the_same_rung(api):
    d = await overdue_difficulty(api)
    await run(api, "2022-03-02")
    with pytest.raises(IntegrityError):
        async with api.app.state.sessionmaker() as session, session.begin():
            session.add(DifficultyEvent(difficulty_id=d["id"], kind="escalate", occurred_on=date(2022, 3, 3),
                                        from_level="unit", to_level="leader", actor_name="a second job"))
