"""Test fixtures: every test runs against a real database built by the migrations.

The suite runs on SQLite always and, when ``PIPELINE_TEST_POSTGRES_URL`` is set, on
PostgreSQL too (the role tables, marked ``postgres_only``, then on PostgreSQL alone). A
PostgreSQL that cannot be reached fails the run; it never skips.
"""

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass

import httpx
import pytest
from sqlalchemy import insert, text
from sqlmodel import SQLModel

import app.models  # noqa: F401 - the metadata, for truncation
from app.cli import migrate
from app.clock import today
from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.demo import DemoSummary, seed_demo
from app.main import create_app
from app.models import ApprovalKind, IndustryEntry, ZoneEntry, utcnow
from app.models.approval import CATALOGUE
from app.models.reference import INDUSTRY_SEED, ZONE_SEED
from tests.factories import Api

POSTGRES_URL = os.environ.get("PIPELINE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgres"] if POSTGRES_URL else [])]


def _own_database(url: str, purpose: str | None) -> str:
    """The database for a ``purpose`` beside the configured one (``test`` → ``test_demo``), or
    else this pytest process's own: the configured one, or under pytest-xdist one per worker
    (``test_gw0``)."""
    suffix = purpose or os.environ.get("PYTEST_XDIST_WORKER")
    base, _, name = url.rpartition("/")
    return f"{base}/{name}_{suffix}" if suffix else url


def _reset_postgres(url: str, purpose: str | None = None) -> str:
    """An empty database (made on first use beside ``url``)."""
    import asyncio

    import asyncpg

    own = _own_database(url, purpose)

    async def reset() -> None:
        if own != url:
            admin = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=10)
            try:
                name = own.rpartition("/")[2]
                if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                    await admin.execute(f'CREATE DATABASE "{name}"')
            finally:
                await admin.close()
        conn = await asyncpg.connect(own.replace("postgresql+asyncpg://", "postgresql://"), timeout=10)
        try:
            await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
            # A test database need not outlive a crash: its commits need not wait for the disk.
            database = await conn.fetchval("SELECT current_database()")
            await conn.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = off')
        finally:
            await conn.close()

    asyncio.run(reset())
    return own


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database of one backend, at the latest migration."""
    if request.param == "postgres":
        assert POSTGRES_URL is not None
        url = _reset_postgres(POSTGRES_URL)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrate(url)
    yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Background jobs are off: tests run escalation with a controlled clock and start a
    # webhook worker (or run an import job) where they need one.
    # No rate limit: tests make many requests with one key (test_hygiene turns it on); no
    # throttle of failed authentication either: the suite sends thousands of refused keys from
    # 127.0.0.1 (tests/access/test_authentication_first.py turns it on).
    # Webhook receivers in the tests listen on 127.0.0.1, an internal host allowed on purpose.
    return Settings(database_url=database_url, key_last_used_resolution_seconds=0, escalation_job_enabled=False,
                    webhook_worker_enabled=False, rate_limit_per_minute=0, housekeeping_enabled=False,
                    gc_freeze=False, webhook_allowed_hosts=["127.0.0.1"], auth_failures_per_minute=0,
                    import_job_worker_enabled=False)


@pytest.fixture(scope="session")
async def application(settings: Settings) -> AsyncIterator[object]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


TABLES_IN_DELETE_ORDER = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
# The names of the tables that hold a row.
ANY_ROWS = text(" UNION ALL ".join(f"SELECT '{t}' AS name WHERE EXISTS (SELECT 1 FROM {t})"
                                   for t in TABLES_IN_DELETE_ORDER))


@pytest.fixture
async def api(application: object, settings: Settings) -> AsyncIterator[Api]:
    """An HTTP client on an empty database, with an admin key ready."""
    from fastapi import FastAPI

    assert isinstance(application, FastAPI)
    engine = application.state.engine
    async with engine.begin() as conn:
        # DELETE, not TRUNCATE: on tables this small it is a hundred times faster. Only the
        # tables the last test wrote to, found in one round trip: most tests touch a few of
        # the fifty, and a statement per table was most of each test's set-up.
        written = set((await conn.execute(ANY_ROWS)).scalars())
        for table in TABLES_IN_DELETE_ORDER:
            if table in written:
                await conn.execute(text(f"DELETE FROM {table}"))
        now = utcnow()
        await conn.execute(insert(ApprovalKind), [  # reference data the migration seeds
            {"code": code, "name": name, "default_time_limit_days": days, "version": 1, "created_at": now,
             "updated_at": now} for code, name, days in CATALOGUE])
        for model, seed in ((ZoneEntry, ZONE_SEED), (IndustryEntry, INDUSTRY_SEED)):  # seeded by the migration too
            await conn.execute(insert(model), [{"key": key, "name": name, "name_en": name_en, "version": 1,
                                                "created_at": now, "updated_at": now} for key, name, name_en in seed])
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        api = Api(client, application)
        await api.setup_admin()
        yield api


@dataclass
class Demo:
    api: Api
    summary: DemoSummary


@pytest.fixture(scope="session")
def demo_database(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, DemoSummary]:
    """A database of the backend holding the demo data set, and what seeding it made: made by
    the first worker of the run that asks (the others wait for it, under a lock in the run's
    shared folder, and read what it made)."""
    import asyncio
    import fcntl
    import json

    postgres = database_url.startswith("postgresql")
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder, above each worker's own
    ready = shared / f"demo-{'postgres' if postgres else 'sqlite'}.url"
    with open(shared / f"{ready.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists():
            made = json.loads(ready.read_text())
            return made["url"], DemoSummary(**made["summary"])
        if postgres:
            assert POSTGRES_URL is not None
            url = _reset_postgres(POSTGRES_URL, "demo")
        else:
            url = f"sqlite+aiosqlite:///{shared / 'demo.db'}"
        migrate(url)

        async def seed() -> DemoSummary:
            engine = make_engine(Settings(database_url=url))
            try:
                async with make_sessionmaker(engine)() as session, session.begin():
                    return await seed_demo(session, today=today())
            finally:
                await engine.dispose()

        summary = asyncio.run(seed())
        ready.write_text(json.dumps({"url": url, "summary": asdict(summary)}))
        return url, summary


@pytest.fixture(scope="session")
async def demo(demo_database: tuple[str, DemoSummary], settings: Settings) -> AsyncIterator[Demo]:
    """The demo data set, seeded once per backend into a database of its own, for tests that
    only read it (seeding takes longer than most tests)."""
    url, summary = demo_database
    app = create_app(settings.model_copy(update={"database_url": url}))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
        api = Api(client, app)
        await api.setup_admin()
        yield Demo(api, summary)


@pytest.fixture
def backend(database_url: str) -> str:
    return "postgres" if database_url.startswith("postgresql") else "sqlite"



# The longest tests go first, so that the other worker is not left idle at the end.
LONGEST_FIRST = ("test_schemathesis.py", "test_stats_properties.py", "test_cli.py", "test_forecast_properties.py",
                 "test_accountability.py", "test_migrations.py", "test_webhooks.py", "test_demo_progress.py")


def _sqlite_copy_of_a_postgres_only_test(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return (POSTGRES_URL is not None and item.get_closest_marker("postgres_only") is not None
            and callspec is not None and callspec.params.get("database_url") == "sqlite")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A role table (which status each role gets from each route) asks the permission rules,
    # not the database: with PostgreSQL there, it runs once, on it; without, on SQLite. The
    # scope rules, which are SQL, keep their own tests on both.
    dropped = [item for item in items if _sqlite_copy_of_a_postgres_only_test(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = {id(item) for item in dropped}
        items[:] = [item for item in items if id(item) not in gone]

    def rank(item: pytest.Item) -> int:
        return next((i for i, name in enumerate(LONGEST_FIRST) if name in item.nodeid), len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: the rest keep their order

