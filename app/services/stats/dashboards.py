"""The leaders' views (市领导包项目): one leader's dashboard, and every leader side by side.

A leader's projects are those they are in charge of (``projects.leader_id``), as the
pipeline stood on ``as_of``: by stage with totals, what is late, each project's
red/amber/green health with its reasons, and the year's targets they count toward.

Difficulties (困难问题) and overdue supervision tasks (督办任务) of the leader's projects
join the dashboard as counts with a link to the list (``app.services.stats.accountability``).
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import NotFound
from app.models import Leader
from app.models.enums import STAGE_ORDER, HealthRule, InvestmentDimension, ProjectHealth, Stage
from app.models.stats import (
    Counted,
    DashboardSection,
    HealthCounts,
    LeaderBrief,
    LeaderDashboard,
    LeaderInvestment,
    LeaderStats,
    LeaderSummary,
    StageSummary,
    TargetProgress,
    TargetShare,
    Totals,
)
from app.services.common import links
from app.services.projects import exchange_rates
from app.services.promotion import follow_ups
from app.services.stats import accountability, health, investment, target_progress
from app.services.stats.pipeline import PipelineFilters, check_as_of, projects_link, summarise, totals_by
from app.services.stats.timeline import LATE_RULE, projects_as, projects_on

# --- difficulties and supervised tasks ----------------------------------------------------


async def _sections(session: AsyncSession, leader_id: int, as_of: date) -> dict[str, DashboardSection | None]:
    # Difficulty assessed are not historised: a past date is judged with today's assessed.
    workload = await accountability.leader_workload(session, leader_id=leader_id, today=as_of, limit=0)
    summary = links.link(f"/leaders/{leader_id}/difficulties-summary")
    overdue_follow_ups = await follow_ups.count_overdue(session, leader_id=leader_id, on=as_of)
    return {
        "overdue_follow_ups": DashboardSection(
            count=overdue_follow_ups, overdue=overdue_follow_ups,
            items=links.link("/follow-ups", {"leader_id": str(leader_id), "overdue": "true"})),
        "open_difficulties": DashboardSection(count=workload.open_difficulty_count,
                                              overdue=workload.overdue_difficulty_count, items=summary),
        "overdue_tasks": DashboardSection(count=workload.overdue_task_count, overdue=workload.overdue_task_count,
                                          items=summary),
    }


# --- monthly scheduling -------------------------------------------------------------------


async def _investment(session: AsyncSession, as_of: date, rules: health.Rules, *, today: date,
                      known_on: datetime | None) -> dict[int | None, LeaderInvestment]:
    """Each leader's group of /stats/investment for the last due month, as seen on ``as_of`` (by
    what had been recorded by ``known_on``)."""
    year, month = health.last_due_month(as_of, rules.reporting.due_day)
    stats = await investment.investment(session, year=year, month=month, as_of=as_of,
                                        group_by=InvestmentDimension.leader, rules=health.investment_rules(rules),
                                        today=today, known_on=known_on)
    link = links.link("/stats/investment", [("year", str(year)), ("month", str(month)), ("group_by", "leader"),
                                            *links.clocks(as_of, known_on)])
    return {int(g.key) if g.key is not None else None: LeaderInvestment(
        year=year, month=month, planned=g.planned, completed_ytd=g.completed_ytd, completion_rate=g.completion_rate,
        time_progress=stats.time_progress, gap_points=g.gap_points, rank=g.rank, figures=link)
        for g in stats.groups}


async def _missing(session: AsyncSession, assessed: Any, as_of: date, rules: health.Rules) -> tuple[
        dict[int | None, int], str]:
    """Per leader, their projects missing a due monthly report; and the list of the month's."""
    year, month = health.last_due_month(as_of, rules.reporting.due_day)
    rows = await session.execute(select(assessed.c.leader_id, func.count())
                                 .where(assessed.c[f"l_{HealthRule.report_missing.value}"] > 0)
                                 .group_by(assessed.c.leader_id))
    link = links.link("/progress-reports/missing", {"year": str(year), "month": str(month)})
    return {leader_id: int(n) for leader_id, n in rows.all()}, link


# --- links ----------------------------------------------------------------------------------

def health_link(as_of: date, leader_id: int | None, known_on: datetime | None = None, **params: str) -> str:
    return links.link("/stats/project-health", [*links.clocks(as_of, known_on),
                                                ("leader_id", "none" if leader_id is None else str(leader_id)),
                                                *params.items()])


def dashboard_link(leader_id: int, as_of: date, known_on: datetime | None = None) -> str:
    return links.link(f"/leaders/{leader_id}/dashboard", links.clocks(as_of, known_on))


def _health_counts(counts: dict[str, int], link: str) -> HealthCounts:
    return HealthCounts(green=counts.get(ProjectHealth.green.value, 0), amber=counts.get(ProjectHealth.amber.value, 0),
                        red=counts.get(ProjectHealth.red.value, 0), projects=link)


def _shares(items: list[TargetProgress]) -> dict[int | None, list[TargetShare]]:
    """Each leader's part of each target."""
    out: dict[int | None, list[TargetShare]] = {}
    for item in items:
        for part in item.by_leader:
            out.setdefault(part.leader_id, []).append(TargetShare(
                target_id=item.target.id, title=item.target.title, year=item.target.year,
                goal_stage=item.target.goal_stage, goal_designation=item.target.goal_designation,
                members=part.members, done=part.done, late=part.late))
    return out


async def _year_progress(session: AsyncSession, as_of: date, *, today: date,
                         known_on: datetime | None) -> list[TargetProgress]:
    targets = await target_progress.year_targets(session, as_of.year)
    return await target_progress.progress(session, targets, on=as_of, today=today, known_on=known_on)


# --- one leader -----------------------------------------------------------------------------


async def leader_dashboard(session: AsyncSession, leader_id: int, *, as_of: date, rules: health.Rules,
                           attention_limit: int, today: date, known_on: datetime | None = None) -> LeaderDashboard:
    """One leader's projects on ``as_of`` (by what had been recorded by ``known_on``): by stage,
    late, assessed, targets."""
    check_as_of(as_of, today)
    leader = await session.get(Leader, leader_id)
    if leader is None:
        raise NotFound(f"No leader with id {leader_id}.")
    filters = PipelineFilters(leader_id=[leader_id])
    p = projects_as(as_of, known_on, today=today)
    base, state = projects_on(as_of, projects=p, known_on=known_on)
    rows = await totals_by(session, filters.apply(base, state, p), [state.c.stage], projects=p)
    book = await exchange_rates.rate_book(session, as_of)
    by_stage_rows: dict[str, list[Any]] = {}
    for row in rows:
        by_stage_rows.setdefault(row.k0, []).append(row)
    by_stage = []
    for stage in (*STAGE_ORDER, Stage.terminated):
        own = by_stage_rows.get(stage.value, [])
        money = exchange_rates.money((r.currency, r.amount) for r in own)
        by_stage.append(StageSummary(
            stage=stage, count=int(own[0].group_n) if own else 0, totals=money,
            total_cny=exchange_rates.convert(money, to=exchange_rates.BASE, book=book),
            projects=projects_link(as_of, filters.narrowed(stage=stage.value), known_on=known_on)))

    assessed = health.measured(as_of, rules, where=[col(p.leader_id) == leader_id], projects=p, known_on=known_on)
    counts = (await health.counts_by(session, assessed, assessed.c.leader_id)).get(leader_id, {})
    attention = (await session.execute(
        select(assessed).where(assessed.c.health != ProjectHealth.green.value)
        .order_by(health.severity(assessed), assessed.c.id).limit(attention_limit))).all()
    shares = _shares(await _year_progress(session, as_of, today=today, known_on=known_on)).get(leader_id, [])
    sections = await _sections(session, leader_id, as_of)
    missing, missing_link = await _missing(session, assessed, as_of, rules)
    progress = (await _investment(session, as_of, rules, today=today, known_on=known_on)).get(leader_id)
    assert leader.id is not None
    return LeaderDashboard(
        leader=LeaderBrief(id=leader.id, name=leader.name, title=leader.title), as_of=as_of, known_on=known_on,
        projects=summarise(rows, book=book, projects=projects_link(as_of, filters, known_on=known_on)),
        by_stage=by_stage,
        late=Counted(count=counts.get("late", 0), projects=health_link(as_of, leader_id, known_on, late="true")),
        late_means=LATE_RULE,
        health=_health_counts(counts, health_link(as_of, leader_id, known_on)),
        attention=[health.to_read(r, as_of, rules) for r in attention], rules=health.describe(rules),
        targets=shares, investment=progress,
        missing_reports=Counted(count=missing.get(leader_id, 0), projects=missing_link), **sections)


# --- every leader ---------------------------------------------------------------------------


async def leader_stats(session: AsyncSession, *, as_of: date, rules: health.Rules, today: date,
                       known_on: datetime | None = None) -> LeaderStats:
    """Every leader's projects on ``as_of`` (by what had been recorded by ``known_on``) side by
    side (and the projects with no leader)."""
    check_as_of(as_of, today)
    p = projects_as(as_of, known_on, today=today)
    base, state = projects_on(as_of, projects=p, known_on=known_on)
    rows = await totals_by(session, base, [col(p.leader_id), state.c.stage], outer=1, projects=p)
    assessed = health.measured(as_of, rules, projects=p, known_on=known_on)
    counts = await health.counts_by(session, assessed, assessed.c.leader_id)
    missing, missing_link = await _missing(session, assessed, as_of, rules)
    progress = await _investment(session, as_of, rules, today=today, known_on=known_on)
    shares = _shares(await _year_progress(session, as_of, today=today, known_on=known_on))
    book = await exchange_rates.rate_book(session, as_of)

    names = {row.id: row.name for row in await session.execute(
        select(col(Leader.id), col(Leader.name), col(Leader.archived_at)))}
    current = {row.id for row in await session.execute(
        select(col(Leader.id)).where(col(Leader.archived_at).is_(None)))}
    per_leader: dict[int | None, list[Any]] = {}
    stage_counts: dict[int | None, dict[Stage, int]] = {}
    for row in rows:
        per_leader.setdefault(row.k0, []).append(row)
        stage_counts.setdefault(row.k0, {})[Stage(row.k1)] = int(row.group_n)

    items = []
    for leader_id in sorted(current | set(per_leader), key=lambda i: (i is None, i or 0)):
        own = per_leader.get(leader_id, [])
        money = exchange_rates.money({(r.currency, r.outer_amount) for r in own})
        filters = PipelineFilters(leader_id=[leader_id])
        items.append(LeaderSummary(
            leader_id=leader_id, leader_name=names.get(leader_id) if leader_id is not None else None,
            projects=Totals(count=int(own[0].outer_n) if own else 0, totals=money,
                            total_cny=exchange_rates.convert(money, to=exchange_rates.BASE, book=book),
                            projects=projects_link(as_of, filters, known_on=known_on)),
            by_stage={stage: stage_counts.get(leader_id, {}).get(stage, 0)
                      for stage in (*STAGE_ORDER, Stage.terminated)},
            late=Counted(count=counts.get(leader_id, {}).get("late", 0),
                         projects=health_link(as_of, leader_id, known_on, late="true")),
            health=_health_counts(counts.get(leader_id, {}), health_link(as_of, leader_id, known_on)),
            targets=shares.get(leader_id, []),
            dashboard=dashboard_link(leader_id, as_of, known_on) if leader_id is not None else None,
            investment=progress.get(leader_id),
            missing_reports=Counted(count=missing.get(leader_id, 0), projects=missing_link)))
    return LeaderStats(as_of=as_of, known_on=known_on, rules=health.describe(rules), late_means=LATE_RULE,
                       items=items)
