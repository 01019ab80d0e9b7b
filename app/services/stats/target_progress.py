"""``/stats/targets``: how far each of a year's targets is met, on any date, and by whom.

A target is evaluated on ``as_of``, or on the year's last day if that is earlier (a past
year is judged as it ended). On that date (D):

- members: a list target's projects on the list on D; a criterion target's projects that
  match the criterion, exist on D and had not reached the goal (nor been terminated) on
  the eve of the year — so "sign 60 foreign projects in 2023" counts what moves in 2023;
- done: the member is, on D, at the goal stage or beyond and not terminated; or, for a
  designation goal, holds the designation as granted, decided by D, for the target's year;
- late: not done and behind plan (``app.services.stats.timeline``);
- dropped: terminated by D.

The members of every target are one ``UNION ALL`` (one branch per target, its goal
written into the SQL), and every figure one ``GROUP BY`` with window functions over it.
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, not_, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Subquery
from sqlmodel import col

from app.errors import NotFound
from app.models import Leader, Project, ProjectDesignation, Target, TargetMember
from app.models.enums import DesignationStatus, FundingSource, Stage, TargetMembership, TargetProjectStatus
from app.models.stats import (
    Counted,
    HealthReason,
    LeaderProgress,
    MoneyTotal,
    TargetAmount,
    TargetProgress,
    TargetProject,
    TargetStats,
)
from app.services.common import links, pagination
from app.services.common.pagination import Page, SortKey
from app.services.projects import exchange_rates
from app.services.projects.exchange_rates import RateBook
from app.services.projects.targets import get_target, to_read
from app.services.promotion import fdi
from app.services.stats.pipeline import check_as_of, share
from app.services.stats.timeline import LATE_RULE, AnySelect, active, is_late, projects_as, reached, stage_on

if TYPE_CHECKING:
    from app.services.stats import health


def evaluated_on(year: int, as_of: date) -> date:
    return min(as_of, date(year, 12, 31))


def _done(target: Target, on: date, state: Any, projects: Any = Project) -> ColumnElement[bool]:
    """The member has reached the target's goal on ``on``."""
    if target.goal_stage is not None:
        return reached(state.c.stage, Stage(target.goal_stage))
    d = ProjectDesignation
    granted = exists().where(
        col(d.project_id) == col(projects.id), col(d.designation) == target.goal_designation,
        col(d.status) == DesignationStatus.granted.value,
        or_(col(d.decided_on).is_(None), col(d.decided_on) <= on),
        or_(col(d.year).is_(None), col(d.year) == target.year))
    return and_(active(state.c.stage), granted)


def _criterion(target: Target, projects: Any) -> list[ColumnElement[bool]]:
    criterion = target.criterion or {}
    return [getattr(projects, name).in_(values) for name, values in criterion.items() if values]


def members(target: Target, on: date, state: Any, eve_state: Any, projects: Any = Project) -> AnySelect:
    """One target's members on ``on`` (of ``projects``: ``timeline.projects_as``) with their
    standing: (target_id, project_id, leader_id, currency, amount, stage, done, late, dropped),
    each flag 0 or 1."""
    p = projects
    done = _done(target, on, state, p)
    stage = state.c.stage
    columns: tuple[Any, ...] = (
        literal(target.id).label("target_id"), col(p.id).label("project_id"),
        col(p.leader_id).label("leader_id"), col(p.total_investment_currency).label("currency"),
        col(p.total_investment_amount).label("amount"), stage.label("stage"),
        case((done, 1), else_=0).label("done"),
        case((and_(not_(done), is_late(on, state, p)), 1), else_=0).label("late"),
        case((stage == Stage.terminated.value, 1), else_=0).label("dropped"),
    )
    if target.membership == TargetMembership.list:
        m = TargetMember
        return (select(*columns).select_from(m)
                .join(p, col(p.id) == col(m.project_id))
                .outerjoin(state, state.c.project_id == col(p.id))
                .where(col(m.target_id) == target.id, col(m.added_on) <= on,
                       or_(col(m.removed_on).is_(None), col(m.removed_on) > on),
                       col(p.archived_at).is_(None)))
    eve = date(target.year, 1, 1) - timedelta(days=1)
    return (select(*columns).select_from(p)
            .join(state, state.c.project_id == col(p.id))
            .outerjoin(eve_state, eve_state.c.project_id == col(p.id))
            .where(col(p.archived_at).is_(None), *_criterion(target, p),
                   not_(_done(target, eve, eve_state, p)),
                   or_(eve_state.c.stage.is_(None), eve_state.c.stage != Stage.terminated.value)))


def member_union(targets: Sequence[Target], on: date, *, projects: Any = Project,
                 known_on: datetime | None = None) -> Subquery:
    """Every target's members on ``on`` (of ``projects``, by what had been recorded by
    ``known_on``), as one subquery."""
    state = stage_on(on, cte=True, known_on=known_on)
    eves = {t.year for t in targets if t.membership == TargetMembership.criterion}
    eve_states = {year: stage_on(date(year, 1, 1) - timedelta(days=1), name=f"state_eve_{year}", cte=True,
                                 known_on=known_on)
                  for year in eves}
    branches = [members(t, on, state, eve_states.get(t.year), projects) for t in targets]
    return union_all(*branches).subquery("members")


def link(target_id: int, on: date, known_on: datetime | None = None, **params: Any) -> str:
    query = [*links.clocks(on, known_on),
             *((k, "none" if v is None else str(v)) for k, v in params.items() if v is not ...)]
    return links.link(f"/targets/{target_id}/projects", query)


async def _rows(session: AsyncSession, targets: Sequence[Target], on: date, projects: Any,
                known_on: datetime | None) -> Sequence[Any]:
    m = member_union(targets, on, projects=projects, known_on=known_on)
    n, done_n, late_n = func.count(), func.sum(m.c.done), func.sum(m.c.late)
    dropped_n = func.sum(m.c.dropped)
    amount, done_amount = func.sum(m.c.amount), func.sum(case((m.c.done == 1, m.c.amount)))
    by_target = [m.c.target_id]
    by_currency = [m.c.target_id, m.c.currency]
    by_leader = [m.c.target_id, m.c.leader_id]
    windows = {
        "t_n": func.sum(n).over(partition_by=by_target), "t_done": func.sum(done_n).over(partition_by=by_target),
        "t_late": func.sum(late_n).over(partition_by=by_target),
        "t_dropped": func.sum(dropped_n).over(partition_by=by_target),
        "t_amount": func.sum(amount).over(partition_by=by_currency),
        "t_done_amount": func.sum(done_amount).over(partition_by=by_currency),
        "l_n": func.sum(n).over(partition_by=by_leader), "l_done": func.sum(done_n).over(partition_by=by_leader),
        "l_late": func.sum(late_n).over(partition_by=by_leader),
    }
    stmt: AnySelect = (select(
        m.c.target_id, m.c.leader_id, col(Leader.name).label("leader_name"), m.c.currency,
        amount.label("amount"), done_amount.label("done_amount"), *[w.label(name) for name, w in windows.items()])
        .select_from(m).outerjoin(Leader, col(Leader.id) == m.c.leader_id)
        .group_by(m.c.target_id, m.c.leader_id, col(Leader.name), m.c.currency))
    return (await session.execute(stmt)).all()


async def _fdi_rows(session: AsyncSession, targets: Sequence[Target], on: date, projects: Any,
                    known_on: datetime | None) -> dict[tuple[int, int], Any]:
    """Per (target, done 0/1): the foreign members' count, contracted and utilised FDI, and the
    target's (``t_n``, ``t_contracted``, ``t_utilised``) by window functions."""
    m = member_union(targets, on, projects=projects, known_on=known_on)
    utilised = fdi.utilised_fdi_query(on, known_on)
    p = projects
    n, contracted = func.count(), func.sum(col(p.contracted_fdi_amount))
    used = func.sum(utilised.c.utilised)
    by_target = [m.c.target_id]
    stmt = (select(m.c.target_id, m.c.done, n.label("n"), contracted.label("contracted"), used.label("utilised"),
                   func.sum(n).over(partition_by=by_target).label("t_n"),
                   func.sum(contracted).over(partition_by=by_target).label("t_contracted"),
                   func.sum(used).over(partition_by=by_target).label("t_utilised"))
            .select_from(m).join(p, col(p.id) == m.c.project_id)
            .outerjoin(utilised, utilised.c.project_id == m.c.project_id)
            .where(col(p.funding_source) == FundingSource.foreign.value)
            .group_by(m.c.target_id, m.c.done))
    return {(r.target_id, int(r.done)): r for r in await session.execute(stmt)}


def _amount(count: int, money: list[MoneyTotal], *, currency: str, book: RateBook, projects: str) -> TargetAmount:
    return TargetAmount(count=count, totals=money, total=exchange_rates.convert(money, to=currency, book=book),
                        projects=projects)


def _progress(target: Target, rows: Sequence[Any], *, on: date, book: RateBook,
              known_on: datetime | None) -> TargetProgress:
    assert target.id is not None
    target_id = target.id

    def to(**params: Any) -> str:
        return link(target_id, on, known_on, **params)

    read = to_read(target)
    book = book.with_plan(read.plan_rates)
    currency = target.target_currency
    first = rows[0] if rows else None

    def count(name: str) -> int:
        return int(getattr(first, name)) if first is not None else 0

    members = _amount(count("t_n"), exchange_rates.money({(r.currency, r.t_amount) for r in rows}),
                      currency=currency, book=book, projects=to())
    done = _amount(count("t_done"), exchange_rates.money({(r.currency, r.t_done_amount) for r in rows}),
                   currency=currency, book=book, projects=to(status="done"))
    leaders: dict[int | None, list[Any]] = {}
    for row in rows:
        leaders.setdefault(row.leader_id, []).append(row)
    by_leader = []
    for leader_id, own in sorted(leaders.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        by_leader.append(LeaderProgress(
            leader_id=leader_id, leader_name=own[0].leader_name,
            members=_amount(int(own[0].l_n), exchange_rates.money((r.currency, r.amount) for r in own),
                            currency=currency, book=book, projects=to(leader_id=leader_id)),
            done=_amount(int(own[0].l_done), exchange_rates.money((r.currency, r.done_amount) for r in own),
                         currency=currency, book=book,
                         projects=to(status="done", leader_id=leader_id)),
            late=Counted(count=int(own[0].l_late), projects=to(status="late", leader_id=leader_id))))
    converted = done.total.amount
    return TargetProgress(
        target=read, evaluated_on=on, members=members, done=done,
        late=Counted(count=count("t_late"), projects=to(status="late")),
        dropped=Counted(count=count("t_dropped"), projects=to(status="dropped")),
        share_done=share(done.count, target.target_count),
        share_done_amount=share(converted, target.target_amount) if converted is not None else None,
        by_leader=by_leader)


async def progress(session: AsyncSession, targets: Sequence[Target], *, on: date, today: date,
                   known_on: datetime | None = None) -> list[TargetProgress]:
    """Each target's progress on ``on`` (by what had been recorded by ``known_on``)."""
    if not targets:
        return []
    p = projects_as(on, known_on, today=today)
    rows = await _rows(session, targets, on, p, known_on)
    by_target: dict[int, list[Any]] = {}
    for row in rows:
        by_target.setdefault(row.target_id, []).append(row)
    book = await exchange_rates.rate_book(session, on)
    fdi_rows = await _fdi_rows(session, targets, on, p, known_on)
    out = []
    for t in targets:
        item = _progress(t, by_target.get(t.id or 0, []), on=on, book=book, known_on=known_on)
        done, other = fdi_rows.get((t.id or 0, 1)), fdi_rows.get((t.id or 0, 0))
        whole = done or other
        item.members.fdi = (fdi.foreign_investment(whole.t_n, whole.t_contracted, whole.t_utilised) if whole
                            else fdi.foreign_investment(0, None, None))
        item.done.fdi = (fdi.foreign_investment(done.n, done.contracted, done.utilised) if done
                         else fdi.foreign_investment(0, None, None))
        out.append(item)
    return out


async def year_targets(session: AsyncSession, year: int) -> list[Target]:
    stmt = (select(Target).where(col(Target.year) == year, col(Target.archived_at).is_(None))
            .order_by(col(Target.id)))
    return list((await session.execute(stmt)).scalars())


async def target_stats(session: AsyncSession, *, year: int, as_of: date, today: date,
                       known_on: datetime | None = None) -> TargetStats:
    """Every current target of ``year`` and how far it is met on ``as_of`` (by what had been
    recorded by ``known_on``)."""
    check_as_of(as_of, today)
    on = evaluated_on(year, as_of)
    items = await progress(session, await year_targets(session, year), on=on, today=today, known_on=known_on)
    return TargetStats(year=year, as_of=as_of, known_on=known_on, late_means=LATE_RULE, items=items)


async def list_target_projects(session: AsyncSession, target_id: int, *, as_of: date,
                               status: list[TargetProjectStatus], leader_id: list[int | None],
                               cursor: str | None, limit: int, today: date, rules: "health.Rules",
                               known_on: datetime | None = None) -> Page[TargetProject]:
    """The projects behind a target's figures on ``as_of`` (by what had been recorded by
    ``known_on``), by id, with their standing and the monthly-scheduling rules
    (``investment_behind``, ``report_missing``) that are not green for them on the evaluation date."""
    check_as_of(as_of, today)
    target = await get_target(session, target_id)
    if target.archived_at is not None:
        raise NotFound(f"No current target with id {target_id}.")
    on = evaluated_on(target.year, as_of)
    p = projects_as(on, known_on, today=today)
    m = member_union([target], on, projects=p, known_on=known_on)
    standing = case((m.c.done == 1, TargetProjectStatus.done.value),
                    (m.c.dropped == 1, TargetProjectStatus.dropped.value),
                    (m.c.late == 1, TargetProjectStatus.late.value),
                    else_=TargetProjectStatus.open.value)
    stmt = (select(m.c.project_id.label("id"), col(p.name).label("name"), m.c.stage,
                   col(p.leader_id).label("leader_id"), col(p.unit_id).label("unit_id"),
                   col(p.total_investment_amount).label("total_investment_amount"),
                   col(p.total_investment_currency).label("total_investment_currency"),
                   col(p.planned_sign_on).label("planned_sign_on"), col(p.planned_start_on).label("planned_start_on"),
                   col(p.planned_production_on).label("planned_production_on"), standing.label("status"))
            .select_from(m).join(p, col(p.id) == m.c.project_id))
    if status:
        stmt = stmt.where(standing.in_([s.value for s in status]))
    if leader_id:
        ids = [i for i in leader_id if i is not None]
        stmt = stmt.where(or_(m.c.leader_id.in_(ids), m.c.leader_id.is_(None)) if None in leader_id
                          else m.c.leader_id.in_(ids))
    key = SortKey("id", m.c.project_id, int)
    label = f"target:{target_id}"
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=m.c.project_id, cursor=cursor, limit=limit,
                            sort_label=label)
    rows = (await session.execute(stmt)).all()
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label=label, key_of=lambda r: (r.id, r.id))
    reasons = await _progress_reasons(session, [r.id for r in kept], on=on, rules=rules, projects=p,
                                      known_on=known_on)
    return Page[TargetProject](items=[TargetProject(
        id=r.id, name=r.name, stage=Stage(r.stage) if r.stage else None, leader_id=r.leader_id, unit_id=r.unit_id,
        total_investment=MoneyTotal(amount=r.total_investment_amount, currency=r.total_investment_currency),
        planned_sign_on=r.planned_sign_on, planned_start_on=r.planned_start_on,
        planned_production_on=r.planned_production_on, status=TargetProjectStatus(r.status),
        reasons=reasons.get(r.id, [])) for r in kept], next_cursor=next_cursor)


async def _progress_reasons(session: AsyncSession, project_ids: list[int], *, on: date,
                            rules: "health.Rules", projects: Any, known_on: datetime | None
                            ) -> dict[int, list[HealthReason]]:
    """Per project of a page: the monthly-scheduling rules above green on ``on``, as
    ``/stats/project-health`` gives them (where they apply: active projects, with a plan for
    ``investment_behind``, bound to report for ``report_missing``)."""
    # Imported here: health reads /stats/investment, which reads the targets of this module.
    from app.services.stats import health

    if not project_ids:
        return {}
    statuses = health.measured(on, rules, where=[col(projects.id).in_(project_ids)], projects=projects,
                               known_on=known_on)
    out: dict[int, list[HealthReason]] = {}
    for row in await session.execute(select(statuses)):
        found = [r for r in health.to_read(row, on, rules).reasons if r.rule in health.UNIT]
        if found:
            out[row.id] = found
    return out

