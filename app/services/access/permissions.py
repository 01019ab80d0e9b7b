"""Who may do what: the whole role matrix in one table, and the object-level scopes.

A role missing from an action's row gets 403. An object outside a principal's scope
is answered 404, so that its existence does not leak.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlmodel import col

from app.models import Difficulty, Project, SupervisionItem, SupervisionTask
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
    difficulty_read = "difficulty.read"
    difficulty_create = "difficulty.create"
    difficulty_update = "difficulty.update"
    difficulty_note = "difficulty.note"
    difficulty_transition = "difficulty.transition"
    difficulty_work = "difficulty.work"
    difficulty_confirm = "difficulty.confirm"
    supervision_read = "supervision.read"
    supervision_write = "supervision.write"
    supervision_report = "supervision.report"
    accountability_read = "accountability.read"
    approval_read = "approval.read"
    approval_write = "approval.write"
    approval_kind_read = "approval_kind.read"
    approval_kind_manage = "approval_kind.manage"
    approval_event_post = "approval_event.post"
    approval_event_read = "approval_event.read"
    webhook_manage = "webhook.manage"
    target_read = "target.read"
    target_write = "target.write"
    exchange_rate_read = "exchange_rate.read"
    exchange_rate_write = "exchange_rate.write"
    stats_read = "stats.read"
    bulletin_read = "bulletin.read"
    project_import = "project.import"
    project_export = "project.export"
    investor_read = "investor.read"
    investor_write = "investor.write"
    follow_up_read = "follow_up.read"
    follow_up_write = "follow_up.write"
    fdi_read = "fdi.read"
    fdi_write = "fdi.write"
    signing_event_read = "signing_event.read"
    signing_event_write = "signing_event.write"
    plan_read = "plan.read"
    plan_write = "plan.write"
    report_read = "report.read"
    report_file = "report.file"
    report_review = "report.review"
    report_import = "report.import"
    report_export = "report.export"


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
    Action.difficulty_read:      frozenset({A, B, L, U, V}),     # unit: assigned to it or on its projects
    Action.difficulty_create:    frozenset({A, B}),
    Action.difficulty_update:    frozenset({A, B}),              # title, category, unit, leader, due date
    Action.difficulty_note:      frozenset({A, B, L, U}),        # leader: in charge; unit: assigned to it
    Action.difficulty_transition: frozenset({A, B, L, U}),       # which moves: the two rows below
    Action.difficulty_work:      frozenset({A, B, U}),           # start work, resolve; unit: assigned to it
    Action.difficulty_confirm:   frozenset({A, B, L}),           # close or reject a resolution; leader: in charge
    Action.supervision_read:     frozenset({A, B, L, U, V}),     # unit: its own tasks and their items
    Action.supervision_write:    frozenset({A, B}),              # items and tasks
    Action.supervision_report:   frozenset({A, B, U}),           # progress reports; unit: its own tasks
    Action.accountability_read:  frozenset({A, B, L, V}),        # summaries and a leader's workload
    Action.approval_read:        frozenset({A, B, L, U, V}),     # unit: only its own projects' items
    Action.approval_write:       frozenset({A, B}),
    Action.approval_kind_read:   frozenset({A, B, L, U, I, V}),
    Action.approval_kind_manage: frozenset({A}),
    Action.approval_event_post:  frozenset({I}),                 # signed; see app/services/integrations.py
    Action.approval_event_read:  frozenset({A, B}),              # reconciliation of unmatched events
    Action.webhook_manage:       frozenset({A}),
    Action.target_read:          frozenset({A, B, L, V}),
    Action.target_write:         frozenset({A, B}),
    Action.exchange_rate_read:   frozenset({A, B, L, V}),
    Action.exchange_rate_write:  frozenset({A, B}),
    Action.stats_read:           frozenset({A, B, L, V}),     # incl. every leader's dashboard
    Action.bulletin_read:        frozenset({A, B, L, V}),        # the monthly bulletin workbook
    Action.project_import:       frozenset({A, B}),              # ledger (台账) upload
    Action.project_export:       frozenset({A, B, L, U, V}),     # unit: only its own projects
    Action.investor_read:        frozenset({A, B, L, U, V}),
    Action.investor_write:       frozenset({A, B}),
    Action.follow_up_read:       frozenset({A, B, L, U, V}),     # leader: their projects; unit: its own
    Action.follow_up_write:      frozenset({A, B, U}),           # unit: on its own projects
    Action.fdi_read:             frozenset({A, B, L, U, V}),     # unit: only its own projects
    Action.fdi_write:            frozenset({A, B}),
    Action.signing_event_read:   frozenset({A, B, L, U, V}),
    Action.signing_event_write:  frozenset({A, B}),
    Action.plan_read:            frozenset({A, B, L, U, V}),     # annual plans; unit: its own projects'
    Action.plan_write:           frozenset({A, B}),
    Action.report_read:          frozenset({A, B, L, U, V}),     # monthly reports; unit: its own projects'
    Action.report_file:          frozenset({A, B, U}),           # unit: for its own projects
    Action.report_review:        frozenset({A, B}),              # accept or return
    Action.report_import:        frozenset({A, B}),              # ledger of monthly reports
    Action.report_export:        frozenset({A, B, L, U, V}),     # unit: its own projects'
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


def can_see_project(principal: Principal, project: Project | Mapping[str, Any]) -> bool:
    """``project_scope`` for one project: an ORM instance, or a row's mapping."""
    if principal.role == Role.unit:
        unit_id = project.unit_id if isinstance(project, Project) else project["unit_id"]
        return bool(unit_id == principal.unit_id)
    return True


def difficulty_scope(principal: Principal) -> ColumnElement[bool]:
    """The difficulties this principal may see: a unit those assigned to it or on its projects."""
    if principal.role == Role.unit:
        own_projects = select(col(Project.id)).where(col(Project.unit_id) == principal.unit_id)
        return or_(col(Difficulty.unit_id) == principal.unit_id, col(Difficulty.project_id).in_(own_projects))
    return true()


def can_see_difficulty(principal: Principal, difficulty: Difficulty, project: Project) -> bool:
    if principal.role == Role.unit:
        return principal.unit_id in (difficulty.unit_id, project.unit_id)
    return True


def can_act_on_difficulty(principal: Principal, difficulty: Difficulty, project: Project) -> bool:
    """Beyond the role: a leader acts on the difficulties in their charge (assigned to them or
    on their projects), a unit on those assigned to it."""
    if principal.role == Role.leader:
        return principal.leader_id is not None and principal.leader_id in (difficulty.leader_id, project.leader_id)
    if principal.role == Role.unit:
        return difficulty.unit_id == principal.unit_id
    return True


def task_scope(principal: Principal) -> ColumnElement[bool]:
    """The supervised tasks this principal may see: a unit its own."""
    if principal.role == Role.unit:
        return col(SupervisionTask.unit_id) == principal.unit_id
    return true()


def supervision_item_scope(principal: Principal) -> ColumnElement[bool]:
    """The supervised items this principal may see: a unit those with a task of its own."""
    if principal.role == Role.unit:
        return exists().where(col(SupervisionTask.item_id) == col(SupervisionItem.id),
                              col(SupervisionTask.unit_id) == principal.unit_id)
    return true()


def can_act_on_task(principal: Principal, task: SupervisionTask) -> bool:
    if principal.role == Role.unit:
        return task.unit_id == principal.unit_id
    return True
