"""Column types that behave the same on PostgreSQL and SQLite.

This module and ``app/db.py`` are the only places that know which database is in use.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator, TypeEngine

_CENTS = Decimal("0.01")


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, always timezone-aware UTC in Python.

    PostgreSQL keeps it as ``timestamptz``; SQLite has no time zones, so the value is
    stored as naive UTC and given its zone back on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is needed")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Amount(TypeDecorator[Decimal]):
    """A money amount with two decimal places, exact on both databases.

    PostgreSQL has an exact ``numeric``; SQLite would turn ``NUMERIC`` into a float, so
    there the amount is kept as an integer count of hundredths. ``SUM()`` keeps this
    type, so aggregates come back as exact ``Decimal`` on both.
    """

    impl = Numeric(20, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(20, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(_CENTS)
        return int(value * 100) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(_CENTS)
        return Decimal(value).quantize(_CENTS)


_RATE_PLACES = 10
_RATE_QUANTUM = Decimal(1).scaleb(-_RATE_PLACES)


class Rate(TypeDecorator[Decimal]):
    """An exchange rate with ten decimal places, exact on both databases.

    As with ``Amount``, SQLite keeps an integer (of 10^-10 units); rates are only ever
    read and compared, never summed, so the integer never overflows.
    """

    impl = Numeric(24, _RATE_PLACES)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(24, _RATE_PLACES, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(_RATE_QUANTUM)
        return int(value.scaleb(_RATE_PLACES)) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-_RATE_PLACES).quantize(_RATE_QUANTUM)
        return Decimal(value).quantize(_RATE_QUANTUM)
