"""The performance benchmark: the service against the bare floor, at province scale.

    python -m bench.run [--database-url postgresql+asyncpg://USER@HOST/DB] [--projects 1000000] [--skip-load]
                        [--out bench/RESULTS-1M.md]

Loads the data set (bench/generate.py), starts the service with uvicorn (one process; two
processes; one process of two workers) and the bare baseline (bench/baseline_app.py) on
loopback ports, drives each with wrk (bench/load.py), times the aggregates' own SQL alone
(captured from the service, run with asyncpg), and writes bench/RESULTS.md.
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import httpx

from app.services.common.pagination import _encode
from bench import capture, generate
from bench.load import CpuSplit, Figures, cpu_split, drive, http_get, wrk

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
CONCURRENCY = 16
STATEMENT_TIMEOUT_MS = 600_000
KEYS = 16
ONE = "service, 1 process"
ONE_AGAIN = "service, 1 process (beside the 2-process runs)"
SHARED = "service, uvicorn --workers 2"
TWO = "service, 2 processes"
TURNS = 2
TURN_SECONDS = 5.0
AGG_REQUESTS = 20
AGG_SECONDS = 20.0
TRANSITIONS = 1_000
PAGE = 50
DEEP_PAGES = 1_000
AS_OF = "2024-06-30"
GROUP = "group_by=stage,funding_source"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(app: str, url: str, workers: int, *, factory: bool) -> Iterator[tuple[str, int]]:
    """``uvicorn app`` on a loopback port until the block ends; yields its base URL and pid."""
    port = _free_port()
    # A handful of keys drive the whole load: their rate limit is set out of reach, but
    # still counted, so each request pays for its count as in production.
    env = {**os.environ, "PIPELINE_DATABASE_URL": url, "PIPELINE_ESCALATION_JOB_ENABLED": "false",
           "PIPELINE_WEBHOOK_WORKER_ENABLED": "false", "PIPELINE_IMPORT_JOB_WORKER_ENABLED": "false",
           "PIPELINE_LOG_LEVEL": "WARNING",
           "PIPELINE_RATE_LIMIT_PER_MINUTE": str(10**9), "PIPELINE_HOUSEKEEPING_ENABLED": "false",
           # A connection per concurrent request, in the service and the baseline alike.
           "PIPELINE_POOL_SIZE": str(CONCURRENCY),
           # The aggregates over 10^7 history rows outlast the default 15 s: time them whole.
           "PIPELINE_STATEMENT_TIMEOUT_MS": str(STATEMENT_TIMEOUT_MS)}
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--workers",
           str(workers), "--log-level", "warning", "--no-access-log", *(["--factory"] if factory else [])]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{app} did not start")
        time.sleep(1.0 if workers > 1 else 0.2)  # let every worker come up
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _two_process_bound(cpu: CpuSplit, one: Figures, baseline: Figures) -> list[str]:
    """What the cores allow two processes, from the one-process run's split.

    One process is bound by its core: it serves 1/s requests a second, s being its CPU per
    request. Two share the machine's cores with everything else a request costs (q:
    PostgreSQL, wrk, the rest), so they serve at most cores/(s+q): at most cores·s/(s+q)
    times one. GET by id at 0.5× the baseline needs s ≤ 1/(0.5·baseline)."""
    cores = os.cpu_count() or 1
    s = cpu.service / one.rps
    q = (cpu.postgres + cpu.driver + cpu.other) / one.rps
    s_max = 1 / (0.5 * baseline.rps)
    return [f"What these {cores} cores allow two processes, from the one-process run beside them: the service "
            f"spent {1000 * s:.3f} ms of CPU per request and everything else {1000 * q:.3f} ms (PostgreSQL, wrk, "
            f"other processes), so two processes can serve at most {cores * s / (s + q):.2f}× one. Reaching 1.6× "
            f"needs the service to spend at least {1000 * 1.6 * q / (cores - 1.6):.3f} ms per request; "
            f"GET by id at 0.5× the baseline needs at most {1000 * s_max:.3f} ms, which would allow at most "
            f"{cores * s_max / (s_max + q):.2f}×. "
            + ("So on this machine the two targets cannot both be met." if 1.6 * q / (cores - 1.6) > s_max
               else "Both targets can be met on this machine.")]


def create_key(url: str, name: str) -> str:
    out = subprocess.run([sys.executable, "-m", "app.cli", "create-key", "--role", "admin", "--name", name],
                         cwd=ROOT, env={**os.environ, "PIPELINE_DATABASE_URL": url}, check=True,
                         capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


class Bench:
    def __init__(self, url: str, keys: list[str]) -> None:
        self.url = url
        self.keys = keys  # the reads rotate through them, as many users would
        self.key = keys[0]
        self.dsn = generate.asyncpg_dsn(url)
        # (group, figure): cores busy during its run, and each service process's share
        self.cpu: dict[tuple[str, str], tuple[CpuSplit, list[float]]] = {}

    async def facts(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            self.ids = [r["id"] for r in await conn.fetch("SELECT id FROM projects ORDER BY random() LIMIT 5000")]
            pick = await conn.fetchrow("SELECT leader_id, stage, count(*) n FROM projects WHERE archived_at IS NULL "
                                       "GROUP BY 1, 2 HAVING count(*) > 60 ORDER BY count(*) LIMIT 1")
            self.leader, self.stage, self.selective = pick["leader_id"], pick["stage"], pick["n"]
            deep = await conn.fetchrow("SELECT name, id FROM projects WHERE archived_at IS NULL ORDER BY name, id "
                                       f"OFFSET {PAGE * DEEP_PAGES - 1} LIMIT 1")
            self.deep_cursor = _encode("name", deep["name"], deep["id"])
            self.movable = list(await conn.fetch(
                "SELECT id, version, stage FROM projects WHERE archived_at IS NULL AND NOT on_hold AND stage IN "
                "('negotiating','signed','registered','preliminary','under_construction') ORDER BY random() "
                f"LIMIT {TRANSITIONS}"))
            self.pg_version = await conn.fetchval("SHOW server_version")
            self.counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}")
                           for t in ("projects", "stage_transitions", "difficulties", "target_members")}
        finally:
            await conn.close()

    def reads(self, prefix: str) -> dict[str, list[str]]:
        """Each read figure's request paths (wrk sends them round-robin)."""
        return {
            "GET project by id": [f"{prefix}/projects/{i}" for i in self.ids],
            "list, filtered (leader_id & stage), first page":
                [f"{prefix}/projects?leader_id={self.leader}&stage={self.stage}&limit={PAGE}"],
            "list, all, first page": [f"{prefix}/projects?limit={PAGE}"],
            f"list, all, page {DEEP_PAGES:,}": [f"{prefix}/projects?limit={PAGE}&cursor={self.deep_cursor}"],
        }

    def aggregates(self) -> dict[str, str]:
        return {
            "/stats/pipeline by stage, funding_source": f"/api/v1/stats/pipeline?{GROUP}",
            f"/stats/pipeline by stage, funding_source, as_of={AS_OF}": f"/api/v1/stats/pipeline?{GROUP}&as_of={AS_OF}",
            "/stats/targets (year 2026)": "/api/v1/stats/targets?year=2026",
            f"leader {self.leader}'s dashboard": f"/api/v1/leaders/{self.leader}/dashboard",
        }

    def alternate(self, sides: dict[str, tuple[list[tuple[str, int]], str]], names: list[str]) -> dict[
            str, dict[str, Figures]]:
        """Each read figure for each side (its servers, its path prefix) in ``TURNS`` turns of
        ``TURN_SECONDS`` that alternate between the sides, so that the machine's drift falls on
        all of them alike. With several servers on a side, wrk splits the connections evenly
        among them (a wrk for each), as a load balancer would."""
        out: dict[str, dict[str, Figures]] = {group: {} for group in sides}
        for name in names:
            turns: dict[str, list[tuple[Figures, CpuSplit, list[float]]]] = {group: [] for group in sides}
            for turn in range(TURNS):
                for group, (servers, prefix) in sides.items():
                    turns[group].append(cpu_split(  # type: ignore[misc]
                        lambda servers=servers, prefix=prefix, turn=turn, name=name: self._drive(
                            servers, self.reads(prefix)[name], warmup=2.0 if turn == 0 else 0.0),
                        {pid for _, pid in servers}))
            for group, done in turns.items():
                figures = [f for f, _, _ in done]
                out[group][name] = Figures(
                    requests=sum(f.requests for f in figures), errors=sum(f.errors for f in figures),
                    seconds=sum(f.seconds for f in figures), p50_ms=sum(f.p50_ms for f in figures) / len(figures),
                    p99_ms=max(f.p99_ms for f in figures))
                cpus = [c for _, c, _ in done]
                mean = CpuSplit(**{k: sum(getattr(c, k) for c in cpus) / len(cpus)
                                   for k in ("service", "postgres", "driver", "other", "idle")})
                self.cpu[(group, name)] = (mean, done[-1][2])
                self._print(group, name, out[group][name])
        return out

    def _drive(self, servers: list[tuple[str, int]], targets: list[str], *, warmup: float) -> Figures:
        authorizations = [f"Bearer {k}" for k in self.keys]
        with ThreadPoolExecutor(len(servers)) as pool:
            parts = list(pool.map(lambda base: wrk(
                base, targets, authorizations=authorizations, concurrency=CONCURRENCY // len(servers),
                seconds=TURN_SECONDS, warmup_seconds=warmup), [base for base, _ in servers]))
        return Figures(requests=sum(p.requests for p in parts), errors=sum(p.errors for p in parts),
                       seconds=max(p.seconds for p in parts), p50_ms=max(p.p50_ms for p in parts),
                       p99_ms=max(p.p99_ms for p in parts))

    async def sequential(self, base: str, paths: dict[str, str], group: str) -> dict[str, Figures]:
        """Latency at concurrency 1, with the Python driver (the figure is latency, not rate)."""
        out = {}
        async with httpx.AsyncClient(base_url=base, timeout=600,
                                     headers={"Authorization": f"Bearer {self.key}"}) as client:
            for name, path in paths.items():
                out[name] = await drive(http_get(client, lambda _n, path=path: path), concurrency=1,
                                        requests=AGG_REQUESTS, seconds=AGG_SECONDS, warmup=1)
                self._print(group, name, out[name])
        return out

    @staticmethod
    def _print(group: str, name: str, f: Figures) -> None:
        print(f"  {group:<22} {name:<60} {f.rps:8.1f}/s p50 {f.p50_ms:8.1f} ms p99 {f.p99_ms:8.1f} ms "
              f"errors {f.errors}", flush=True)

    async def transitions(self, base: str) -> Figures:
        today = date.today().isoformat()
        order = generate.STAGES

        async with httpx.AsyncClient(base_url=base, timeout=600,
                                     headers={"Authorization": f"Bearer {self.key}"}) as client:
            async def call(n: int) -> None:
                if n < 0:
                    return
                p = self.movable[n]
                r = await client.post(f"/api/v1/projects/{p['id']}/transitions",
                                      json={"to": order[order.index(p["stage"]) + 1], "occurred_on": today},
                                      headers={"If-Match": f'"{p["version"]}"'})
                if r.status_code != 201:
                    raise RuntimeError(f"{r.status_code}: {r.text[:300]}")

            result = await drive(call, concurrency=CONCURRENCY, requests=len(self.movable), seconds=10.0)
        print(f"  transitions {result.rps:.1f}/s p50 {result.p50_ms:.1f} errors {result.errors}", flush=True)
        return result

    async def raw_sql(self) -> tuple[dict[str, Figures], dict[str, list[capture.Statement]]]:
        """Each aggregate's SQL, captured from the service, timed alone with asyncpg."""
        captured: dict[str, list[capture.Statement]] = {}
        async with capture.in_process(self.url, self.key) as (client, seen):
            for name, path in self.aggregates().items():
                captured[name] = await capture.statements_of(client, seen, path)
        out = {}
        # No statement cache: each run is planned for its parameters, as the service's requests
        # are (its pool spreads them over many connections, so none reaches PostgreSQL's switch
        # to a generic plan after five runs of one prepared statement).
        conn = await asyncpg.connect(self.dsn, server_settings=await self._server_settings(),
                                     statement_cache_size=0)
        try:
            for name, statements in captured.items():
                async def call(_n: int, statements: list[capture.Statement] = statements) -> None:
                    async with conn.transaction():
                        for sql, params in statements:
                            await conn.fetch(sql, *params)
                out[name] = await drive(call, concurrency=1, requests=AGG_REQUESTS, seconds=AGG_SECONDS, warmup=1)
                print(f"  raw SQL  {name:<60} p50 {out[name].p50_ms:8.1f} ms ({len(statements)} statements)",
                      flush=True)
        finally:
            await conn.close()
        return out, captured

    async def _server_settings(self) -> dict[str, str]:
        """The session settings the service's engine sets (app/db.py), so the raw SQL runs alike."""
        from app.config import Settings
        from app.db import make_engine

        engine = make_engine(Settings(database_url=self.url))
        try:
            args = engine.dialect.create_connect_args(engine.url)[1]
            settings: dict[str, str] = dict(args.get("server_settings") or {})
        finally:
            await engine.dispose()
        return settings


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}×" if base else "—"


def write_results(b: Bench, one: dict[str, Figures], base: dict[str, Figures], alone: dict[str, Figures],
                  two: dict[str, Figures], shared: dict[str, Figures], agg: dict[str, Figures],
                  raw: dict[str, Figures], moves: Figures, command: str, wall: float, out: Path) -> str:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: `{command}` (whole run {wall / 60:.1f} min)",
        f"- Machine: {os.cpu_count()} CPUs (nproc), {cpu}; Python {platform.python_version()}; "
        f"PostgreSQL {b.pg_version} on the same machine. "
        "PostgreSQL, the service, the baseline and the load driver all share these cores.",
        f"- Data: {b.counts['projects']:,} projects, {b.counts['stage_transitions']:,} stage-history rows, "
        f"{b.counts['difficulties']:,} difficulties, 4 targets ({b.counts['target_members']:,} list members); "
        f"selective filter leader_id={b.leader}&stage={b.stage} ({b.selective} projects); page size {PAGE}.",
        f"- Reads: wrk (one thread), concurrency {CONCURRENCY}, the requests rotating through {KEYS} API keys; "
        f"each figure in {TURNS} turns of {TURN_SECONDS:.0f} s per side after a 2 s warm-up, the sides taking "
        "turns (baseline, service, baseline, service; one process, two processes, …) so that the machine's "
        "drift falls on both; p50 is the turns' mean, p99 their worst; "
        f"the service and the baseline each hold a pool of {CONCURRENCY} connections per process. "
        f"Aggregates: the Python driver at concurrency 1, at most {AGG_REQUESTS} requests or {AGG_SECONDS:.0f} s "
        "each; the raw SQL is the statements the service sent for that request (captured from its engine), "
        "run in one transaction "
        "with asyncpg on one connection with the service's session settings and no statement cache "
        "(each run planned for its parameters, as the service's are).",
        "- The per-key rate limit is on, at 10⁹ requests a minute (out of reach, but each request's count is "
        "made, in the service and in the baseline alike). The statement timeout is "
        f"{STATEMENT_TIMEOUT_MS // 1000} s (the service's default is 15 s).",
        "",
        "## What each path uses",
        "",
        "- Every request: the rate-limit count and the API-key lookup, as plain SQL (`app/plainsql.py`) on a "
        "bare pooled asyncpg connection (`plainsql.connect`: no SQLAlchemy connection or session around it), "
        "each committed by itself; the connection goes back to the pool before the request takes another.",
        "- GET a project by id: its FastAPI route, authorised by the same dependency as every route "
        "(`require(session=False)`: no session, no Idempotency-Key); one bare pooled connection "
        "(`plainsql.connect`) for the rate-limit count, the key lookup and the read; one plain statement (the row "
        "with its designations as JSON); the response encoded once from plain values (`pydantic_core.to_json`), "
        "not through the response model.",
        "- The project list: a FastAPI route, authorised without a session too; a Core statement built per "
        "request, run on a SQLAlchemy connection (no session) whose compiled cache serves each shape; encoded as "
        "above.",
        "- The aggregates: SQLAlchemy Core through the engine. The stage transition: the ORM, in one transaction.",
        "- The baseline compiles the same statements from the service's own statement objects at start-up "
        "(`bench/baseline_app.py`) and runs them with an asyncpg pool under bare Starlette.",
        "",
        "## Reads: the service (1 process) against the bare baseline (Starlette + asyncpg, same SQL)",
        "",
        "| Request | service req/s | p50 ms | p99 ms | baseline req/s | p50 ms | p99 ms | throughput ratio | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, f in one.items():
        g = base[name]
        target = "≥ 0.50×" if "all, first" not in name and "page 1" not in name else "—"
        lines.append(f"| {name} | {f.rps:.0f} | {f.p50_ms:.1f} | {f.p99_ms:.1f} | {g.rps:.0f} | {g.p50_ms:.1f} | "
                     f"{g.p99_ms:.1f} | {_ratio(f.rps, g.rps)} | {target} |")
    first, deep = one["list, all, first page"], one[f"list, all, page {DEEP_PAGES:,}"]
    lines += ["", f"Deep page against first page (service, p50 latency): {_ratio(deep.p50_ms, first.p50_ms)} "
              f"(throughput {_ratio(first.rps, deep.rps)} of the first page's cost; target ≤ 1.2×).", "",
              "## Aggregates: the service against its own SQL timed alone", "",
              "| Request | service p50 ms | p99 ms | raw SQL p50 ms | p99 ms | ratio (p50) | target |",
              "|---|---:|---:|---:|---:|---:|---|"]
    for name, f in agg.items():
        g = raw[name]
        lines.append(f"| {name} | {f.p50_ms:.1f} | {f.p99_ms:.1f} | {g.p50_ms:.1f} | {g.p99_ms:.1f} | "
                     f"{_ratio(f.p50_ms, g.p50_ms)} | ≤ 1.5× |")
    names = list(agg)
    lines += ["", f"`as_of` against the current-state aggregate (service, p50): "
              f"{_ratio(agg[names[1]].p50_ms, agg[names[0]].p50_ms)} (target ≤ 3×).", "",
              "## Scaling and writes", "",
              "| Figure | req/s | p50 ms | p99 ms | ratio | target |", "|---|---:|---:|---:|---:|---|"]
    g1, g2, gs = alone["GET project by id"], two["GET project by id"], shared["GET project by id"]
    lines.append(f"| GET project by id, 1 process | {g1.rps:.0f} | {g1.p50_ms:.1f} | {g1.p99_ms:.1f} | 1.00× | |")
    lines.append(f"| GET project by id, 2 processes, connections split evenly | {g2.rps:.0f} | {g2.p50_ms:.1f} | "
                 f"{g2.p99_ms:.1f} | {_ratio(g2.rps, g1.rps)} | ≥ 1.6× |")
    lines.append(f"| GET project by id, `uvicorn --workers 2` (one shared socket) | {gs.rps:.0f} | {gs.p50_ms:.1f} | "
                 f"{gs.p99_ms:.1f} | {_ratio(gs.rps, g1.rps)} | |")
    lines.append(f"| stage transition (POST, If-Match), 1 process | {moves.rps:.0f} | {moves.p50_ms:.1f} | "
                 f"{moves.p99_ms:.1f} | no baseline | |")
    lines += ["", "Two processes stand for two behind a load balancer: a wrk for each, with half the "
              "connections. Under `uvicorn --workers 2` the workers share one listening socket and the "
              "connections land where they land (the shares below).", "",
              f"Where the {os.cpu_count()} cores went during each GET-by-id run (cores busy, from /proc; "
              "interrupt time is in no column):", "",
              "| Run | service (each process, last turn) | PostgreSQL | wrk | other processes | idle | "
              "service CPU ms per request |", "|---|---:|---:|---:|---:|---:|---:|"]
    for group, figures in (("baseline", base), (ONE, one), (ONE_AGAIN, alone), (TWO, two), (SHARED, shared)):
        (c, processes), f = b.cpu[(group, "GET project by id")], figures["GET project by id"]
        each = " + ".join(f"{p:.2f}" for p in processes)
        lines.append(f"| {group} | {c.service:.2f} ({each}) | {c.postgres:.2f} | {c.driver:.2f} | {c.other:.2f} | "
                     f"{c.idle:.2f} | {1000 * c.service / f.rps:.3f} |")
    lines += ["", *_two_process_bound(b.cpu[(ONE_AGAIN, "GET project by id")][0], alone["GET project by id"],
                                      base["GET project by id"])]
    errors = sum(f.errors for d in (one, base, two, shared, agg) for f in d.values()) + moves.errors
    lines += ["", f"Failed requests in the whole run: {errors}.", ""]
    text = "\n".join(lines)
    out.write_text(text)
    return text


async def main_async(args: argparse.Namespace, command: str) -> None:
    started = time.perf_counter()
    if not args.skip_load:
        print("loading the data set…", flush=True)
        counts = await generate.load(args.database_url, projects=args.projects, history=10 * args.projects)
        print(f"  {json.dumps(counts)} in {time.perf_counter() - started:.0f} s", flush=True)
    keys = await asyncio.gather(*(asyncio.to_thread(create_key, args.database_url, f"bench {n}")
                                  for n in range(KEYS)))
    b = Bench(args.database_url, list(keys))
    await b.facts()
    reads, by_id = list(b.reads("")), ["GET project by id"]
    with server("bench.baseline_app:app", args.database_url, 1, factory=False) as baseline, \
            server("app.main:create_app", args.database_url, 1, factory=True) as service:
        compared = b.alternate({"baseline": ([baseline], ""), ONE: ([service], "/api/v1")}, reads)
        base, one = compared["baseline"], compared[ONE]
        agg = await b.sequential(service[0], b.aggregates(), ONE)
        moves = await b.transitions(service[0])
    raw, _ = await b.raw_sql()
    with server("app.main:create_app", args.database_url, 1, factory=True) as first, \
            server("app.main:create_app", args.database_url, 1, factory=True) as second:
        scaled = b.alternate({ONE_AGAIN: ([first], "/api/v1"), TWO: ([first, second], "/api/v1")}, by_id)
    with server("app.main:create_app", args.database_url, 2, factory=True) as service:
        shared = b.alternate({SHARED: ([service], "/api/v1")}, by_id)[SHARED]
    print(write_results(b, one, base, scaled[ONE_AGAIN], scaled[TWO], shared, agg, raw, moves, command,
                        time.perf_counter() - started, args.out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("PIPELINE_BENCH_DATABASE_URL",
                                                                  os.environ.get("PIPELINE_DATABASE_URL")))
    parser.add_argument("--projects", type=int, default=100_000, help="projects to load (ten history rows each)")
    parser.add_argument("--skip-load", action="store_true", help="reuse the data set already loaded")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the results go (default: %(default)s)")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("give --database-url postgresql+asyncpg://… (or PIPELINE_DATABASE_URL)")
    shown = [("postgresql+asyncpg://…" if "://" in a else a) for a in sys.argv[1:]]
    command = " ".join(["python -m bench.run", *(shlex.quote(a) for a in shown)])
    asyncio.run(main_async(args, command))


if __name__ == "__main__":
    main()
