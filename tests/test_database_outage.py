"""The database goes away under a load of writes, and comes back.

The application reaches PostgreSQL through a TCP proxy on 127.0.0.1 that the test
cuts (closing every connection and refusing new ones) and restores. Every write the
service acknowledged must be in the database afterwards; every refusal must be a 503
problem (never a 500); the service must serve again within 5 seconds of the database
accepting connections.
"""

import asyncio
import contextlib
import time
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from sqlalchemy import select, text

from app.config import Settings
from app.main import create_app
from app.models import Project
from tests.factories import project_body


class Proxy:
    """A TCP proxy that can be cut and restored."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.up = True
        self.links: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.links |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.links -= {writer, up_writer}

    def cut(self) -> None:
        self.up = False
        for writer in list(self.links):
            writer.close()

    def restore(self) -> None:
        self.up = True

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()


async def test_writes_survive_a_database_outage(api, settings: Settings, backend: str):
    if backend != "postgres":
        pytest.skip("the outage is staged between the service and PostgreSQL")
    real = urlsplit(settings.database_url)
    proxy = Proxy(real.hostname or "127.0.0.1", real.port or 5432)
    await proxy.start()
    url = settings.database_url.replace(f"{real.hostname}:{real.port}", f"127.0.0.1:{proxy.port}")
    app = create_app(settings.model_copy(update={"database_url": url, "pool_timeout_seconds": 2.0,
                                                 "connect_timeout_seconds": 2.0}))
    acknowledged: list[str] = []
    statuses: dict[int, int] = {}
    restored_at: float | None = None
    first_success_after_restore: float | None = None

    async def writer(client: httpx.AsyncClient, n: int) -> None:
        nonlocal first_success_after_restore
        for i in range(60):
            body = project_body(name=f"断线写入 {n:02d}-{i:03d}")
            r = await client.post("/api/v1/projects", headers=api.admin, json=body)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            if r.status_code == 201:
                acknowledged.append(body["name"])
                if restored_at is not None and first_success_after_restore is None:
                    first_success_after_restore = time.monotonic()
            else:
                assert r.status_code == 503, r.text
                assert r.headers["content-type"] == "application/problem+json"
                assert r.json()["code"] == "database_unavailable"
                await asyncio.sleep(0.05)

    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://outage") as client:
            load = [asyncio.create_task(writer(client, n)) for n in range(4)]
            await asyncio.sleep(0.5)
            proxy.cut()
            await asyncio.sleep(1.5)
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            proxy.restore()
            restored_at = time.monotonic()
            await asyncio.gather(*load)
            assert (await client.get("/readyz")).status_code == 200
    finally:
        await proxy.stop()

    async with api.app.state.sessionmaker() as session:
        stored = set((await session.execute(select(Project.name))).scalars())
    assert set(acknowledged) <= stored, "an acknowledged write is missing"
    assert set(statuses) <= {201, 503} and statuses.get(503, 0) > 0 and statuses.get(201, 0) > 0, statuses
    assert first_success_after_restore is not None and restored_at is not None
    recovery = first_success_after_restore - restored_at
    print(f"outage: {statuses.get(201, 0)} writes acknowledged, {len(stored)} found, "
          f"{statuses.get(503, 0)} refused with 503, served again {recovery:.2f} s after the database returned")
    assert recovery < 5.0


async def _kill_the_pooled_connection(app: Any) -> None:
    """Terminate the backend of the one connection in ``app``'s pool (of size one)."""
    async with app.state.engine.connect() as conn:
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    killer = await asyncpg.connect(app.state.settings.database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await killer.close()


@pytest.mark.parametrize("ping_after_idle", [0.0, 3600.0])
@pytest.mark.parametrize("read", ["list", "one"])  # through a session; on a bare pooled connection
async def test_a_pooled_connection_that_died_idle(api, settings: Settings, backend: str, ping_after_idle: float,
                                                  read: str):
    """Checked after an idle spell (the default), a dead pooled connection is replaced
    unseen; unchecked, it fails one request with 503, and the next is served."""
    if backend != "postgres":
        pytest.skip("PostgreSQL's connections")
    path = "/api/v1/projects" + ("" if read == "list" else f"/{(await api.project())['id']}")
    app = create_app(settings.model_copy(update={"pool_ping_after_idle_seconds": ping_after_idle,
                                                 "pool_size": 1, "max_overflow": 0}))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://pool") as client:
        assert (await client.get(path, headers=api.admin)).status_code == 200
        await _kill_the_pooled_connection(app)
        await asyncio.sleep(0.05)
        first = await client.get(path, headers=api.admin)
        if ping_after_idle == 0.0:
            assert first.status_code == 200, first.text
        else:
            assert first.status_code == 503, first.text
            assert first.json()["code"] == "database_unavailable"
        assert (await client.get(path, headers=api.admin)).status_code == 200


async def test_a_statement_past_the_timeout_is_503_query_timeout(api, settings: Settings, backend: str):
    """A change waiting on a row lock another transaction holds, and a request's rate-limit
    count waiting the same way (app/plainsql.py), both outlast the statement timeout."""
    if backend != "postgres":
        pytest.skip("PostgreSQL's statement_timeout")
    project = await api.project()
    app = create_app(settings.model_copy(update={"statement_timeout_ms": 300, "rate_limit_per_minute": 1000}))
    holder = await asyncpg.connect(settings.database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://slow") as client:
            async with holder.transaction():
                await holder.execute("SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", project["id"])
                r = await client.patch(f"/api/v1/projects/{project['id']}", json={"name": "等锁"},
                                       headers={**api.admin, "If-Match": f'"{project["version"]}"'})
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "query_timeout" and "300 ms" in r.json()["detail"]
            assert (await client.get(f"/api/v1/projects/{project['id']}", headers=api.admin)).status_code == 200
            async with holder.transaction():
                await holder.execute("SELECT 1 FROM rate_limit_windows FOR UPDATE")
                r = await client.get(f"/api/v1/projects/{project['id']}", headers=api.admin)
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "query_timeout"
    finally:
        await holder.close()
    assert (await api.get_project(project["id"]))["name"] != "等锁"


# What a restart makes PostgreSQL (or the driver) answer, each a state of the database,
# none a fault of the request.
UNAVAILABLE = {
    "08000": "connection_exception", "08001": "could not connect", "08003": "connection does not exist",
    "08004": "server rejected the connection", "08006": "connection failure", "08P01": "protocol violation",
    "57P01": "terminating connection due to administrator command",
    "57P02": "terminating connection because of crash of another server process",
    "57P03": "the database system is shutting down", "57P05": "terminating connection due to idle-session timeout",
    "53300": "sorry, too many clients already", "53400": "configuration limit exceeded",
}


@pytest.mark.parametrize("sqlstate", sorted(UNAVAILABLE))
async def test_a_database_that_refuses_connections_is_503_for_every_sqlstate_of_the_kind(
        api, settings: Settings, backend: str, sqlstate: str):
    """New connections are refused as the server refuses them mid-restart: asyncpg raises
    the error of that SQLSTATE, which SQLAlchemy translates as it does at a real restart."""
    if backend != "postgres":
        pytest.skip("PostgreSQL's SQLSTATEs")
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db import make_sessionmaker

    project = await api.project()
    refusing = True
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")

    async def connect() -> asyncpg.Connection:
        if refusing:
            raise asyncpg.PostgresError.new({"C": sqlstate, "M": UNAVAILABLE[sqlstate], "S": "FATAL"})
        return await asyncpg.connect(dsn)

    app = create_app(settings)
    engine = create_async_engine(settings.database_url, async_creator=connect)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://restart") as client:
        app.state.engine, app.state.sessionmaker = engine, make_sessionmaker(engine)
        requests = [("GET", "/api/v1/projects", None), ("GET", f"/api/v1/projects/{project['id']}", None),
                    ("POST", "/api/v1/projects", project_body())]
        try:
            for method, path, body in requests:
                r = await client.request(method, path, json=body, headers={**api.admin, "Idempotency-Key": "r-1"})
                assert r.status_code == 503, (method, path, r.text)
                assert r.json()["code"] == "database_unavailable" and int(r.headers["Retry-After"]) > 0
            refusing = False
            for method, path, body in requests:
                r = await client.request(method, path, json=body, headers={**api.admin, "Idempotency-Key": "r-1"})
                assert r.status_code in (200, 201), r.text
        finally:
            await engine.dispose()
