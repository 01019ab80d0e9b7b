"""``/stats/forecast``: will the year be made? The expected end of the year, per project with
an annual plan, per group, city-wide, and per target.

The year to date runs to the **reported month** M: the last month of the year whose report
was due before ``as_of`` (12 once December's is due). For each project with a plan:

- by reported quarters: completed_ytd + what its latest counted report (the latest month
  up to M with a counting version) expects for the rest of the year — every quarter after
  the one M+1 falls in, plus that quarter's expected amount less what the project already
  reported in its months (never below zero);
- by run rate: completed_ytd / M × 12;
- ``expected_investment`` is the larger; it is expected to miss when it is below
  planned × (1 − tolerance) (``FORECAST_MISS_TOLERANCE_PERCENT``).

The database computes both per project and picks the larger exactly, without division
(``by_report × M ≥ ytd × 12``), and so the misses; the groups' sums come from the same
statement. Only the run rate's division by M is left to Python, on the sums, exactly.

For each target of the year with a stage goal: ``expected_done`` = the members done on
``evaluated_on`` + those not done, nor dropped, whose planned date for the goal falls
after it and within the year, and whose remaining stages fit in the days left: what is
left of the median stay of the stage they are in (the median less the days already in
it, never below zero) plus the median stays of the stages between it and the goal, the
medians over every stay that ended by ``evaluated_on`` (a stage without one cannot be
judged: such a member is not expected). The planned date for a goal is its stage's
(``planned_sign_on`` for signed, ``planned_start_on`` for under construction,
``planned_production_on`` for in production) or, for a stage without one of its own
(registered, preliminary), the next one (``planned_start_on``): the date by which it must
be reached for the plan to hold. A designation goal has no planned date: its forecast is
what is done.
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from sqlalchemy import ColumnElement, Integer, and_, case, func, literal, select, type_coerce, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import Null
from sqlalchemy.sql.expression import CTE
from sqlmodel import col

from app.dialect import a_date, days_between, json_quarter_amount
from app.errors import InvalidInput
from app.models import ProgressReport, Project, Target
from app.models.enums import STAGE_ORDER, Designation, InvestmentDimension, Stage
from app.models.forecast import (
    ForecastMethods,
    ForecastStats,
    InvestmentForecast,
    InvestmentForecastGroup,
    ProjectForecast,
    StageMedian,
    TargetForecast,
)
from app.models.stats import MoneyTotal
from app.models.types import Amount
from app.services.progress import rules as report_rules
from app.services.progress.reports import counting_on
from app.services.stats import investment, target_progress
from app.services.stats.health import last_due_month
from app.services.stats.pipeline import check_as_of, median_by, share
from app.services.stats.timeline import RANK, AnySelect, history_as, projects_as, rank, stage_on

CENTS = Decimal("0.01")
FOUR = Decimal("0.0001")
ProjectsShown = Literal["expected_to_miss", "all", "none"]

# The planned date a stage goal must be reached by.
GOAL_DATE: dict[Stage, str] = {
    Stage.signed: "planned_sign_on", Stage.registered: "planned_start_on", Stage.preliminary: "planned_start_on",
    Stage.under_construction: "planned_start_on", Stage.in_production: "planned_production_on"}

INVESTMENT_METHOD = (
    "per project with an annual plan: the larger of (a) completed_ytd plus its latest counted report's "
    "expected_investment for the rest of the year (the quarters after the one the next month falls in, and "
    "that quarter's amount less what was reported in its months, never below zero) and (b) the run rate "
    "completed_ytd / reported_month × 12; expected to miss below planned × (1 − tolerance). Groups and the "
    "total add up their projects' expected_investment.")
TARGET_METHOD = (
    "done on evaluated_on, plus the members neither done nor dropped whose planned date for the goal "
    "(planned_sign_on for signed; planned_start_on for registered, preliminary and under_construction; "
    "planned_production_on for in_production) falls after evaluated_on and within the year, and whose "
    "remaining stages fit in days_left by the median stays of the history (the current stage's median less "
    "the days already in it, never below zero, plus the median of each stage between it and the goal); a "
    "designation goal has no planned date: its forecast is what is done. Expected to miss below "
    "target_count × (1 − tolerance).")


def _zero() -> Any:
    return type_coerce(literal(0), Amount)


def _int(n: int) -> Any:
    return literal(n, Integer)


def _greater(a: Any, b: Any) -> Any:
    return case((a > b, a), else_=b)


def reported_month(year: int, as_of: date, due_day: int) -> int:
    """The last month of ``year`` whose report was due before ``as_of`` (12 once all are due)."""
    y, m = last_due_month(as_of, due_day)
    if y < year:
        raise InvalidInput.field("as_of", f"no monthly report of {year} is due before {as_of}: the forecast "
                                 f"starts once January's is due ({report_rules.due_on(year, 1, due_day)})")
    return 12 if y > year else m


def per_project(year: int, month: int, as_of: date, tolerance: int, known_on: datetime | None = None) -> CTE:
    """Per project with a plan: planned, done, the reports' rest of the year (``rest``),
    by_report, the method (``uses_report`` 0/1), the miss (``to_miss`` 0/1) and the inputs;
    by what had been recorded by ``known_on``."""
    r = ProgressReport
    pp = investment.per_project(year, month, as_of, known_on=known_on)
    quarter = month // 3 + 1  # the quarter the next month falls in (5 once the year is over)
    quarter_start = 3 * (quarter - 1) + 1
    counted = and_(col(r.year) == year, col(r.month) <= month, counting_on(as_of, known_on))
    reported = (select(col(r.project_id).label("project_id"), func.max(col(r.month)).label("last_month"),
                       func.sum(case((col(r.month) >= quarter_start, col(r.investment_amount)),
                                     else_=_zero())).label("done_in_quarter"))
                .where(counted).group_by(col(r.project_id)).subquery("reported"))
    latest = aliased(ProgressReport, name="latest")
    expected = {q: func.coalesce(type_coerce(json_quarter_amount(col(latest.expected_investment), q), Amount),
                                 _zero()) for q in range(quarter, 5)}
    if quarter <= 4:
        left = expected[quarter] - func.coalesce(reported.c.done_in_quarter, _zero())
        rest: Any = _greater(left, _zero())
        for q in range(quarter + 1, 5):
            rest = rest + expected[q]
    else:
        rest = _zero()
    inner = (select(pp.c.project_id, pp.c.leader_id, pp.c.unit_id, pp.c.zone, pp.c.industry, pp.c.planned,
                    pp.c.done, reported.c.last_month,
                    type_coerce(rest, Amount).label("rest"),
                    *[type_coerce(e, Amount).label(f"q{q}") for q, e in expected.items()])
             .select_from(pp)
             .outerjoin(reported, reported.c.project_id == pp.c.project_id)
             .outerjoin(latest, and_(col(latest.project_id) == pp.c.project_id, col(latest.year) == year,
                                     col(latest.month) == reported.c.last_month,
                                     counting_on(as_of, known_on, reports=latest)))
             .where(pp.c.has_plan == 1).subquery("forecast_inner"))
    by_report = type_coerce(inner.c.done + inner.c.rest, Amount)
    uses_report = by_report * _int(month) >= inner.c.done * _int(12)
    floor = _int(100 - tolerance)
    misses = and_(inner.c.planned > _zero(), case(
        (uses_report, by_report * _int(100) < inner.c.planned * floor),
        else_=inner.c.done * _int(1200) < inner.c.planned * floor * _int(month)))
    return select(*inner.c, by_report.label("by_report"), case((uses_report, 1), else_=0).label("uses_report"),
                  case((misses, 1), else_=0).label("to_miss")).cte("forecast")


def _money(value: Any) -> MoneyTotal:
    return MoneyTotal(amount=Decimal(value or 0).quantize(CENTS), currency="CNY")


def _decimal(value: Fraction, places: Decimal) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(places)


def _rate(value: Fraction, planned: Decimal) -> Decimal | None:
    return _decimal(value / Fraction(planned), FOUR) if planned > 0 else None


def _misses(expected: Fraction, planned: Decimal, tolerance: int) -> bool:
    return planned > 0 and expected * 100 < Fraction(planned) * (100 - tolerance)


def _figures(row: Any, month: int, tolerance: int) -> dict[str, Any]:
    planned = Decimal(row.planned or 0)
    expected = Fraction(Decimal(row.report_sum or 0)) + Fraction(Decimal(row.run_ytd or 0)) * 12 / month
    return dict(projects=int(row.n or 0), planned=_money(planned), completed_ytd=_money(row.done),
                expected_investment=_money(_decimal(expected, CENTS)), expected_rate=_rate(expected, planned),
                expected_to_miss=_misses(expected, planned, tolerance),
                projects_expected_to_miss=int(row.n_miss or 0),
                by_method={"reported_quarters": int(row.n_report or 0),
                           "run_rate": int(row.n or 0) - int(row.n_report or 0)})


def _sums(fc: CTE) -> list[Any]:
    return [func.count().label("n"), func.sum(fc.c.planned).label("planned"), func.sum(fc.c.done).label("done"),
            func.sum(case((fc.c.uses_report == 1, fc.c.by_report), else_=_zero())).label("report_sum"),
            func.sum(case((fc.c.uses_report == 0, fc.c.done), else_=_zero())).label("run_ytd"),
            func.sum(fc.c.uses_report).label("n_report"), func.sum(fc.c.to_miss).label("n_miss")]


def _project(row: Any, month: int, tolerance: int) -> ProjectForecast:
    planned, done, by_report = Decimal(row.planned), Decimal(row.done), Decimal(row.by_report)
    run = Fraction(done) * 12 / month
    uses_report = int(row.uses_report) == 1
    expected = Fraction(by_report) if uses_report else run
    inputs: dict[str, str | int | None] = {
        "reported_month": month, "latest_report_month": row.last_month, "completed_ytd": str(done),
        "reported_rest_of_year": str(Decimal(row.rest)), "tolerance_percent": tolerance}
    for q in range(month // 3 + 1, 5):
        inputs[f"expected_q{q}"] = str(Decimal(getattr(row, f"q{q}")))
    return ProjectForecast(
        project_id=row.project_id, name=row.name, leader_id=row.leader_id, unit_id=row.unit_id,
        planned=_money(planned), completed_ytd=_money(done), by_reported_quarters=_money(by_report),
        by_run_rate=_money(_decimal(run, CENTS)), expected_investment=_money(_decimal(expected, CENTS)),
        method="reported_quarters" if uses_report else "run_rate", expected_rate=_rate(expected, planned),
        expected_to_miss=int(row.to_miss) == 1, inputs=inputs)


async def stage_medians(session: AsyncSession, on: date, known_on: datetime | None = None
                        ) -> dict[Stage, tuple[Decimal | None, int]]:
    """Median days of the stays in each stage that ended by ``on`` (as the funnel's), and how
    many, by the stage history recorded by ``known_on``."""
    t = history_as(known_on)
    ended: AnySelect = (select(literal("ended").label("metric"), col(t.to_stage).label("key"),
                    days_between(t.left_on, t.occurred_on).label("value"))
             .join(Project, col(Project.id) == col(t.project_id))
             .where(col(Project.archived_at).is_(None), col(t.occurred_on) <= a_date(on),
                    col(t.left_on).is_not(None), col(t.left_on) <= a_date(on)))
    # median_by groups a union of metrics; one metric here, as a union of one.
    rows = (await session.execute(median_by(union_all(ended).subquery("stays")))).all()
    found = {row.key: (Decimal(str(row.median)), int(row.n)) for row in rows}
    return {stage: found.get(stage.value, (None, 0)) for stage in STAGE_ORDER}


def _fits(goal: Stage, medians: dict[Stage, tuple[Decimal | None, int]], stage: Any, entered_on: Any,
          on: date, days_left: int) -> ColumnElement[bool]:
    """The member's remaining stages fit in ``days_left`` (in half days, so that the medians,
    whole or halves, compare exactly)."""
    whens = []
    for current in STAGE_ORDER[:RANK[goal]]:
        needed = [medians[s][0] for s in STAGE_ORDER[RANK[current]:RANK[goal]]]
        if any(m is None for m in needed):
            continue
        halves = [int(m * 2) for m in needed if m is not None]
        left_of_current = _greater(_int(halves[0]) - days_between(a_date(on), entered_on) * _int(2), _int(0))
        whens.append((stage == current.value, left_of_current + _int(sum(halves[1:])) <= _int(2 * days_left)))
    return case(*whens, else_=False) if whens else literal(False)


async def _expected_more(session: AsyncSession, targets: Sequence[Target], on: date, days_left: int,
                         medians: dict[Stage, tuple[Decimal | None, int]], today: date,
                         known_on: datetime | None) -> dict[int, int]:
    staged = [t for t in targets if t.goal_stage is not None]
    if not staged:
        return {}
    p = projects_as(on, known_on, today=today)
    m = target_progress.member_union(staged, on, projects=p, known_on=known_on)
    state = stage_on(on, name="forecast_state", known_on=known_on)
    year_end = date(staged[0].year, 12, 31)
    likely = []
    for t in staged:
        goal = Stage(t.goal_stage or "")
        planned = getattr(p, GOAL_DATE[goal])
        likely.append((m.c.target_id == t.id, and_(
            m.c.done == 0, m.c.dropped == 0, state.c.stage.is_not(None), rank(state.c.stage) < RANK[goal],
            col(planned) > a_date(on), col(planned) <= a_date(year_end),
            _fits(goal, medians, state.c.stage, state.c.entered_on, on, days_left))))
    flag = case(*[(which, case((cond, 1), else_=0)) for which, cond in likely], else_=0)
    rows = await session.execute(
        select(m.c.target_id, func.sum(flag).label("n")).select_from(m)
        .join(p, col(p.id) == m.c.project_id)
        .outerjoin(state, state.c.project_id == m.c.project_id).group_by(m.c.target_id))
    return {int(r.target_id): int(r.n or 0) for r in rows}


async def target_forecasts(session: AsyncSession, *, year: int, on: date, tolerance: int,
                           medians: dict[Stage, tuple[Decimal | None, int]], today: date,
                           known_on: datetime | None = None) -> list[TargetForecast]:
    targets = await target_progress.year_targets(session, year)
    days_left = max((date(year, 12, 31) - on).days, 0)
    progress = await target_progress.progress(session, targets, on=on, today=today, known_on=known_on)
    more = await _expected_more(session, targets, on, days_left, medians, today, known_on)
    out = []
    for t, p in zip(targets, progress, strict=True):
        assert t.id is not None
        extra = more.get(t.id, 0)
        expected = p.done.count + extra
        inputs: dict[str, str | int | None] = {"evaluated_on": on.isoformat(), "done": p.done.count,
                                               "days_left": days_left, "tolerance_percent": tolerance}
        if t.goal_stage is not None:
            goal = Stage(t.goal_stage)
            inputs["planned_date"] = GOAL_DATE[goal]
            for s in STAGE_ORDER[:RANK[goal]]:
                median = medians[s][0]
                inputs[f"median_days_{s.value}"] = None if median is None else str(median)
        out.append(TargetForecast(
            target_id=t.id, title=t.title, goal_stage=Stage(t.goal_stage) if t.goal_stage else None,
            goal_designation=Designation(t.goal_designation) if t.goal_designation else None,
            target_count=t.target_count, members=p.members.count, done=p.done.count, late=p.late.count,
            expected_more=extra, expected_done=expected, expected_share=share(expected, t.target_count),
            expected_to_miss=expected * 100 < t.target_count * (100 - tolerance), method=TARGET_METHOD,
            inputs=inputs, projects=target_progress.link(t.id, on, known_on)))
    return out


async def forecast(session: AsyncSession, *, year: int, as_of: date, group_by: InvestmentDimension | None,
                   tolerance: int, due_day: int, projects: ProjectsShown, today: date,
                   known_on: datetime | None = None) -> ForecastStats:
    """The expected end of ``year`` as seen on ``as_of`` (by what had been recorded by
    ``known_on``): investment and targets."""
    check_as_of(as_of, today)
    month = reported_month(year, as_of, due_day)
    on = target_progress.evaluated_on(year, as_of)
    fc = per_project(year, month, as_of, tolerance, known_on)
    total_row = (await session.execute(select(*_sums(fc)).select_from(fc))).one()  # live projects only
    groups: list[InvestmentForecastGroup] = []
    if group_by is not None:
        key, joined = await investment.keyed(session, group_by, year, min(report_rules.month_end(year, month), as_of),
                                             fc, known_on=known_on)
        stmt = select(key.label("k"), *_sums(fc)).select_from(joined)
        stmt = stmt if isinstance(key, Null) else stmt.group_by(key)
        for row in (await session.execute(stmt)).all():
            groups.append(InvestmentForecastGroup(key=row.k, **_figures(row, month, tolerance)))
        groups.sort(key=lambda g: (g.expected_rate is None, g.expected_rate or 0, g.key is None, str(g.key)))
    shown: list[ProjectForecast] = []
    if projects != "none":
        stmt = (select(*fc.c, col(Project.name))
                .select_from(fc.join(Project, col(Project.id) == fc.c.project_id))
                .order_by(fc.c.project_id))
        if projects == "expected_to_miss":
            stmt = stmt.where(fc.c.to_miss == 1)
        shown = [_project(r, month, tolerance) for r in (await session.execute(stmt)).all()]
        shown.sort(key=lambda p: (p.expected_rate is None, p.expected_rate or 0, p.project_id))
    medians = await stage_medians(session, on, known_on)
    return ForecastStats(
        year=year, as_of=as_of, known_on=known_on, reported_month=month, evaluated_on=on,
        days_left=max((date(year, 12, 31) - on).days, 0), miss_tolerance_percent=tolerance, group_by=group_by,
        methods=ForecastMethods(investment=INVESTMENT_METHOD, targets=TARGET_METHOD),
        total=InvestmentForecast(**_figures(total_row, month, tolerance)), groups=groups, projects=shown,
        stage_medians=[StageMedian(stage=s, median_days=None if m is None else m.quantize(Decimal("0.1")), stays=n)
                       for s, (m, n) in medians.items()],
        targets=await target_forecasts(session, year=year, on=on, tolerance=tolerance, medians=medians, today=today,
                                       known_on=known_on))

