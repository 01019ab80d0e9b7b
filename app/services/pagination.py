"""Keyset pagination with opaque cursors: page 1,000 costs what page 1 costs.

A cursor carries the sort it was made for and the last row's (sort value, id); the next
page is the rows strictly after that pair in the sort order, ids breaking ties.
"""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, or_

from app.errors import InvalidInput

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class SortKey:
    name: str
    column: Any  # an InstrumentedAttribute / ColumnElement
    decode: Callable[[Any], Any]


def decode_datetime(v: Any) -> datetime:
    value = datetime.fromisoformat(v)
    if value.tzinfo is None:
        raise ValueError("naive instant")
    return value


def decode_date(v: Any) -> date:
    return date.fromisoformat(v)


def decode_decimal(v: Any) -> Decimal:
    value = Decimal(v)
    if not value.is_finite():
        raise ValueError("not a finite amount")
    return value


def decode_str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("not a string")
    return v


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
          limit: int, sort_label: str) -> Select[Any]:
    """Order, seek past the cursor, and fetch one row more than a page (to know if there is a next)."""
    if cursor is not None:
        value, last_id = _decode(cursor, sort_label, key)
        col = key.column
        after: ColumnElement[bool]
        if descending:
            after = or_(col < value, and_(col == value, id_column < last_id))
        else:
            after = or_(col > value, and_(col == value, id_column > last_id))
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


def _decode(cursor: str, sort_label: str, key: SortKey) -> tuple[Any, int]:
    bad = InvalidInput.field("cursor", "is not a cursor of this listing and sort", code="invalid_cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        label, value, last_id = json.loads(raw)
        if label != sort_label or type(last_id) is not int or not 0 < last_id < 2**63:
            raise bad
        return key.decode(value), last_id
    except (ValueError, TypeError, binascii.Error, InvalidOperation, UnicodeDecodeError) as exc:
        raise bad from exc
