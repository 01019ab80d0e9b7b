"""Plain SQL for the hottest statements: on PostgreSQL, straight to asyncpg.

Every request counts itself against its key's rate limit and looks up its API key; one
project is the most read resource. Their statements are built with SQLAlchemy Core like
every other, but compiled once (``Query``); on PostgreSQL they then run on the request's
own asyncpg connection, skipping SQLAlchemy's per-execution work: three statements
through SQLAlchemy Core cost 0.80 ms of CPU against 0.25 ms on asyncpg, measured in one
uvicorn process under wrk. On SQLite they run through SQLAlchemy as usual, so the suite
runs the same statements both ways.

No result processing is applied on the PostgreSQL path: asyncpg already returns what the
column types return there (UTC-aware datetimes, ``numeric`` as ``Decimal``), which
``tests/test_plainsql.py`` checks row for row against SQLAlchemy.

These statements run outside the session's transaction (SQLAlchemy begins it lazily, at
its first statement), so each is a consistent snapshot by itself: a read that must agree
with another belongs in one statement.

A request that runs nothing but plain statements (GET a project) need not have a session
at all: ``connect`` lends it a pooled connection bare, without SQLAlchemy's connection or
session around it.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
from sqlalchemy import Delete, Dialect, Insert, Select, Update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

# Errors that mean the connection or the server is gone (or an operator stopped it): the
# service answers those with 503 and drops the connection, as it does for SQLAlchemy's own.
# InternalClientError is the driver finding its connection mid-way through an operation a
# server restart cut short (bench/chaos.py met it): that connection is no use either.
_UNAVAILABLE = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.OperatorInterventionError,
                asyncpg.InternalClientError, OSError, TimeoutError)


@dataclass(frozen=True)
class Pooled:
    """A PostgreSQL connection of ``engine``'s pool, bare (``connect``)."""

    connection: PoolProxiedConnection
    engine: AsyncEngine
    # The asyncpg connection itself, found once: through the pool's proxies it is three
    # property lookups, and each statement needs it.
    driver: Any = None

    @property
    def dialect(self) -> Dialect:
        return self.engine.dialect


# Where plain statements run: a session's connection, a connection, or a bare pooled one.
On = AsyncSession | AsyncConnection | Pooled

# Called with (connection, SQL, arguments) before each plain statement: what SQLAlchemy's
# ``before_cursor_execute`` event is for its own, for the tests and the benchmark. The
# connection's ``engine`` tells which database was asked.
observers: list[Callable[[AsyncConnection | Pooled, str, Sequence[Any]], None]] = []


@asynccontextmanager
async def connect(engine: AsyncEngine) -> AsyncIterator[AsyncConnection | Pooled]:
    """A connection for plain statements alone, each committed by itself.

    On PostgreSQL it is the pool's connection, bare: checking it out and in costs 19 µs of
    CPU, against 59 µs with SQLAlchemy's connection around it and 120 µs with a session's
    (one process, 5,000 times each). Elsewhere plain statements run through SQLAlchemy, so
    it is a SQLAlchemy connection.
    """
    if engine.dialect.name != "postgresql":
        async with engine.connect() as connection:
            yield connection
        return
    dbapi = engine.dialect.loaded_dbapi
    try:
        pooled = await engine.raw_connection()
    except dbapi.Error as exc:
        # The pool raises the driver's error as it is; wrapped as SQLAlchemy would wrap it,
        # it reaches the one handler that tells an unavailable database from a bug.
        raise DBAPIError.instance(None, None, exc, dbapi.Error) from exc
    try:
        yield Pooled(pooled, engine, pooled.driver_connection)
    except asyncio.CancelledError:
        # A statement cut short can leave the connection mid-conversation: never lend it again.
        pooled.invalidate()
        raise
    finally:
        # Back to the pool, in SQLAlchemy's async context: a pool that is full closes the
        # connection instead, and closing an asyncpg connection awaits.
        await greenlet_spawn(pooled.close)


Statement = Select[Any] | Insert | Update | Delete


class Query:
    """One statement with named parameters, built by ``build`` for a dialect's name."""

    def __init__(self, build: Callable[[str], Statement]) -> None:
        self.build = build
        self._compiled: tuple[str, tuple[str, ...], dict[str, Any]] | None = None
        self._statements: dict[str, Statement] = {}

    def _postgresql(self, dialect: Dialect) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        if self._compiled is None:
            compiled = self.build(dialect.name).compile(dialect=dialect)
            # The values of the statement's own bound literals; the caller gives the rest.
            own = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
            self._compiled = (compiled.string, tuple(compiled.positiontup or ()), own)
        return self._compiled

    async def rows(self, on: On, **params: Any) -> Sequence[Mapping[str, Any]]:
        """The rows, on a session's connection or a connection of one's own."""
        if isinstance(on, Pooled):  # the hot path: no SQLAlchemy around it
            sql, names, own = self._compiled or self._postgresql(on.dialect)
            return await _fetch(on, sql, [params[name] if name in params else own[name] for name in names])
        connection = await on.connection() if isinstance(on, AsyncSession) else on
        dialect = connection.dialect
        if not isinstance(connection, Pooled) and dialect.name != "postgresql":
            statement = self._statements.get(dialect.name)
            if statement is None:
                statement = self._statements[dialect.name] = self.build(dialect.name)
            result = await connection.execute(statement, params)
            return cast(Sequence[Mapping[str, Any]], result.mappings().all() if result.returns_rows else [])
        sql, names, own = self._postgresql(dialect)
        return await _fetch(connection, sql, [params[name] if name in params else own[name] for name in names])

    async def alone(self, on: AsyncConnection | Pooled, **params: Any) -> Sequence[Mapping[str, Any]]:
        """The rows of the statement committed by itself, on a connection of ``connect``.

        On PostgreSQL the bare connection is outside any transaction, so the statement is
        committed at once, whatever the request does later. On SQLite it runs in a short
        transaction of its own (a connection that has already begun one is refused).
        """
        if isinstance(on, Pooled):
            return await self.rows(on, **params)
        async with on.begin():
            return await self.rows(on, **params)

    async def first(self, on: On, **params: Any) -> Mapping[str, Any] | None:
        rows = await self.rows(on, **params)
        return rows[0] if rows else None


async def _fetch(connection: AsyncConnection | Pooled, sql: str, args: list[Any]) -> Sequence[Mapping[str, Any]]:
    if isinstance(connection, Pooled):
        pooled, driver = connection.connection, connection.driver
    else:
        pooled = await connection.get_raw_connection()
        driver = pooled.driver_connection
    assert driver is not None
    for observe in observers:
        observe(connection, sql, args)
    try:
        return await driver.fetch(sql, *args)  # type: ignore[no-any-return]
    except asyncpg.QueryCanceledError as exc:  # the statement timeout: the connection is sound
        raise OperationalError(sql, args, exc) from exc
    except _UNAVAILABLE as exc:
        if isinstance(connection, Pooled):
            pooled.invalidate()
        else:
            await connection.invalidate()
        raise OperationalError(sql, args, exc) from exc
    except asyncpg.PostgresError as exc:
        raise DBAPIError(sql, args, exc) from exc
