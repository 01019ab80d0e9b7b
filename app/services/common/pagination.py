"""Keyset pagination with opaque cursors: page 1,000 costs what page 1 costs.

A cursor carries the sort it was made for and the last row's (sort value, id); the next
page is the rows strictly after that pair in the sort order, ids breaking ties.
"""

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, or_

from app.errors import InvalidInput
from app.models.fields import MAX_AMOUNT

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class SortKey:
    name: str
    column: Any  # an InstrumentedAttribute / ColumnElement
    decode: Callable[[Any], Any]


# A cursor comes back from the client: every value in it is checked as strictly as input.


def decode_datetime(v: Any) -> datetime:
    value = datetime.fromisoformat(v)
    if value.tzinfo is None or not 1900 <= value.year <= 2200:
        raise ValueError("not an instant this service wrote")
    return value.astimezone(UTC)


def decode_date(v: Any) -> date:
    value = date.fromisoformat(v)
    if not 1900 <= value.year <= 2200:
        raise ValueError("not a business date")
    return value


def decode_decimal(v: Any) -> Decimal:
    value = Decimal(v)
    if not value.is_finite() or not 0 <= value <= MAX_AMOUNT or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("not an amount")
    return value


def decode_str(v: Any) -> str:
    if not isinstance(v, str) or "\x00" in v or len(v) > 200:
        raise ValueError("not a name")
    return v


def decode_id(limit: int) -> Callable[[Any], int]:
    def decode(v: Any) -> int:
        if type(v) is not int or not 0 < v <= limit:
            raise ValueError("not an id")
        return v

    return decode


INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def _encode_value(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def parse_sort(sort: str, keys: dict[str, SortKey]) -> tuple[SortKey, bool]:
    """``name`` or ``-name`` to (key, descending)."""
    descending = sort.startswith("-")
    name = sort.removeprefix("-")
    if name not in keys:
        raise InvalidInput.field("sort", f"must be one of {', '.join(sorted(keys))}, optionally prefixed by -")
    return keys[name], descending


def apply(stmt: Select[Any], *, key: SortKey, descending: bool, id_column: Any, cursor: str | None,
          limit: int, sort_label: str, id_max: int = INT64_MAX) -> Select[Any]:
    """Order, seek past the cursor, and fetch one row more than a page (to know if there is a next)."""
    if cursor:
        value, last_id = _decode(cursor, sort_label, key, id_max)
        col = key.column
        after: ColumnElement[bool]
        # The redundant bound on the sort column alone gives the (sort, id) index a place to
        # start: without it PostgreSQL cannot seek on the OR and reads every earlier row.
        if descending:
            after = and_(col <= value, or_(col < value, and_(col == value, id_column < last_id)))
        else:
            after = and_(col >= value, or_(col > value, and_(col == value, id_column > last_id)))
        stmt = stmt.where(after)
    order = (key.column.desc(), id_column.desc()) if descending else (key.column.asc(), id_column.asc())
    return stmt.order_by(*order).limit(limit + 1)


def page(rows: Sequence[T], *, limit: int, sort_label: str, key_of: Callable[[T], tuple[Any, int]]) -> tuple[
        list[T], str | None]:
    """Cut the extra row and make the cursor for the next page."""
    if len(rows) <= limit:
        return list(rows), None
    kept = list(rows[:limit])
    value, last_id = key_of(kept[-1])
    return kept, _encode(sort_label, value, last_id)


def _encode(sort_label: str, value: Any, last_id: int) -> str:
    raw = json.dumps([sort_label, _encode_value(value), last_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, sort_label: str, key: SortKey, id_max: int) -> tuple[Any, int]:
    bad = InvalidInput.field("cursor", "is not a cursor of this listing and sort", code="invalid_cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        label, value, last_id = json.loads(raw)
        if label != sort_label:
            raise bad
        return key.decode(value), decode_id(id_max)(last_id)
    except (ValueError, TypeError, OverflowError, binascii.Error, InvalidOperation, UnicodeDecodeError) as exc:
        raise bad from exc


async def every_item(fetch: Callable[[str | None], Awaitable[Any]]) -> list[Any]:
    """Every item of a listing, page after page: ``fetch(cursor)`` answers a page with
    ``items`` and ``next_cursor`` (for a report that needs all of them, such as the bulletin)."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        items.extend(page.items)
        if not (cursor := page.next_cursor):
            return items
