"""The one update path and the one archive path that every resource takes.

    update:  If-Match names the current version (428/412) → refused when archived (409)
             → snapshot → ``apply`` (the resource's own checks and derived fields)
             → the plain fields set → ``updated_at`` stamped → flush (412 on a concurrent
             writer) → snapshot → one audit event with the fields that changed
    archive: If-Match → refused when archived (409) → ``archived_at`` stamped → flush
             → one audit event

The caller looks the resource up first (404, or 404 for what the key may not see), so
that the scope rules stay with the resource.
"""

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.models import AuditEvent, utcnow
from app.services.access.permissions import Principal
from app.services.common import audit, versioning

Snapshot = Callable[[], Awaitable[dict[str, Any]] | dict[str, Any]]
Step = Callable[[], Awaitable[None] | None]
Flush = Callable[[AsyncSession], Awaitable[None]]


@dataclass(frozen=True)
class Changed:
    """The fields an update changed, as they were and as they are (what the audit event holds)."""

    before: dict[str, Any]
    after: dict[str, Any]
    event: AuditEvent


async def _call(step: Callable[[], Any]) -> Any:
    result = step()
    return await result if inspect.isawaitable(result) else result


async def update(session: AsyncSession, actor: Principal, entity: Any, *, if_match: str | None,
                 resource_type: str, resource_id: int | str, snapshot: Snapshot,
                 fields: Mapping[str, Any] | None = None, apply: Step | None = None,
                 archived_code: str | None = "already_archived", what: str | None = None,
                 flush: Flush = versioning.flush, redact: Mapping[str, tuple[Any, Any]] | None = None,
                 action: str | None = None) -> Changed:
    """Change ``entity``: ``apply`` runs first (refusing bad input before anything is written, and
    setting what is not a plain field), then ``fields`` are set as given. ``archived_code=None``
    lets an archived resource change. ``redact`` names fields kept out of the snapshot that the audit
    event records, when set, as placeholders (a secret as rotated, never as a value)."""
    versioning.check(if_match, entity.version)
    if archived_code is not None and entity.archived_at is not None:
        raise Conflict(f"An archived {what or resource_type.replace('_', ' ')} cannot be changed.",
                       code=archived_code)
    before = await _call(snapshot)
    if apply is not None:
        await _call(apply)
    for name, value in (fields or {}).items():
        setattr(entity, name, value)
    entity.updated_at = utcnow()
    await flush(session)
    old, new = audit.diff(before, await _call(snapshot))
    for name, (shown_before, shown_after) in (redact or {}).items():
        if name in (fields or {}):
            old[name], new[name] = shown_before, shown_after
    event = await audit.record(session, actor, action=action or f"{resource_type}.update",
                               resource_type=resource_type, resource_id=resource_id, before=old, after=new)
    return Changed(before=old, after=new, event=event)


async def archive(session: AsyncSession, actor: Principal, entity: Any, *, if_match: str | None,
                  resource_type: str, resource_id: int | str, what: str | None = None,
                  code: str = "already_archived", action: str | None = None) -> AuditEvent:
    """Archive ``entity``: it leaves the lists and is never deleted. ``what`` names it in the
    refusal of one already archived (409 ``code``)."""
    versioning.check(if_match, entity.version)
    if entity.archived_at is not None:
        raise Conflict(f"The {what or resource_type.replace('_', ' ')} is already archived.", code=code)
    entity.archived_at = entity.updated_at = utcnow()
    await versioning.flush(session)
    return await audit.record(session, actor, action=action or f"{resource_type}.archive",
                              resource_type=resource_type, resource_id=resource_id, before={"archived_at": None},
                              after={"archived_at": audit.instant(entity.archived_at)})
