"""The hot queries use their indexes (PostgreSQL): the plans of the statements the service
sends for a lookup by id, a selective list filter and one project's history scan no
table whole."""

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import event, text

from app import plainsql
from tests.factories import Api

PROJECTS = 5000
LEADERS = 200
HISTORY_PER_PROJECT = 4
WATCHED = {"projects", "stage_transitions"}


async def _fill(api: Api) -> None:
    """Thousands of projects with their history, written by the database itself, then ANALYZE."""
    async with api.app.state.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO leaders (name, version, created_at, updated_at) "
            "SELECT 'leader ' || n, 1, now(), now() FROM generate_series(1, :n) AS n"), {"n": LEADERS})
        first_leader = (await conn.execute(text("SELECT min(id) FROM leaders"))).scalar_one()
        await conn.execute(text(
            "INSERT INTO projects (name, investor, investor_country, funding_source, industry, zone, "
            "total_investment_amount, total_investment_currency, stage, stage_entered_on, leader_id, on_hold, "
            "version, created_at, updated_at) "
            "SELECT 'project ' || n, 'investor ' || n, 'CN', 'domestic', 'electronics', 'other', 1000 + n, 'CNY', "
            "'preliminary', DATE '2024-01-01' + n % 300, :first + n % :leaders, false, 1, now(), now() "
            "FROM generate_series(1, :n) AS n"), {"n": PROJECTS, "first": first_leader, "leaders": LEADERS})
        await conn.execute(text(
            "INSERT INTO stage_transitions (project_id, kind, from_stage, to_stage, occurred_on, left_on, "
            "actor_name, recorded_at) "
            "SELECT p.id, 'advance', 'negotiating', 'preliminary', DATE '2023-01-01' + k, "
            "CASE WHEN k < :h THEN DATE '2023-01-01' + k + 1 END, 'test', now() "
            "FROM projects p CROSS JOIN generate_series(1, :h) AS k"), {"h": HISTORY_PER_PROJECT})
        for table in ("leaders", "projects", "stage_transitions", "project_designations"):
            await conn.execute(text(f"ANALYZE {table}"))


def _scans(plan: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield plan["Node Type"], plan.get("Relation Name", "")
    for child in plan.get("Plans", ()):
        yield from _scans(child)


async def _plans_of(api: Api, path: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each SELECT the service sends for ``GET path`` on the watched tables, with its plan's scans."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        sent.append((statement, parameters))

    def record_plain(_connection: Any, statement: str, parameters: Sequence[Any]) -> None:
        sent.append((statement, parameters))

    engine = api.app.state.engine
    event.listen(engine.sync_engine, "before_cursor_execute", record)
    plainsql.observers.append(record_plain)
    try:
        r = await api.client.get(path, headers=api.admin)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        plainsql.observers.remove(record_plain)
    assert r.status_code == 200, r.text
    out = []
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        for statement, parameters in sent:
            if statement.lstrip().upper().startswith("SELECT") and any(t in statement for t in WATCHED):
                plan = await raw.fetchval("EXPLAIN (FORMAT JSON) " + statement, *(parameters or ()))
                plan = plan if isinstance(plan, list) else json.loads(plan)
                out.append((statement, list(_scans(plan[0]["Plan"]))))
    return out


@pytest.fixture
async def filled(api: Api, backend: str) -> Api:
    if backend != "postgres":
        pytest.skip("query plans are PostgreSQL's")
    await _fill(api)
    return api


def _assert_no_seq_scan(plans: list[tuple[str, list[tuple[str, str]]]]) -> None:
    assert plans, "the request sent no query on the watched tables"
    for statement, scans in plans:
        whole = [relation for node, relation in scans if node == "Seq Scan" and relation in WATCHED]
        assert not whole, f"Seq Scan on {whole} in:\n{statement}\n{scans}"


async def _some_project(api: Api) -> int:
    async with api.app.state.engine.connect() as conn:
        return int((await conn.execute(text("SELECT id FROM projects ORDER BY id OFFSET 2500 LIMIT 1"))).scalar_one())


async def test_a_project_is_read_by_its_primary_key(filled: Api) -> None:
    _assert_no_seq_scan(await _plans_of(filled, f"/api/v1/projects/{await _some_project(filled)}"))


async def test_a_leaders_projects_are_found_through_the_leader_index(filled: Api) -> None:
    async with filled.app.state.engine.connect() as conn:
        leader = (await conn.execute(text("SELECT max(leader_id) FROM projects"))).scalar_one()
    _assert_no_seq_scan(await _plans_of(filled, f"/api/v1/projects?leader_id={leader}&limit=20"))


async def test_a_projects_history_is_read_through_its_index(filled: Api) -> None:
    project = await _some_project(filled)
    _assert_no_seq_scan(await _plans_of(filled, f"/api/v1/projects/{project}/transitions"))
