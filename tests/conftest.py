"""Test fixtures: every test runs against a real database built by the migrations.

The suite runs on SQLite always and, when ``PIPELINE_TEST_POSTGRES_URL`` is set, on
PostgreSQL too. A PostgreSQL that cannot be reached fails the run; it never skips.
"""

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import insert, text
from sqlmodel import SQLModel

import app.models  # noqa: F401 - the metadata, for truncation
from app.cli import migrate
from app.config import Settings
from app.main import create_app
from app.models import ApprovalKind, utcnow
from app.models.approval import CATALOGUE
from tests.factories import Api

POSTGRES_URL = os.environ.get("PIPELINE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgres"] if POSTGRES_URL else [])]


def _reset_postgres(url: str) -> None:
    import asyncio

    import asyncpg

    async def reset() -> None:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    asyncio.run(reset())


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database of one backend, at the latest migration."""
    if request.param == "postgres":
        assert POSTGRES_URL is not None
        url = POSTGRES_URL
        _reset_postgres(url)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrate(url)
    yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Background jobs are off: tests run escalation with a controlled clock and start a
    # webhook worker where they need one.
    # No rate limit: tests make many requests with one key (test_hygiene turns it on).
    # Webhook receivers in the tests listen on 127.0.0.1, an internal host allowed on purpose.
    return Settings(database_url=database_url, key_last_used_resolution_seconds=0, escalation_job_enabled=False,
                    webhook_worker_enabled=False, rate_limit_per_minute=0, housekeeping_enabled=False,
                    gc_freeze=False, webhook_allowed_hosts=["127.0.0.1"])


@pytest.fixture(scope="session")
async def application(settings: Settings) -> AsyncIterator[object]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


TABLES_IN_DELETE_ORDER = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]


@pytest.fixture
async def api(application: object, settings: Settings) -> AsyncIterator[Api]:
    """An HTTP client on an empty database, with an admin key ready."""
    from fastapi import FastAPI

    assert isinstance(application, FastAPI)
    engine = application.state.engine
    async with engine.begin() as conn:
        # DELETE, not TRUNCATE: on tables this small it is a hundred times faster.
        for table in TABLES_IN_DELETE_ORDER:
            await conn.execute(text(f"DELETE FROM {table}"))
        now = utcnow()
        await conn.execute(insert(ApprovalKind), [  # reference data the migration seeds
            {"code": code, "name": name, "default_time_limit_days": days, "version": 1, "created_at": now,
             "updated_at": now} for code, name, days in CATALOGUE])
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        api = Api(client, application)
        await api.setup_admin()
        yield api


@pytest.fixture
def backend(database_url: str) -> str:
    return "postgres" if database_url.startswith("postgresql") else "sqlite"

