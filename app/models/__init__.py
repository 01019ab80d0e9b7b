"""Every table, imported here so that Alembic and the metadata see them all."""

from app.models.access import ApiKey, AuditEvent, IdempotencyRecord
from app.models.approval import ApprovalEvent, ApprovalItem, ApprovalKind, IntegrationSecret
from app.models.base import utcnow
from app.models.difficulty import Difficulty, DifficultyEvent
from app.models.exchange_rate import ExchangeRate
from app.models.jobs import ImportJob
from app.models.progress import AnnualPlan, AnnualPlanVersion, ProgressReport
from app.models.project import Project, ProjectCodeRecord, ProjectDesignation, ProjectVersion, StageTransition
from app.models.promotion import FdiReceipt, FollowUp, FollowUpLeader, Investor, SigningEvent
from app.models.ratelimit import RateLimitWindow
from app.models.reference import IndustryEntry, ZoneEntry
from app.models.registry import Leader, Unit
from app.models.supervision import SupervisionItem, SupervisionItemProject, SupervisionProgress, SupervisionTask
from app.models.target import Target, TargetMember
from app.models.webhook import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "AnnualPlan",
    "AnnualPlanVersion",
    "ApiKey",
    "ApprovalEvent",
    "ApprovalItem",
    "ApprovalKind",
    "AuditEvent",
    "Difficulty",
    "DifficultyEvent",
    "ExchangeRate",
    "FdiReceipt",
    "FollowUp",
    "FollowUpLeader",
    "IdempotencyRecord",
    "ImportJob",
    "IndustryEntry",
    "IntegrationSecret",
    "Investor",
    "Leader",
    "OutboxEvent",
    "ProgressReport",
    "Project",
    "ProjectCodeRecord",
    "ProjectDesignation",
    "ProjectVersion",
    "RateLimitWindow",
    "SigningEvent",
    "StageTransition",
    "SupervisionItem",
    "SupervisionItemProject",
    "SupervisionProgress",
    "SupervisionTask",
    "Target",
    "TargetMember",
    "Unit",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "ZoneEntry",
    "utcnow",
]
