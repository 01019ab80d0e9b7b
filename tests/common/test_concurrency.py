"""Concurrent writers and retried POSTs: no update lost, nothing made twice."""

import asyncio

import pytest
from sqlalchemy import func, select, text

from app.clock import today
from app.models import AuditEvent, Project, StageTransition
from tests.factories import project_body


async def count(api, model, *where):
    async with api.app.state.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def test_concurrent_patches_on_one_version_exactly_one_wins(api):
    p = await api.project()
    headers = {**api.admin, "If-Match": '"1"'}
    responses = await asyncio.gather(*(
        api.client.patch(f"/api/v1/projects/{p['id']}", headers=headers, json={"name": f"并发改名 {i}"})
        for i in range(50)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 49, statuses
    winner = next(r.json() for r in responses if r.status_code == 200)
    current = await api.get_project(p["id"])
    assert (current["name"], current["version"]) == (winner["name"], 2)
    updates = await count(api, AuditEvent, AuditEvent.action == "project.update")
    assert updates == 1


async def test_concurrent_stage_moves_on_one_version_leave_one_consistent_history(api):
    p = await api.project(stage_entered_on="2022-01-01")
    responses = await asyncio.gather(*(api.move(p, "signed" if i % 2 else "terminated", today(), reason="并发")
                                       for i in range(50)))
    assert sorted(r.status_code for r in responses) == [201] + [412] * 49
    current = await api.get_project(p["id"])
    r = await api.client.get(f"/api/v1/projects/{p['id']}/transitions", headers=api.admin)
    entries = r.json()["items"]
    assert len(entries) == 2 and entries[-1]["to_stage"] == current["stage"]
    assert await count(api, StageTransition, StageTransition.project_id == p["id"],
                       StageTransition.left_on.is_(None)) == 1


async def test_concurrent_posts_with_one_idempotency_key_create_one_project(api):
    body = project_body(name="日本电产新能源汽车驱动电机项目")
    headers = {**api.admin, "Idempotency-Key": "ledger-row-0042"}
    responses = await asyncio.gather(*(api.client.post("/api/v1/projects", headers=headers, json=body)
                                       for _ in range(20)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1
    assert await count(api, Project) == 1
    assert await count(api, AuditEvent, AuditEvent.action == "project.create") == 1


async def test_a_retried_post_returns_the_first_response_and_creates_nothing(api):
    body = project_body()
    headers = {**api.admin, "Idempotency-Key": "retry-1"}
    first = await api.client.post("/api/v1/projects", headers=headers, json=body)
    again = await api.client.post("/api/v1/projects", headers=headers, json=dict(reversed(list(body.items()))))
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["ETag"] == first.headers["ETag"] and again.headers["Location"] == first.headers["Location"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await count(api, Project) == 1


async def test_an_idempotency_key_reused_with_another_body_is_refused(api):
    headers = {**api.admin, "Idempotency-Key": "retry-2"}
    assert (await api.client.post("/api/v1/projects", headers=headers, json=project_body())).status_code == 201
    r = await api.client.post("/api/v1/projects", headers=headers, json=project_body())
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await count(api, Project) == 1


async def test_idempotency_keys_belong_to_their_principal(api):
    bureau = await api.key("bureau")
    body = project_body()
    a = await api.client.post("/api/v1/projects", headers={**api.admin, "Idempotency-Key": "k"}, json=body)
    b = await api.client.post("/api/v1/projects", headers={**bureau, "Idempotency-Key": "k"},
                              json={**body, "name": "另一个项目"})
    assert (a.status_code, b.status_code) == (201, 201)
    assert await count(api, Project) == 2


async def test_a_failed_post_does_not_consume_its_idempotency_key(api):
    headers = {**api.admin, "Idempotency-Key": "retry-3"}
    bad = await api.client.post("/api/v1/projects", headers=headers, json=project_body(leader_id=999))
    assert bad.status_code == 422
    good = await api.client.post("/api/v1/projects", headers=headers, json=project_body())
    assert good.status_code == 201
    assert await count(api, Project) == 1


async def test_a_transition_post_is_idempotent_too(api):
    p = await api.project()
    headers = {**api.admin, "If-Match": '"1"', "Idempotency-Key": "move-1"}
    body = {"to": "signed", "occurred_on": str(today())}
    url = f"/api/v1/projects/{p['id']}/transitions"
    first = await api.client.post(url, headers=headers, json=body)
    again = await api.client.post(url, headers=headers, json=body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert await count(api, StageTransition, StageTransition.project_id == p["id"]) == 2


async def test_an_idempotency_key_must_be_printable_and_short(api):
    r = await api.client.post("/api/v1/projects", headers={**api.admin, "Idempotency-Key": "x" * 256},
                              json=project_body())
    assert r.status_code == 422 and r.json()["errors"][0]["field"].lower() == "idempotency-key"
    assert await count(api, Project) == 0


async def test_a_request_that_cannot_get_a_connection_in_time_is_503(api, settings):
    from app.main import create_app

    app = create_app(settings.model_copy(update={"pool_size": 1, "max_overflow": 0, "pool_timeout_seconds": 0.5}))
    async with app.router.lifespan_context(app):
        if app.state.engine.dialect.name == "sqlite":
            pytest.skip("SQLite connections are not pooled to a limit")
        import httpx

        async with app.state.engine.connect() as held, httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://pool") as client:
            await held.execute(select(1))
            r = await client.get("/api/v1/projects", headers=api.admin)
        assert r.status_code == 503 and r.json()["code"] == "database_unavailable"
        assert r.headers["Retry-After"] == "5"


async def test_every_postgresql_query_runs_under_the_statement_timeout(api, settings, backend):
    if backend != "postgres":
        pytest.skip("a PostgreSQL setting")
    async with api.app.state.engine.connect() as conn:
        shown = (await conn.execute(text("SHOW statement_timeout"))).scalar_one()
    assert shown == f"{settings.statement_timeout_ms}ms" or shown == f"{settings.statement_timeout_ms // 1000}s"


async def test_an_import_and_stage_moves_racing_on_the_same_projects_lose_no_update(api):
    from tests.ledger_files import csv_bytes, ledger_row, table, upload

    codes = [f"2020-370214-04-01-{n:06d}" for n in range(1, 11)]
    created = await upload(api, csv_bytes(table([ledger_row(n, 项目代码=c) for n, c in enumerate(codes, 1)])))
    assert created.status_code == 200, created.text
    projects = [await api.client.get(f"/api/v1/projects/by-code/{c}", headers=api.admin) for c in codes]
    ledger = csv_bytes(table([ledger_row(n, 项目代码=c, **{"总投资(万元)": "6000"}) for n, c in enumerate(codes, 1)]))
    moves = [api.move(p.json(), "signed", today()) for p in projects]
    imported, *moved = await asyncio.gather(upload(api, ledger), *moves)
    assert imported.status_code in (200, 412, 422), imported.text
    assert {r.status_code for r in moved} <= {201, 412}
    for p, move in zip(projects, moved, strict=True):
        now = await api.get_project(p.json()["id"])
        if imported.status_code == 200:
            assert now["total_investment"]["amount"] == "60000000.00"
        if move.status_code == 201:
            assert now["stage"] == "signed"
        r = await api.client.get(f"/api/v1/projects/{now['id']}/transitions", headers=api.admin)
        assert len(r.json()["items"]) == 1 + (move.status_code == 201)
    assert imported.status_code == 200 or any(m.status_code == 201 for m in moved)


async def test_housekeeping_drops_expired_idempotency_records_and_nothing_else(api):
    from datetime import timedelta

    from app.models import IdempotencyRecord, utcnow
    from app.services.events import housekeeping

    await api.client.post("/api/v1/projects", headers={**api.admin, "Idempotency-Key": "old"}, json=project_body())
    await api.client.post("/api/v1/projects", headers={**api.admin, "Idempotency-Key": "new"}, json=project_body())
    async with api.app.state.sessionmaker() as session, session.begin():
        old = (await session.execute(select(IdempotencyRecord).where(IdempotencyRecord.key == "old"))).scalar_one()
        old.expires_at = utcnow() - timedelta(seconds=1)
    async with api.app.state.sessionmaker() as session, session.begin():
        records, _ = await housekeeping.sweep(session, now=utcnow())
    assert records == 1
    async with api.app.state.sessionmaker() as session:
        keys = set((await session.execute(select(IdempotencyRecord.key))).scalars())
    assert keys == {"new"}
