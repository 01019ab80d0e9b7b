"""A per-key request limit, counted in the database so every process shares it.

Fixed one-minute windows: each request adds one to its key's current window in a short
transaction of its own (before the request's work begins), and is refused with 429 once
the window's count passes the limit. Keys are told apart by their public prefix, so the
count needs no key lookup, and guessing a key's secret is slowed as much as using it.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from app import dialect
from app.models import RateLimitWindow

log = logging.getLogger("app.ratelimit")
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


async def hit(engine: AsyncEngine, bucket: str, *, limit: int, now: datetime | None = None) -> Verdict:
    """Count one request in ``bucket``'s current window."""
    now = now or datetime.now(UTC)
    start = now.replace(second=0, microsecond=0)
    table = RateLimitWindow.__table__  # type: ignore[attr-defined]
    stmt = dialect.insert(table, engine.dialect.name).values(bucket=bucket, window_start=start, count=1)
    stmt = stmt.on_conflict_do_update(index_elements=["bucket", "window_start"],
                                      set_={"count": table.c.count + 1}).returning(table.c.count)
    async with engine.begin() as conn:
        count = int((await conn.execute(stmt)).scalar_one())
        if count == 1:  # a new window: the key's older ones are done with
            await conn.execute(delete(table).where(table.c.bucket == bucket, table.c.window_start < start))
    retry = int((start + WINDOW - now).total_seconds()) + 1
    return Verdict(allowed=count <= limit, count=count, retry_after_seconds=retry)
