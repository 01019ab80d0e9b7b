"""The schema comes from the migrations only, and they match the models on each database."""

from alembic import command
from app.cli import alembic_config, migrate


def test_the_migrated_schema_matches_the_models(database_url):
    # Raises if autogenerate would find anything to add, drop or alter.
    command.check(alembic_config(database_url))  # type: ignore[arg-type]


def test_migrations_downgrade_to_nothing_and_back(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cycle.db'}"
    migrate(url)
    command.downgrade(alembic_config(url), "base")  # type: ignore[arg-type]
    migrate(url)
    command.check(alembic_config(url))  # type: ignore[arg-type]
