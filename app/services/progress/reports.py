"""Monthly reports (月报): filed by the responsible unit or the bureau, one version per filing.

Each answer derives ``investment_ytd`` and ``investment_since_start`` from the versions
that count today (accepted and not superseded), up to the report's month.
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import Subquery
from sqlmodel import col

from app.dialect import a_date
from app.errors import Conflict, InvalidInput, NotFound
from app.models import ProgressReport, Project
from app.models.enums import FundingSource, ReportStatus
from app.models.fields import Money
from app.models.progress import (
    FUNDS_COLUMNS,
    ExpectedInvestment,
    FundsArrived,
    InvestmentSplit,
    ProgressReportCreate,
    ProgressReportRead,
)
from app.models.types import Amount
from app.services.access.permissions import Principal, can_see_project, project_scope
from app.services.common import audit, pagination
from app.services.common.pagination import Page, SortKey
from app.services.events import outbox
from app.services.progress.rules import ReportingRules, check_month, due_on, month_end, must_report
from app.services.projects.projects import get_project
from app.services.stats.timeline import stage_on

CNY, USD = "CNY", "USD"
ZERO = Decimal("0.00")


def counting_now() -> ColumnElement[bool]:
    """The versions that are their month's figure today."""
    return and_(col(ProgressReport.status) == ReportStatus.accepted.value, col(ProgressReport.superseded_on).is_(None))


def counting_on(as_of: date, known_on: datetime | None = None, *, reports: Any = ProgressReport
                ) -> ColumnElement[bool]:
    """The versions that were their month's figure on ``as_of``: accepted by then and not yet
    superseded; by what had been recorded by ``known_on`` (None: now), accepted by that instant
    and not superseded by it. Every aggregate of the reports (``/stats/investment``, utilised
    FDI, funds arrived, the forecast) reads them through this one rule (``reports``: an alias
    of ``ProgressReport``, when a query reads them twice)."""
    r = reports
    on = a_date(as_of)
    if known_on is None:
        return and_(col(r.accepted_on) <= on, or_(col(r.superseded_on).is_(None), col(r.superseded_on) > on))
    return and_(col(r.accepted_on) <= on, col(r.accepted_at) <= known_on,
                or_(col(r.superseded_on).is_(None), col(r.superseded_on) > on, col(r.superseded_at) > known_on))


def counted_by(on: date, known_on: datetime | None = None) -> ColumnElement[bool]:
    """The versions that make the reports' figures to ``on``: counting then, of the months begun
    by then (a month is reported once it has begun, so the second condition only states what
    the first implies)."""
    r = ProgressReport
    return and_(counting_on(on, known_on),
                or_(col(r.year) < on.year, and_(col(r.year) == on.year, col(r.month) <= on.month)))


def funds_arrived_query(on: date, known_on: datetime | None = None) -> Subquery:
    """Per project, the funds arrived (本月到位资金, every source, CNY) by ``on``: (project_id, arrived)."""
    r = ProgressReport
    every = sum((func.coalesce(getattr(r, column), 0) for column in FUNDS_COLUMNS.values()), start=literal(0))
    return (select(col(r.project_id).label("project_id"), type_coerce(func.sum(every), Amount).label("arrived"))
            .where(counted_by(on, known_on)).group_by(col(r.project_id)).subquery("funds_arrived"))


def _derived(stmt: Select[Any]) -> Select[Any]:
    """``stmt`` (selecting ``ProgressReport``) with each row's year-to-date and since-start sums."""
    c = aliased(ProgressReport, name="counted")
    r = ProgressReport
    base = (select(type_coerce(func.coalesce(func.sum(col(c.investment_amount)), 0), Amount))
            .where(col(c.project_id) == col(r.project_id), col(c.status) == ReportStatus.accepted.value,
                   col(c.superseded_on).is_(None)))
    same_year = col(c.year) == col(r.year)
    ytd = base.where(same_year, col(c.month) <= col(r.month)).scalar_subquery()
    since = base.where(or_(col(c.year) < col(r.year), and_(same_year, col(c.month) <= col(r.month))))\
        .scalar_subquery()
    return stmt.add_columns(ytd.label("ytd"), since.label("since"))


def to_read(report: ProgressReport, ytd: Decimal | None, since: Decimal | None) -> ProgressReportRead:
    split = None
    if report.construction_amount is not None:
        split = InvestmentSplit(construction=Money(amount=report.construction_amount, currency=CNY),
                                equipment=Money(amount=report.equipment_amount or ZERO, currency=CNY),
                                other=Money(amount=report.other_amount or ZERO, currency=CNY))
    funds = [FundsArrived(source=source, amount=Money(amount=getattr(report, column), currency=CNY))
             for source, column in FUNDS_COLUMNS.items() if getattr(report, column) is not None]
    assert report.id is not None
    return ProgressReportRead(
        id=report.id, project_id=report.project_id, year=report.year, month=report.month, revision=report.revision,
        status=ReportStatus(report.status),
        counts=report.status == ReportStatus.accepted.value and report.superseded_on is None,
        investment_completed=Money(amount=report.investment_amount, currency=CNY), investment_split=split,
        funds_arrived=funds,
        fdi_utilised=None if report.fdi_utilised_amount is None else Money(amount=report.fdi_utilised_amount,
                                                                            currency=USD),
        physical_progress=report.physical_progress, problems=report.problems, next_month_plan=report.next_month_plan,
        expected_investment=[ExpectedInvestment.model_validate(e) for e in report.expected_investment or []],
        investment_ytd=Money(amount=Decimal(ytd or 0).quantize(ZERO), currency=CNY),
        investment_since_start=Money(amount=Decimal(since or 0).quantize(ZERO), currency=CNY),
        not_required=report.not_required, filed_by=report.filed_by, filed_by_key_id=report.filed_by_key_id,
        filed_at=report.filed_at, filed_on=report.filed_on, due_on=report.due_on, late=report.late,
        reviewed_by=report.reviewed_by, reviewed_at=report.reviewed_at, review_reason=report.review_reason,
        accepted_at=report.accepted_at, accepted_on=report.accepted_on, superseded_on=report.superseded_on,
        superseded_at=report.superseded_at,
        version=report.version)


async def read(session: AsyncSession, report: ProgressReport) -> ProgressReportRead:
    """The report with its derived sums, as they stand after the session's changes."""
    await session.flush()
    row = (await session.execute(_derived(select(ProgressReport).where(col(ProgressReport.id) == report.id)))).one()
    return to_read(row[0], row.ytd, row.since)


async def get(session: AsyncSession, principal: Principal, report_id: int, *, for_update: bool = False
              ) -> ProgressReport:
    """The report version, if the principal may see its project; else 404."""
    stmt = select(ProgressReport).where(col(ProgressReport.id) == report_id)
    if for_update:
        stmt = stmt.with_for_update()
    report = (await session.execute(stmt)).scalar_one_or_none()
    project = None if report is None else await session.get(Project, report.project_id)
    if report is None or project is None or not can_see_project(principal, project):
        raise NotFound(f"No progress report with id {report_id}.")
    return report


async def _required(session: AsyncSession, project_id: int, year: int, month: int, rules: ReportingRules) -> bool:
    state = stage_on(month_end(year, month))
    stmt = (select(must_report(rules, state.c.stage)).select_from(Project)
            .join(state, state.c.project_id == col(Project.id)).where(col(Project.id) == project_id))
    return bool((await session.execute(stmt)).scalar_one_or_none())


async def file(session: AsyncSession, principal: Principal, project_id: int, *, data: ProgressReportCreate,
               rules: ReportingRules, today: date, filed_at: Any = None) -> ProgressReportRead:
    """File a month's report for a project: its month's first version, or a new one after
    a return or to correct an accepted month (409 while a version awaits review)."""
    project = await get_project(session, principal, project_id, for_update=True)
    check_month(data.year, data.month, today)
    if data.fdi_utilised is not None and project.funding_source != FundingSource.foreign.value:
        raise InvalidInput.field("fdi_utilised", "only a foreign-funded project utilises foreign investment")
    versions = (await session.execute(
        select(col(ProgressReport.revision), col(ProgressReport.status), col(ProgressReport.id))
        .where(col(ProgressReport.project_id) == project_id, col(ProgressReport.year) == data.year,
               col(ProgressReport.month) == data.month))).all()
    pending = [v.id for v in versions if v.status == ReportStatus.submitted.value]
    if pending:
        raise Conflict(f"Report {pending[0]} for {data.year}-{data.month:02d} awaits review: it is accepted or "
                       "returned before the month is filed again.", code="report_pending_review")
    due = due_on(data.year, data.month, rules.due_day)
    report = ProgressReport(
        project_id=project_id, year=data.year, month=data.month, revision=max((v.revision for v in versions),
                                                                                default=0) + 1,
        status=ReportStatus.submitted.value, investment_amount=data.investment_completed.amount,
        fdi_utilised_amount=None if data.fdi_utilised is None else data.fdi_utilised.amount,
        physical_progress=data.physical_progress, problems=data.problems, next_month_plan=data.next_month_plan,
        expected_investment=[e.model_dump(mode="json") for e in sorted(data.expected_investment,
                                                                      key=lambda e: e.quarter)] or None,
        not_required=not await _required(session, project_id, data.year, data.month, rules),
        filed_by_key_id=principal.key_id, filed_by=principal.name, filed_on=today, due_on=due, late=today > due)
    if filed_at is not None:
        report.filed_at = filed_at
    if data.investment_split is not None:
        report.construction_amount = data.investment_split.construction.amount
        report.equipment_amount = data.investment_split.equipment.amount
        report.other_amount = data.investment_split.other.amount
    for funds in data.funds_arrived:
        setattr(report, FUNDS_COLUMNS[funds.source], funds.amount.amount)
    session.add(report)
    await session.flush()
    answer = await read(session, report)
    snapshot = answer.model_dump(mode="json", exclude={"investment_ytd", "investment_since_start", "counts"})
    await audit.record(session, principal, action="progress_report.file", resource_type="progress_report",
                       resource_id=answer.id, after=snapshot)
    await outbox.emit(session, "progress_report.submitted", {"progress_report": answer.model_dump(mode="json")})
    return answer


def _filtered(stmt: Select[Any], principal: Principal, *, project_id: int | None = None, year: int | None = None,
              month: int | None = None, status: Sequence[ReportStatus] = (), unit_id: Sequence[int | None] = (),
              leader_id: Sequence[int | None] = (), late: bool | None = None) -> Select[Any]:
    stmt = (stmt.join(Project, col(Project.id) == col(ProgressReport.project_id))
            .where(project_scope(principal), col(Project.archived_at).is_(None)))
    if project_id is not None:
        stmt = stmt.where(col(ProgressReport.project_id) == project_id)
    if year is not None:
        stmt = stmt.where(col(ProgressReport.year) == year)
    if month is not None:
        stmt = stmt.where(col(ProgressReport.month) == month)
    if status:
        stmt = stmt.where(col(ProgressReport.status).in_([s.value for s in status]))
    for refs, column in ((unit_id, col(Project.unit_id)), (leader_id, col(Project.leader_id))):
        if refs:
            ids = [r for r in refs if r is not None]
            stmt = stmt.where(or_(column.in_(ids), column.is_(None)) if None in refs else column.in_(ids))
    if late is not None:
        stmt = stmt.where(col(ProgressReport.late).is_(late))
    return stmt


async def listing(session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int,
                  **filters: Any) -> Page[ProgressReportRead]:
    """Report versions the principal may see, newest first (by id, descending)."""
    stmt = _derived(_filtered(select(ProgressReport), principal, **filters))
    key = SortKey("id", col(ProgressReport.id), pagination.decode_id(pagination.INT64_MAX))
    stmt = pagination.apply(stmt, key=key, descending=True, id_column=col(ProgressReport.id), cursor=cursor,
                            limit=limit, sort_label="progress_reports")
    rows = (await session.execute(stmt)).all()
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="progress_reports",
                                        key_of=lambda r: (r[0].id, r[0].id))
    return Page[ProgressReportRead](items=[to_read(r[0], r.ytd, r.since) for r in kept], next_cursor=next_cursor)


async def for_project(session: AsyncSession, principal: Principal, project_id: int, *, year: int | None,
                      cursor: str | None, limit: int) -> Page[ProgressReportRead]:
    await get_project(session, principal, project_id)
    return await listing(session, principal, cursor=cursor, limit=limit, project_id=project_id, year=year)


async def get_read(session: AsyncSession, principal: Principal, report_id: int) -> ProgressReportRead:
    report = await get(session, principal, report_id)
    return await read(session, report)


async def versions(session: AsyncSession, principal: Principal, report_id: int) -> list[ProgressReportRead]:
    """Every version of the report's month, first filed first."""
    report = await get(session, principal, report_id)
    stmt = _derived(select(ProgressReport).where(
        col(ProgressReport.project_id) == report.project_id, col(ProgressReport.year) == report.year,
        col(ProgressReport.month) == report.month).order_by(col(ProgressReport.revision)))
    return [to_read(r[0], r.ytd, r.since) for r in (await session.execute(stmt)).all()]
