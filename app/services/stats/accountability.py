"""Accountability (问责): the summaries of difficulties and supervision, and a leader's workload.

Everything is counted by the database. The median is the same window-function query on
both databases: number the values within each group, and average the middle one (odd
count) or two (even count), ``rn`` in ``((n + 1) // 2, (n + 2) // 2)``.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, Select, and_, case, cast, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlmodel import col

from app.dialect import days_between
from app.errors import NotFound
from app.models import Difficulty, Leader, Project, SupervisionItem, SupervisionItemProject, SupervisionTask, Unit
from app.models.accountability import (
    CategoryFigures,
    DifficultyFigures,
    DifficultyStats,
    DifficultySummary,
    LeaderFigures,
    LeaderWorkload,
    StatusCount,
    SupervisionFigures,
    SupervisionStats,
    TaskSummary,
    UnitAssessment,
    UnitFigures,
)
from app.models.enums import UNRESOLVED, DifficultyStatus
from app.services.supervision.difficulties import is_overdue

TENTH = Decimal("0.1")
SHARE = Decimal("0.0001")
DONE_STATUSES = (DifficultyStatus.resolved, DifficultyStatus.closed)


def _ratio(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(SHARE) if whole else None


def _median(value: Any) -> Decimal | None:
    # AVG is numeric on PostgreSQL and a float on SQLite; a median of whole days is a
    # whole or half number either way, exact in both.
    return None if value is None else Decimal(str(value)).quantize(TENTH)


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# --- difficulties -------------------------------------------------------------------------


def _difficulty_base(year: int | None) -> Any:
    """Every difficulty (of a current project), with the columns the figures group and count."""
    resolved = col(Difficulty.resolved_on).is_not(None)
    stmt = (select(col(Difficulty.category).label("category"),
                   col(Difficulty.status).label("status"),
                   col(Difficulty.unit_id).label("unit_id"),
                   col(Difficulty.leader_id).label("leader_id"),
                   col(Difficulty.due_on).label("due_on"),
                   resolved.label("is_resolved"),
                   case((resolved, days_between(col(Difficulty.resolved_on), col(Difficulty.raised_on))),
                        else_=None).label("days_to_resolve"),
                   (resolved & (col(Difficulty.resolved_on) <= col(Difficulty.due_on))).label("on_time"))
            .join(Project, col(Project.id) == col(Difficulty.project_id))
            .where(col(Project.archived_at).is_(None)))
    if year is not None:
        stmt = stmt.where(col(Difficulty.raised_on).between(date(year, 1, 1), date(year, 12, 31)))
    return stmt.subquery("d")


async def _difficulty_figures(session: AsyncSession, base: Any, group: str | None,
                              today: date) -> list[tuple[Any, DifficultyFigures]]:
    """The figures of each group of ``base`` by its column ``group`` (one group of all if None),
    largest group first."""
    keys: list[ColumnElement[Any]] = [base.c[group]] if group else []
    unresolved = base.c.status.in_([str(s) for s in UNRESOLVED])
    figures = (select(*keys,
                      func.count().label("count"),
                      _count_if(unresolved).label("unresolved"),
                      _count_if(unresolved & (base.c.due_on < today)).label("overdue"),
                      _count_if(base.c.is_resolved).label("resolved"),
                      _count_if(base.c.on_time).label("resolved_on_time"))
               .group_by(*keys).subquery("figures"))
    ranked = (select(*keys, base.c.days_to_resolve.label("days"),
                     func.row_number().over(partition_by=keys or None, order_by=base.c.days_to_resolve).label("rn"),
                     func.count().over(partition_by=keys or None).label("n"))
              .where(base.c.is_resolved).subquery("ranked"))
    middle_keys = [ranked.c[group]] if group else []
    middle = (select(*middle_keys, func.avg(ranked.c.days).label("median"))
              .where(ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2]))
              .group_by(*middle_keys).subquery("middle"))
    on = figures.c[group].is_not_distinct_from(middle.c[group]) if group else true()
    stmt = select(figures, middle.c.median).select_from(figures.outerjoin(middle, on))
    if group:
        stmt = stmt.order_by(figures.c.count.desc(), figures.c[group].asc().nulls_last())
    out = []
    for row in (await session.execute(stmt)).mappings():
        figs = DifficultyFigures(count=row["count"], unresolved=row["unresolved"], overdue=row["overdue"],
                                 resolved=row["resolved"], resolved_on_time=row["resolved_on_time"],
                                 median_days_to_resolve=_median(row["median"]),
                                 on_time_share=_ratio(row["resolved_on_time"], row["resolved"]))
        out.append((row[group] if group else None, figs))
    return out


async def _names(session: AsyncSession, model: type[Unit] | type[Leader], ids: Sequence[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await session.execute(select(col(model.id), col(model.name)).where(col(model.id).in_(wanted)))
    return {i: n for i, n in rows.all() if i is not None}


async def difficulty_stats(session: AsyncSession, *, today: date, year: int | None) -> DifficultyStats:
    """Counts by category, unit, leader and status; median days to resolve; share resolved on time."""
    base = _difficulty_base(year)
    [(_, overall)] = await _difficulty_figures(session, base, None, today)
    by_category = await _difficulty_figures(session, base, "category", today)
    by_unit = await _difficulty_figures(session, base, "unit_id", today)
    by_leader = await _difficulty_figures(session, base, "leader_id", today)
    statuses = await session.execute(select(base.c.status, func.count()).group_by(base.c.status)
                                     .order_by(base.c.status))
    units = await _names(session, Unit, [k for k, _ in by_unit])
    leaders = await _names(session, Leader, [k for k, _ in by_leader])
    return DifficultyStats(
        today=today, year=year, overall=overall,
        by_status=[StatusCount(status=s, count=c) for s, c in statuses.all()],
        by_category=[CategoryFigures(category=k, **f.model_dump()) for k, f in by_category],
        by_unit=[UnitFigures(unit_id=k, unit_name=units.get(k, ""), **f.model_dump()) for k, f in by_unit],
        by_leader=[LeaderFigures(leader_id=k, leader_name=None if k is None else leaders.get(k), **f.model_dump())
                   for k, f in by_leader],
    )


# --- supervision --------------------------------------------------------------------------


async def supervision_stats(session: AsyncSession, *, year: int, today: date) -> SupervisionStats:
    """Per unit, the tasks due in ``year``: done on time, done late, overdue, open; ranked."""
    completed_on, deadline = col(SupervisionTask.completed_on), col(SupervisionTask.deadline)
    done = completed_on.is_not(None)
    per_unit = (
        select(col(SupervisionTask.unit_id).label("unit_id"),
               func.count().label("tasks"),
               _count_if(done & (completed_on <= deadline)).label("done_on_time"),
               _count_if(done & (completed_on > deadline)).label("done_late"),
               _count_if(~done & (deadline < today)).label("overdue"),
               _count_if(~done & (deadline >= today)).label("open"))
        .join(SupervisionItem, col(SupervisionItem.id) == col(SupervisionTask.item_id))
        .where(col(SupervisionItem.archived_at).is_(None), deadline.between(date(year, 1, 1), date(year, 12, 31)))
        .group_by(col(SupervisionTask.unit_id))
        .subquery("per_unit"))
    # Both databases divide IEEE doubles here, so equal rates compare equal on each.
    rate = cast(per_unit.c.done_on_time, Float) / per_unit.c.tasks
    ranked = (select(per_unit, col(Unit.name).label("unit_name"),
                     func.rank().over(order_by=(rate.desc(), per_unit.c.overdue, per_unit.c.done_late)).label("rank"))
              .join(Unit, col(Unit.id) == per_unit.c.unit_id)
              .subquery("ranked"))
    rows = (await session.execute(select(ranked).order_by(ranked.c.rank, ranked.c.unit_id))).mappings()
    units = [UnitAssessment(rank=r["rank"], unit_id=r["unit_id"], unit_name=r["unit_name"], tasks=r["tasks"],
                            done_on_time=r["done_on_time"], done_late=r["done_late"], overdue=r["overdue"],
                            open=r["open"], on_time_rate=_ratio(r["done_on_time"], r["tasks"])) for r in rows]
    sums = [func.coalesce(func.sum(per_unit.c[name]), 0)
            for name in ("tasks", "done_on_time", "done_late", "overdue", "open")]
    tasks, on_time, late, overdue, still_open = (await session.execute(select(*sums))).one()
    overall = SupervisionFigures(tasks=tasks, done_on_time=on_time, done_late=late, overdue=overdue, open=still_open,
                                 on_time_rate=_ratio(on_time, tasks))
    return SupervisionStats(year=year, today=today, overall=overall, units=units)


# --- a leader's workload ------------------------------------------------------------------


async def leader_workload(session: AsyncSession, *, leader_id: int, today: date, limit: int = 50) -> LeaderWorkload:
    """A leader's open and overdue difficulties and the overdue tasks of items on their projects."""
    if await session.get(Leader, leader_id) is None:
        raise NotFound(f"No leader with id {leader_id}.")
    due_on, difficulty_id = col(Difficulty.due_on), col(Difficulty.id)
    in_charge = and_(col(Difficulty.leader_id) == leader_id, col(Project.archived_at).is_(None))
    not_closed = col(Difficulty.status) != DifficultyStatus.closed
    summaries: Select[*tuple[Any, ...]] = (
        select(difficulty_id, col(Difficulty.project_id), col(Project.name).label("project_name"),
               col(Difficulty.title), col(Difficulty.category), col(Difficulty.status), col(Difficulty.unit_id),
               col(Unit.name).label("unit_name"), due_on, col(Difficulty.escalation_level),
               case((is_overdue(today), days_between(literal(today), due_on)), else_=0).label("days_overdue"))
        .join(Project, col(Project.id) == col(Difficulty.project_id))
        .join(Unit, col(Unit.id) == col(Difficulty.unit_id))
        .where(in_charge)
        .order_by(due_on, difficulty_id)
        .limit(limit))
    open_rows = (await session.execute(summaries.where(not_closed))).mappings()
    overdue_rows = (await session.execute(summaries.where(is_overdue(today)))).mappings()
    open_count, overdue_count = (await session.execute(
        select(_count_if(not_closed), _count_if(is_overdue(today)))
        .select_from(Difficulty).join(Project, col(Project.id) == col(Difficulty.project_id))
        .where(in_charge))).one()

    deadline, task_id = col(SupervisionTask.deadline), col(SupervisionTask.id)
    on_leaders_projects = (select(col(SupervisionItemProject.item_id))
                           .join(Project, col(Project.id) == col(SupervisionItemProject.project_id))
                           .where(col(Project.leader_id) == leader_id))
    overdue_task = and_(col(SupervisionTask.completed_on).is_(None), deadline < today,
                        col(SupervisionTask.item_id).in_(on_leaders_projects),
                        col(SupervisionItem.archived_at).is_(None))
    task_rows = (await session.execute(
        select(task_id, col(SupervisionTask.item_id), col(SupervisionItem.title).label("item_title"),
               col(SupervisionTask.title), col(SupervisionTask.unit_id), col(Unit.name).label("unit_name"),
               deadline, col(SupervisionTask.percent), days_between(literal(today), deadline).label("days_overdue"))
        .join(SupervisionItem, col(SupervisionItem.id) == col(SupervisionTask.item_id))
        .join(Unit, col(Unit.id) == col(SupervisionTask.unit_id))
        .where(overdue_task)
        .order_by(deadline, task_id)
        .limit(limit))).mappings()
    task_count = (await session.execute(
        select(func.count()).select_from(SupervisionTask)
        .join(SupervisionItem, col(SupervisionItem.id) == col(SupervisionTask.item_id))
        .where(overdue_task))).scalar_one()
    return LeaderWorkload(
        leader_id=leader_id, today=today, open_difficulty_count=open_count, overdue_difficulty_count=overdue_count,
        overdue_task_count=task_count,
        open_difficulties=[DifficultySummary.model_validate(dict(r)) for r in open_rows],
        overdue_difficulties=[DifficultySummary.model_validate(dict(r)) for r in overdue_rows],
        overdue_tasks=[TaskSummary.model_validate(dict(r)) for r in task_rows],
    )
