"""A project's red/amber/green health on a date, with the rules and inputs behind it.

Each rule measures days (``app.services.pipeline_state.overdue_days``):

    sign_overdue        days since planned_sign_on, not yet signed
    start_overdue       days since planned_start_on, not yet under construction
    production_overdue  days since planned_production_on, not yet in production
    stalled             days since the last stage move, before construction
    no_follow_up        days since the last follow-up (or the stage move, if later), while
                        negotiating or signed, for projects with a follow-up log

and turns amber, then red, at thresholds from the settings (``health_<rule>_amber_days``,
``health_<rule>_red_days``; None switches a level off). ``no_follow_up`` has one allowance
per stage (``follow_up_max_days``): amber past it, red past twice it. A project whose log
is still empty is not measured by it: the log starts empty when the service is deployed,
and ``stalled`` already measures a project nobody moves. Two rules of monthly scheduling
(``app.services.progress``) measure otherwise, both for the last due month (the latest
month whose report's due day is before the date):

    investment_behind   points the year's completion rate (accepted reports to that month
                        over the annual plan) is behind time progress (month / 12); only
                        projects with a plan (``health_investment_behind_<level>_points``)
    report_missing      due months in a row, back from that month, that the project had to
                        report and has not filed by the date (``…_<level>_months``): a
                        report is missing from the day after its due day until it is
                        filed, late or not (lateness itself is on the missing list)

A project's health is its worst rule's. Terminated projects, and projects that did not
exist yet, have no health.

The database computes the measures, the levels and the health (CASE expressions), so
counts and filters by health are SQL aggregates like any other.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import Subquery
from sqlmodel import col

from app.config import Settings
from app.dialect import a_date, days_between
from app.models import ProgressReport, Project
from app.models.enums import HealthRule, ProjectHealth, Stage
from app.models.investment import InvestmentRules
from app.models.stats import HealthReason, HealthRuleRead, ProjectHealthPage, ProjectHealthRead
from app.services.common import pagination
from app.services.common.pagination import SortKey
from app.services.progress import rules as report_rules
from app.services.promotion.follow_ups import last_follow_up
from app.services.stats import investment
from app.services.stats.timeline import PLANNED, active, history_as, overdue_days, projects_as, projects_on

MEASURES: dict[HealthRule, str] = {
    HealthRule.sign_overdue: "days since planned_sign_on, while the project is not yet signed",
    HealthRule.start_overdue: "days since planned_start_on, while the project is not yet under construction",
    HealthRule.production_overdue: "days since planned_production_on, while the project is not yet in production",
    HealthRule.stalled: "days since the project's last stage move, while it is not yet under construction",
    HealthRule.no_follow_up: ("days since the project's last follow-up (or its last stage move, if later), while "
                              "it is negotiating or signed and has a follow-up log; amber past the stage's "
                              "FOLLOW_UP_MAX_DAYS, red past twice that"),
    HealthRule.investment_behind: "percentage points the year's completion rate (accepted monthly reports to the "
                                  "last due month over the annual plan) is behind time progress (month / 12)",
    HealthRule.report_missing: "due months in a row, back from the last due month (whose due day has passed), "
                               "that the project had to report and has filed nothing for",
}
UNIT = {HealthRule.investment_behind: "points", HealthRule.report_missing: "months"}
LEVEL = {0: ProjectHealth.green, 1: ProjectHealth.amber, 2: ProjectHealth.red}
SEVERITY = {ProjectHealth.red.value: 0, ProjectHealth.amber.value: 1, ProjectHealth.green.value: 2}


@dataclass(frozen=True)
class Threshold:
    amber: int | None
    red: int | None
    # Allowances per stage (no_follow_up): amber past the days, red past twice them.
    by_stage: dict[str, int] | None = None


class Rules(dict[HealthRule, Threshold]):
    """The thresholds in force per rule, and the reporting duty that ``report_missing`` reads."""

    reporting: report_rules.ReportingRules = report_rules.ReportingRules(
        due_day=5, stages=(Stage.under_construction,), designations=())


def rules_of(settings: Settings) -> Rules:
    """The thresholds in force, from the settings."""
    rules = Rules({rule: Threshold(amber=getattr(settings, f"health_{rule.value}_amber_{UNIT.get(rule, 'days')}"),
                                   red=getattr(settings, f"health_{rule.value}_red_{UNIT.get(rule, 'days')}"))
                   if rule not in FOLLOW_UP_RULES else
                   Threshold(amber=None, red=None, by_stage={str(k): v for k, v in settings.follow_up_max_days.items()})
                   for rule in HealthRule})
    rules.reporting = report_rules.rules_of(settings)
    return rules


FOLLOW_UP_RULES = (HealthRule.no_follow_up,)


def describe(rules: Rules) -> list[HealthRuleRead]:
    return [HealthRuleRead(rule=rule, measures=MEASURES[rule], unit=UNIT.get(rule, "days"),
                           amber_after_days=t.amber, red_after_days=t.red, max_days_by_stage=t.by_stage)
            for rule, t in rules.items()]


def last_due_month(as_of: date, due_day: int) -> tuple[int, int]:
    """The latest month whose report's due day is before ``as_of``."""
    year, month = report_rules.previous(as_of.year, as_of.month)
    while report_rules.due_on(year, month, due_day) >= as_of:
        year, month = report_rules.previous(year, month)
    return year, month


def _months_missing(as_of: date, rules: Rules, projects: Any, known_on: datetime | None) -> ColumnElement[int]:
    """Due months in a row, back from the last due month, required and not filed by ``as_of``
    (counted up to the larger threshold: more changes no colour)."""
    duty = rules.reporting
    threshold = rules[HealthRule.report_missing]
    depth = max((t for t in (threshold.amber, threshold.red) if t is not None), default=0)
    month = last_due_month(as_of, duty.due_day)
    missed = []
    for _ in range(depth):
        end = report_rules.month_end(*month)
        t = aliased(history_as(known_on))
        required = exists().where(col(t.project_id) == col(projects.id), col(t.occurred_on) <= a_date(end),
                                  or_(col(t.left_on).is_(None), col(t.left_on) > a_date(end)),
                                  report_rules.must_report(duty, col(t.to_stage), col(t.project_id)))
        r = aliased(ProgressReport)
        filed = exists().where(col(r.project_id) == col(projects.id), col(r.year) == month[0],
                               col(r.month) == month[1], col(r.filed_on) <= a_date(as_of))
        missed.append(and_(required, not_(filed)))
        month = report_rules.previous(*month)
    if not missed:
        return literal(0)
    return case(*[(and_(*missed[:n]), n) for n in range(depth, 0, -1)], else_=0)


def investment_rules(rules: Rules) -> InvestmentRules:
    t = rules[HealthRule.investment_behind]
    return InvestmentRules(amber_behind_points=t.amber, red_behind_points=t.red)


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


def measured(as_of: date, rules: Rules, *, where: Sequence[ColumnElement[bool]] = (), projects: Any = Project,
             known_on: datetime | None = None) -> Subquery:
    """Every active project on ``as_of`` (matching ``where``, on ``projects``: ``timeline.projects_as``)
    with its rule measures, levels and health: the subquery ``assessed``."""
    p = projects
    base, state = projects_on(as_of, projects=p, known_on=known_on)
    measures: dict[HealthRule, ColumnElement[int]] = dict(overdue_days(as_of, state, p))
    last = last_follow_up(as_of)
    since = case((last.c.last_on > state.c.entered_on, last.c.last_on), else_=state.c.entered_on)
    followed = list(rules[HealthRule.no_follow_up].by_stage or {})
    measures[HealthRule.no_follow_up] = case(
        (and_(last.c.last_on.is_not(None), state.c.stage.in_(followed)), days_between(a_date(as_of), since)),
        else_=None)
    measures[HealthRule.report_missing] = _months_missing(as_of, rules, p, known_on)
    year, month = last_due_month(as_of, rules.reporting.due_day)
    pp = investment.per_project(year, month, as_of, p, known_on=known_on)
    base = base.outerjoin(pp, pp.c.project_id == col(p.id))
    # The points themselves need a division: the level compares exactly (investment.colour).
    inv = case((investment.colour(pp, month, investment_rules(rules)) == "red", 2),
               (investment.colour(pp, month, investment_rules(rules)) == "amber", 1), else_=0)
    measures[HealthRule.investment_behind] = case((pp.c.project_id.is_(None), 0), else_=inv)
    inner = base.outerjoin(last, last.c.project_id == col(p.id)).with_only_columns(
        col(p.id).label("id"), col(p.name).label("name"), state.c.stage.label("stage"),
        state.c.entered_on.label("entered_on"), col(p.leader_id).label("leader_id"),
        col(p.unit_id).label("unit_id"), col(p.planned_sign_on).label("planned_sign_on"),
        col(p.planned_start_on).label("planned_start_on"),
        col(p.planned_production_on).label("planned_production_on"),
        col(p.total_investment_amount).label("amount"),
        col(p.total_investment_currency).label("currency"), last.c.last_on.label("last_follow_up_on"),
        *[measure.label(f"m_{rule.value}") for rule, measure in measures.items()],
        pp.c.planned.label("inv_planned"), pp.c.done.label("inv_done"),
    ).where(active(state.c.stage), *where).subquery("measured")
    levels: dict[HealthRule, ColumnElement[int]] = {
        rule: _level(inner.c[f"m_{rule.value}"], rules[rule], inner.c.stage) for rule in HealthRule
        if rule != HealthRule.investment_behind}
    levels[HealthRule.investment_behind] = inner.c[f"m_{HealthRule.investment_behind.value}"]
    health = case(
        (or_(*[lv == 2 for lv in levels.values()]), ProjectHealth.red.value),
        (or_(*[lv == 1 for lv in levels.values()]), ProjectHealth.amber.value),
        else_=ProjectHealth.green.value)
    return select(*inner.c, *[lv.label(f"l_{rule.value}") for rule, lv in levels.items()],
                  health.label("health")).subquery("assessed")


def severity(assessed: Subquery) -> ColumnElement[int]:
    return case(SEVERITY, value=assessed.c.health, else_=3)


def _progress_reason(row: Any, rule: HealthRule, level: int, as_of: date, rules: Rules) -> HealthReason:
    year, month = last_due_month(as_of, rules.reporting.due_day)
    inputs: dict[str, str | int | None] = {"as_of": as_of.isoformat(), "stage": row.stage,
                                           "month": f"{year}-{month:02d}"}
    t = rules[rule]
    if rule == HealthRule.report_missing:
        inputs |= {"due_on": report_rules.due_on(year, month, rules.reporting.due_day).isoformat(),
                   "amber_after_months": t.amber, "red_after_months": t.red}
        return HealthReason(rule=rule, health=LEVEL[level], days=None, months=int(row.m_report_missing),
                            inputs=inputs)
    planned, done = Decimal(row.inv_planned), Decimal(row.inv_done)
    behind = (Fraction(month, 12) - Fraction(done) / Fraction(planned)) * 100
    inputs |= {"planned": str(planned), "completed_ytd": str(done), "time_progress": f"{month}/12",
               "amber_behind_points": t.amber, "red_behind_points": t.red}
    points = (Decimal(behind.numerator) / Decimal(behind.denominator)).quantize(Decimal("0.1"))
    return HealthReason(rule=rule, health=LEVEL[level], days=None, points=points, inputs=inputs)


def to_read(row: Any, as_of: date, rules: Rules) -> ProjectHealthRead:
    """A row of ``measured`` as its health with its reasons: each rule above green, with its inputs."""
    reasons = []
    for rule in HealthRule:
        level = int(getattr(row, f"l_{rule.value}"))
        if level == 0:
            continue
        if rule in UNIT:
            reasons.append(_progress_reason(row, rule, level, as_of, rules))
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
        reasons.append(HealthReason(rule=rule, health=LEVEL[level], days=int(getattr(row, f"m_{rule.value}")),
                                    inputs=inputs))
    return ProjectHealthRead(id=row.id, name=row.name, stage=Stage(row.stage), stage_entered_on=row.entered_on,
                             leader_id=row.leader_id, unit_id=row.unit_id, health=ProjectHealth(row.health),
                             reasons=reasons)


def leader_filter(leader_id: list[int | None], projects: Any = Project) -> list[ColumnElement[bool]]:
    if not leader_id:
        return []
    ids = [i for i in leader_id if i is not None]
    column = col(projects.leader_id)
    return [or_(column.in_(ids), column.is_(None)) if None in leader_id else column.in_(ids)]


async def list_health(session: AsyncSession, *, as_of: date, rules: Rules, leader_id: list[int | None],
                        unit_id: list[int], health: list[ProjectHealth], late: bool | None, cursor: str | None,
                        limit: int, today: date, known_on: datetime | None = None) -> ProjectHealthPage:
    """Active projects on ``as_of`` (by what had been recorded by ``known_on``) with their health
    and reasons, by id; ``late`` keeps only those behind plan (or, False, only those not)."""
    p = projects_as(as_of, known_on, today=today)
    where = leader_filter(leader_id, p)
    if unit_id:
        where.append(col(p.unit_id).in_(unit_id))
    assessed = measured(as_of, rules, where=where, projects=p, known_on=known_on)
    stmt: Select[Any] = select(assessed)
    if health:
        stmt = stmt.where(assessed.c.health.in_([h.value for h in health]))
    if late is not None:
        stmt = stmt.where(late_in(assessed) if late else not_(late_in(assessed)))
    key = SortKey("id", assessed.c.id, int)
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=assessed.c.id, cursor=cursor, limit=limit,
                            sort_label="health")
    rows = (await session.execute(stmt)).all()
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="health", key_of=lambda r: (r.id, r.id))
    return ProjectHealthPage(as_of=as_of, known_on=known_on, rules=describe(rules),
                             items=[to_read(r, as_of, rules) for r in kept], next_cursor=next_cursor)


async def counts_by(session: AsyncSession, assessed: Subquery, key: Any) -> dict[Any, dict[str, int]]:
    """Per value of ``key`` (a column of ``assessed``): how many projects of each health, and
    how many behind plan (under ``"late"``)."""
    rows = await session.execute(
        select(key.label("key"), assessed.c.health, func.count().label("n"),
               func.sum(func.sum(case((late_in(assessed), 1), else_=0))).over(partition_by=key).label("late"))
        .group_by(key, assessed.c.health))
    out: dict[Any, dict[str, int]] = {}
    for row in rows:
        counts = out.setdefault(row.key, {s.value: 0 for s in ProjectHealth} | {"late": int(row.late)})
        counts[row.health] = int(row.n)
    return out


def late_in(assessed: Subquery) -> ColumnElement[bool]:
    """Behind plan (late): a planned date has passed without its stage, whatever the thresholds."""
    return or_(*[and_(assessed.c[f"m_{rule.value}"].is_not(None), assessed.c[f"m_{rule.value}"] >= 1)
                 for rule in PLANNED])
