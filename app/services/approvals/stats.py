"""How long approvals take, per kind and authority, computed by the database.

The median needs no dialect branch: rank each group's decision times with
``ROW_NUMBER()`` and ``COUNT(*) OVER``, keep the middle row or two (``2·rn`` between
``n`` and ``n + 2``) and average them. Both databases run the same SQL.
"""

from datetime import date
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import CTE, ColumnElement, Float, and_, case, cast, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import ApprovalItem, ApprovalKind, Project
from app.models.enums import APPROVAL_DECIDED, APPROVAL_PENDING, ApprovalStatus
from app.services.access.permissions import Principal, project_scope


class ApprovalFigures(BaseModel):
    count: int = Field(description="Approval items.")
    submitted: int = Field(description="Items with a submission date.")
    decided: int = Field(description="Items approved or rejected.")
    approved: int
    rejected: int
    median_days_to_decision: float | None = Field(
        description="Median calendar days from submission to decision, over decided items with both dates.")
    decided_with_limit: int = Field(description="Decided items that had a time limit.")
    decided_within_limit: int = Field(description="Of those, decided on or before their due day.")
    share_within_limit: float | None = Field(description="decided_within_limit / decided_with_limit.")
    pending: int = Field(description="Submitted or accepted, awaiting a decision.")
    overdue: int = Field(description="Pending past their due day, today.")


class ApprovalGroupKey(BaseModel):
    kind: str
    kind_name: str
    authority: str


class ApprovalGroup(ApprovalFigures, ApprovalGroupKey):
    """The figures of one kind at one authority."""


class ApprovalStats(BaseModel):
    as_of: date = Field(description="The day `overdue` is counted on (today in the city).")
    groups: list[ApprovalGroup] = Field(description="One entry per kind and authority, by kind and authority.")
    total: ApprovalFigures


def _scoped(principal: Principal, *, kind: list[str], authority: str | None, submitted_from: date | None,
            submitted_to: date | None) -> CTE:
    columns: list[Any] = [col(ApprovalItem.kind), col(ApprovalKind.name).label("kind_name"),
                          col(ApprovalItem.authority), col(ApprovalItem.status), col(ApprovalItem.submitted_on),
                          col(ApprovalItem.decided_on), col(ApprovalItem.due_on), col(ApprovalItem.decision_days)]
    stmt = (select(*columns)
            .join(Project, col(Project.id) == col(ApprovalItem.project_id))
            .join(ApprovalKind, col(ApprovalKind.code) == col(ApprovalItem.kind))
            .where(project_scope(principal), col(Project.archived_at).is_(None),
                   col(ApprovalItem.archived_at).is_(None)))
    if kind:
        stmt = stmt.where(col(ApprovalItem.kind).in_(kind))
    if authority is not None:
        stmt = stmt.where(col(ApprovalItem.authority) == authority)
    if submitted_from is not None:
        stmt = stmt.where(col(ApprovalItem.submitted_on) >= submitted_from)
    if submitted_to is not None:
        stmt = stmt.where(col(ApprovalItem.submitted_on) <= submitted_to)
    return stmt.cte("scoped")


def _figures(scoped: CTE, group: list[str], *, today: date) -> Any:
    """The figures of each group (no group: of everything) as one SELECT."""
    keys = [scoped.c[name] for name in group]
    ranked = (select(*keys, scoped.c.decision_days,
                     func.row_number().over(partition_by=keys or None, order_by=scoped.c.decision_days).label("rn"),
                     func.count().over(partition_by=keys or None).label("n"))
              .where(scoped.c.decision_days.is_not(None))
              .cte(f"ranked_{len(group)}"))
    medians = (select(*[ranked.c[name] for name in group], func.avg(ranked.c.decision_days).label("median"))
               .where((2 * ranked.c.rn).between(ranked.c.n, ranked.c.n + 2))
               .group_by(*[ranked.c[name] for name in group])
               .cte(f"medians_{len(group)}"))
    on: ColumnElement[bool] = and_(true(), *[medians.c[name] == scoped.c[name] for name in group])

    def tally(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    status, decided_on, due_on = scoped.c.status, scoped.c.decided_on, scoped.c.due_on
    decided = status.in_([str(s) for s in APPROVAL_DECIDED])
    with_limit = and_(decided, decided_on.is_not(None), due_on.is_not(None))
    within = and_(with_limit, decided_on <= due_on)
    return (select(*keys,
                   func.count().label("count"),
                   func.count(scoped.c.submitted_on).label("submitted"),
                   tally(decided).label("decided"),
                   tally(status == ApprovalStatus.approved.value).label("approved"),
                   tally(status == ApprovalStatus.rejected.value).label("rejected"),
                   func.max(medians.c.median).label("median"),
                   tally(with_limit).label("decided_with_limit"),
                   tally(within).label("decided_within_limit"),
                   (cast(tally(within), Float) / func.nullif(tally(with_limit), literal(0))).label("share"),
                   tally(status.in_([str(s) for s in APPROVAL_PENDING])).label("pending"),
                   tally(and_(status.in_([str(s) for s in APPROVAL_PENDING]), due_on < today)).label("overdue"))
            .select_from(scoped.outerjoin(medians, on))
            .group_by(*keys)
            .order_by(*keys))


def _to_figures(row: Any) -> dict[str, Any]:
    return {
        "count": row.count, "submitted": row.submitted, "decided": row.decided, "approved": row.approved,
        "rejected": row.rejected,
        "median_days_to_decision": None if row.median is None else round(float(row.median), 1),
        "decided_with_limit": row.decided_with_limit, "decided_within_limit": row.decided_within_limit,
        "share_within_limit": None if row.share is None else round(float(row.share), 4),
        "pending": row.pending, "overdue": row.overdue,
    }


async def approval_stats(session: AsyncSession, principal: Principal, *, today: date, kind: list[str],
                         authority: str | None, submitted_from: date | None,
                         submitted_to: date | None) -> ApprovalStats:
    """Counts, median decision time, share within the time limit and overdue items, per kind and authority."""
    scoped = _scoped(principal, kind=kind, authority=authority, submitted_from=submitted_from,
                     submitted_to=submitted_to)
    groups = (await session.execute(_figures(scoped, ["kind", "kind_name", "authority"], today=today))).all()
    total = (await session.execute(_figures(scoped, [], today=today))).one()
    return ApprovalStats(
        as_of=today,
        groups=[ApprovalGroup(kind=r.kind, kind_name=r.kind_name, authority=r.authority, **_to_figures(r))
                for r in groups],
        total=ApprovalFigures(**_to_figures(total)))
