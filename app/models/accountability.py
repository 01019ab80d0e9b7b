"""The accountability summaries (问责、年终考评): no tables, only what the aggregates return."""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from app.models.enums import DifficultyCategory, DifficultyStatus, EscalationLevel


class DifficultyFigures(BaseModel):
    count: int = Field(description="Difficulties raised.")
    unresolved: int = Field(description="Still open or in progress.")
    overdue: int = Field(description="Unresolved and past their due date, as of `today`.")
    resolved: int = Field(description="Resolved by the unit (closed ones included).")
    resolved_on_time: int = Field(description="Resolved on or before their due date.")
    median_days_to_resolve: Decimal | None = Field(
        description="Median of (resolved_on - raised_on) in days over the resolved ones; null if none.")
    on_time_share: Decimal | None = Field(
        description="resolved_on_time / resolved, to 4 places; null if none resolved.")


class CategoryFigures(DifficultyFigures):
    category: DifficultyCategory


class UnitFigures(DifficultyFigures):
    unit_id: int
    unit_name: str


class LeaderFigures(DifficultyFigures):
    leader_id: int | None = Field(description="Null for difficulties with no leader in charge.")
    leader_name: str | None


class StatusCount(BaseModel):
    status: DifficultyStatus
    count: int


class DifficultyStats(BaseModel):
    today: date = Field(description="The city date that `overdue` is counted for.")
    year: int | None = Field(description="Only difficulties raised in this year, if given.")
    overall: DifficultyFigures
    by_status: list[StatusCount]
    by_category: list[CategoryFigures]
    by_unit: list[UnitFigures]
    by_leader: list[LeaderFigures]


class SupervisionFigures(BaseModel):
    tasks: int = Field(description="Tasks with a deadline in the year.")
    done_on_time: int = Field(description="Done on or before the deadline.")
    done_late: int = Field(description="Done after the deadline.")
    overdue: int = Field(description="Not done and past the deadline, as of `today`.")
    open: int = Field(description="Not done and not yet due.")
    on_time_rate: Decimal | None = Field(description="done_on_time / tasks, to 4 places.")


class UnitAssessment(SupervisionFigures):
    rank: int = Field(description="1 is best: by on-time rate, then fewer overdue, then fewer late "
                                  "(equal figures share a rank).")
    unit_id: int
    unit_name: str


class SupervisionStats(BaseModel):
    year: int
    today: date = Field(description="The city date that `overdue` and `open` are counted for.")
    overall: SupervisionFigures
    units: list[UnitAssessment] = Field(description="Every unit with a task due in the year, best first.")


class DifficultySummary(BaseModel):
    id: int
    project_id: int
    project_name: str
    title: str
    category: DifficultyCategory
    status: DifficultyStatus
    unit_id: int
    unit_name: str
    due_on: date
    days_overdue: int = Field(description="Days past the due date (0 if not overdue).")
    escalation_level: EscalationLevel


class TaskSummary(BaseModel):
    id: int
    item_id: int
    item_title: str
    title: str
    unit_id: int
    unit_name: str
    deadline: date
    percent: int
    days_overdue: int


class LeaderWorkload(BaseModel):
    """What a leader must see to: open and overdue difficulties, and overdue supervised tasks."""

    leader_id: int
    today: date
    open_difficulty_count: int = Field(description="Difficulties in the leader's charge not yet closed.")
    overdue_difficulty_count: int
    overdue_task_count: int
    open_difficulties: list[DifficultySummary] = Field(description="Most urgent first (earliest due), "
                                                                   "at most `limit`.")
    overdue_difficulties: list[DifficultySummary]
    overdue_tasks: list[TaskSummary] = Field(description="Overdue tasks of supervised items linked to the "
                                                         "leader's projects, most overdue first.")
