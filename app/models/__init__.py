"""Every table, imported here so that Alembic and the metadata see them all."""

from app.models.access import ApiKey, AuditEvent, IdempotencyRecord
from app.models.base import utcnow
from app.models.project import Project, ProjectDesignation, StageTransition
from app.models.registry import Leader, Unit
from app.models.webhook import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "ApiKey",
    "AuditEvent",
    "IdempotencyRecord",
    "Leader",
    "OutboxEvent",
    "Project",
    "ProjectDesignation",
    "StageTransition",
    "Unit",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "utcnow",
]
