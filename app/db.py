"""The engine, the session factory and the one place that commits.

Dialect differences in connection set-up live here (column types live in
``app/models/types.py``).
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request
from sqlalchemy import Select, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.config import Settings


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    url = url or settings.database_url
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _sqlite_serialize_writers(engine)
        return engine
    engine = create_async_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_seconds,
        connect_args={
            "timeout": settings.connect_timeout_seconds,
            "server_settings": {
                "statement_timeout": str(settings.statement_timeout_ms),
                "application_name": "investment-pipeline",
                # JIT compiling the stats queries cost more than it saved (310 ms of an 808 ms
                # target-stats query); the queries are short enough to run interpreted.
                "jit": "off",
            },
        },
    )
    _ping_idle_connections(engine, settings.pool_ping_after_idle_seconds)
    return engine


def _ping_idle_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a pooled connection before use if it sat idle longer than ``idle_seconds``.

    SQLAlchemy's ``pool_pre_ping`` checks at every checkout: a round trip per request (GET
    by id served 1,333 requests/s with it and 1,640 without, one process under wrk). A
    connection in use moments ago is as alive as a ping would show, so, as HikariCP does,
    only an idle one is checked; a dead one is replaced before the request sees it. One
    that dies in use fails its request with 503, and the failure invalidates it.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool discards the connection and takes or makes another
            raise DisconnectionError("pooled connection is dead") from exc


def _sqlite_serialize_writers(engine: AsyncEngine) -> None:
    """Make SQLite transactions take the write lock up front.

    SQLite's default deferred transactions fail at once (SQLITE_BUSY, no waiting) when
    two readers both try to become writers; ``BEGIN IMMEDIATE`` makes the second wait
    for the first instead, which is what a PostgreSQL row lock would do.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let us emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets readers go on while one writer writes. Switching a new file to it needs
        # a moment alone with the file, which SQLite refuses (not waits for) if another
        # process is opening it too: try again briefly. The mode then stays with the file.
        for attempt in range(50):
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                break
            except Exception:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        cursor.close()
        # SQLite's own lower() folds ASCII only; PostgreSQL's folds every script.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _unicode_lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


AnySelect = Select[*tuple[Any, ...]]


def claim_rows(stmt: AnySelect, *of: Any) -> AnySelect:
    """Lock the selected rows of ``of`` for this transaction, skipping rows another holds.

    PostgreSQL: ``FOR UPDATE OF ... SKIP LOCKED``, so concurrent workers each take
    different rows without waiting. SQLite has no row locks and SQLAlchemy renders no
    clause there; ``BEGIN IMMEDIATE`` (above) already makes each writing transaction
    exclusive, so a second worker reads only after the first has committed its claims.
    """
    return stmt.with_for_update(skip_locked=True, of=list(of) or None)


# A key's lock is one of LOCK_BUCKETS per namespace (two keys may share one: they then wait
# for each other, which is safe), so that a transaction locking many keys — a ledger of
# 10^5 new projects with codes — holds at most this many locks: PostgreSQL's lock table
# has room for max_locks_per_transaction × max_connections in all, shared by every session.
LOCK_BUCKETS = 1024  # a power of two: the bucket is the key's hash masked
_BUCKET_OF = f"CAST(hashtextextended({{key}}, 0) & {LOCK_BUCKETS - 1} AS integer)"


async def lock_key(session: AsyncSession, namespace: str, key: str) -> None:
    """Hold a lock on ``namespace:key`` until the transaction ends, for rows not yet written.

    PostgreSQL: a transaction-scoped advisory lock on the key's bucket. SQLite: nothing to
    do, since ``BEGIN IMMEDIATE`` already runs writing transactions one at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        bucket = _BUCKET_OF.format(key=":key")
        await session.execute(text(f"SELECT pg_advisory_xact_lock(hashtext(:namespace), {bucket})"),
                              {"namespace": namespace, "key": key})


async def lock_keys(session: AsyncSession, namespace: str, keys: list[str]) -> None:
    """``lock_key`` for many keys in one statement, their buckets taken in ascending order (as
    every batch takes them, so that two batches never wait for each other in a circle)."""
    if keys and session.get_bind().dialect.name == "postgresql":
        # Each bucket is locked as the sorted subquery produces it.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:namespace), b) FROM "
                                   f"(SELECT DISTINCT {_BUCKET_OF.format(key='k')} AS b "
                                   "FROM unnest(CAST(:keys AS text[])) AS t(k) ORDER BY b) AS d"),
                              {"namespace": namespace, "keys": list(keys)})


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: committed when the block ends well, rolled back otherwise.

    The commit happens before the response is sent: a failed commit becomes an error
    response, never a success that did not stick.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        request.state.db = session
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            hooks = getattr(request.state, "before_commit", ())
            request.state.before_commit = []  # run here, not again after the route (``AppRoute``)
            for hook in hooks:
                await hook(session)
            await session.commit()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """``request_session`` as a dependency; used with ``scope="function"`` so that it ends
    (and commits) before the response is sent."""
    async with request_session(request) as session:
        yield session
