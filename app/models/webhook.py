"""Outbound events: the outbox, webhook subscriptions, and each delivery with its attempts.

An event is written to ``outbox_events`` in the transaction of the change it reports,
with one ``webhook_deliveries`` row per subscription that wants it; a worker sends the
deliveries, and every try is a ``webhook_attempts`` row.
"""

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, StrictBool, StringConstraints, WithJsonSchema
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from app.models.base import JSONDocument, utcnow
from app.models.enums import AttemptOutcome, DeliveryError, DeliveryStatus
from app.models.fields import ShortText, SigningSecret, reject_null
from app.models.types import UTCDateTime

# Every event type is "<family>.<what happened>", emitted by ``app.services.events.outbox.emit``;
# subscribers may name a type, a family ("difficulty.*") or everything ("*").
EVENT_FAMILIES = ("project", "approval", "difficulty", "progress_report")
EVENT_TYPES = (
    "project.created", "project.updated", "project.stage_changed", "project.archived",
    "approval.created", "approval.updated", "approval.status_changed", "approval.archived",
    "difficulty.raised", "difficulty.updated", "difficulty.status_changed", "difficulty.escalated",
    "progress_report.submitted", "progress_report.accepted", "progress_report.returned",
)
EVENT_TYPE_RE = re.compile(r"^([a-z][a-z_]{0,30})\.([a-z][a-z_]{0,30})$")


def check_event_type(value: str) -> str:
    """An emitted event's type: ``family.name`` with a known family."""
    match = EVENT_TYPE_RE.match(value)
    if match is None or match.group(1) not in EVENT_FAMILIES:
        raise ValueError(f"event type {value!r} must be <family>.<name> with a family of {', '.join(EVENT_FAMILIES)}")
    return value


def _event_pattern(value: str) -> str:
    if value == "*":
        return value
    family, _, name = value.partition(".")
    if name == "*" and family in EVENT_FAMILIES:
        return value
    return check_event_type(value)


def _webhook_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http or https URL")
    if parts.fragment or any(c.isspace() for c in value) or not value.isascii():
        raise ValueError("must be an ASCII URL without spaces or a #fragment")
    return value


# The pattern documents the shape; _webhook_url gives the clearer errors.
WebhookUrl = Annotated[str, StringConstraints(min_length=10, max_length=2000), AfterValidator(_webhook_url),
                       WithJsonSchema({"type": "string", "minLength": 10, "maxLength": 2000, "format": "uri",
                                       "pattern": r"^[hH][tT][tT][pP][sS]?://[!-\x22\x24-~]+$"})]
EventPattern = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_event_pattern)]


class OutboxEvent(SQLModel, table=True):
    """An event, written in the same transaction as the change it reports."""

    __tablename__ = "outbox_events"
    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    event_id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    type: str = Field(sa_column=Column(String(64), nullable=False))
    occurred_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSONDocument, nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(64)))


_subscription_version = Column("version", Integer, nullable=False)  # the optimistic-lock counter behind ETags


class WebhookSubscription(SQLModel, table=True):
    """Where to send which events. The secret is kept as given: signing needs it."""

    __tablename__ = "webhook_subscriptions"
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(String(2000), nullable=False))
    event_types: list[str] = Field(sa_column=Column(JSONDocument, nullable=False))
    secret: str = Field(sa_column=Column(String(200), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(String(100)))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    version: int = Field(default=1, sa_column=_subscription_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    __mapper_args__ = {"version_id_col": _subscription_version}


class WebhookDelivery(SQLModel, table=True):
    """One event for one subscription: pending until a 2xx answer, or until it gives up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "outbox_event_id"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription_id_id", "subscription_id", "id"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    subscription_id: int = Field(sa_column=Column(ForeignKey("webhook_subscriptions.id"), nullable=False))
    outbox_event_id: int = Field(sa_column=Column(ForeignKey("outbox_events.id"), nullable=False))
    status: str = Field(default=DeliveryStatus.pending, sa_column=Column(String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_status_code: int | None = Field(default=None, sa_column=Column(Integer))
    last_error: str | None = Field(default=None, sa_column=Column(String(500)))


class WebhookAttempt(SQLModel, table=True):
    """One try of a delivery; (delivery, number) is unique, so no try is made twice."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (PrimaryKeyConstraint("delivery_id", "number"),)
    delivery_id: int = Field(sa_column=Column(ForeignKey("webhook_deliveries.id"), nullable=False))
    number: int = Field(sa_column=Column(Integer, nullable=False))
    worker: str = Field(sa_column=Column(String(100), nullable=False))
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    outcome: str | None = Field(default=None, sa_column=Column(String(16)))
    status_code: int | None = Field(default=None, sa_column=Column(Integer))
    error: str | None = Field(default=None, sa_column=Column(String(500)))
    duration_ms: int | None = Field(default=None, sa_column=Column(Integer))


# --- API schemas -------------------------------------------------------------------------


class WebhookCreate(SQLModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{  # type: ignore[assignment]
        "url": "https://approvals.example.gov.cn/hooks/pipeline",
        "event_types": ["project.*", "approval.status_changed"],
        "description": "市行政审批服务局 审批系统",
    }]})
    url: WebhookUrl
    event_types: list[EventPattern] = Field(
        min_length=1, max_length=20,
        description=f"Types to receive: any of {', '.join(EVENT_TYPES)}; `<family>.*` for a family, `*` for all.")
    secret: SigningSecret | None = Field(
        default=None, description="Signs every delivery; at least 32 characters. Omitted: the service makes one.")
    description: ShortText | None = None
    active: StrictBool = Field(default=True, description="A paused subscription keeps its deliveries waiting.")


class WebhookUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    url: WebhookUrl | None = None
    event_types: list[EventPattern] | None = Field(default=None, min_length=1, max_length=20)
    secret: SigningSecret | None = Field(default=None, description="A new secret; never shown again.")
    description: ShortText | None = None
    active: StrictBool | None = None

    _not_null = reject_null("url", "event_types", "secret", "active")


class WebhookRead(SQLModel):
    id: int
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class WebhookCreated(WebhookRead):
    secret: str = Field(description="The signing secret. It is shown only in this response.")


class DeliveryRead(SQLModel):
    id: int
    subscription_id: int
    event_id: str = Field(description="The event's stable id; the same on every attempt.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="When the next attempt is due, while pending.")
    created_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None = Field(description=f"The last failed attempt's error class: one of "
                                   f"{', '.join(DeliveryError)}. The receiver's answer is never kept.")


class AttemptRead(SQLModel):
    number: int
    worker: str
    started_at: datetime
    finished_at: datetime | None
    outcome: AttemptOutcome | None = Field(description="Null while the attempt is in flight.")
    status_code: int | None
    error: str | None = Field(description=f"Why the attempt failed: one of {', '.join(DeliveryError)}.")
    duration_ms: int | None


class EventRead(SQLModel):
    id: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]


class DeliveryDetail(DeliveryRead):
    event: EventRead = Field(description="The event exactly as it is sent (the `data` is the body's `data`).")
    attempt_log: list[AttemptRead] = Field(description="Every attempt, oldest first.")
