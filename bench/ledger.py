"""Ledger (台账) benchmark: generate a ledger, import it, export it, import the export again.

    python bench/ledger.py --database-url postgresql+asyncpg://USER@HOST/DB --reset [--rows 20000]

Each phase runs in its own process, through the HTTP API in process (httpx over ASGI, no
network), so that its wall time and peak resident memory (``ru_maxrss``) are its own.
``--reset`` empties the database first (PostgreSQL: drops the public schema; SQLite: the
file); without it the database must hold no projects. Prints one line per phase.
"""

import argparse
import asyncio
import json
import os
import random
import resource
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


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(path: Path, rows: int) -> None:
    """A ledger of ``rows`` projects, as a bureau would keep it, written with openpyxl's streaming writer."""
    from openpyxl import Workbook

    from app.services.ledger import export_headers

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
        sheet.append([
            n, f"2022-370214-04-01-{n:06d}" if n % 3 == 0 else None, f"招商项目{n:06d}", f"投资方{n:06d}有限公司",
            "JP" if foreign else "中国", "外资" if foreign else "内资", rng.choice(industries), rng.choice(zones),
            round(rng.uniform(500, 500_000), 2), "USD" if foreign else "CNY", rng.choice(STAGES), entered,
            rng.choice(LEADERS), rng.choice(UNITS), sign, sign + timedelta(days=180), sign + timedelta(days=720),
            "已申报" if n % 7 == 0 else None, None, "否"])
    book.save(path)


async def _client_run(url: str, work: str, name: str, content: bytes, out: Any) -> dict[str, Any]:
    import httpx

    from app.config import Settings
    from app.main import create_app
    from app.models import Leader, Unit
    from app.models.access import ApiKeyCreate
    from app.models.enums import Role
    from app.models.registry import LeaderCreate, LeaderRead, UnitCreate, UnitRead
    from app.services import keys, registry
    from app.services.permissions import Principal

    settings = Settings(database_url=url, import_max_bytes=200 * 1024 * 1024, statement_timeout_ms=600_000,
                        log_level="WARNING")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        operator = Principal.operator("bench")
        async with app.state.sessionmaker() as session, session.begin():
            key = (await keys.create_key(session, data=ApiKeyCreate(name="bench", role=Role.bureau),
                                         actor=operator)).key
            if work == "setup":
                for name in LEADERS:
                    await registry.create(session, Leader, LeaderRead, data=LeaderCreate(name=name), actor=operator)
                for name in UNITS:
                    await registry.create(session, Unit, UnitRead, data=UnitCreate(name=name), actor=operator)
                return {}
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                     timeout=3600) as client:
            before = rss_mib()
            started = time.perf_counter()
            if work.startswith("import"):
                r = await client.post("/api/v1/imports/projects", headers=headers, files={"file": (name, content)})
                assert r.status_code == 200, r.text[:2000]
                body = r.json()
                detail = f"{body['rows']} rows: {body['created']} created, {body['updated']} updated, " \
                         f"{body['unchanged']} unchanged"
            else:
                fmt = work.split("-")[1]
                async with client.stream("GET", "/api/v1/exports/projects", headers=headers,
                                         params={"format": fmt}) as r:
                    assert r.status_code == 200
                    async for chunk in r.aiter_bytes():
                        out.write(chunk)
                detail = f"{out.tell() / 1024 / 1024:.1f} MiB file"
            wall = time.perf_counter() - started
    return {"wall": wall, "rss_before": before, "rss_peak": rss_mib(), "detail": detail}


def child(args: argparse.Namespace) -> None:
    path = Path(args.file)
    if args.child == "generate":
        before = rss_mib()
        started = time.perf_counter()
        generate(path, args.rows)
        result = {"wall": time.perf_counter() - started, "rss_before": before, "rss_peak": rss_mib(),
                  "detail": f"{path.stat().st_size / 1024 / 1024:.1f} MiB file"}
    elif args.child.startswith("export"):
        with path.open("wb") as out:
            result = asyncio.run(_client_run(args.database_url, args.child, path.name, b"", out))
    else:
        content = path.read_bytes() if path.exists() else b""
        result = asyncio.run(_client_run(args.database_url, args.child, path.name, content, None))
    print(json.dumps(result))


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
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.database_url:
        parser.error("give --database-url (or PIPELINE_DATABASE_URL)")
    if args.child:
        child(args)
        return

    if args.reset:
        reset(args.database_url)
    from app.cli import migrate

    migrate(args.database_url)
    with tempfile.TemporaryDirectory() as tmp:
        ledger, xlsx, csv = Path(tmp, "台账.xlsx"), Path(tmp, "export.xlsx"), Path(tmp, "export.csv")
        phases = [("generate", ledger, "generate the ledger (.xlsx)"), ("setup", ledger, None),
                  ("import", ledger, "import the ledger (.xlsx, all new)"),
                  ("export-xlsx", xlsx, "export (.xlsx)"), ("export-csv", csv, "export (.csv)"),
                  ("import-again", xlsx, "import the export (.xlsx, no change)")]
        backend = args.database_url.split(":", 1)[0]
        print(f"ledger benchmark: {args.rows:,} rows on {backend}, python {sys.version.split()[0]}")
        print(f"{'phase':<40} {'wall s':>8} {'peak RSS MiB':>13} {'RSS before':>11}  detail")
        for name, path, label in phases:
            out = subprocess.run([sys.executable, __file__, "--child", name, "--file", str(path), "--rows",
                                  str(args.rows), "--database-url", args.database_url],
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                sys.exit(f"{name} failed:\n{out.stderr[-3000:]}")
            if label:
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{label:<40} {r['wall']:>8.1f} {r['rss_peak']:>13.0f} {r['rss_before']:>11.0f}  {r['detail']}")


if __name__ == "__main__":
    main()
