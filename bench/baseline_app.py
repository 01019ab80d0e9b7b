"""The bare floor: Starlette and an asyncpg pool issuing the service's own SQL.

GET ``/projects/{id}`` and GET ``/projects?leader_id=&stage=&limit=&cursor=`` run, in one
transaction as the service does, the statements the service sends for them (the API-key
lookup, the project rows, their designations; texts as SQLAlchemy renders them) and
answer the rows as JSON, with no validation, permissions or models between.

    PIPELINE_DATABASE_URL=postgresql+asyncpg://... uvicorn bench.baseline_app:app
"""

import base64
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

KEY_SQL = ("SELECT api_keys.id, api_keys.name, api_keys.role, api_keys.leader_id, api_keys.unit_id, "
           "api_keys.prefix, api_keys.secret_hash, api_keys.created_at, api_keys.created_by, api_keys.expires_at, "
           "api_keys.revoked_at, api_keys.last_used_at \nFROM api_keys \nWHERE api_keys.prefix = $1::VARCHAR")
PROJECT_COLUMNS = ("SELECT projects.id, projects.code, projects.name, projects.investor, projects.investor_country, "
                   "projects.funding_source, projects.industry, projects.zone, projects.total_investment_amount, "
                   "projects.total_investment_currency, projects.stage, projects.stage_entered_on, "
                   "projects.leader_id, projects.unit_id, projects.planned_sign_on, projects.planned_start_on, "
                   "projects.planned_production_on, projects.on_hold, projects.version, projects.created_at, "
                   "projects.updated_at, projects.archived_at \nFROM projects \n")
DESIGNATIONS = ("SELECT project_designations.project_id, project_designations.designation, "
                "project_designations.status, project_designations.year, project_designations.decided_on \n"
                "FROM project_designations \nWHERE project_designations.project_id IN ({})")


def _dsn() -> str:
    return os.environ["PIPELINE_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(_dsn(), min_size=10, max_size=15)
    try:
        yield
    finally:
        await app.state.pool.close()


def _prefix(request: Request) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ipk_").partition("_")[0]


def _json(rows: list[asyncpg.Record], designations: list[asyncpg.Record]) -> list[dict[str, Any]]:
    by_project: dict[int, list[dict[str, Any]]] = {}
    for d in designations:
        by_project.setdefault(d["project_id"], []).append(
            {"designation": d["designation"], "status": d["status"], "year": d["year"],
             "decided_on": d["decided_on"].isoformat() if d["decided_on"] else None})
    out = []
    for row in rows:
        item = {k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if k == "total_investment_amount" else v)
                for k, v in row.items()}
        item["designations"] = by_project.get(row["id"], [])
        out.append(item)
    return out


async def _designations(conn: asyncpg.Connection, ids: list[int]) -> list[asyncpg.Record]:
    if not ids:
        return []
    sql = DESIGNATIONS.format(", ".join(f"${i}::BIGINT" for i in range(1, len(ids) + 1)))
    return list(await conn.fetch(sql, *ids))


async def get_project(request: Request) -> Response:
    project_id = int(request.path_params["id"])
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        if await conn.fetchrow(KEY_SQL, _prefix(request)) is None:
            return JSONResponse({"detail": "unauthorized"}, status_code=401)
        row = await conn.fetchrow(PROJECT_COLUMNS + "WHERE projects.id = $1::BIGINT", project_id)
        if row is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        designations = await _designations(conn, [project_id])
    return JSONResponse(_json([row], designations)[0], headers={"ETag": f'"{row["version"]}"'})


async def list_projects(request: Request) -> Response:
    q = request.query_params
    limit = int(q.get("limit", 50))
    params: list[Any] = [limit + 1]
    where = []
    if "stage" in q:
        params.append(q["stage"])
        where.append(f"projects.stage IN (${len(params)}::VARCHAR)")
    if "leader_id" in q:
        params.append(int(q["leader_id"]))
        where.append(f"projects.leader_id IN (${len(params)}::INTEGER)")
    where.append("projects.archived_at IS NULL")
    if cursor := q.get("cursor"):
        _label, name, last_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        params += [name, name, name, last_id]
        n = len(params)
        where.append(f"projects.name >= ${n - 3}::VARCHAR AND (projects.name > ${n - 2}::VARCHAR "
                     f"OR projects.name = ${n - 1}::VARCHAR AND projects.id > ${n}::BIGINT)")
    sql = PROJECT_COLUMNS + "WHERE " + " AND ".join(where) + \
        " ORDER BY projects.name ASC, projects.id ASC \n LIMIT $1::INTEGER"
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        if await conn.fetchrow(KEY_SQL, _prefix(request)) is None:
            return JSONResponse({"detail": "unauthorized"}, status_code=401)
        rows = list(await conn.fetch(sql, *params))
        kept = rows[:limit]
        designations = await _designations(conn, [r["id"] for r in kept])
    next_cursor = None
    if len(rows) > limit:
        raw = json.dumps(["name", kept[-1]["name"], kept[-1]["id"]], separators=(",", ":")).encode()
        next_cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return JSONResponse({"items": _json(kept, designations), "next_cursor": next_cursor})


app = Starlette(routes=[Route("/projects/{id:int}", get_project), Route("/projects", list_projects)],
                lifespan=lifespan)
