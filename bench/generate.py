"""A province-scale data set for the benchmarks, loaded with COPY.

    python -m bench.generate --database-url postgresql+asyncpg://USER@HOST/DB [--projects 1000000]

Drops the database's public schema, runs the migrations (``pipeline migrate``), then
loads leaders, units, projects with their stage history (about ten entries a project by
default), designations, difficulties and the year's targets with COPY
(asyncpg's ``copy_records_to_table``). Every project's history chains: each entry's
``left_on`` is the next entry's ``occurred_on``, the last one's is null, and the project's
``stage``/``stage_entered_on`` are the last entry's.
"""

import argparse
import asyncio
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from app.cli import migrate
from app.models.project import HISTORISED
from app.services.projects import codes

STAGES = ["negotiating", "signed", "registered", "preliminary", "under_construction", "in_production"]
# Zones and industries are reference data: the keys the migration seeded, read from the
# database once it is migrated (``_vocabulary``).
LEADERS = 40
UNITS = 120
BATCH = 50_000
YEAR = 2026


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _history(rng: random.Random, entries: int, start: date) -> list[tuple[str, str | None, str, date]]:
    """(kind, from, to, occurred_on) entries: forward moves, an occasional termination at the
    end, and admin corrections (one stage back) when a project would run past production."""
    out: list[tuple[str, str | None, str, date]] = []
    stage = rng.randrange(3)
    on = start
    out.append(("created", None, STAGES[stage], on))
    for i in range(1, entries):
        on += timedelta(days=rng.randrange(1, 40))
        if i == entries - 1 and rng.random() < 0.05:
            out.append(("terminate", STAGES[stage], "terminated", on))
            break
        new = stage + 1 if stage + 1 < len(STAGES) and rng.random() < 0.7 else max(stage - 1, 0)
        if new == stage:
            new = 1
        out.append(("advance" if new > stage else "correction", STAGES[stage], STAGES[new], on))
        stage = new
    return out


def _code(pid: int) -> str | None:
    """Every third project's national project code, new rules (YYMM and a check digit), unique."""
    if pid % 3:
        return None
    q = pid // 3
    months = q // 100_000
    return codes.with_check_digit(f"{21 + months // 12:02d}{months % 12 + 1:02d}-370214-04-01-{q % 100_000:05d}")


async def _vocabulary(conn: asyncpg.Connection, table: str) -> list[str]:
    return [r["key"] for r in await conn.fetch(f"SELECT key FROM {table} WHERE archived_at IS NULL ORDER BY id")]


def _rows(projects: int, history: int, now: datetime, seed: int, zones: list[str], industries: list[str]
          ) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    rng = random.Random(seed)
    mean = history / projects
    transition_id = 0
    for pid in range(1, projects + 1):
        entries = max(1, min(2 * int(mean) - 1, round(rng.triangular(1, 2 * mean - 1, mean))))
        start = date(2019, 1, 1) + timedelta(days=rng.randrange(365 * 2))
        hist = _history(rng, entries, start)
        entries_out = []
        for i, (kind, from_stage, to_stage, on) in enumerate(hist):
            transition_id += 1
            left_on = hist[i + 1][3] if i + 1 < len(hist) else None
            entries_out.append((transition_id, pid, kind, from_stage, to_stage, on, left_on,
                                now if left_on is not None else None, None,
                                "核对台账" if kind == "correction" else None, None, "bench", now))
        foreign = rng.random() < 0.3
        sign = start + timedelta(days=rng.randrange(30, 900))
        project = (
            pid, _code(pid), f"招商项目{pid:07d}",
            f"投资方{pid:07d}有限公司", "JP" if foreign else "CN", "foreign" if foreign else "domestic",
            rng.choice(industries), rng.choice(zones), Decimal(rng.randrange(50_000, 50_000_000)) / 100,
            "USD" if foreign else "CNY", hist[-1][2], hist[-1][3], rng.randrange(1, LEADERS + 1),
            rng.randrange(1, UNITS + 1), sign, sign + timedelta(days=180), sign + timedelta(days=720),
            rng.random() < 0.03, 1, now, now, now if rng.random() < 0.01 else None)
        yield project, entries_out


async def load(url: str, *, projects: int, history: int, seed: int = 2026) -> dict[str, int]:
    """Reset the schema, migrate, and load the data set; returns the row counts."""
    dsn = asyncpg_dsn(url)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    await asyncio.to_thread(migrate, url)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(dsn)
    counts: dict[str, int] = {}
    try:
        await conn.copy_records_to_table("leaders", columns=[
            "id", "name", "title", "version", "created_at", "updated_at", "archived_at"], records=[
            (i, f"市领导{i:02d}", "副市长", 1, now, now, None) for i in range(1, LEADERS + 1)])
        await conn.copy_records_to_table("units", columns=[
            "id", "name", "kind", "contact", "version", "created_at", "updated_at", "archived_at"], records=[
            (i, f"责任单位{i:03d}", "district" if i % 4 == 0 else "department", None, 1, now, now, None)
            for i in range(1, UNITS + 1)])
        project_cols = ["id", "code", "name", "investor", "investor_country", "funding_source", "industry", "zone",
                        "total_investment_amount", "total_investment_currency", "stage", "stage_entered_on",
                        "leader_id", "unit_id", "planned_sign_on", "planned_start_on", "planned_production_on",
                        "on_hold", "version", "created_at", "updated_at", "archived_at"]
        transition_cols = ["id", "project_id", "kind", "from_stage", "to_stage", "occurred_on", "left_on",
                           "left_recorded_at", "note", "reason", "actor_key_id", "actor_name", "recorded_at"]
        p_batch: list[tuple[Any, ...]] = []
        t_batch: list[tuple[Any, ...]] = []
        c_batch: list[tuple[Any, ...]] = []
        counts["projects"] = counts["stage_transitions"] = 0

        async def flush() -> None:
            await conn.copy_records_to_table("projects", columns=project_cols, records=p_batch)
            await conn.copy_records_to_table("stage_transitions", columns=transition_cols, records=t_batch)
            await conn.copy_records_to_table("project_codes", columns=[
                "code", "project_id", "reason", "valid_from", "actor_key_id", "actor_name", "recorded_at"],
                records=c_batch)
            counts["projects"] += len(p_batch)
            counts["stage_transitions"] += len(t_batch)
            counts["project_codes"] = counts.get("project_codes", 0) + len(c_batch)
            p_batch.clear()
            t_batch.clear()
            c_batch.clear()

        zones, industries = await _vocabulary(conn, "zones"), await _vocabulary(conn, "industries")
        for project, entries in _rows(projects, history, now, seed, zones, industries):
            p_batch.append(project)
            t_batch.extend(entries)
            if project[1] is not None:  # the project's code opens its code history
                c_batch.append((project[1], project[0], "assigned", entries[0][5], None, "bench", now))
            if len(p_batch) >= BATCH:
                await flush()
        await flush()
        # Each project's attributes since ever (their history: app.services.projects.history); an
        # archived one, archived since ever.
        kept = ", ".join(HISTORISED)
        counts["project_versions"] = int((await conn.execute(
            f"INSERT INTO project_versions (project_id, recorded_at, archived, {kept}) "
            f"SELECT id, created_at, archived_at IS NOT NULL, {kept} FROM projects")).split()[-1])
        rng = random.Random(seed + 1)
        designations = [(pid, "city_key" if pid % 2 else "key_preliminary", rng.choice(["candidate", "granted"]),
                         YEAR, None) for pid in range(7, projects + 1, 20)]
        await conn.copy_records_to_table("project_designations", columns=[
            "project_id", "designation", "status", "year", "decided_on"], records=designations)
        counts["project_designations"] = len(designations)
        difficulties = []
        for i, pid in enumerate(range(3, projects + 1, 5), start=1):
            raised = date(2026, 1, 1) + timedelta(days=rng.randrange(300))
            status = rng.choice(["open", "in_progress", "resolved", "closed"])
            difficulties.append((i, pid, f"困难{i}", None, rng.choice(["land", "financing", "approval", "policy"]),
                                 status, rng.randrange(1, UNITS + 1), rng.randrange(1, LEADERS + 1), raised, None,
                                 "bench", raised + timedelta(days=30), "unit", None, None,
                                 raised + timedelta(days=20) if status in ("resolved", "closed") else None,
                                 raised + timedelta(days=25) if status == "closed" else None, 1, now, now))
        await conn.copy_records_to_table("difficulties", columns=[
            "id", "project_id", "title", "description", "category", "status", "unit_id", "leader_id", "raised_on",
            "raised_by_key_id", "raised_by", "due_on", "escalation_level", "escalated_at", "resolution",
            "resolved_on", "closed_on", "version", "created_at", "updated_at"], records=difficulties)
        counts["difficulties"] = len(difficulties)
        targets = [
            (1, YEAR, "全年签约项目", None, "signed", None, projects // 10, Decimal("50000000000.00"), "CNY",
             "criterion", json.dumps({}), json.dumps({"USD": "7.1000000000"}), 1, now, now, None),
            (2, YEAR, "外资项目开工", None, "under_construction", None, projects // 50, None, "USD", "criterion",
             json.dumps({"funding_source": ["foreign"]}), json.dumps({}), 1, now, now, None),
            (3, YEAR, "新材料产业链", None, "in_production", None, projects // 100, None, "CNY", "criterion",
             json.dumps({"industry": ["new_materials"], "zone": ["binhai_new_area"]}), json.dumps({}), 1, now, now,
             None),
            (4, YEAR, "市重点项目", None, "under_construction", None, 500, Decimal("9000000000.00"), "CNY", "list",
             None, json.dumps({"USD": "7.1000000000"}), 1, now, now, None),
        ]
        await conn.copy_records_to_table("targets", columns=[
            "id", "year", "title", "description", "goal_stage", "goal_designation", "target_count", "target_amount",
            "target_currency", "membership", "criterion", "plan_rates", "version", "created_at", "updated_at",
            "archived_at"], records=targets)
        members = [(i, 4, pid, date(YEAR, 1, 1), None, "bench", now, None, None, None)
                   for i, pid in enumerate(range(11, projects + 1, max(1, projects // 2000)), start=1)]
        await conn.copy_records_to_table("target_members", columns=[
            "id", "target_id", "project_id", "added_on", "removed_on", "added_by", "added_at", "removed_by",
            "removed_at", "note"], records=members)
        counts["targets"], counts["target_members"] = len(targets), len(members)
        for table in ("leaders", "units", "projects", "stage_transitions", "difficulties", "targets",
                      "target_members"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT max(id) FROM {table}))")
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--history", type=int, help="stage-history rows (default: ten per project)")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = asyncio.run(load(args.database_url, projects=args.projects, history=args.history or 10 * args.projects))
    print(json.dumps(counts), f"in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
