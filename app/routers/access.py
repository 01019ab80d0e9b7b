"""``/api-keys`` and ``/audit-events``: who may act, and what they did."""

from typing import Annotated

from fastapi import Query, Request, Response, status

from app.deps import Allowed, Session
from app.models.access import ApiKeyCreate, ApiKeyCreated, ApiKeyRead, AuditEventRead
from app.models.fields import Instant
from app.routers.common import Cursor, Id, Limit, make_router, problems
from app.services.access import keys
from app.services.access.permissions import Action, Principal
from app.services.common import audit_log
from app.services.common.pagination import Page

api_keys = make_router("/api/v1/api-keys", "api-keys")
audit_events = make_router("/api/v1/audit-events", "audit")


@api_keys.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_key(body: ApiKeyCreate, request: Request, response: Response, session: Session,
                     principal: Principal = Allowed(Action.api_key_manage)) -> ApiKeyCreated:
    """Issue an API key. The secret ``key`` is shown in this response only: a retry with the same
    ``Idempotency-Key`` answers the same key without its secret (``key`` null), which is never stored."""
    request.state.never_store = ("key",)
    created = await keys.create_key(session, data=body, actor=principal)
    response.headers["Location"] = f"{api_keys.prefix}/{created.id}"
    response.headers["Cache-Control"] = "no-store"
    return created


@api_keys.get("", response_model=Page[ApiKeyRead])
async def list_keys(session: Session, principal: Principal = Allowed(Action.api_key_manage),
                    revoked: bool | None = None, limit: Limit = 50, cursor: Cursor = None) -> Page[ApiKeyRead]:
    """List keys (never their secrets)."""
    return await keys.list_keys(session, revoked=revoked, cursor=cursor, limit=limit)


@api_keys.get("/{key_id}", response_model=ApiKeyRead, responses=problems(404))
async def get_key(key_id: Id, session: Session, principal: Principal = Allowed(Action.api_key_manage)) -> ApiKeyRead:
    """One key (never its secret)."""
    return await keys.get_key(session, key_id)


@api_keys.delete("/{key_id}", response_model=ApiKeyRead, responses=problems(404, 409))
async def revoke_key(key_id: Id, session: Session,
                     principal: Principal = Allowed(Action.api_key_manage)) -> ApiKeyRead:
    """Revoke a key: from the next request on, in every process, it is refused."""
    return await keys.revoke_key(session, key_id, actor=principal)


@audit_events.get("", response_model=Page[AuditEventRead])
async def list_audit_events(
    session: Session,
    principal: Principal = Allowed(Action.audit_read),
    resource_type: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
    resource_id: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] = None,
    actor_key_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    action: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_.]+$")] = None,
    since: Annotated[Instant | None, Query(description="Events at or after this instant.")] = None,
    until: Annotated[Instant | None, Query(description="Events before this instant.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AuditEventRead]:
    """Who changed what, when, before and after; newest first. Audit events cannot be changed."""
    return await audit_log.list_events(session, resource_type=resource_type, resource_id=resource_id,
                                       actor_key_id=actor_key_id, action=action, since=since, until=until,
                                       cursor=cursor, limit=limit)
