"""The pipeline on any date, as SQL: the building blocks every aggregate shares.

A project's stage on date D is read from its stage history, whose rows carry validity
intervals: the row with ``occurred_on <= D`` and (``left_on`` null or ``left_on > D``).
A project with no such row did not exist yet on D. Two moves on one day leave the first
an empty interval, so the later move is the stage of that day. Today's answer is the
current state, since no move may be dated in the future.

Archived projects are out of every aggregate, at every date: archiving says the entry
should not count.

"Behind plan" (滞后) on D: a planned date has passed (it is before D) and the project
has not reached the stage it plans — signed for ``planned_sign_on``, under construction
for ``planned_start_on``, in production for ``planned_production_on``. Terminated
projects are never behind plan; they are dropped.
"""

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, case, cast, extract, false, or_, select
from sqlalchemy.sql.expression import CTE, Subquery
from sqlmodel import col

from app.dialect import a_date, days_between
from app.models import Project, StageTransition
from app.models.enums import STAGE_ORDER, HealthRule, Stage

RANK: dict[Stage, int] = {stage: i for i, stage in enumerate(STAGE_ORDER)}
TERMINATED_RANK = -1

# Which planned date plans which stage.
PLANNED: dict[HealthRule, tuple[str, Stage]] = {
    HealthRule.sign_overdue: ("planned_sign_on", Stage.signed),
    HealthRule.start_overdue: ("planned_start_on", Stage.under_construction),
    HealthRule.production_overdue: ("planned_production_on", Stage.in_production),
}

LATE_RULE = ("behind plan: a planned date (planned_sign_on, planned_start_on, planned_production_on) is before "
             "the date asked and the project has not reached the stage it plans (signed, under_construction, "
             "in_production); terminated projects are never late")


State = Subquery | CTE
AnySelect = Select[*tuple[Any, ...]]  # a SELECT of any columns


def stage_on(on: date, *, name: str = "state", cte: bool = False) -> State:
    """Each project's stage on ``on``: (project_id, stage, entered_on); absent if it did not
    exist yet. As a CTE when one query refers to it many times."""
    t = StageTransition
    stmt: AnySelect = (select(col(t.project_id).label("project_id"), col(t.to_stage).label("stage"),
                   col(t.occurred_on).label("entered_on"))
            .where(col(t.occurred_on) <= a_date(on), or_(col(t.left_on).is_(None), col(t.left_on) > a_date(on))))
    return stmt.cte(name) if cte else stmt.subquery(name)


def rank(stage: Any) -> ColumnElement[int]:
    """A stage's place in the lifecycle (0 negotiating … 5 in production); -1 terminated or none."""
    return case({s.value: i for s, i in RANK.items()}, value=stage, else_=TERMINATED_RANK)


def reached(stage: Any, goal: Stage) -> ColumnElement[bool]:
    """The project is at ``goal`` or beyond it (a terminated project has reached nothing)."""
    return rank(stage) >= RANK[goal]


def active(stage: Any) -> ColumnElement[bool]:
    """It existed on the date and was not terminated."""
    return and_(stage.is_not(None), stage != Stage.terminated.value)


def overdue_days(on: date, state: State) -> dict[HealthRule, ColumnElement[int]]:
    """Per rule, how many days the project is past its measure on ``on`` (negative: not yet);
    null where the rule does not apply (the stage is reached, no planned date, terminated)."""
    stage = state.c.stage
    measures: dict[HealthRule, ColumnElement[int]] = {}
    for rule, (column, planned_stage) in PLANNED.items():
        planned = getattr(Project, column)
        measures[rule] = case(
            (and_(active(stage), rank(stage) < RANK[planned_stage], col(planned).is_not(None)),
             days_between(a_date(on), planned)),
            else_=None)
    # Construction is measured by its planned production date, not by stage moves.
    measures[HealthRule.stalled] = case(
        (and_(active(stage), rank(stage) < RANK[Stage.under_construction]),
         days_between(a_date(on), state.c.entered_on)),
        else_=None)
    return measures


def is_late(on: date, state: State) -> ColumnElement[bool]:
    """Some planned date is before ``on`` and its stage is not reached (see the module docstring)."""
    stage = state.c.stage
    conditions = [and_(getattr(Project, column).is_not(None), getattr(Project, column) < a_date(on),
                       rank(stage) < RANK[planned_stage])
                  for column, planned_stage in PLANNED.values()]
    return and_(active(stage), or_(false(), *conditions))


def entered_year(state: State) -> ColumnElement[int]:
    """The year the project entered the stage it is in."""
    return cast(extract("year", state.c.entered_on), Integer)


def projects_on(on: date, state: State | None = None) -> tuple[AnySelect, State]:
    """``SELECT … FROM projects JOIN state`` for the current (unarchived) projects on ``on``;
    the caller adds columns with ``with_only_columns``."""
    state = state if state is not None else stage_on(on)
    stmt: AnySelect = (select(col(Project.id))
            .select_from(Project)
            .join(state, state.c.project_id == col(Project.id))
            .where(col(Project.archived_at).is_(None)))
    return stmt, state
