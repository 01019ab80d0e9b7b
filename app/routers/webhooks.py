"""``/webhooks``: outbound subscriptions, their deliveries and each delivery's attempts."""

from typing import Annotated

from fastapi import Depends, Query, Response, status

from app.config import Settings
from app.deps import Allowed, IfMatch, Session, settings_of
from app.models.enums import DeliveryStatus
from app.models.webhook import (
    DeliveryDetail,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from app.routers.common import Cursor, Id, Limit, make_router, problems, set_etag
from app.services.access.permissions import Action, Principal
from app.services.common.pagination import Page
from app.services.events import webhooks

router = make_router("/api/v1/webhooks", "webhooks")

Manage = Allowed(Action.webhook_manage)
Config = Annotated[Settings, Depends(settings_of)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
async def create_webhook(body: WebhookCreate, response: Response, session: Session, settings: Config,
                         principal: Principal = Manage) -> WebhookCreated:
    """Subscribe a URL to event types. The signing `secret` is shown in this response only.

    Every delivery is a POST of `{"id", "type", "occurred_at", "data"}` signed like inbound
    events (`X-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`), with
    `X-Event-Id` (stable across attempts: deduplicate on it), `X-Event-Type`, `X-Delivery-Id`
    and `X-Delivery-Attempt`. Any 2xx is success; anything else is retried with exponential
    backoff. Delivery is at least once and not ordered.

    The URL must lead to public unicast addresses: a host that resolves to a loopback,
    private, link-local, shared (CGNAT), multicast or unspecified address, or that does not
    resolve, is refused (422 `webhook_url_refused` naming `url`), and checked again at every
    delivery, which connects to the address it checked. Hosts an operator allows on purpose
    (`PIPELINE_WEBHOOK_ALLOWED_HOSTS`) are exempt. Redirects are not followed."""
    created = await webhooks.create_webhook(session, data=body, actor=principal, settings=settings)
    set_etag(response, created.version)
    response.headers["Location"] = f"{router.prefix}/{created.id}"
    response.headers["Cache-Control"] = "no-store"
    return created


@router.get("", response_model=Page[WebhookRead])
async def list_webhooks(session: Session, principal: Principal = Manage, archived: bool = False,
                        limit: Limit = 50, cursor: Cursor = None) -> Page[WebhookRead]:
    """Subscriptions, oldest first (never their secrets)."""
    return await webhooks.list_webhooks(session, archived=archived, cursor=cursor, limit=limit)


@router.get("/{webhook_id}", response_model=WebhookRead, responses=problems(404))
async def get_webhook(webhook_id: Id, response: Response, session: Session,
                      principal: Principal = Manage) -> WebhookRead:
    """One subscription (never its secret)."""
    subscription = await webhooks.read_webhook(session, webhook_id)
    set_etag(response, subscription.version)
    return subscription


@router.patch("/{webhook_id}", response_model=WebhookRead, responses=problems(404, 409, 412, 428))
async def update_webhook(webhook_id: Id, body: WebhookUpdate, if_match: IfMatch, response: Response,
                         session: Session, settings: Config, principal: Principal = Manage) -> WebhookRead:
    """Change the URL, the event types, pause (`active: false`: deliveries wait) or resume,
    or rotate the secret (the new one is never shown again)."""
    subscription = await webhooks.update_webhook(session, webhook_id, data=body, if_match=if_match,
                                                 actor=principal, settings=settings)
    set_etag(response, subscription.version)
    return subscription


@router.delete("/{webhook_id}", response_model=WebhookRead, responses=problems(404, 409, 412, 428))
async def archive_webhook(webhook_id: Id, if_match: IfMatch, response: Response, session: Session,
                          principal: Principal = Manage) -> WebhookRead:
    """Archive a subscription: nothing more is sent, and its pending deliveries are cancelled."""
    subscription = await webhooks.archive_webhook(session, webhook_id, if_match=if_match, actor=principal)
    set_etag(response, subscription.version)
    return subscription


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryRead], responses=problems(404))
async def list_deliveries(
    webhook_id: Id,
    session: Session,
    principal: Principal = Manage,
    status: DeliveryStatus | None = None,
    event_type: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_.]+$")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[DeliveryRead]:
    """A subscription's deliveries, newest first."""
    return await webhooks.list_deliveries(session, webhook_id, status=status, event_type=event_type,
                                          cursor=cursor, limit=limit)


@router.get("/{webhook_id}/deliveries/{delivery_id}", response_model=DeliveryDetail, responses=problems(404))
async def get_delivery(webhook_id: Id, delivery_id: Id, session: Session,
                       principal: Principal = Manage) -> DeliveryDetail:
    """One delivery: the event as sent, and every attempt with its answer or error."""
    return await webhooks.read_delivery(session, webhook_id, delivery_id)


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver", response_model=DeliveryRead,
             responses=problems(404, 409))
async def redeliver(webhook_id: Id, delivery_id: Id, session: Session,
                    principal: Principal = Manage) -> DeliveryRead:
    """Send a delivery again (one that gave up, was cancelled, or was delivered)."""
    return await webhooks.redeliver(session, webhook_id, delivery_id, actor=principal)
