"""The pipeline on any date, as SQL: the building blocks every aggregate shares.

A project's stage on date D is read from its stage history, whose rows carry validity
intervals: the row with ``occurred_on <= D`` and (``left_on`` null or ``left_on > D``).
A project with no such row did not exist yet on D. Two moves on one day leave the first
an empty interval, so the later move is the stage of that day. Today's answer is the
current state, since no move may be dated in the future.

A project's other attributes on D (leader, unit, zone, industry, funding source, total
investment, planned dates, on hold, contracted FDI, archived) are read from its versions
(``app.services.projects.history``) unless D is today: ``projects_as`` gives a stand-in for
``Project`` that a query uses as it would ``Project`` itself. An archived project counts
until the day it was archived.

Two clocks: ``as_of`` is the business date asked about, by all that is recorded now;
``known_on`` reads only what had been recorded by an instant (the stage moves, the
versions), so that an earlier answer can be given again exactly, later corrections left out.

"Behind plan" (滞后) on D: a planned date has passed (it is before D) and the project
has not reached the stage it plans — signed for ``planned_sign_on``, under construction
for ``planned_start_on``, in production for ``planned_production_on``. Terminated
projects are never behind plan; they are dropped.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, Select, and_, case, cast, extract, false, null, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import CTE, Subquery
from sqlmodel import col

from app.dialect import a_date, days_between
from app.models import Project, ProjectVersion, StageTransition
from app.models.enums import STAGE_ORDER, HealthRule, Stage
from app.models.project import HISTORISED

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


def projects_as(on: date, known_on: datetime | None = None, *, today: date) -> Any:
    """The projects as they were on ``on``, by what had been recorded by ``known_on`` (None: now):
    ``Project`` itself when that is today's registry, else an alias of it whose historised
    columns (and ``archived_at``) come from the one version of each project then believed."""
    if known_on is None and on >= today:
        return Project
    v = ProjectVersion
    own = [c for c in Project.__table__.columns  # type: ignore[attr-defined]
           if c.name not in (*HISTORISED, "archived_at")]
    then = (select(*own, *(getattr(v, name) for name in HISTORISED),
                   case((col(v.archived), col(v.recorded_at)), else_=null()).label("archived_at"))
            .select_from(Project).join(v, col(v.project_id) == col(Project.id))
            .where(or_(col(v.valid_from).is_(None), col(v.valid_from) <= a_date(on)),
                   or_(col(v.valid_to).is_(None), col(v.valid_to) > a_date(on)),
                   *believed_by(col(v.recorded_at), col(v.superseded_at), known_on))
            .subquery("projects_then"))
    return aliased(Project, then, adapt_on_names=True)


def known_by(text: str, timezone: str) -> datetime:
    """The instant ``known_on`` names, in UTC: a date is its last instant in the city's time zone;
    a time without an offset is the city's. ``ValueError`` when it is neither, ``OverflowError``
    at the calendar's ends."""
    zone = ZoneInfo(timezone)
    if len(text) == 10:
        instant = datetime.combine(date.fromisoformat(text) + timedelta(days=1), time(), zone) - timedelta(
            microseconds=1)
    else:
        instant = datetime.fromisoformat(text)
    return (instant if instant.tzinfo is not None else instant.replace(tzinfo=zone)).astimezone(UTC)


def believed_by(recorded_at: Any, superseded_at: Any, known_on: datetime | None) -> list[ColumnElement[bool]]:
    """The rows of a history believed at ``known_on`` (None: now), from their recording instants."""
    if known_on is None:
        return [superseded_at.is_(None)]
    return [recorded_at <= known_on, or_(superseded_at.is_(None), superseded_at > known_on)]


def history_as(known_on: datetime | None = None) -> Any:
    """The stage history as it had been recorded by ``known_on`` (None: now): ``StageTransition``
    itself, or an alias of it without the later entries, whose ``left_on`` is null where the
    next entry was recorded later (``left_recorded_at``)."""
    if known_on is None:
        return StageTransition
    t = StageTransition
    columns = [c for c in StageTransition.__table__.columns if c.name != "left_on"]  # type: ignore[attr-defined]
    then = (select(*columns, case((col(t.left_recorded_at) <= known_on, col(t.left_on)), else_=null())
                   .label("left_on"))
            .where(col(t.recorded_at) <= known_on).subquery("history_then"))
    return aliased(StageTransition, then, adapt_on_names=True)


def stage_on(on: date, *, name: str = "state", cte: bool = False, known_on: datetime | None = None) -> State:
    """Each project's stage on ``on`` (by what had been recorded by ``known_on``): (project_id,
    stage, entered_on); absent if it did not exist yet. As a CTE when one query refers to it
    many times."""
    t = history_as(known_on)
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


def overdue_days(on: date, state: State, projects: Any = Project) -> dict[HealthRule, ColumnElement[int]]:
    """Per rule, how many days the project is past its measure on ``on`` (negative: not yet);
    null where the rule does not apply (the stage is reached, no planned date, terminated)."""
    stage = state.c.stage
    measures: dict[HealthRule, ColumnElement[int]] = {}
    for rule, (column, planned_stage) in PLANNED.items():
        planned = getattr(projects, column)
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


def is_late(on: date, state: State, projects: Any = Project) -> ColumnElement[bool]:
    """Some planned date is before ``on`` and its stage is not reached (see the module docstring)."""
    stage = state.c.stage
    conditions = [and_(getattr(projects, column).is_not(None), getattr(projects, column) < a_date(on),
                       rank(stage) < RANK[planned_stage])
                  for column, planned_stage in PLANNED.values()]
    return and_(active(stage), or_(false(), *conditions))


def entered_year(state: State) -> ColumnElement[int]:
    """The year the project entered the stage it is in."""
    return cast(extract("year", state.c.entered_on), Integer)


def projects_on(on: date, state: State | None = None, *, projects: Any = Project,
                known_on: datetime | None = None) -> tuple[AnySelect, State]:
    """``SELECT … FROM projects JOIN state`` for the (unarchived) projects on ``on``, from
    ``projects`` (``projects_as``); the caller adds columns with ``with_only_columns``."""
    state = state if state is not None else stage_on(on, known_on=known_on)
    stmt: AnySelect = (select(col(projects.id))
            .select_from(projects)
            .join(state, state.c.project_id == col(projects.id))
            .where(col(projects.archived_at).is_(None)))
    return stmt, state
