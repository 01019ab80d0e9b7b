"""Ledger (台账) benchmark: generate a ledger, import it, export it, import the export again.

    python bench/ledger.py --database-url postgresql+asyncpg://USER@HOST/DB --reset [--rows 20000]

The last phase imports the same projects a month on (``generate(changed=True)``): every
row an update of an existing project, most with a stage move.

Each phase is one HTTP request to the service run by uvicorn in a fresh process on the
loopback interface, so the figures are the server's own: the request's wall time (as the
client sees it) and the server process's peak resident memory (VmHWM), beside its
resident memory once started. ``--reset`` empties the database first (PostgreSQL: drops
the public schema; SQLite: the file); without it the database must hold no projects.

Baseline (2 cores shared with other work, PostgreSQL 15 on the same machine): see
docs/LEDGER.md, "Measuring".
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LEADERS = [f"市领导{chr(0x7532 + i)}" for i in range(12)]
UNITS = [f"责任单位{i:02d}" for i in range(30)]
STAGES = ["在谈", "签约", "注册/落地", "前期", "在建", "投产"]


def rss_mib(field: str = "VmHWM") -> float:
    """This process's peak (VmHWM) or current (VmRSS) resident memory, in MiB.

    /proc's figures belong to this program image alone; ``ru_maxrss`` would also count the
    parent's memory at the fork that started it. Elsewhere than Linux, ``ru_maxrss``.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 1024 * 1024)


def generate(path: Path, rows: int, *, changed: bool = False) -> None:
    """A ledger of ``rows`` projects, as a bureau would keep it, written with openpyxl's streaming writer.

    ``changed``: the same projects (the same codes, names and investors) a month on: every
    row has another leader, unit and total investment, later planned dates, and the
    projects not yet in production one stage further on (a month after they entered
    theirs), so that importing it over the first updates every project and moves most.
    """
    from openpyxl import Workbook

    from app.services.ledger.columns import export_headers

    rng = random.Random(2022)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append(export_headers())
    industries = ["新材料", "电子信息", "汽车及零部件", "生物医药", "现代物流", "数字经济", "先进制造"]
    zones = ["滨海新区", "国际陆港", "大沽河生态产业带", "西部城区", "其他"]
    for n in range(1, rows + 1):
        foreign = rng.random() < 0.3
        entered = date(2019, 1, 2) + timedelta(days=rng.randrange(1400))
        sign = entered + timedelta(days=rng.randrange(30, 400))
        stage, leader, unit = rng.choice(STAGES), rng.choice(LEADERS), rng.choice(UNITS)
        amount = round(rng.uniform(500, 500_000), 2)
        if changed:
            if stage != STAGES[-1]:
                stage, entered = STAGES[STAGES.index(stage) + 1], entered + timedelta(days=30)
            leader, unit = LEADERS[(LEADERS.index(leader) + 1) % len(LEADERS)], UNITS[(UNITS.index(unit) + 1) % 30]
            amount, sign = round(amount + 100, 2), sign + timedelta(days=30)
        sheet.append([
            n, f"2020-370214-04-01-{n:06d}" if n % 3 == 0 else None, f"招商项目{n:06d}", f"投资方{n:06d}有限公司",
            "JP" if foreign else "中国", None, None, "外资" if foreign else "内资", rng.choice(industries),
            rng.choice(zones), amount, "USD" if foreign else "CNY", stage, entered, leader, unit, sign,
            sign + timedelta(days=180), sign + timedelta(days=720),
            "已申报" if n % 7 == 0 else None, None, "否"])
    book.save(path)


async def setup(url: str) -> str:
    """Leaders and units the ledger names, and a bureau key; returns the key."""
    from app.config import Settings
    from app.db import make_engine, make_sessionmaker
    from app.models import Leader, Unit
    from app.models.access import ApiKeyCreate
    from app.models.enums import Role
    from app.models.registry import LeaderCreate, LeaderRead, UnitCreate, UnitRead
    from app.services.access import keys
    from app.services.access.permissions import Principal
    from app.services.projects import leaders_units

    engine = make_engine(Settings(database_url=url))
    operator = Principal.operator("bench")
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            for name in LEADERS:
                await leaders_units.create(session, Leader, LeaderRead, data=LeaderCreate(name=name), actor=operator)
            for name in UNITS:
                await leaders_units.create(session, Unit, UnitRead, data=UnitCreate(name=name), actor=operator)
            created = await keys.create_key(session, data=ApiKeyCreate(name="bench", role=Role.bureau),
                                            actor=operator)
            return created.key
    finally:
        await engine.dispose()


def serve(url: str, port: int) -> None:
    """Run the service until SIGINT, then print its peak RSS (the child side of a phase)."""
    import uvicorn

    from app.config import Settings
    from app.main import create_app

    settings = Settings(database_url=url, import_max_bytes=200 * 1024 * 1024, statement_timeout_ms=600_000,
                        log_level="WARNING")
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_keep_alive=3600))
    started = rss_mib("VmRSS")
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises the SIGINT again once it has shut down
        server.run()
    print(json.dumps({"rss_before": started, "rss_peak": rss_mib()}), flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def phase(url: str, key: str, work: str, path: Path) -> dict[str, object]:
    """One request to a freshly started server: its wall time, and the server's memory."""
    import httpx

    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--database-url", url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=3600, headers={"Authorization": f"Bearer {key}"}) as client:
            for _ in range(300):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise RuntimeError("the server did not start")
            started = time.perf_counter()
            if work == "import":
                r = client.post("/api/v1/imports/projects", files={"file": (path.name, path.read_bytes())})
                if r.status_code == 202:  # a large ledger is a job: the time is until it is finished
                    r = finished(client, r.headers["Location"])
                if r.status_code != 200:
                    raise RuntimeError(r.text[:2000])
                body = r.json()
                detail = (f"{body['rows']:,} rows: {body['created']:,} created, {body['updated']:,} updated, "
                          f"{body['unchanged']:,} unchanged")
            else:
                with client.stream("GET", "/api/v1/exports/projects", params={"format": work}) as r, \
                        path.open("wb") as out:
                    r.raise_for_status()
                    for chunk in r.iter_bytes():
                        out.write(chunk)
                detail = f"{path.stat().st_size / 1024 / 1024:.1f} MiB file"
            wall = time.perf_counter() - started
    finally:
        server.send_signal(signal.SIGINT)
        out_text, err_text = server.communicate(timeout=120)
    if server.returncode != 0 or not out_text.strip():
        raise RuntimeError(f"the server failed:\n{err_text[-3000:]}")
    memory = json.loads(out_text.strip().splitlines()[-1])
    return {"wall": wall, **memory, "detail": detail}


def finished(client: Any, location: str) -> Any:
    """Poll an import job until it ends: its report as a 200 answer, or its problem."""
    import httpx

    while True:
        time.sleep(0.2)
        r = client.get(location)
        job = r.json()
        if r.status_code != 200 or job["status"] == "finished":
            return httpx.Response(r.status_code, json=job["report"] if r.status_code == 200 else job)
        if job["status"] == "failed":
            return httpx.Response(422, json=job)


def reset(url: str) -> None:
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).unlink(missing_ok=True)
        return
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    asyncio.run(drop())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("PIPELINE_DATABASE_URL"))
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--reset", action="store_true", help="empty the database first")
    parser.add_argument("--skip-exports", action="store_true",
                        help="time only the imports (all new, then the changed ledger over them)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.database_url:
        parser.error("give --database-url (or PIPELINE_DATABASE_URL)")
    if args.serve:
        serve(args.database_url, args.serve)
        return

    if args.reset:
        reset(args.database_url)
    from app.cli import migrate

    migrate(args.database_url)
    key = asyncio.run(setup(args.database_url))
    backend = args.database_url.split(":", 1)[0]
    print(f"ledger benchmark: {args.rows:,} rows on {backend}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"{'phase':<42} {'wall s':>7} {'server peak RSS MiB':>20} {'at start':>9}  detail")
    with tempfile.TemporaryDirectory() as tmp:
        ledger, xlsx, csv = Path(tmp, "台账.xlsx"), Path(tmp, "export.xlsx"), Path(tmp, "export.csv")
        later = Path(tmp, "台账-changed.xlsx")
        started = time.perf_counter()
        generate(ledger, args.rows)
        generate(later, args.rows, changed=True)
        print(f"{'generate the ledgers (.xlsx)':<42} {time.perf_counter() - started:>7.1f} {'-':>20} {'-':>9}  "
              f"{ledger.stat().st_size / 1024 / 1024:.1f} MiB file each", flush=True)
        phases = [("import the ledger (.xlsx, all new)", "import", ledger),
                  ("export (.xlsx)", "xlsx", xlsx), ("export (.csv)", "csv", csv),
                  ("import the export (.xlsx, no change)", "import", xlsx),
                  ("import a changed ledger (.xlsx, updates)", "import", later)]
        if args.skip_exports:
            phases = [phases[0], phases[-1]]
        for label, work, path in phases:
            r = phase(args.database_url, key, work, path)
            print(f"{label:<42} {r['wall']:>7.1f} {r['rss_peak']:>20.0f} {r['rss_before']:>9.0f}  {r['detail']}",
                  flush=True)


if __name__ == "__main__":
    main()
