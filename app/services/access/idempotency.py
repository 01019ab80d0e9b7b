"""Safe retries: a POST with an ``Idempotency-Key`` is done once per principal and key.

The key is claimed by inserting its record in the request's own transaction, before the
work. A concurrent request with the same key blocks on that row until the first commits,
then finds the stored response and returns it; if the first failed, its claim rolled back
with it and the second does the work. So no key ever creates two resources.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInput
from app.models import IdempotencyRecord, utcnow
from app.services.access.permissions import Principal

MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("etag", "location", "content-type")


class Replay(Exception):
    """The request was done before: answer with its stored response."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__("idempotent replay")
        # Copied out: the session rolls back (and expires the row) before the answer is sent.
        self.status_code = record.status_code or 200
        self.body = record.response_body or ""
        self.headers = dict(record.response_headers or {})


@dataclass(frozen=True, slots=True)
class Claim:
    actor_key_id: int
    key: str


def request_hash(method: str, path: str, body: bytes) -> str:
    """A fingerprint of the request; JSON bodies are compared by content, not layout."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput.field("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    return key


async def claim(session: AsyncSession, actor: Principal, *, key: str, fingerprint: str,
                ttl: timedelta) -> Claim:
    """Claim ``key`` for this request, or raise ``Replay`` / 422 if it was used before."""
    assert actor.key_id is not None
    now = utcnow()
    for _ in range(2):
        try:
            async with session.begin_nested():
                session.add(IdempotencyRecord(actor_key_id=actor.key_id, key=key, request_hash=fingerprint,
                                              created_at=now, expires_at=now + ttl))
            return Claim(actor.key_id, key)
        except IntegrityError:
            pass
        existing = (await session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.actor_key_id == actor.key_id,  # type: ignore[arg-type]
                IdempotencyRecord.key == key,  # type: ignore[arg-type]
            ).execution_options(populate_existing=True)
        )).scalar_one_or_none()
        if existing is None:
            continue
        if existing.expires_at <= now:
            await session.execute(delete(IdempotencyRecord).where(
                IdempotencyRecord.actor_key_id == actor.key_id,  # type: ignore[arg-type]
                IdempotencyRecord.key == key))  # type: ignore[arg-type]
            continue
        if existing.request_hash != fingerprint:
            raise InvalidInput.field("Idempotency-Key", "was already used with a different request",
                                     code="idempotency_key_reused")
        raise Replay(existing)
    raise InvalidInput.field("Idempotency-Key", "could not be claimed; retry", code="idempotency_key_busy")


def redact(body: bytes, fields: tuple[str, ...]) -> bytes:
    """The body with these top-level fields nulled: secrets are answered once, never stored."""
    if not fields:
        return body
    document = json.loads(body)
    for name in fields:
        if name in document:
            document[name] = None
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


async def complete(session: AsyncSession, claim: Claim, *, status_code: int, body: bytes,
                   headers: dict[str, str]) -> None:
    """Store the response to replay, in the same transaction as the work it describes."""
    record = await session.get(IdempotencyRecord, (claim.actor_key_id, claim.key))
    assert record is not None
    record.status_code = status_code
    record.response_body = body.decode()
    record.response_headers = {k: v for k, v in headers.items() if k.lower() in REPLAYED_HEADERS}
    await session.flush()


async def purge_expired(session: AsyncSession) -> int:
    """Drop records past their time; returns how many."""
    result = await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= utcnow()))  # type: ignore[arg-type]
    return int(getattr(result, "rowcount", 0) or 0)
