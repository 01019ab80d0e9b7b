"""``/stats/investment`` grouped by leader beside GET a project by id: p50 latencies.

    python -m bench.investment --database-url postgresql+asyncpg://USER@HOST/DB --projects 2000

Loads ``bench.generate``'s data set (it drops the database's public schema), then a 2025
annual plan for every project and twelve months of 2025 reports (one month in ten with a
returned first version and an accepted second), with COPY; then times sequential
requests of each through the application in this process (httpx over ASGI: no socket,
no load driver), after a warm-up. A small run only: the figures are for comparing the
two requests with each other, on the same machine at the same time.
"""

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import httpx

from bench.generate import asyncpg_dsn, load

YEAR = 2025


async def reports(url: str, *, seed: int = 17) -> int:
    rng = random.Random(seed)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM projects ORDER BY id")]
        now = datetime.now(UTC)
        plans = [(pid, YEAR, Decimal(rng.randint(100, 10_000)) * 10_000, "CNY", 1, now, now) for pid in ids]
        await conn.copy_records_to_table("annual_plans", records=plans, columns=[
            "project_id", "year", "planned_amount", "planned_currency", "version", "created_at", "updated_at"])
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
        await conn.execute("ANALYZE annual_plans; ANALYZE progress_reports")
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


async def main_async(args: argparse.Namespace) -> None:
    from app.config import Settings
    from app.main import create_app
    from tests.factories import Api

    counts = await load(args.database_url, projects=args.projects, history=args.history)
    n_reports = await reports(args.database_url)
    settings = Settings(database_url=args.database_url, escalation_job_enabled=False, webhook_worker_enabled=False,
                        housekeeping_enabled=False, rate_limit_per_minute=0, gc_freeze=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        api = Api(client, app)
        await api.setup_admin()
        by_id = await p50(client, api.admin, "/api/v1/projects/1", args.requests)
        stats = await p50(client, api.admin, f"/api/v1/stats/investment?year={YEAR}&month=12&group_by=leader",
                          args.requests)
    print(f"{counts.get('projects', args.projects):,} projects, {n_reports:,} report rows; "
          f"{args.requests} sequential requests each, p50:")
    print(f"  GET /projects/{{id}}: {by_id:.1f} ms")
    print(f"  GET /stats/investment?year={YEAR}&month=12&group_by=leader: {stats:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--history", type=int, default=4)
    parser.add_argument("--requests", type=int, default=30)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
