"""Dropping what has served its time: expired idempotency records, past rate-limit windows.

Run from each service process; two processes deleting the same expired rows is harmless.
"""

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import RateLimitWindow, utcnow
from app.services.access import idempotency, ratelimit

log = logging.getLogger("app.housekeeping")


async def sweep(session: AsyncSession, *, now: datetime) -> tuple[int, int]:
    """Delete expired idempotency records and finished rate-limit windows; returns how many of each."""
    records = await idempotency.purge_expired(session)
    result = await session.execute(delete(RateLimitWindow).where(
        RateLimitWindow.window_start < now - ratelimit.WINDOW))  # type: ignore[arg-type]
    return records, int(getattr(result, "rowcount", 0) or 0)


async def periodic(sessionmaker: async_sessionmaker[AsyncSession], *, interval: timedelta) -> None:
    """Sweep every ``interval`` until cancelled; a failed sweep is logged and retried."""
    while True:
        try:
            async with sessionmaker() as session, session.begin():
                records, windows = await sweep(session, now=utcnow())
            if records or windows:
                log.info("housekeeping removed %d idempotency records, %d rate-limit windows", records, windows)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("housekeeping failed; retrying at the next interval")
        await asyncio.sleep(interval.total_seconds())
