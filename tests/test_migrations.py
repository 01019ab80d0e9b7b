"""The schema comes from the migrations only, and they match the models on each database."""

import os
import subprocess
import sys

from alembic import command
from app.cli import alembic_config, migrate


def test_the_migrated_schema_matches_the_models(database_url):
    # Raises if autogenerate would find anything to add, drop or alter.
    command.check(alembic_config(database_url))


def test_migrations_downgrade_to_nothing_and_back(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cycle.db'}"
    migrate(url)
    command.downgrade(alembic_config(url), "base")
    migrate(url)
    command.check(alembic_config(url))


def test_processes_migrating_at_once_leave_one_schema(tmp_path, database_url):
    # What containers starting together do: on PostgreSQL an advisory lock makes the
    # second wait for the first; on SQLite the file lock does.
    if database_url.startswith("sqlite"):
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'together.db'}"
    else:
        command.downgrade(alembic_config(database_url), "base")
    env = {**os.environ, "PIPELINE_DATABASE_URL": database_url}
    procs = [subprocess.Popen([sys.executable, "-m", "app.cli", "migrate"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outcomes = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outcomes
    command.check(alembic_config(database_url))
