"""Every table, imported here so that Alembic and the metadata see them all."""

from app.models.access import ApiKey, AuditEvent, IdempotencyRecord
from app.models.base import utcnow
from app.models.project import Project, ProjectDesignation, StageTransition
from app.models.registry import Leader, Unit

__all__ = [
    "ApiKey",
    "AuditEvent",
    "IdempotencyRecord",
    "Leader",
    "Project",
    "ProjectDesignation",
    "StageTransition",
    "Unit",
    "utcnow",
]
