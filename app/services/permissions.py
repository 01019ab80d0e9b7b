"""Who may do what: the whole role matrix in one table, and the object-level scopes.

A role missing from an action's row gets 403. An object outside a principal's scope
is answered 404, so that its existence does not leak.
"""

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, true

from app.models import Project
from app.models.enums import Role


class Action(StrEnum):
    project_read = "project.read"
    project_read_by_code = "project.read_by_code"
    project_create = "project.create"
    project_update = "project.update"
    project_transition = "project.transition"
    project_correct = "project.correct"
    project_archive = "project.archive"
    registry_read = "registry.read"
    registry_write = "registry.write"
    meta_read = "meta.read"
    api_key_manage = "api_key.manage"
    audit_read = "audit.read"
    project_import = "project.import"
    project_export = "project.export"


A, B, L, U, I, V = Role.admin, Role.bureau, Role.leader, Role.unit, Role.integration, Role.viewer  # noqa: E741

# action                         roles allowed                 (README: "Who may do what")
MATRIX: dict[Action, frozenset[Role]] = {
    Action.project_read:         frozenset({A, B, L, U, V}),     # unit: only its own projects
    Action.project_read_by_code: frozenset({A, B, L, U, I, V}),  # unit: only its own projects
    Action.project_create:       frozenset({A, B}),
    Action.project_update:       frozenset({A, B}),
    Action.project_transition:   frozenset({A, B}),
    Action.project_correct:      frozenset({A}),                 # backward moves
    Action.project_archive:      frozenset({A, B}),
    Action.registry_read:        frozenset({A, B, L, U, V}),     # leaders and units
    Action.registry_write:       frozenset({A, B}),
    Action.meta_read:            frozenset({A, B, L, U, I, V}),
    Action.api_key_manage:       frozenset({A}),
    Action.audit_read:           frozenset({A, V}),
    Action.project_import:       frozenset({A, B}),              # ledger (台账) upload
    Action.project_export:       frozenset({A, B, L, U, V}),     # unit: only its own projects
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: an API key, or the operator at the command line (``key_id`` None)."""

    key_id: int | None
    name: str
    role: Role
    leader_id: int | None = None
    unit_id: int | None = None

    @classmethod
    def operator(cls, name: str = "cli") -> "Principal":
        return cls(key_id=None, name=name, role=Role.admin)


def allows(principal: Principal, action: Action) -> bool:
    return principal.role in MATRIX[action]


def project_scope(principal: Principal) -> ColumnElement[bool]:
    """The projects this principal may see, as a WHERE clause."""
    if principal.role == Role.unit:
        return Project.unit_id == principal.unit_id  # type: ignore[return-value]
    return true()


def can_see_project(principal: Principal, project: Project) -> bool:
    if principal.role == Role.unit:
        return project.unit_id == principal.unit_id
    return True
