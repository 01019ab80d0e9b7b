"""Annual plans (年度计划): one per project and year, written by the bureau. A revised planned
investment takes effect on a date and is kept with its history (``history.PLAN``)."""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, InvalidInput, NotFound
from app.models import AnnualPlan, Project, ProjectDesignation
from app.models.enums import Designation, DesignationStatus, Industry, Zone
from app.models.fields import Money
from app.models.progress import AnnualPlanCreate, AnnualPlanRead, AnnualPlanUpdate
from app.services.access.permissions import Principal, can_see_project, project_scope
from app.services.common import audit, lifecycle, pagination
from app.services.common.pagination import Page, SortKey
from app.services.projects import history
from app.services.projects.projects import get_project

QUARTERS = ("q1_amount", "q2_amount", "q3_amount", "q4_amount")


def to_read(plan: AnnualPlan) -> AnnualPlanRead:
    quarters: list[Decimal | None] = [getattr(plan, q) for q in QUARTERS]
    assert plan.id is not None
    return AnnualPlanRead(
        id=plan.id, project_id=plan.project_id, year=plan.year,
        planned_investment=Money(amount=plan.planned_amount, currency=plan.planned_currency),
        progress_goal=plan.progress_goal,
        quarterly=None if quarters[0] is None else [Money(amount=q or Decimal(0), currency=plan.planned_currency)
                                                      for q in quarters],
        version=plan.version, created_at=plan.created_at, updated_at=plan.updated_at)


def _snapshot(plan: AnnualPlan) -> dict[str, Any]:
    return to_read(plan).model_dump(mode="json", exclude={"updated_at"})


def _set_quarters(plan: AnnualPlan, quarterly: list[Money] | None) -> None:
    amounts: list[Decimal | None] = [m.amount for m in quarterly] if quarterly else [None] * 4
    for name, amount in zip(QUARTERS, amounts, strict=True):
        setattr(plan, name, amount)


async def create(session: AsyncSession, principal: Principal, project_id: int, *, data: AnnualPlanCreate
                 ) -> AnnualPlanRead:
    """Add a project's plan for a year (409 if it has one)."""
    await get_project(session, principal, project_id)
    plan = AnnualPlan(project_id=project_id, year=data.year, planned_amount=data.planned_investment.amount,
                      planned_currency=data.planned_investment.currency, progress_goal=data.progress_goal)
    _set_quarters(plan, data.quarterly)
    session.add(plan)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"The project already has an annual plan for {data.year}: change it instead.",
                       code="plan_exists") from exc
    history.begin(session, [plan], recorded_at=plan.created_at, kind=history.PLAN)
    await audit.record(session, principal, action="annual_plan.create", resource_type="annual_plan",
                       resource_id=plan.id or 0, after=_snapshot(plan))
    return to_read(plan)


async def get(session: AsyncSession, principal: Principal, plan_id: int) -> AnnualPlan:
    plan = await session.get(AnnualPlan, plan_id)
    project = None if plan is None else await session.get(Project, plan.project_id)
    if plan is None or project is None or not can_see_project(principal, project):
        raise NotFound(f"No annual plan with id {plan_id}.")
    return plan


async def update(session: AsyncSession, principal: Principal, plan_id: int, *, data: AnnualPlanUpdate,
                 if_match: str | None, today: date) -> AnnualPlanRead:
    """Change the fields present; the quarterly split kept must still add up to the plan. A new
    planned investment takes effect on ``effective_on`` (today by default)."""
    plan = await get(session, principal, plan_id)
    fields = data.model_dump(exclude_unset=True)
    effective_on = data.effective_on or today
    if effective_on > today:
        raise InvalidInput.field("effective_on", f"must not be in the future (today is {today})")
    believed = await history.believed(session, [plan_id], kind=history.PLAN)
    revision = None if data.planned_investment is None else history.Dated(plan_id, effective_on, {
        "planned_amount": data.planned_investment.amount, "planned_currency": data.planned_investment.currency})

    def apply() -> None:
        if data.planned_investment is not None:
            plan.planned_amount = data.planned_investment.amount
            plan.planned_currency = data.planned_investment.currency
        if "progress_goal" in fields:
            plan.progress_goal = data.progress_goal
        if "quarterly" in fields:
            _set_quarters(plan, data.quarterly)
        quarters = [getattr(plan, q) for q in QUARTERS]
        if quarters[0] is not None and sum(quarters) != plan.planned_amount:
            raise InvalidInput.field("quarterly", f"the four quarters ({sum(quarters)}) must add up to "
                                     f"planned_investment ({plan.planned_amount})")
        if revision is not None:
            history.check(believed[plan_id], revision)  # 409 before anything is written

    await lifecycle.update(session, principal, plan, if_match=if_match, resource_type="annual_plan",
                           resource_id=plan_id, snapshot=lambda: _snapshot(plan), apply=apply, archived_code=None)
    if revision is not None:
        # Recorded at the instant the plan says it was updated: known_on just before it reads the plan before.
        history.record(session, believed, [revision], recorded_at=plan.updated_at, kind=history.PLAN)
    return to_read(plan)


async def for_project(session: AsyncSession, principal: Principal, project_id: int) -> list[AnnualPlanRead]:
    """A project's plans, by year."""
    await get_project(session, principal, project_id)
    rows = await session.execute(select(AnnualPlan).where(col(AnnualPlan.project_id) == project_id)
                                 .order_by(col(AnnualPlan.year)))
    return [to_read(p) for p in rows.scalars()]


async def listing(session: AsyncSession, principal: Principal, *, year: int | None, leader_id: list[int | None],
                  unit_id: list[int | None], zone: list[Zone], industry: list[Industry],
                  designation: list[Designation], cursor: str | None, limit: int) -> Page[AnnualPlanRead]:
    """Plans of the projects the principal may see, by id; ``None`` in ``leader_id`` or
    ``unit_id`` stands for no leader or unit; ``designation`` keeps holders of a granted one."""
    stmt = (select(AnnualPlan).join(Project, col(Project.id) == col(AnnualPlan.project_id))
            .where(project_scope(principal), col(Project.archived_at).is_(None)))
    if year is not None:
        stmt = stmt.where(col(AnnualPlan.year) == year)
    for refs, column in ((leader_id, col(Project.leader_id)), (unit_id, col(Project.unit_id))):
        if refs:
            ids = [r for r in refs if r is not None]
            stmt = stmt.where(column.in_(ids) | column.is_(None) if None in refs else column.in_(ids))
    if zone:
        stmt = stmt.where(col(Project.zone).in_([z.value for z in zone]))
    if industry:
        stmt = stmt.where(col(Project.industry).in_([i.value for i in industry]))
    if designation:
        stmt = stmt.where(col(AnnualPlan.project_id).in_(
            select(col(ProjectDesignation.project_id)).where(
                col(ProjectDesignation.designation).in_([d.value for d in designation]),
                col(ProjectDesignation.status) == DesignationStatus.granted.value)))
    key = SortKey("id", col(AnnualPlan.id), pagination.decode_id(pagination.INT32_MAX))
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=col(AnnualPlan.id), cursor=cursor,
                            limit=limit, sort_label="annual_plans", id_max=pagination.INT32_MAX)
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="annual_plans",
                                        key_of=lambda p: (p.id or 0, p.id or 0))
    return Page[AnnualPlanRead](items=[to_read(p) for p in kept], next_cursor=next_cursor)
