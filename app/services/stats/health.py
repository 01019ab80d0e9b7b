"""A project's red/amber/green status on a date, with the rules and inputs behind it.

Each rule measures days (``app.services.pipeline_state.overdue_days``):

    sign_overdue        days since planned_sign_on, not yet signed
    start_overdue       days since planned_start_on, not yet under construction
    production_overdue  days since planned_production_on, not yet in production
    stalled             days since the last stage move, before construction
    no_follow_up        days since the last follow-up (or the stage move, if later), while
                        negotiating or signed, for projects with a follow-up log

and turns amber, then red, at thresholds from the settings (``status_<rule>_amber_days``,
``status_<rule>_red_days``; None switches a level off). ``no_follow_up`` has one allowance
per stage (``follow_up_max_days``): amber past it, red past twice it. A project whose log
is still empty is not measured by it: the log starts empty when the service is deployed,
and ``stalled`` already measures a project nobody moves. A project's status is its worst
rule's. Terminated projects, and projects that did not exist yet, have no status.

The database computes the measures, the levels and the status (CASE expressions), so
counts and filters by status are SQL aggregates like any other.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Subquery
from sqlmodel import col

from app.config import Settings
from app.dialect import a_date, days_between
from app.models import Project
from app.models.enums import ProjectStatus, Stage, StatusRule
from app.models.stats import ProjectStatusPage, ProjectStatusRead, StatusReason, StatusRuleRead
from app.services.common import pagination
from app.services.common.pagination import SortKey
from app.services.promotion.follow_ups import last_follow_up
from app.services.stats.timeline import PLANNED, active, overdue_days, projects_on

MEASURES: dict[StatusRule, str] = {
    StatusRule.sign_overdue: "days since planned_sign_on, while the project is not yet signed",
    StatusRule.start_overdue: "days since planned_start_on, while the project is not yet under construction",
    StatusRule.production_overdue: "days since planned_production_on, while the project is not yet in production",
    StatusRule.stalled: "days since the project's last stage move, while it is not yet under construction",
    StatusRule.no_follow_up: ("days since the project's last follow-up (or its last stage move, if later), while "
                              "it is negotiating or signed and has a follow-up log; amber past the stage's "
                              "FOLLOW_UP_MAX_DAYS, red past twice that"),
}
LEVEL = {0: ProjectStatus.green, 1: ProjectStatus.amber, 2: ProjectStatus.red}
SEVERITY = {ProjectStatus.red.value: 0, ProjectStatus.amber.value: 1, ProjectStatus.green.value: 2}


@dataclass(frozen=True)
class Threshold:
    amber: int | None
    red: int | None
    # Allowances per stage (no_follow_up): amber past the days, red past twice them.
    by_stage: dict[str, int] | None = None


Rules = dict[StatusRule, Threshold]


def rules_of(settings: Settings) -> Rules:
    """The thresholds in force, from the settings."""
    rules = {rule: Threshold(amber=getattr(settings, f"status_{rule.value}_amber_days"),
                             red=getattr(settings, f"status_{rule.value}_red_days"))
             for rule in StatusRule if rule not in FOLLOW_UP_RULES}
    rules[StatusRule.no_follow_up] = Threshold(amber=None, red=None,
                                               by_stage={str(k): v for k, v in settings.follow_up_max_days.items()})
    return rules


FOLLOW_UP_RULES = (StatusRule.no_follow_up,)


def describe(rules: Rules) -> list[StatusRuleRead]:
    return [StatusRuleRead(rule=rule, measures=MEASURES[rule], amber_after_days=t.amber, red_after_days=t.red,
                           max_days_by_stage=t.by_stage)
            for rule, t in rules.items()]


def _level(measure: Any, threshold: Threshold, stage: Any = None) -> ColumnElement[int]:
    if threshold.by_stage is not None:
        by_stage = threshold.by_stage.items()
        return case(*[(and_(stage == s, measure > 2 * days), 2) for s, days in by_stage],
                    *[(and_(stage == s, measure > days), 1) for s, days in by_stage], else_=0)
    whens = []
    if threshold.red is not None:
        whens.append((measure >= threshold.red, 2))
    if threshold.amber is not None:
        whens.append((measure >= threshold.amber, 1))
    return case(*whens, else_=0) if whens else literal(0)


def measured(as_of: date, rules: Rules, *, where: Sequence[ColumnElement[bool]] = ()) -> Subquery:
    """Every active project on ``as_of`` (matching ``where``) with its rule measures, levels
    and status: the subquery ``statuses``."""
    base, state = projects_on(as_of)
    measures = overdue_days(as_of, state)
    last = last_follow_up(as_of)
    since = case((last.c.last_on > state.c.entered_on, last.c.last_on), else_=state.c.entered_on)
    followed = list(rules[StatusRule.no_follow_up].by_stage or {})
    measures[StatusRule.no_follow_up] = case(
        (and_(last.c.last_on.is_not(None), state.c.stage.in_(followed)), days_between(a_date(as_of), since)),
        else_=None)
    inner = base.outerjoin(last, last.c.project_id == col(Project.id)).with_only_columns(
        col(Project.id).label("id"), col(Project.name).label("name"), state.c.stage.label("stage"),
        state.c.entered_on.label("entered_on"), col(Project.leader_id).label("leader_id"),
        col(Project.unit_id).label("unit_id"), col(Project.planned_sign_on).label("planned_sign_on"),
        col(Project.planned_start_on).label("planned_start_on"),
        col(Project.planned_production_on).label("planned_production_on"),
        col(Project.total_investment_amount).label("amount"),
        col(Project.total_investment_currency).label("currency"), last.c.last_on.label("last_follow_up_on"),
        *[measure.label(f"m_{rule.value}") for rule, measure in measures.items()],
    ).where(active(state.c.stage), *where).subquery("measured")
    levels = {rule: _level(inner.c[f"m_{rule.value}"], rules[rule], inner.c.stage) for rule in StatusRule}
    status = case(
        (or_(*[lv == 2 for lv in levels.values()]), ProjectStatus.red.value),
        (or_(*[lv == 1 for lv in levels.values()]), ProjectStatus.amber.value),
        else_=ProjectStatus.green.value)
    return select(*inner.c, *[lv.label(f"l_{rule.value}") for rule, lv in levels.items()],
                  status.label("status")).subquery("statuses")


def severity(statuses: Subquery) -> ColumnElement[int]:
    return case(SEVERITY, value=statuses.c.status, else_=3)


def to_read(row: Any, as_of: date, rules: Rules) -> ProjectStatusRead:
    """A row of ``measured`` as a status with its reasons: each rule above green, with its inputs."""
    reasons = []
    for rule in StatusRule:
        level = int(getattr(row, f"l_{rule.value}"))
        if level == 0:
            continue
        inputs: dict[str, str | int | None] = {"as_of": as_of.isoformat(), "stage": row.stage}
        if rule in PLANNED:
            column = PLANNED[rule][0]
            inputs[column] = getattr(row, column).isoformat()
        else:
            inputs["stage_entered_on"] = row.entered_on.isoformat()
        by_stage = rules[rule].by_stage
        if by_stage is not None:
            inputs["last_follow_up_on"] = row.last_follow_up_on.isoformat()
            inputs["max_days"] = by_stage[row.stage]
            inputs["amber_after_days"], inputs["red_after_days"] = by_stage[row.stage] + 1, 2 * by_stage[row.stage] + 1
        else:
            inputs["amber_after_days"] = rules[rule].amber
            inputs["red_after_days"] = rules[rule].red
        reasons.append(StatusReason(rule=rule, status=LEVEL[level], days=int(getattr(row, f"m_{rule.value}")),
                                    inputs=inputs))
    return ProjectStatusRead(id=row.id, name=row.name, stage=Stage(row.stage), stage_entered_on=row.entered_on,
                             leader_id=row.leader_id, unit_id=row.unit_id, status=ProjectStatus(row.status),
                             reasons=reasons)


def leader_filter(leader_id: list[int | None]) -> list[ColumnElement[bool]]:
    if not leader_id:
        return []
    ids = [i for i in leader_id if i is not None]
    column = col(Project.leader_id)
    return [or_(column.in_(ids), column.is_(None)) if None in leader_id else column.in_(ids)]


async def list_statuses(session: AsyncSession, *, as_of: date, rules: Rules, leader_id: list[int | None],
                        unit_id: list[int], status: list[ProjectStatus], late: bool | None, cursor: str | None,
                        limit: int) -> ProjectStatusPage:
    """Active projects on ``as_of`` with their status and reasons, by id; ``late`` keeps
    only those behind plan (or, False, only those not)."""
    where = leader_filter(leader_id)
    if unit_id:
        where.append(col(Project.unit_id).in_(unit_id))
    statuses = measured(as_of, rules, where=where)
    stmt: Select[Any] = select(statuses)
    if status:
        stmt = stmt.where(statuses.c.status.in_([s.value for s in status]))
    if late is not None:
        stmt = stmt.where(behind(statuses) if late else not_(behind(statuses)))
    key = SortKey("id", statuses.c.id, int)
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=statuses.c.id, cursor=cursor, limit=limit,
                            sort_label="status")
    rows = (await session.execute(stmt)).all()
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="status", key_of=lambda r: (r.id, r.id))
    return ProjectStatusPage(as_of=as_of, rules=describe(rules), items=[to_read(r, as_of, rules) for r in kept],
                             next_cursor=next_cursor)


async def counts_by(session: AsyncSession, statuses: Subquery, key: Any) -> dict[Any, dict[str, int]]:
    """Per value of ``key`` (a column of ``statuses``): how many projects of each status, and
    how many behind plan (under ``"late"``)."""
    rows = await session.execute(
        select(key.label("key"), statuses.c.status, func.count().label("n"),
               func.sum(func.sum(case((behind(statuses), 1), else_=0))).over(partition_by=key).label("late"))
        .group_by(key, statuses.c.status))
    out: dict[Any, dict[str, int]] = {}
    for row in rows:
        counts = out.setdefault(row.key, {s.value: 0 for s in ProjectStatus} | {"late": int(row.late)})
        counts[row.status] = int(row.n)
    return out


def behind(statuses: Subquery) -> ColumnElement[bool]:
    """Behind plan (late): a planned date has passed without its stage, whatever the thresholds."""
    return or_(*[and_(statuses.c[f"m_{rule.value}"].is_not(None), statuses.c[f"m_{rule.value}"] >= 1)
                 for rule in PLANNED])
