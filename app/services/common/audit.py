"""The audit trail: one event per change, in the change's own transaction."""

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from app import context
from app.errors import Conflict
from app.models import AuditEvent, utcnow
from app.services.access.permissions import Principal
from app.services.common import versioning

_INSTANT = TypeAdapter(datetime)


def instant(value: datetime) -> Any:
    """An instant as the API writes it, for before/after documents."""
    return _INSTANT.dump_python(value, mode="json")


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that changed, as they were and as they are."""
    changed = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}


async def record_change(session: AsyncSession, actor: Principal, *, action: str, resource_type: str,
                        resource_id: int | str, before: dict[str, Any], after: dict[str, Any]) -> AuditEvent:
    """Record an update: only the fields that changed, as they were and as they are."""
    old, new = diff(before, after)
    return await record(session, actor, action=action, resource_type=resource_type, resource_id=resource_id,
                        before=old, after=new)


async def archive(session: AsyncSession, actor: Principal, entity: Any, *, if_match: str | None, what: str,
                  resource_type: str, resource_id: int | str, code: str = "already_archived",
                  action: str | None = None) -> AuditEvent:
    """The archive step every archivable resource shares: ``if_match`` must name the current
    version, an archived one is refused (409 ``code``), then the stamp, the flush, and the
    event (``archived_at`` as it was and as it is). ``what`` names it in the refusal."""
    versioning.check(if_match, entity.version)
    if entity.archived_at is not None:
        raise Conflict(f"The {what} is already archived.", code=code)
    entity.archived_at = entity.updated_at = utcnow()
    await versioning.flush(session)
    return await record(session, actor, action=action or f"{resource_type}.archive", resource_type=resource_type,
                        resource_id=resource_id, before={"archived_at": None},
                        after={"archived_at": instant(entity.archived_at)})


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
