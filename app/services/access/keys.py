"""Key management: issue, list and revoke API keys."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, InvalidInput, NotFound
from app.models import ApiKey, Leader, Unit, utcnow
from app.models.access import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from app.services.access import auth
from app.services.access.permissions import Principal
from app.services.common import audit, pagination
from app.services.common.pagination import Page, SortKey


def _snapshot(key: ApiKey) -> dict[str, object]:
    return ApiKeyRead.model_validate(key, from_attributes=True).model_dump(mode="json", exclude={"last_used_at"})


async def create_key(session: AsyncSession, *, data: ApiKeyCreate, actor: Principal) -> ApiKeyCreated:
    """Issue a key; the secret is in this answer only."""
    if data.leader_id is not None and await session.get(Leader, data.leader_id) is None:
        raise InvalidInput.field("leader_id", f"no leader has id {data.leader_id}")
    if data.unit_id is not None and await session.get(Unit, data.unit_id) is None:
        raise InvalidInput.field("unit_id", f"no unit has id {data.unit_id}")
    if data.expires_at is not None and data.expires_at <= utcnow():
        raise InvalidInput.field("expires_at", "must be in the future")
    secret, prefix, digest = auth.new_key()
    key = ApiKey(name=data.name, role=data.role, leader_id=data.leader_id, unit_id=data.unit_id, prefix=prefix,
                 secret_hash=digest, created_by=actor.name, expires_at=data.expires_at)
    session.add(key)
    await session.flush()
    assert key.id is not None
    await audit.record(session, actor, action="api_key.create", resource_type="api_key", resource_id=key.id,
                       after=_snapshot(key))
    return ApiKeyCreated(**ApiKeyRead.model_validate(key, from_attributes=True).model_dump(), key=secret)


async def list_keys(session: AsyncSession, *, revoked: bool | None, cursor: str | None,
                    limit: int) -> Page[ApiKeyRead]:
    key = SortKey("id", ApiKey.id, pagination.decode_id(pagination.INT32_MAX))
    stmt = select(ApiKey)
    if revoked is not None:
        stmt = stmt.where(ApiKey.revoked_at.is_not(None) if revoked else ApiKey.revoked_at.is_(None))  # type: ignore[union-attr]
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=ApiKey.id, cursor=cursor, limit=limit,
                            sort_label="api_key", id_max=pagination.INT32_MAX)
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="api_key",
                                        key_of=lambda k: (k.id or 0, k.id or 0))
    return Page[ApiKeyRead](items=[ApiKeyRead.model_validate(k, from_attributes=True) for k in kept],
                            next_cursor=next_cursor)


async def get_key(session: AsyncSession, key_id: int) -> ApiKeyRead:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key with id {key_id}.")
    return ApiKeyRead.model_validate(key, from_attributes=True)


async def revoke_key(session: AsyncSession, key_id: int, *, actor: Principal) -> ApiKeyRead:
    """Revoke a key; every process refuses it from its next request on."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key with id {key_id}.")
    if key.revoked_at is not None:
        raise Conflict("The key is already revoked.", code="key_revoked")
    key.revoked_at = utcnow()
    await session.flush()
    await audit.record(session, actor, action="api_key.revoke", resource_type="api_key", resource_id=key_id,
                       before={"revoked_at": None}, after={"revoked_at": audit.instant(key.revoked_at)})
    return ApiKeyRead.model_validate(key, from_attributes=True)
