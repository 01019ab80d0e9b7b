"""Reading the audit trail."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInput
from app.models import AuditEvent
from app.models.access import AuditEventRead
from app.services.common import pagination
from app.services.common.pagination import Page, SortKey


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInput.field(name, "must carry a time zone, e.g. 2022-06-30T00:00:00Z")
    return value.astimezone(UTC)


async def list_events(session: AsyncSession, *, resource_type: str | None, resource_id: str | None,
                      actor_key_id: int | None, action: str | None, since: datetime | None,
                      until: datetime | None, cursor: str | None, limit: int) -> Page[AuditEventRead]:
    """Audit events matching every given filter, newest first."""
    since, until = _aware("since", since), _aware("until", until)
    stmt = select(AuditEvent)
    if resource_type is not None:
        stmt = stmt.where(AuditEvent.resource_type == resource_type)  # type: ignore[arg-type]
    if resource_id is not None:
        stmt = stmt.where(AuditEvent.resource_id == resource_id)  # type: ignore[arg-type]
    if actor_key_id is not None:
        stmt = stmt.where(AuditEvent.actor_key_id == actor_key_id)  # type: ignore[arg-type]
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)  # type: ignore[arg-type]
    if since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= since)  # type: ignore[arg-type]
    if until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < until)  # type: ignore[arg-type]
    key = SortKey("id", AuditEvent.id, pagination.decode_id(pagination.INT64_MAX))
    stmt = pagination.apply(stmt, key=key, descending=True, id_column=AuditEvent.id, cursor=cursor, limit=limit,
                            sort_label="audit")
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="audit",
                                        key_of=lambda e: (e.id or 0, e.id or 0))
    return Page[AuditEventRead](items=[AuditEventRead.model_validate(e, from_attributes=True) for e in kept],
                                next_cursor=next_cursor)
