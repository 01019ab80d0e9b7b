"""SQL expressions whose spelling differs between PostgreSQL and SQLite.

The aggregates in ``app/services/`` are written once, in dialect-neutral SQLAlchemy; the
few functions the two databases spell differently are defined here, each compiled for
both, so no service ever asks which database it runs on.
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, String, any_, bindparam, literal
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


class local_date(FunctionElement[date]):
    """The calendar day of an instant (a UTC timestamp column) in a time zone, as a DATE."""

    type = Date()
    inherit_cache = True
    name = "local_date"

    def __init__(self, instant: Any, zone: str) -> None:
        self.zone = ZoneInfo(zone).key  # a real zone name: it is written into the SQL
        super().__init__(instant)


@compiles(local_date)
def _local_date_postgresql(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    (instant,) = list(element.clauses)
    return f"CAST(({compiler.process(instant, **kw)} AT TIME ZONE '{element.zone}') AS DATE)"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps naive UTC and knows no zones: the zone's offset now (the city's zone,
    # Asia/Shanghai, has had no daylight saving time since 1991).
    (instant,) = list(element.clauses)
    offset = datetime.now(ZoneInfo(element.zone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    return f"date({compiler.process(instant, **kw)}, '{minutes:+d} minutes')"


def insert(table: Any, dialect_name: str) -> Any:
    """INSERT with ``on_conflict_do_update``: both databases have it, under their own names."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def a_date(value: date) -> ColumnElement[date]:
    """A date parameter typed as DATE: asyncpg is told its type; SQLite gets ISO text
    (never ``CAST(… AS DATE)``, which SQLite would turn into a number)."""
    return literal(value, Date)


class json_rows(FunctionElement[str]):
    """An aggregate: the group's rows as JSON text, ``[{"key": value, …}, …]``, or NULL when
    the group is empty. Called as ``json_rows("key", value, "key", value, …)``."""

    type = String()
    inherit_cache = True
    name = "json_rows"


@compiles(json_rows)
def _json_rows_postgresql(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_agg(json_build_object({compiler.process(element.clauses, **kw)}))::text"


@compiles(json_rows, "sqlite")
def _json_rows_sqlite(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    # json_group_array gives '[]' for no rows; NULLIF makes both databases agree on NULL.
    return f"NULLIF(json_group_array(json_object({compiler.process(element.clauses, **kw)})), '[]')"


def in_values(column: Any, values: Sequence[Any], dialect_name: str) -> ColumnElement[bool]:
    """``column IN (values)``. On PostgreSQL one array parameter (``column = ANY($n)``): the
    statement's text then does not depend on how many values there are, so its compiled
    form is reused (``app/plainsql.py``) whatever the filter holds."""
    if dialect_name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(list(values))  # type: ignore[no-any-return]


class json_quarter_amount(FunctionElement[Any]):
    """The amount of one quarter in a JSON list ``[{"quarter": n, "amount": {"amount": "…"}}]``
    (a monthly report's ``expected_investment``), in ``Amount``'s stored form (numeric on
    PostgreSQL, hundredths on SQLite); NULL when the quarter is absent or the value no list."""

    inherit_cache = True
    name = "json_quarter_amount"

    def __init__(self, document: Any, quarter: int) -> None:
        self.quarter = int(quarter)  # written into the SQL: an int only
        super().__init__(document)


@compiles(json_quarter_amount)
def _json_quarter_amount_postgresql(element: json_quarter_amount, compiler: SQLCompiler, **kw: Any) -> str:
    (document,) = list(element.clauses)
    doc = compiler.process(document, **kw)
    return (f"(SELECT SUM((e.value -> 'amount' ->> 'amount')::numeric) FROM jsonb_array_elements("
            f"CASE WHEN jsonb_typeof({doc}) = 'array' THEN {doc} ELSE '[]'::jsonb END) AS e "
            f"WHERE (e.value ->> 'quarter')::int = {element.quarter})")


@compiles(json_quarter_amount, "sqlite")
def _json_quarter_amount_sqlite(element: json_quarter_amount, compiler: SQLCompiler, **kw: Any) -> str:
    # Amounts are decimal strings of at most two places: times 100 and rounded, the double is
    # the exact count of hundredths for any amount below 9 × 10^13 (2^53 hundredths).
    (document,) = list(element.clauses)
    doc = compiler.process(document, **kw)
    return (f"(SELECT SUM(CAST(ROUND(json_extract(e.value, '$.amount.amount') * 100) AS INTEGER)) FROM json_each("
            f"CASE WHEN json_type({doc}) = 'array' THEN {doc} ELSE '[]' END) AS e "
            f"WHERE json_extract(e.value, '$.quarter') = {element.quarter})")
