"""Integration keys' signing secrets, and checking a signed request against them.

A secret is stored as given (an HMAC can only be checked with the secret itself, so
it cannot be hashed like an API key); it is returned only by the call that sets it.
"""

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, Forbidden, NotFound
from app.models import ApiKey, IntegrationSecret, utcnow
from app.models.approval import SigningSecretCreated, SigningSecretRead, SigningSecretSet
from app.models.enums import Role
from app.services.access.permissions import Principal
from app.services.common import audit, links, signing

SECRET_PREFIX = "ipsec_"


async def set_secret(session: AsyncSession, key_id: int, *, data: SigningSecretSet,
                     actor: Principal) -> SigningSecretCreated:
    """Set (or replace) the signing secret of an integration key; shown in this answer only."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key with id {key_id}.")
    if key.role != Role.integration:
        raise Conflict(f"Only integration keys sign requests; key {key_id} is a {key.role} key.",
                       code="not_an_integration_key")
    if key.revoked_at is not None:
        raise Conflict("The key is revoked.", code="key_revoked")
    secret = data.secret or SECRET_PREFIX + secrets.token_urlsafe(32)
    row = await session.get(IntegrationSecret, key_id)
    replaced = row is not None
    if row is None:
        row = IntegrationSecret(api_key_id=key_id, secret=secret, created_by=actor.name)
        session.add(row)
    else:
        row.secret, row.created_at, row.created_by = secret, utcnow(), actor.name
    await session.flush()
    await audit.record(session, actor, action="api_key.set_signing_secret", resource_type="api_key",
                       resource_id=key_id, before={"signing_secret": "(set)" if replaced else None},
                       after={"signing_secret": "(replaced)" if replaced else "(set)"})
    return SigningSecretCreated(api_key_id=key_id, created_at=row.created_at, created_by=row.created_by,
                                secret=secret)


async def read_secret(session: AsyncSession, key_id: int) -> SigningSecretRead:
    """When and by whom a key's secret was set (never the secret)."""
    row = await session.get(IntegrationSecret, key_id)
    if row is None:
        raise NotFound(f"API key {key_id} has no signing secret.")
    return SigningSecretRead(api_key_id=key_id, created_at=row.created_at, created_by=row.created_by)


async def verify_request(session: AsyncSession, principal: Principal, *, signature: str | None, body: bytes,
                         now: float, tolerance: int) -> None:
    """401 unless the body is signed with the principal's secret, fresh; 403 if it has none."""
    assert principal.key_id is not None
    row = await session.get(IntegrationSecret, principal.key_id)
    if row is None:
        path = links.link(f"/api-keys/{principal.key_id}/signing-secret")
        raise Forbidden(f"This integration key has no signing secret yet; an admin sets one with PUT {path}.",
                        code="signing_secret_not_set")
    signing.verify(row.secret, signature, body, now=now, tolerance=tolerance)
