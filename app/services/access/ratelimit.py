"""Request limits: per key, counted in the database so every process shares it; and per
client address for failed authentication, counted in memory.

Fixed one-minute windows. A request whose key authenticated adds one to that key's
current window, committed by itself (``current_principal``), and is refused with 429
once the window's count passes the limit. Only a key that authenticated is counted: a
request with a made-up key, or with a real key's public prefix and a wrong secret,
writes nothing and spends no real key's budget.

Failed authentication is counted per client address in the process's memory
(``FailedAuthentication``): no write per request, a bounded table, not exact across
processes (each process allows its own burst). Past the burst, a failing request gets
429 instead of 401; a request from that address whose key is valid still goes through,
since many clients may share an address (a proxy, an office).
"""

from collections import OrderedDict
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


def bucket_of(key_id: int) -> str:
    """The bucket an authenticated key's requests count in."""
    return f"key:{key_id}"


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


async def check(on: AsyncConnection | Pooled, key_id: int | None, *, limit: int) -> None:
    """429 once the authenticated key ``key_id`` is over ``limit`` this minute (0: no limit)."""
    if limit <= 0 or key_id is None:
        return
    if not isinstance(on, Pooled) and on.in_transaction():
        await on.commit()  # SQLite: end the key lookup's read, so the count commits by itself
    verdict = await hit(on, bucket_of(key_id), limit=limit)
    if not verdict.allowed:
        raise TooManyRequests(f"This key made more than {limit} requests this minute.",
                              headers={"Retry-After": str(verdict.retry_after_seconds)})


class FailedAuthentication:
    """Failed authentications per client address this minute, in this process's memory.

    At most ``capacity`` addresses are remembered; the least recently failing is
    forgotten first, so a flood of addresses costs bounded memory (and at worst lets
    a forgotten address start its burst again)."""

    def __init__(self, *, limit: int, capacity: int = 10_000) -> None:
        self.limit = limit
        self.capacity = capacity
        self._windows: OrderedDict[str, tuple[datetime, int]] = OrderedDict()

    def fail(self, address: str, *, now: datetime | None = None) -> Verdict:
        """Count one failure from ``address``; refused once past the burst (0: never)."""
        now = now or datetime.now(UTC)
        start = now.replace(second=0, microsecond=0)
        window, count = self._windows.pop(address, (start, 0))
        count = count + 1 if window == start else 1
        self._windows[address] = (start, count)
        while len(self._windows) > self.capacity:
            self._windows.popitem(last=False)
        retry = int((start + WINDOW - now).total_seconds()) + 1
        return Verdict(allowed=self.limit <= 0 or count <= self.limit, count=count, retry_after_seconds=retry)
