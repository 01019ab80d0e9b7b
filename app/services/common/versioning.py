"""Optimistic concurrency: ETags are versions, and a write names the version it read."""

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.errors import PreconditionFailed, PreconditionRequired


def etag(version: int) -> str:
    return f'"{version}"'


def check(if_match: str | None, version: int) -> None:
    """428 without ``If-Match``; 412 unless it names the current version (weak or strong, or ``*``)."""
    if if_match is None:
        raise PreconditionRequired("This change needs an If-Match header with the resource's current ETag.")
    tags = [t.strip().removeprefix("W/") for t in if_match.split(",")]
    if "*" in tags or etag(version) in tags:
        return
    raise PreconditionFailed(
        f"The resource has changed: its current ETag is {etag(version)}; read it again and retry.")


async def flush(session: AsyncSession) -> None:
    """Flush, answering 412 if a concurrent writer changed the row since it was read."""
    try:
        await session.flush()
    except StaleDataError as exc:
        raise PreconditionFailed("The resource was changed by another request; read it again and retry.") from exc
