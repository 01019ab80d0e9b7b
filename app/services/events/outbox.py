"""The outbox: ``emit`` records an event in the transaction of the change it reports.

If the change rolls back, so does its event; if it commits, the event and a delivery
for every subscription that wants it are there for the worker (``app/worker.py``).
Any module may emit, with its own ``<family>.<name>`` type::

    await outbox.emit(session, "difficulty.escalated", {"difficulty": read.model_dump(mode="json")})
"""

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import context
from app.models import OutboxEvent, WebhookDelivery, WebhookSubscription, utcnow
from app.models.webhook import check_event_type

_CACHE = "outbox.subscriptions"


def wants(patterns: list[str], event_type: str) -> bool:
    """Whether a subscription's patterns (``*``, ``family.*``, exact types) take the type."""
    family = event_type.partition(".")[0]
    return any(p in ("*", event_type, f"{family}.*") for p in patterns)


async def _subscriptions(session: AsyncSession) -> list[tuple[int, list[str]]]:
    """The live subscriptions and their patterns, read once per transaction.

    Reading them once is no weaker than reading them per event: a subscription made
    after our read but before our commit would be missed either way.
    """
    transaction = session.get_transaction()
    cached = session.info.get(_CACHE)
    if cached is not None and cached[0] is transaction:
        return list(cached[1])
    rows = await session.execute(
        select(col(WebhookSubscription.id), col(WebhookSubscription.event_types))
        .where(col(WebhookSubscription.archived_at).is_(None)))
    subscriptions = [(int(i), list(p)) for i, p in rows.all() if i is not None]
    session.info[_CACHE] = (transaction, subscriptions)
    return subscriptions


async def emit(session: AsyncSession, event_type: str, payload: dict[str, Any]) -> OutboxEvent:
    """Record an event and its deliveries in the current transaction (to be flushed with it)."""
    check_event_type(event_type)
    now = utcnow()
    event = OutboxEvent(event_id=str(uuid.uuid4()), type=event_type, occurred_at=now,
                        payload=to_jsonable_python(payload), request_id=context.request_id.get())
    session.add(event)
    # Paused subscriptions get their deliveries too: they wait until it resumes.
    wanting = [i for i, patterns in await _subscriptions(session) if wants(patterns, event_type)]
    if wanting:
        await session.flush()  # the event's id, for its deliveries
        assert event.id is not None
        session.add_all(WebhookDelivery(subscription_id=i, outbox_event_id=event.id, next_attempt_at=now,
                                        created_at=now) for i in wanting)
    return event



async def emit_many(session: AsyncSession, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """``emit`` for each (type, payload), in order, as one batched INSERT (a batch of changes:
    rows, not ORM instances, whose construction would cost more than the writing)."""
    if not events:
        return
    rows = []
    for event_type, payload in events:
        check_event_type(event_type)
        rows.append({"event_id": str(uuid.uuid4()), "type": event_type, "occurred_at": utcnow(),
                     "payload": to_jsonable_python(payload), "request_id": context.request_id.get()})
    subscriptions = await _subscriptions(session)
    wanting = [[i for i, patterns in subscriptions if wants(patterns, row["type"])] for row in rows]
    table = OutboxEvent.__table__  # type: ignore[attr-defined]
    if not any(wanting):
        await session.execute(insert(table), rows)
        return
    ids = (await session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)).scalars()
    session.add_all(WebhookDelivery(subscription_id=i, outbox_event_id=event_id, next_attempt_at=row["occurred_at"],
                                    created_at=row["occurred_at"])
                    for row, event_id, subscription_ids in zip(rows, list(ids), wanting, strict=True)
                    for i in subscription_ids)
