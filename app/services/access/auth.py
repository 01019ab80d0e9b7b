"""API keys: issuing, hashing and authenticating.

Keys are 256-bit random secrets, so a single SHA-256 is a sound way to store them (a
slow password hash guards guessable secrets, which these are not) and keeps every
request's check cheap. A key reads ``ipk_<prefix>_<secret>``; the prefix finds the row.
"""

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.errors import Unauthorized
from app.models import ApiKey, utcnow
from app.models.enums import Role
from app.plainsql import On, Query
from app.services.access.permissions import Principal

KEY_PREFIX = "ipk_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key() -> tuple[str, str, str]:
    """A fresh key: (full key, prefix, hash of the secret)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}{prefix}_{secret}", prefix, _hash(secret)


# Every request runs this one: plain SQL (app/plainsql.py).
KEY_BY_PREFIX = Query(lambda _dialect: select(
    *(getattr(ApiKey, name) for name in ("id", "name", "role", "leader_id", "unit_id", "secret_hash", "expires_at",
                                         "revoked_at", "last_used_at")))
    .where(ApiKey.prefix == bindparam("prefix")))  # type: ignore[arg-type]


async def authenticate(on: On, authorization: str | None, *,
                       last_used_resolution: timedelta) -> tuple[Principal, bool]:
    """The principal behind an ``Authorization: Bearer`` header, or 401; and whether its
    ``last_used_at`` is due to be written (see ``touch``)."""
    if not authorization:
        raise Unauthorized("An API key is required: Authorization: Bearer <key>.",
                           headers={"WWW-Authenticate": "Bearer"})
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(KEY_PREFIX):
        raise Unauthorized("Malformed Authorization header; expected Bearer <key>.",
                           headers={"WWW-Authenticate": "Bearer"})
    prefix, _, secret = token.removeprefix(KEY_PREFIX).partition("_")
    invalid = Unauthorized("The API key is not valid.", headers={"WWW-Authenticate": "Bearer"})
    if not prefix or not secret or len(prefix) > 16:
        raise invalid
    key: Mapping[str, Any] | None = await KEY_BY_PREFIX.first(on, prefix=prefix)
    if key is None or not hmac.compare_digest(key["secret_hash"], _hash(secret)):
        raise invalid
    now = utcnow()
    if key["revoked_at"] is not None:
        raise Unauthorized("The API key has been revoked.", code="key_revoked",
                           headers={"WWW-Authenticate": "Bearer"})
    if key["expires_at"] is not None and key["expires_at"] <= now:
        raise Unauthorized("The API key has expired.", code="key_expired",
                           headers={"WWW-Authenticate": "Bearer"})
    due = key["last_used_at"] is None or now - key["last_used_at"] >= last_used_resolution
    return Principal(key_id=key["id"], name=key["name"], role=Role(key["role"]), leader_id=key["leader_id"],
                     unit_id=key["unit_id"]), due


# A key's last use; the condition makes concurrent requests of one key write it once.
TOUCH = Query(lambda _dialect: update(ApiKey)
              .where(ApiKey.id == bindparam("key_id"))  # type: ignore[arg-type]
              .where((ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < bindparam("since")))  # type: ignore[union-attr]
              .values(last_used_at=bindparam("now")))


async def touch(on: On, key_id: int, *, last_used_resolution: timedelta) -> None:
    """Record that a key was used.

    In the request's session, just before its commit, so the row lock it takes is held for
    an instant; a request without a session writes it by itself, on a plain connection.
    """
    now = utcnow()
    params = {"key_id": key_id, "since": now - last_used_resolution, "now": now}
    if isinstance(on, AsyncSession):
        await TOUCH.rows(on, **params)
    elif isinstance(on, AsyncConnection) and on.in_transaction():
        # SQLite: a connection that has read is in a transaction already (PostgreSQL's are bare).
        await TOUCH.rows(on, **params)
        await on.commit()
    else:
        await TOUCH.alone(on, **params)
