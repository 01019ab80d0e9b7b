"""Every table, imported here so that Alembic and the metadata see them all."""

from app.models.access import ApiKey, AuditEvent, IdempotencyRecord
from app.models.approval import ApprovalEvent, ApprovalItem, ApprovalKind, IntegrationSecret
from app.models.base import utcnow
from app.models.difficulty import Difficulty, DifficultyEvent
from app.models.project import Project, ProjectDesignation, StageTransition
from app.models.registry import Leader, Unit
from app.models.supervision import SupervisionItem, SupervisionItemProject, SupervisionProgress, SupervisionTask
from app.models.webhook import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "ApiKey",
    "ApprovalEvent",
    "ApprovalItem",
    "ApprovalKind",
    "AuditEvent",
    "Difficulty",
    "DifficultyEvent",
    "IdempotencyRecord",
    "IntegrationSecret",
    "Leader",
    "OutboxEvent",
    "Project",
    "ProjectDesignation",
    "StageTransition",
    "SupervisionItem",
    "SupervisionItemProject",
    "SupervisionProgress",
    "SupervisionTask",
    "Unit",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "utcnow",
]
