"""The audit trail: one event per change, in the change's own transaction."""

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from app import context
from app.models import AuditEvent
from app.services.access.permissions import Principal

_INSTANT = TypeAdapter(datetime)


def instant(value: datetime) -> Any:
    """An instant as the API writes it, for before/after documents."""
    return _INSTANT.dump_python(value, mode="json")


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that changed, as they were and as they are."""
    changed = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}


async def record(session: AsyncSession, actor: Principal, *, action: str, resource_type: str,
                 resource_id: int | str, before: dict[str, Any] | None = None,
                 after: dict[str, Any] | None = None) -> AuditEvent:
    """Add one audit event to the session; it commits or rolls back with the change."""
    event = AuditEvent(
        actor_key_id=actor.key_id,
        actor_name=actor.name,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id),
        before=before,
        after=after,
        request_id=context.request_id.get(),
    )
    session.add(event)
    return event
