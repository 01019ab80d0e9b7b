"""A per-key request limit, counted in the database so every process shares it.

Fixed one-minute windows: each request adds one to its key's current window, committed
by itself before the key is even looked up (``current_principal``), and is refused with
429 once the window's count passes the limit. Keys are told apart by their public
prefix, so the count needs no key lookup, and guessing a key's secret is slowed as much
as using it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete
from sqlalchemy.ext.asyncio import AsyncConnection

from app import dialect
from app.errors import TooManyRequests
from app.models import RateLimitWindow
from app.plainsql import Pooled, Query

WINDOW = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    count: int
    retry_after_seconds: int


def bucket_of(authorization: str | None) -> str | None:
    """The bucket a request counts in: its key's public prefix, or None (not limited here)."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    prefix = token.strip().removeprefix("ipk_").partition("_")[0]
    if scheme.lower() != "bearer" or not prefix:
        return None
    return f"key:{prefix[:40]}"


TABLE = RateLimitWindow.__table__  # type: ignore[attr-defined]
# Every request runs these: plain SQL (app/plainsql.py), each statement atomic by itself.
COUNT = Query(lambda dialect_name: dialect.insert(TABLE, dialect_name)
              .values(bucket=bindparam("bucket"), window_start=bindparam("start"), count=1)
              .on_conflict_do_update(index_elements=["bucket", "window_start"], set_={"count": TABLE.c.count + 1})
              .returning(TABLE.c.count))
FORGET_OLDER = Query(lambda _dialect_name: delete(TABLE).where(TABLE.c.bucket == bindparam("bucket"),
                                                               TABLE.c.window_start < bindparam("start")))


async def hit(on: AsyncConnection | Pooled, bucket: str, *, limit: int, now: datetime | None = None) -> Verdict:
    """Count one request in ``bucket``'s current window (committed at once: ``Query.alone``)."""
    now = now or datetime.now(UTC)
    start = now.replace(second=0, microsecond=0)
    counted = await COUNT.alone(on, bucket=bucket, start=start)
    count = int(counted[0]["count"])
    if count == 1:  # a new window: the key's older ones are done with
        await FORGET_OLDER.alone(on, bucket=bucket, start=start)
    retry = int((start + WINDOW - now).total_seconds()) + 1
    return Verdict(allowed=count <= limit, count=count, retry_after_seconds=retry)


async def check(on: AsyncConnection | Pooled, authorization: str | None, *, limit: int) -> None:
    """429 once the key of ``authorization`` is over ``limit`` this minute (0: no limit)."""
    bucket = bucket_of(authorization)
    if limit <= 0 or bucket is None:
        return
    verdict = await hit(on, bucket, limit=limit)
    if not verdict.allowed:
        raise TooManyRequests(f"This key made more than {limit} requests this minute.",
                              headers={"Retry-After": str(verdict.retry_after_seconds)})
