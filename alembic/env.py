"""Alembic environment: the schema's only source, on PostgreSQL and SQLite alike."""

import asyncio
from logging.config import fileConfig

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table on the metadata
from alembic import context
from app.config import Settings, get_settings
from app.db import make_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _url() -> str:
    return str(config.attributes.get("database_url") or get_settings().database_url)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
        # SQLite's DDL is transactional, though Alembic assumes not and would commit after each
        # migration: another process could then start on a migration this one is running.
        # One transaction (``BEGIN IMMEDIATE``, app/db.py) makes processes take turns, and a
        # failed upgrade leaves nothing half done.
        transactional_ddl=True,
    )


# Any constant: the key of the advisory lock that lets one process migrate at a time.
MIGRATION_LOCK_KEY = 7_240_601


def _run_sync(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration copies a table, drops it and renames the copy: with foreign keys
        # enforced, dropping a table that other rows point at fails. Checked again at the end.
        # The pragma works only outside a transaction: on the driver's connection, before ours.
        cursor = connection.connection.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.close()
    _configure(connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several containers starting at once: the first migrates, the others wait
            # here and then find the database already at head.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: {broken[:5]}")



async def _run_async() -> None:
    engine = make_engine(Settings(database_url=_url()))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=_url().startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
    else:
        asyncio.run(_run_async())
