"""``/stats/investment`` grouped by leader beside GET a project by id: p50 latencies.

    python -m bench.investment --database-url postgresql+asyncpg://USER@HOST/DB --projects 2000 [--explain]

Loads ``bench.generate``'s data set (it drops the database's public schema), then a 2025
annual plan for every project and twelve months of 2025 reports (one month in ten with a
returned first version and an accepted second), with COPY; then times sequential
requests of each through the application in this process (httpx over ASGI: no socket,
no load driver), after a warm-up: ``/stats/investment`` for June grouped by leader, and
the same as of a date mid-year. The figures are for comparing the requests with each
other, on the same machine at the same time. ``--explain`` prints the plan
(``EXPLAIN (ANALYZE, BUFFERS)``) of the aggregate each ``/stats/investment`` request
issues, as captured from the service's engine; ``--skip-load`` times an already loaded
database.
"""

import argparse
import asyncio
import os
import random
import statistics
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from bench.generate import asyncpg_dsn, load

YEAR = 2025
MONTH = 6
AS_OF = date(YEAR, 6, 30)  # June's own reports, accepted in July, do not count yet


async def reports(url: str, *, seed: int = 17) -> int:
    rng = random.Random(seed)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM projects ORDER BY id")]
        now = datetime.now(UTC)
        plans = [(pid, YEAR, Decimal(rng.randint(100, 10_000)) * 10_000, "CNY", 1, now, now) for pid in ids]
        await conn.copy_records_to_table("annual_plans", records=plans, columns=[
            "project_id", "year", "planned_amount", "planned_currency", "version", "created_at", "updated_at"])
        # Each plan's first version, as plans.create records it (the statistics read the versions).
        await conn.execute("INSERT INTO annual_plan_versions (plan_id, recorded_at, planned_amount, planned_currency) "
                           "SELECT id, created_at, planned_amount, planned_currency FROM annual_plans WHERE year = $1",
                           YEAR)
        rows = []
        for pid in ids:
            for month in range(1, 13):
                due = date(YEAR + month // 12, month % 12 + 1, 5)
                amount = Decimal(rng.randint(1, 1_000)) * 10_000
                versions = [("returned", None), ("accepted", due)] if rng.random() < 0.1 else [("accepted", due)]
                for revision, (status, accepted_on) in enumerate(versions, start=1):
                    rows.append((pid, YEAR, month, revision, status, amount, amount / 2, "bench", now, due, due,
                                 False, False, accepted_on, now if accepted_on else None, 1))
        await conn.copy_records_to_table("progress_reports", records=rows, columns=[
            "project_id", "year", "month", "revision", "status", "investment_amount", "funds_own_funds", "filed_by",
            "filed_at", "filed_on", "due_on", "late", "not_required", "accepted_on", "accepted_at", "version"])
        await conn.execute("ANALYZE annual_plans; ANALYZE annual_plan_versions; ANALYZE progress_reports")
        return len(rows)
    finally:
        await conn.close()


async def p50(client: httpx.AsyncClient, headers: dict[str, str], path: str, n: int) -> float:
    for _ in range(3):
        assert (await client.get(path, headers=headers)).status_code == 200
    times = []
    for _ in range(n):
        start = time.perf_counter()
        r = await client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, r.text
    return statistics.median(times)


async def explain(client: httpx.AsyncClient, headers: dict[str, str], path: str, url: str,
                  seen: list[tuple[str, tuple[Any, ...]]]) -> None:
    """The plan of the aggregate one GET of ``path`` issues (its longest statement), run with its parameters."""
    assert (await client.get(path, headers=headers)).status_code == 200
    seen.clear()
    assert (await client.get(path, headers=headers)).status_code == 200
    statement, parameters = max(((s, p) for s, p in seen if s.lstrip().upper().startswith(("SELECT", "WITH"))),
                                key=lambda sp: len(sp[0]))
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *parameters)
    finally:
        await conn.close()
    print(f"\n-- {path}\n{statement}\n-- parameters: {parameters}")
    print("\n".join(r[0] for r in plan))


async def counts_of(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return (await conn.fetchval("SELECT count(*) FROM projects"),
                await conn.fetchval("SELECT count(*) FROM progress_reports"))
    finally:
        await conn.close()


async def main_async(args: argparse.Namespace) -> None:
    from sqlalchemy import event

    from app.config import Settings
    from app.main import create_app
    from tests.factories import Api

    if not args.skip_load:
        await load(args.database_url, projects=args.projects, history=args.history)
        await reports(args.database_url)
    if args.load_only:
        return
    n_projects, n_reports = await counts_of(args.database_url)
    settings = Settings(database_url=args.database_url, escalation_job_enabled=False, webhook_worker_enabled=False,
                        housekeeping_enabled=False, rate_limit_per_minute=0, gc_freeze=False,
                        statement_timeout_ms=600_000)
    app = create_app(settings)
    stats_path = f"/api/v1/stats/investment?year={YEAR}&month={MONTH}&group_by=leader"
    paths = {"GET /projects/{id}": "/api/v1/projects/1", "GET " + stats_path.removeprefix("/api/v1"): stats_path,
             f"GET {stats_path.removeprefix('/api/v1')}&as_of={AS_OF}": f"{stats_path}&as_of={AS_OF}"}
    seen: list[tuple[str, tuple[Any, ...]]] = []
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
            seen.append((statement, tuple(parameters or ())))

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", record)
        api = Api(client, app)
        await api.setup_admin()
        results = {label: await p50(client, api.admin, path, args.requests) for label, path in paths.items()}
        if args.explain:
            for path in list(paths.values())[1:]:
                await explain(client, api.admin, path, args.database_url, seen)
    print(f"\n{n_projects:,} projects, {n_reports:,} report rows; {args.requests} sequential requests each, "
          f"load average {os.getloadavg()[0]:.1f}; p50:")
    for label, ms in results.items():
        print(f"  {label}: {ms:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--history", type=int, default=4)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--explain", action="store_true", help="print the plans of the /stats/investment statements")
    parser.add_argument("--skip-load", action="store_true", help="time the database as it is loaded already")
    parser.add_argument("--load-only", action="store_true", help="load the data set, time nothing")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
