"""The audit trail: one event per change, in the change's own transaction."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import context
from app.models import AuditEvent, utcnow
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


async def record_many(session: AsyncSession, actor: Principal, events: Sequence[dict[str, Any]]) -> None:
    """``record`` for each event (``action``, ``resource_type``, ``resource_id``, ``before``,
    ``after``), in order, as one batched INSERT: for a batch of changes, where building an
    ORM instance per event would cost more than writing it. Pending changes are flushed
    first, so the events follow what the session already holds."""
    if not events:
        return
    await session.flush()
    request_id = context.request_id.get()
    rows = [{"occurred_at": utcnow(), "actor_key_id": actor.key_id, "actor_name": actor.name, "action": e["action"],
             "resource_type": e["resource_type"], "resource_id": str(e["resource_id"]), "before": e.get("before"),
             "after": e.get("after"), "request_id": request_id} for e in events]
    await session.execute(insert(AuditEvent.__table__), rows)  # type: ignore[attr-defined]
