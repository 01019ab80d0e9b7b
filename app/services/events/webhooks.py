"""Webhook subscriptions, and the deliveries and attempts the worker makes for them.

A subscription's secret is kept as given (signing needs it) and returned only by the
call that creates it. Pausing (``active: false``) holds its deliveries back; archiving
cancels those still pending.
"""

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import Settings
from app.errors import Conflict, InvalidInput, NotFound
from app.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription, utcnow
from app.models.enums import AttemptOutcome, DeliveryStatus
from app.models.webhook import (
    AttemptRead,
    DeliveryDetail,
    DeliveryRead,
    EventRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from app.services.access.permissions import Principal
from app.services.common import audit, lifecycle, pagination
from app.services.common.pagination import Page, SortKey
from app.services.events import destinations

SECRET_PREFIX = "whsec_"


def _read(subscription: WebhookSubscription) -> WebhookRead:
    return WebhookRead.model_validate(subscription, from_attributes=True)


def _snapshot(subscription: WebhookSubscription) -> dict[str, Any]:
    return _read(subscription).model_dump(mode="json", exclude={"updated_at"})


async def check_url(url: str, settings: Settings) -> None:
    """422 naming ``url`` unless it leads to public addresses (or a host allowed on purpose)."""
    try:
        await destinations.resolve(url, allowed_hosts=settings.webhook_allowed_hosts,
                                   resolve_within=settings.webhook_connect_timeout_seconds)
    except destinations.RefusedDestination as exc:
        raise InvalidInput.field("url", str(exc), code="webhook_url_refused") from None


async def create_webhook(session: AsyncSession, *, data: WebhookCreate, actor: Principal,
                         settings: Settings) -> WebhookCreated:
    """Subscribe a URL to event types; the secret is in this answer only."""
    await check_url(data.url, settings)
    secret = data.secret or SECRET_PREFIX + secrets.token_urlsafe(32)
    subscription = WebhookSubscription(url=data.url, event_types=list(dict.fromkeys(data.event_types)),
                                       secret=secret, description=data.description, active=data.active)
    session.add(subscription)
    await session.flush()
    assert subscription.id is not None
    await audit.record(session, actor, action="webhook.create", resource_type="webhook",
                       resource_id=subscription.id, after=_snapshot(subscription))
    return WebhookCreated(**_read(subscription).model_dump(), secret=secret)


async def get_webhook(session: AsyncSession, webhook_id: int) -> WebhookSubscription:
    subscription = await session.get(WebhookSubscription, webhook_id)
    if subscription is None:
        raise NotFound(f"No webhook with id {webhook_id}.")
    return subscription


async def read_webhook(session: AsyncSession, webhook_id: int) -> WebhookRead:
    return _read(await get_webhook(session, webhook_id))


async def list_webhooks(session: AsyncSession, *, archived: bool, cursor: str | None,
                        limit: int) -> Page[WebhookRead]:
    """One page of subscriptions, oldest first."""
    key = SortKey("id", WebhookSubscription.id, int)
    archived_at = col(WebhookSubscription.archived_at)
    stmt = select(WebhookSubscription).where(archived_at.is_not(None) if archived else archived_at.is_(None))
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=WebhookSubscription.id, cursor=cursor,
                            limit=limit, sort_label="webhook")
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="webhook",
                                        key_of=lambda s: (s.id or 0, s.id or 0))
    return Page[WebhookRead](items=[_read(s) for s in kept], next_cursor=next_cursor)


async def update_webhook(session: AsyncSession, webhook_id: int, *, data: WebhookUpdate, if_match: str | None,
                         actor: Principal, settings: Settings) -> WebhookRead:
    """Change a subscription; a new secret is taken but never shown."""
    subscription = await get_webhook(session, webhook_id)
    changes = data.model_dump(exclude_unset=True)
    if "event_types" in changes:
        changes["event_types"] = list(dict.fromkeys(changes["event_types"]))

    async def check() -> None:
        if data.url is not None:
            await check_url(data.url, settings)

    await lifecycle.update(session, actor, subscription, if_match=if_match, resource_type="webhook",
                           resource_id=webhook_id, snapshot=lambda: _snapshot(subscription), fields=changes,
                           apply=check, what="webhook", redact={"secret": ("(previous)", "(rotated)")})
    return _read(subscription)


async def archive_webhook(session: AsyncSession, webhook_id: int, *, if_match: str | None,
                          actor: Principal) -> WebhookRead:
    """Archive a subscription: nothing more is sent to it, and its pending deliveries are cancelled."""
    subscription = await get_webhook(session, webhook_id)
    event = await lifecycle.archive(session, actor, subscription, if_match=if_match, resource_type="webhook",
                                    resource_id=webhook_id)
    cancelled = await session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.subscription_id) == webhook_id,
               col(WebhookDelivery.status) == DeliveryStatus.pending)
        .values(status=DeliveryStatus.cancelled))
    event.after = {**(event.after or {}), "deliveries_cancelled": int(getattr(cancelled, "rowcount", 0) or 0)}
    return _read(subscription)


def _delivery_columns() -> tuple[Any, ...]:
    return (WebhookDelivery, col(OutboxEvent.event_id), col(OutboxEvent.type))


def _delivery(row: Sequence[Any]) -> DeliveryRead:
    delivery, event_id, event_type = row[0], row[1], row[2]
    return DeliveryRead(
        id=delivery.id, subscription_id=delivery.subscription_id, event_id=event_id, event_type=event_type,
        status=DeliveryStatus(delivery.status), attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if delivery.status == DeliveryStatus.pending else None,
        created_at=delivery.created_at, delivered_at=delivery.delivered_at,
        last_status_code=delivery.last_status_code, last_error=delivery.last_error)


async def list_deliveries(session: AsyncSession, webhook_id: int, *, status: DeliveryStatus | None,
                          event_type: str | None, cursor: str | None, limit: int) -> Page[DeliveryRead]:
    """A subscription's deliveries, newest first."""
    await get_webhook(session, webhook_id)
    stmt = (select(*_delivery_columns())
            .join(OutboxEvent, col(OutboxEvent.id) == col(WebhookDelivery.outbox_event_id))
            .where(col(WebhookDelivery.subscription_id) == webhook_id))
    if status is not None:
        stmt = stmt.where(col(WebhookDelivery.status) == status)
    if event_type is not None:
        stmt = stmt.where(col(OutboxEvent.type) == event_type)
    key = SortKey("id", WebhookDelivery.id, int)
    stmt = pagination.apply(stmt, key=key, descending=True, id_column=WebhookDelivery.id, cursor=cursor,
                            limit=limit, sort_label="delivery")
    rows = list((await session.execute(stmt)).all())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="delivery",
                                        key_of=lambda r: (r[0].id or 0, r[0].id or 0))
    return Page[DeliveryRead](items=[_delivery(r) for r in kept], next_cursor=next_cursor)


async def _delivery_row(session: AsyncSession, webhook_id: int, delivery_id: int) -> Sequence[Any]:
    row = (await session.execute(
        select(*_delivery_columns(), OutboxEvent)
        .join(OutboxEvent, col(OutboxEvent.id) == col(WebhookDelivery.outbox_event_id))
        .where(col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.subscription_id) == webhook_id)
        .execution_options(populate_existing=True))).first()
    if row is None:
        raise NotFound(f"No delivery {delivery_id} of webhook {webhook_id}.")
    return row


async def read_delivery(session: AsyncSession, webhook_id: int, delivery_id: int) -> DeliveryDetail:
    """One delivery, with its event and every attempt."""
    row = await _delivery_row(session, webhook_id, delivery_id)
    event: OutboxEvent = row[3]
    attempts = (await session.execute(
        select(WebhookAttempt).where(col(WebhookAttempt.delivery_id) == delivery_id)
        .order_by(col(WebhookAttempt.number)))).scalars()
    return DeliveryDetail(
        **_delivery(row).model_dump(),
        event=EventRead(id=event.event_id, type=event.type, occurred_at=event.occurred_at, data=event.payload),
        attempt_log=[AttemptRead(number=a.number, worker=a.worker, started_at=a.started_at,
                                 finished_at=a.finished_at,
                                 outcome=AttemptOutcome(a.outcome) if a.outcome else None,
                                 status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)
                     for a in attempts])


async def redeliver(session: AsyncSession, webhook_id: int, delivery_id: int, *, actor: Principal) -> DeliveryRead:
    """Queue a delivery that gave up, was cancelled or was delivered, to be sent again."""
    subscription = await get_webhook(session, webhook_id)
    if subscription.archived_at is not None:
        raise Conflict("An archived webhook receives nothing.", code="already_archived")
    row = await _delivery_row(session, webhook_id, delivery_id)
    delivery: WebhookDelivery = row[0]
    if delivery.status == DeliveryStatus.pending:
        raise Conflict("The delivery is already pending.", code="delivery_pending")
    previous = delivery.status
    done = await session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.status) == previous)
        .values(status=DeliveryStatus.pending, next_attempt_at=utcnow(), delivered_at=None))
    if not getattr(done, "rowcount", 0):
        raise Conflict("The delivery changed meanwhile; read it again.", code="delivery_pending")
    await audit.record(session, actor, action="webhook.redeliver", resource_type="webhook_delivery",
                       resource_id=delivery_id, before={"status": previous}, after={"status": "pending"})
    return _delivery(await _delivery_row(session, webhook_id, delivery_id))
