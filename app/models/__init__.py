"""Every table, imported here so that Alembic and the metadata see them all."""

from app.models.access import ApiKey, AuditEvent, IdempotencyRecord
from app.models.base import utcnow
from app.models.difficulty import Difficulty, DifficultyEvent
from app.models.project import Project, ProjectDesignation, StageTransition
from app.models.registry import Leader, Unit
from app.models.supervision import SupervisionItem, SupervisionItemProject, SupervisionProgress, SupervisionTask

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Difficulty",
    "DifficultyEvent",
    "IdempotencyRecord",
    "Leader",
    "Project",
    "ProjectDesignation",
    "StageTransition",
    "SupervisionItem",
    "SupervisionItemProject",
    "SupervisionProgress",
    "SupervisionTask",
    "Unit",
    "utcnow",
]
