"""The database side of webhook delivery: claim due deliveries, record what happened.

A claim is a short transaction: lock due deliveries (skipping rows another worker holds),
bump each one's ``attempts``, push its ``next_attempt_at`` one lease ahead, and insert
the attempt row ``(delivery, number)``. The HTTP request happens outside any
transaction. Its result is recorded in another short transaction. So:

- two workers never claim one delivery at once, and an attempt number is used once;
- a worker that dies mid-attempt loses nothing: when the lease runs out the delivery
  is due again, and its unfinished attempt is marked ``abandoned``; a worker that is
  stopped hands its unfinished attempts back at once (``release``: ``interrupted``);
- a delivery is sent at least once; a receiver may see one twice (after a lost lease,
  or a crash between its 2xx and our record), always with the same event id.
"""

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import Settings
from app.db import claim_rows
from app.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription, utcnow
from app.models.enums import AttemptOutcome, DeliveryStatus

EXCERPT = 500


@dataclass(frozen=True, slots=True)
class Claim:
    """One attempt a worker owns: what to send, where, and how to sign it."""

    delivery_id: int
    attempt: int
    url: str
    secret: str
    event_id: str
    event_type: str
    body: bytes


def body_of(event: OutboxEvent) -> bytes:
    """The bytes sent for an event: the same on every attempt."""
    document = {"id": event.event_id, "type": event.type, "occurred_at": event.occurred_at.isoformat(),
                "data": event.payload}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def backoff(attempt: int, settings: Settings) -> timedelta:
    """Exponential backoff after failed attempt ``attempt`` (1-based), with jitter in its upper half."""
    ceiling = min(settings.webhook_backoff_max_seconds, settings.webhook_backoff_base_seconds * 2 ** (attempt - 1))
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))


async def claim(session: AsyncSession, *, worker: str, settings: Settings, now: datetime | None = None) -> list[Claim]:
    """Claim up to a batch of due deliveries for ``worker`` (the caller commits)."""
    now = now or utcnow()
    stmt = (select(col(WebhookDelivery.id), col(WebhookDelivery.attempts), col(WebhookSubscription.url),
                   col(WebhookSubscription.secret), OutboxEvent)
            .join(WebhookSubscription, col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id))
            .join(OutboxEvent, col(OutboxEvent.id) == col(WebhookDelivery.outbox_event_id))
            .where(col(WebhookDelivery.status) == DeliveryStatus.pending,
                   col(WebhookDelivery.next_attempt_at) <= now,
                   col(WebhookSubscription.active).is_(True),
                   col(WebhookSubscription.archived_at).is_(None))
            .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
            .limit(settings.webhook_batch_size))
    rows = (await session.execute(claim_rows(stmt, WebhookDelivery))).all()
    if not rows:
        return []
    ids = [delivery_id for delivery_id, *_ in rows]
    await session.execute(
        update(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id).in_(ids), col(WebhookAttempt.outcome).is_(None))
        .values(outcome=AttemptOutcome.abandoned, finished_at=now, error=None))
    await session.execute(
        update(WebhookDelivery).where(col(WebhookDelivery.id).in_(ids))
        .values(attempts=col(WebhookDelivery.attempts) + 1,
                next_attempt_at=now + timedelta(seconds=settings.webhook_lease_seconds)))
    await session.execute(insert(WebhookAttempt), [
        {"delivery_id": delivery_id, "number": attempts + 1, "worker": worker, "started_at": now}
        for delivery_id, attempts, *_ in rows])
    return [Claim(delivery_id=int(delivery_id), attempt=attempts + 1, url=url, secret=secret, event_id=event.event_id,
                  event_type=event.type, body=body_of(event))
            for delivery_id, attempts, url, secret, event in rows]


@dataclass(frozen=True, slots=True)
class Result:
    outcome: AttemptOutcome
    status_code: int | None = None
    error: str | None = None
    duration_ms: int | None = None


async def record(session: AsyncSession, claim: Claim, result: Result, *, settings: Settings,
                 now: datetime | None = None) -> None:
    """Record an attempt's result and schedule what follows (the caller commits)."""
    now = now or utcnow()
    error = result.error[:EXCERPT] if result.error else None
    await session.execute(
        update(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id) == claim.delivery_id, col(WebhookAttempt.number) == claim.attempt)
        .values(outcome=result.outcome, finished_at=now, status_code=result.status_code, error=error,
                duration_ms=result.duration_ms))
    this = col(WebhookDelivery.id) == claim.delivery_id
    pending = col(WebhookDelivery.status) == DeliveryStatus.pending
    if result.outcome == AttemptOutcome.succeeded:
        # Success counts even if the lease was lost meanwhile.
        await session.execute(update(WebhookDelivery).where(this, pending).values(
            status=DeliveryStatus.delivered, delivered_at=now, last_status_code=result.status_code,
            last_error=None))
        return
    # Only the owner of the latest attempt schedules the next one.
    owner = col(WebhookDelivery.attempts) == claim.attempt
    if claim.attempt >= settings.webhook_max_attempts:
        values: dict[str, object] = {"status": DeliveryStatus.failed}
    else:
        values = {"next_attempt_at": now + backoff(claim.attempt, settings)}
    values |= {"last_status_code": result.status_code, "last_error": error}
    await session.execute(update(WebhookDelivery).where(this, pending, owner).values(**values))


async def release(session: AsyncSession, claims: list[Claim], *, now: datetime | None = None) -> None:
    """Hand back claimed attempts that have no result yet (their worker is stopping): they
    are marked ``interrupted`` and their deliveries are due again at once (the caller commits)."""
    now = now or utcnow()
    for claim in claims:
        marked = await session.execute(
            update(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id) == claim.delivery_id, col(WebhookAttempt.number) == claim.attempt,
                   col(WebhookAttempt.outcome).is_(None))
            .values(outcome=AttemptOutcome.interrupted, finished_at=now,
                    error=None))
        if getattr(marked, "rowcount", 0):
            await session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == claim.delivery_id, col(WebhookDelivery.attempts) == claim.attempt,
                       col(WebhookDelivery.status) == DeliveryStatus.pending)
                .values(next_attempt_at=now))
