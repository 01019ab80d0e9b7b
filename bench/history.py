"""The aggregates on a past date (``as_of``) and by an earlier knowledge (``known_on``) beside
today's, and GET a project by id: p50 latencies.

    python -m bench.history --database-url postgresql+asyncpg://USER@HOST/DB --projects 100000 [--skip-load]

Loads ``bench.generate``'s data set (it drops the database's public schema), then dates back
a leader change for one project in ten (``REASSIGNED_ON``, recorded now, as
``app.services.projects.history`` records one: the version superseded, its two copies cut
at that date); then times sequential requests through the application in this process
(httpx over ASGI), after a warm-up. The figures compare the requests with each other, on
the same machine at the same time.
"""

import argparse
import asyncio
import os
from datetime import UTC, date, datetime
from urllib.parse import quote

import asyncpg
import httpx

from app.models.project import HISTORISED
from bench.generate import LEADERS, asyncpg_dsn, load
from bench.investment import p50

REASSIGNED_ON = date(2024, 1, 1)
AS_OF = "2024-06-30"


async def reassign(url: str) -> int:
    """One project in ten goes to the next leader from ``REASSIGNED_ON``."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    kept = ", ".join(HISTORISED)
    before = ", ".join(name for name in HISTORISED if name != "leader_id")
    try:
        async with conn.transaction():
            now = datetime.now(UTC)
            await conn.execute("CREATE TEMP TABLE moved AS SELECT * FROM project_versions "
                               "WHERE project_id % 10 = 3 AND superseded_at IS NULL AND leader_id IS NOT NULL")
            await conn.execute("UPDATE project_versions SET superseded_at = $1 WHERE id IN (SELECT id FROM moved)",
                               now)
            await conn.execute(f"INSERT INTO project_versions (project_id, valid_to, recorded_at, archived, {kept}) "
                               f"SELECT project_id, $1::date, $2, archived, {kept} FROM moved", REASSIGNED_ON, now)
            await conn.execute(f"INSERT INTO project_versions (project_id, valid_from, recorded_at, archived, "
                               f"leader_id, {before}) SELECT project_id, $1::date, $2, archived, "
                               f"leader_id % {LEADERS} + 1, {before} FROM moved", REASSIGNED_ON, now)
            await conn.execute(f"UPDATE projects SET leader_id = leader_id % {LEADERS} + 1 WHERE id IN "
                               "(SELECT project_id FROM moved)")
            moved = int(await conn.fetchval("SELECT count(*) FROM moved"))
        await conn.execute("ANALYZE project_versions; ANALYZE projects")
        return moved
    finally:
        await conn.close()


async def main_async(args: argparse.Namespace) -> None:
    from app.config import Settings
    from app.main import create_app
    from tests.factories import Api

    if not args.skip_load:
        await load(args.database_url, projects=args.projects, history=10 * args.projects)
        print(f"{await reassign(args.database_url):,} projects reassigned from {REASSIGNED_ON}")
    settings = Settings(database_url=args.database_url, escalation_job_enabled=False, webhook_worker_enabled=False,
                        housekeeping_enabled=False, rate_limit_per_minute=0, gc_freeze=False,
                        statement_timeout_ms=600_000)
    app = create_app(settings)
    known_on = quote(datetime.now(UTC).isoformat())  # its "+" would read as a space
    pipeline = "/api/v1/stats/pipeline?group_by=stage,funding_source&funnel=false"
    figures = {"/stats/pipeline by stage, funding_source (funnel=false)": pipeline,
               "/stats/targets (year 2026)": "/api/v1/stats/targets?year=2026",
               "/stats/project-health (first page)": "/api/v1/stats/project-health?limit=50",
               "leader 14's dashboard": "/api/v1/leaders/14/dashboard"}
    paths = {"GET /projects/{id}": "/api/v1/projects/1"}
    for label, path in figures.items():
        join = "&" if "?" in path else "?"
        paths[label] = path
        # Today's figure read through the versions and the known stage moves (known_on now):
        # the same date and data as the line above, so what the history costs by itself.
        paths[f"{label}, known_on now"] = f"{path}{join}known_on={known_on}"
        paths[f"{label}, as_of={AS_OF}"] = f"{path}{join}as_of={AS_OF}"
        paths[f"{label}, as_of={AS_OF}, known_on"] = f"{path}{join}as_of={AS_OF}&known_on={known_on}"
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client:
        api = Api(client, app)
        await api.setup_admin()
        results = {label: await p50(client, api.admin, path, args.requests) for label, path in paths.items()}
    print(f"\n{args.requests} sequential requests each, load average {os.getloadavg()[0]:.1f}; p50, and against "
          "GET by id and today's figure:")
    by_id = results["GET /projects/{id}"]
    for label, ms in results.items():
        today_ms = results[label.split(", as_of=")[0].removesuffix(", known_on now")]
        print(f"  {label}: {ms:.1f} ms ({ms / by_id:.0f}x GET by id, {ms / today_ms:.2f}x today's)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--skip-load", action="store_true", help="time the database as it is loaded already")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
