"""The bare floor: Starlette and an asyncpg pool issuing the service's own SQL.

GET ``/projects/{id}`` and GET ``/projects?leader_id=&stage=&limit=&cursor=`` run the
statements the service sends for them (the key's rate-limit count, the API-key lookup,
then the project rows with their designations), outside a transaction as the service
does, and answer the rows as JSON, with no validation, permissions or models between.

The SQL is not copied by hand: at start-up it is compiled from the service's own statement
objects for PostgreSQL, so that the two cannot drift apart. Each list shape is compiled
with sentinel values, which tell which request value each ``$n`` takes.

    PIPELINE_DATABASE_URL=postgresql+asyncpg://... uvicorn bench.baseline_app:app
"""

import base64
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.dialects.postgresql.asyncpg import dialect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.models import Project
from app.models.enums import Role, Stage
from app.plainsql import Query
from app.services.access import auth, ratelimit
from app.services.access.permissions import Principal, project_scope
from app.services.common import pagination
from app.services.projects import projects

POSTGRESQL = dialect()


def _fixed(query: Query) -> tuple[str, Callable[..., list[Any]]]:
    """A fixed statement of the service, as plain SQL, and how to order its arguments."""
    sql, names, own = query._postgresql(POSTGRESQL)
    return sql, lambda **params: [params[n] if n in params else own[n] for n in names]


COUNT_SQL, COUNT_ARGS = _fixed(ratelimit.COUNT)
FORGET_SQL, FORGET_ARGS = _fixed(ratelimit.FORGET_OLDER)
KEY_SQL, KEY_ARGS = _fixed(auth.KEY_BY_PREFIX)
PROJECT_SQL, PROJECT_ARGS = _fixed(projects.PROJECT_BY_ID)
ADMIN = Principal(key_id=1, name="bench", role=Role.admin)

# Sentinels: values no request sends, so each marks the parameter it lands in.
_STAGE, _LEADER, _LIMIT, _NAME, _ID = Stage.terminated, 987_654_321, 12_345, "\x01name", 987_654_323


def _list_sql(filtered: bool, after: bool) -> tuple[str, list[str]]:
    """The service's list statement of this shape, and the request value each ``$n`` takes."""
    filters = (projects.ProjectFilters(stage=[_STAGE], leader_id=[_LEADER]) if filtered
               else projects.ProjectFilters())
    stmt = filters.apply(select(*projects.PROJECT_READ_COLUMNS).where(project_scope(ADMIN)), "postgresql")
    stmt = pagination.apply(stmt, key=projects.SORT_KEYS["name"], descending=False, id_column=Project.id,
                            cursor=pagination._encode("name", _NAME, _ID) if after else None, limit=_LIMIT,
                            sort_label="name")
    compiled = stmt.compile(dialect=POSTGRESQL, compile_kwargs={"render_postcompile": True})
    roles = {(str(_STAGE),): "stage", (_LEADER,): "leader_id", _LIMIT + 1: "limit", _NAME: "name", _ID: "id"}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in compiled.construct_params().items()}
    return compiled.string, [roles[values[name]] for name in compiled.positiontup or ()]


LIST_SQL = {(filtered, after): _list_sql(filtered, after) for filtered in (False, True) for after in (False, True)}


def _dsn() -> str:
    return os.environ["PIPELINE_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    size = int(os.environ.get("PIPELINE_POOL_SIZE", "15"))
    app.state.pool = await asyncpg.create_pool(_dsn(), min_size=size, max_size=size)
    try:
        yield
    finally:
        await app.state.pool.close()


def _prefix(request: Request) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ipk_").partition("_")[0]


async def _authenticated(conn: asyncpg.Connection, request: Request) -> bool:
    prefix = _prefix(request)
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    if await conn.fetchval(COUNT_SQL, *COUNT_ARGS(bucket=f"key:{prefix}", start=start)) == 1:
        await conn.execute(FORGET_SQL, *FORGET_ARGS(bucket=f"key:{prefix}", start=start))
    return await conn.fetchrow(KEY_SQL, *KEY_ARGS(prefix=prefix)) is not None


def _json(row: asyncpg.Record) -> dict[str, Any]:
    item = {k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if k == "total_investment_amount" else v)
            for k, v in row.items()}
    item["designations"] = json.loads(row["designations"]) if row["designations"] else []
    return item


async def get_project(request: Request) -> Response:
    project_id = int(request.path_params["id"])
    async with request.app.state.pool.acquire() as conn:
        if not await _authenticated(conn, request):
            return JSONResponse({"detail": "unauthorized"}, status_code=401)
        row = await conn.fetchrow(PROJECT_SQL, *PROJECT_ARGS(id=project_id))
    if row is None:
        return JSONResponse({"detail": "not found"}, status_code=404)
    return JSONResponse(_json(row), headers={"ETag": f'"{row["version"]}"'})


async def list_projects(request: Request) -> Response:
    q = request.query_params
    limit = int(q.get("limit", 50))
    values: dict[str, Any] = {"limit": limit + 1, "stage": q.getlist("stage"),
                              "leader_id": [int(v) for v in q.getlist("leader_id")]}
    if cursor := q.get("cursor"):
        _label, values["name"], values["id"] = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    sql, order = LIST_SQL["stage" in q and "leader_id" in q, bool(cursor)]
    async with request.app.state.pool.acquire() as conn:
        if not await _authenticated(conn, request):
            return JSONResponse({"detail": "unauthorized"}, status_code=401)
        rows = list(await conn.fetch(sql, *(values[role] for role in order)))
    kept = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        raw = json.dumps(["name", kept[-1]["name"], kept[-1]["id"]], separators=(",", ":")).encode()
        next_cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return JSONResponse({"items": [_json(r) for r in kept], "next_cursor": next_cursor})


app = Starlette(routes=[Route("/projects/{id:int}", get_project), Route("/projects", list_projects)],
                lifespan=lifespan)
