"""``/stats/investment``: investment completed against the annual plans and time progress.

For year Y, month M and a date ``as_of``, a report version counts when it reports a
month of Y up to M and was accepted by ``as_of`` and not yet superseded then. Per
project, one aggregate over ``progress_reports`` (the covering index on year, project_id)
joined to ``annual_plans`` gives the plan, the completed investment to M and to M − 1 (for
the previous month's rank), funds arrived by source and utilised FDI; the groups are a
``GROUP BY`` over those per-project rows, and the total is their sum where every project is
in one group, or else its own aggregate in the same statement.

Time progress is M / 12. A project is behind by ``(M/12 − completed/planned) × 100``
points; the colours compare it exactly, without division:
``planned × (100·M − 12·X) ≥ 1200 × completed`` means X points or more behind.
"""

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, func, literal, null, or_, select, type_coerce, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import Null
from sqlalchemy.sql.expression import CTE, Subquery
from sqlmodel import col

from app.config import Settings
from app.dialect import a_date
from app.models import AnnualPlan, AnnualPlanVersion, ProgressReport, Project, ProjectDesignation
from app.models.enums import DesignationStatus, InvestmentDimension, Stage, Zone
from app.models.investment import (
    FundsTotal,
    HealthCounts,
    InvestmentFigures,
    InvestmentGroup,
    InvestmentRules,
    InvestmentStats,
)
from app.models.progress import FUNDS_COLUMNS
from app.models.stats import MoneyTotal
from app.models.types import Amount
from app.services.common import links
from app.services.progress.reports import counting_on
from app.services.progress.rules import check_month, month_end
from app.services.stats import target_progress
from app.services.stats.pipeline import check_as_of
from app.services.stats.timeline import RANK, believed_by, projects_as, stage_on

D = InvestmentDimension
FOUR = Decimal("0.0001")
ONE = Decimal("0.1")
CENTS = Decimal("0.01")
GroupKeyT = str | int | None


def rules_of(settings: Settings) -> InvestmentRules:
    return InvestmentRules(amber_behind_points=settings.health_investment_behind_amber_points,
                           red_behind_points=settings.health_investment_behind_red_points)


def _zero() -> Any:
    return type_coerce(literal(0), Amount)


def plans_on(year: int, on: date, known_on: datetime | None = None) -> Subquery:
    """Each plan of ``year`` as it stood on ``on`` (a revision counts from its ``effective_on``),
    by what had been recorded by ``known_on`` (None: now): (project_id, planned). Read from the
    plans' versions on every date, today's too: one rule, and a plan not yet recorded by
    ``known_on`` is no plan."""
    p, v = AnnualPlan, AnnualPlanVersion
    return (select(col(p.project_id).label("project_id"), col(v.planned_amount).label("planned"))
            .select_from(p).join(v, col(v.plan_id) == col(p.id))
            .where(col(p.year) == year,
                   or_(col(v.valid_from).is_(None), col(v.valid_from) <= a_date(on)),
                   or_(col(v.valid_to).is_(None), col(v.valid_to) > a_date(on)),
                   *believed_by(col(v.recorded_at), col(v.superseded_at), known_on))
            .subquery("plans"))  # one a project and year (the plan is unique, its versions do not overlap)


def per_project(year: int, month: int, as_of: date, projects: Any = Project, *, known_on: datetime | None = None,
                plans_as_of: date | None = None) -> CTE:
    """Per live project (of ``projects``: ``timeline.projects_as``) with a plan for the year or a
    counted report: its leader, unit, zone and industry, planned, done (to M), done_prev (to
    M − 1), funds_<source>, fdi, has_plan; the reports counted on ``as_of`` and the plans as they
    stood on ``plans_as_of`` (``as_of`` by default), both by what had been recorded by ``known_on``."""
    r, q = ProgressReport, projects
    funds = list(FUNDS_COLUMNS.values())
    amount = col(r.investment_amount)
    # Grouped by project_id alone, over the (year, project_id) covering index: PostgreSQL reads
    # it in project order and aggregates as it goes, and the joins below can merge or hash
    # on a row estimate it knows (one per project) instead of a guess.
    reports = (select(col(r.project_id).label("project_id"), func.sum(amount).label("done"),
                      func.sum(case((col(r.month) <= month - 1, amount), else_=_zero())).label("done_prev"),
                      *[func.sum(func.coalesce(getattr(r, f), _zero())).label(f) for f in funds],
                      func.sum(func.coalesce(col(r.fdi_utilised_amount), _zero())).label("fdi"))
               .where(col(r.year) == year, col(r.month) <= month, counting_on(as_of, known_on))
               .group_by(col(r.project_id)).subquery("reports"))
    plans = plans_on(year, plans_as_of or as_of, known_on)

    def figure(column: Any) -> Any:
        return type_coerce(func.coalesce(column, _zero()), Amount)

    return (select(col(q.id).label("project_id"), col(q.leader_id).label("leader_id"),
                   col(q.unit_id).label("unit_id"), col(q.zone).label("zone"),
                   col(q.industry).label("industry"), figure(plans.c.planned).label("planned"),
                   *[figure(reports.c[c]).label(c) for c in ("done", "done_prev", *funds, "fdi")],
                   case((plans.c.project_id.is_not(None), 1), else_=0).label("has_plan"))
            .select_from(q)
            .outerjoin(plans, plans.c.project_id == col(q.id))
            .outerjoin(reports, reports.c.project_id == col(q.id))
            .where(col(q.archived_at).is_(None),
                   or_(plans.c.project_id.is_not(None), reports.c.project_id.is_not(None)))
            .cte("per_project"))


def _behind(pp: CTE, month: int, points: int | None) -> ColumnElement[bool] | None:
    """At least ``points`` behind time progress (exact: no division)."""
    if points is None:
        return None
    factor = literal(100 * month - 12 * points, Integer)
    return and_(pp.c.has_plan == 1, pp.c.planned > _zero(), pp.c.planned * factor >= pp.c.done * literal(1200, Integer))


def colour(pp: CTE, month: int, rules: InvestmentRules) -> ColumnElement[str]:
    """Each project's colour under ``investment_behind``: red, amber, green, or no_plan."""
    whens: list[tuple[ColumnElement[bool], str]] = [(or_(pp.c.has_plan == 0, pp.c.planned <= _zero()), "no_plan")]
    for points, name in ((rules.red_behind_points, "red"), (rules.amber_behind_points, "amber")):
        behind = _behind(pp, month, points)
        if behind is not None:
            whens.append((behind, name))
    return case(*whens, else_="green")


# Dimensions under which every project is in exactly one group: the total is the sum of the
# groups. Under the others a project may be in several groups (designations, targets), so
# the total is aggregated on its own.
PARTITIONS = (D.leader, D.unit, D.zone, D.industry)


async def keyed(session: AsyncSession, dimension: InvestmentDimension | None, year: int, on: date,
                pp: CTE, projects: Any = Project, known_on: datetime | None = None) -> tuple[Any, Any]:
    """The group key column and the FROM clause joining the per-project rows to it."""
    base: Any = pp
    if dimension is None:
        return null(), base
    if dimension in PARTITIONS:
        name = {D.leader: "leader_id", D.unit: "unit_id", D.zone: "zone", D.industry: "industry"}[dimension]
        return pp.c[name], base
    if dimension == D.stage:
        state = stage_on(on, known_on=known_on)
        return state.c.stage, base.outerjoin(state, state.c.project_id == pp.c.project_id)
    if dimension == D.designation:
        d = ProjectDesignation
        return col(d.designation), base.outerjoin(d, and_(col(d.project_id) == pp.c.project_id,
                                                        col(d.status) == DesignationStatus.granted.value))
    targets = await target_progress.year_targets(session, year)
    if not targets:
        return null(), base
    members = target_progress.member_union(targets, on, projects=projects, known_on=known_on)
    return members.c.target_id, base.outerjoin(members, members.c.project_id == pp.c.project_id)


def _sums(pp: CTE, month: int, rules: InvestmentRules) -> list[Any]:
    c = colour(pp, month, rules)
    return [func.count().label("n"),
            *[func.sum(pp.c[name]).label(name) for name in ("planned", "done", "done_prev", "fdi",
                                                             *FUNDS_COLUMNS.values())],
            *[func.sum(case((c == name, 1), else_=0)).label(f"c_{name}") for name in ("green", "amber", "red",
                                                                                      "no_plan")]]


def _money(value: Any, currency: str = "CNY") -> MoneyTotal:
    return MoneyTotal(amount=Decimal(value or 0).quantize(CENTS), currency=currency)


def _rate(done: Decimal, planned: Decimal) -> Fraction | None:
    return Fraction(done) / Fraction(planned) if planned > 0 else None


def _decimal(value: Fraction, places: Decimal) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(places)


def figures(row: Any, month: int) -> dict[str, Any]:
    planned, done = Decimal(row.planned or 0), Decimal(row.done or 0)
    rate = _rate(done, planned)
    return dict(
        projects=int(row.n), planned=_money(planned), completed_ytd=_money(done),
        completion_rate=None if rate is None else _decimal(rate, FOUR),
        gap_points=None if rate is None else _decimal((rate - Fraction(month, 12)) * 100, ONE),
        health=HealthCounts(green=int(row.c_green or 0), amber=int(row.c_amber or 0), red=int(row.c_red or 0),
                            no_plan=int(row.c_no_plan or 0)),
        funds_arrived_ytd=[FundsTotal(source=source, amount=_money(getattr(row, column)))
                           for source, column in FUNDS_COLUMNS.items()],
        fdi_utilised_ytd=_money(row.fdi, "USD"))


def ranks(rates: dict[GroupKeyT, Fraction | None]) -> dict[GroupKeyT, int]:
    """Competition ranking, highest rate first: ties share a rank, the next skips."""
    ranked = {k: r for k, r in rates.items() if r is not None}
    return {k: 1 + sum(1 for other in ranked.values() if other > r) for k, r in ranked.items()}


def _order(dimension: InvestmentDimension | None, key: GroupKeyT) -> tuple[int, Any]:
    if key is None:
        return (1, 0)
    if dimension == D.stage:
        return (0, RANK.get(Stage(str(key)), len(RANK)))
    if dimension == D.zone:
        return (0, list(Zone).index(Zone(str(key))) if key in Zone.__members__ else len(Zone))
    return (0, key)


def plans_link(dimension: InvestmentDimension | None, key: GroupKeyT, *, year: int, on: date,
               known_on: datetime | None = None) -> str | None:
    if dimension == D.target:
        return None if key is None else target_progress.link(int(key), on, known_on)
    if dimension == D.stage:
        return links.link("/stats/pipeline/projects", [*links.clocks(on, known_on), ("stage", str(key))]
                          ) if key else None
    params: list[tuple[str, str]] = [("year", str(year))]
    if dimension is not None:
        if dimension == D.designation and key is None:
            return None
        name = {D.leader: "leader_id", D.unit: "unit_id", D.zone: "zone", D.industry: "industry",
                D.designation: "designation"}[dimension]
        params.append((name, "none" if key is None else str(key)))
    return links.link("/annual-plans", params)


async def investment(session: AsyncSession, *, year: int, month: int, as_of: date, group_by: InvestmentDimension | None,
                     rules: InvestmentRules, today: date, known_on: datetime | None = None) -> InvestmentStats:
    """The month's investment against plan and time progress, per group and in total, by what
    had been recorded by ``known_on`` (None: now)."""
    check_month(year, month, today)
    check_as_of(as_of, today)
    on = min(month_end(year, month), as_of)
    # The projects and plans as they were on the day the figures are for (their leader then,
    # archived or not; the plan before a later revision).
    projects = projects_as(on, known_on, today=today)
    pp = per_project(year, month, as_of, projects, known_on=known_on, plans_as_of=on)
    key, joined = await keyed(session, group_by, year, on, pp, projects, known_on)
    grouped = (select(key.label("k"), literal(0, Integer).label("is_total"), *_sums(pp, month, rules))
               .select_from(joined))
    # With no target in the year every project is in the group of none: a constant, which
    # PostgreSQL does not group by. Ungrouped, an aggregate answers one row even over no
    # project: the group of none exists only when it holds one.
    grouped = grouped.having(func.count() > 0) if isinstance(key, Null) else grouped.group_by(key)
    total = select(null().label("k"), literal(1, Integer).label("is_total"), *_sums(pp, month, rules)).select_from(pp)
    if group_by is None:
        statement: Any = total
    elif group_by in PARTITIONS:
        # The total is the sum of the groups: the per-project rows are read once.
        groups_cte = grouped.cte("groups")
        statement = union_all(select(groups_cte), select(
            null().label("k"), literal(1, Integer).label("is_total"),
            *[func.sum(groups_cte.c[name]).label(name) for name in _SUMMED]))
    else:
        statement = union_all(grouped, total)
    rows: list[Any] = list((await session.execute(statement)).all())
    total_row = next((r for r in rows if r.is_total == 1), None)
    group_rows = [r for r in rows if r.is_total == 0]

    def rate_of(row: Any, field: str) -> Fraction | None:
        return _rate(Decimal(getattr(row, field) or 0), Decimal(row.planned or 0))

    now = ranks({r.k: rate_of(r, "done") for r in group_rows if r.k is not None})
    before = ranks({r.k: rate_of(r, "done_prev") for r in group_rows if r.k is not None}) if month > 1 else {}
    groups = [InvestmentGroup(key=r.k, **figures(r, month), rank=now.get(r.k),
                              rank_change=(before[r.k] - now[r.k]) if r.k in before and r.k in now else None,
                              plans=plans_link(group_by, r.k, year=year, on=on, known_on=known_on))
              for r in group_rows]
    groups.sort(key=lambda g: (g.rank is None, g.rank or 0, _order(group_by, g.key)))
    empty = {"n": 0, "planned": 0, "done": 0, "done_prev": 0, "fdi": 0,
             **dict.fromkeys(FUNDS_COLUMNS.values(), 0), "c_green": 0, "c_amber": 0, "c_red": 0, "c_no_plan": 0}
    totals = figures(total_row if total_row is not None and total_row.n else _Row(empty), month)
    return InvestmentStats(year=year, month=month, as_of=as_of, known_on=known_on, evaluated_on=on,
                           time_progress=_decimal(Fraction(month, 12), FOUR), group_by=group_by, rules=rules,
                           total=InvestmentFigures(**totals), groups=groups)


_SUMMED = ("n", "planned", "done", "done_prev", "fdi", *FUNDS_COLUMNS.values(), "c_green", "c_amber", "c_red",
           "c_no_plan")


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

