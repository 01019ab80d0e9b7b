"""The SQL the service issues for a request, captured as the driver sends it to asyncpg.

The service runs in this process (its real app, engine and session factory); a
``before_cursor_execute`` listener records each statement with its bound parameters,
so the raw-SQL timing runs exactly the queries the endpoint ran.
"""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy import event

from app.config import Settings
from app.main import create_app

Statement = tuple[str, tuple[Any, ...]]


@contextlib.asynccontextmanager
async def in_process(url: str, key: str) -> AsyncIterator[tuple[httpx.AsyncClient, list[Statement]]]:
    """A client of the service in this process, and the list the statements land in."""
    settings = Settings(database_url=url, escalation_job_enabled=False, webhook_worker_enabled=False,
                        log_level="WARNING", statement_timeout_ms=600_000)
    app = create_app(settings)
    seen: list[Statement] = []
    async with app.router.lifespan_context(app):
        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
            seen.append((statement, tuple(parameters or ())))

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", record)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     headers={"Authorization": f"Bearer {key}"}, timeout=600) as client:
            yield client, seen


async def statements_of(client: httpx.AsyncClient, seen: list[Statement], path: str) -> list[Statement]:
    """The SELECTs one GET of ``path`` issues (after a warm-up request)."""
    (await client.get(path)).raise_for_status()
    seen.clear()
    response = await client.get(path)
    response.raise_for_status()
    return [(s, p) for s, p in seen if s.lstrip().upper().startswith(("SELECT", "WITH"))]
