"""SQL expressions whose spelling differs between PostgreSQL and SQLite.

The aggregates in ``app/services/`` are written once, in dialect-neutral SQLAlchemy; the
few functions the two databases spell differently are defined here, each compiled for
both, so no service ever asks which database it runs on.
"""

from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement[int]):
    """Whole days from ``start`` to ``end`` (``end - start``), two DATE expressions."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between_postgresql(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL: date - date is an integer count of days.
    end, start = list(element.clauses)
    return f"({compiler.process(end, **kw)} - {compiler.process(start, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps dates as ISO text; julianday() makes them day numbers.
    end, start = list(element.clauses)
    return f"CAST(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}) AS INTEGER)"


def insert(table: Any, dialect_name: str) -> Any:
    """INSERT with ``on_conflict_do_update``: both databases have it, under their own names."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def a_date(value: date) -> ColumnElement[date]:
    """A date parameter typed as DATE: asyncpg is told its type; SQLite gets ISO text
    (never ``CAST(… AS DATE)``, which SQLite would turn into a number)."""
    return literal(value, Date)
