"""Every table, imported here so that Alembic and the metadata see them all."""

from app.models.access import ApiKey, AuditEvent, IdempotencyRecord
from app.models.base import utcnow
from app.models.exchange_rate import ExchangeRate
from app.models.project import Project, ProjectDesignation, StageTransition
from app.models.registry import Leader, Unit
from app.models.target import Target, TargetMember

__all__ = [
    "ApiKey",
    "AuditEvent",
    "ExchangeRate",
    "IdempotencyRecord",
    "Leader",
    "Project",
    "ProjectDesignation",
    "StageTransition",
    "Target",
    "TargetMember",
    "Unit",
    "utcnow",
]
