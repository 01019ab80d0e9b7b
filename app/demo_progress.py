"""The demo's monthly scheduling (项目调度): the 2022 annual plans and monthly reports of the
projects under construction on ``DEMO_LAST_DATE`` (2022-11-30).

Every one of them has a 2022 plan (a share of its total investment, in CNY; a third split
by quarter) and a report for each month of 2022 from the month it was under construction
by (January for those already building) to October, the last month due on 2022-11-30
(November's is due on 5 December). Each project has a pace, so some run ahead of time
progress and most a little behind; about one report in ten was filed after its due day,
one in twenty-five was returned and corrected, a few of October's await review, and
some projects stopped reporting in September or October. Rows are inserted in bulk, each
with its audit event: the demo loads in the suite's tests.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from random import Random
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import AnnualPlan, AnnualPlanVersion, AuditEvent, ProgressReport, Project, Unit, utcnow
from app.models.enums import FundingSource, ReportStatus, Stage
from app.services.progress.rules import due_on, month_end

YEAR = 2022
LAST_MONTH = 10  # the last month due on 2022-11-30
DUE_DAY = 5
DEMO_SEED = 2022_17
# Non-CNY totals become CNY plans at about the year's rate.
PLAN_RATES = {"CNY": Decimal(1), "USD": Decimal("6.7"), "JPY": Decimal("0.051"), "EUR": Decimal("7.1"),
              "KRW": Decimal("0.0052"), "HKD": Decimal("0.86")}
WAN = Decimal(10_000)
CENT = Decimal("0.01")
PROGRESS = ["土方开挖", "基础施工", "主体结构施工", "主体结构封顶", "二次结构及装修", "设备安装调试", "试生产准备"]
PROBLEMS = [None, None, None, "用工紧张", "原材料价格上涨", "配套电力接入滞后", "融资到位慢", "施工许可办理中"]


@dataclass
class ProgressSummary:
    annual_plans: int
    progress_reports: int


def table(model: Any) -> Table:
    found: Table = model.__table__
    return found


def _wan(amount: Decimal) -> Decimal:
    """Whole 万元, as plans and reports are written."""
    return (amount / WAN).quantize(Decimal(1), rounding=ROUND_HALF_UP) * WAN


def _at(day: date) -> datetime:
    return datetime.combine(day, time(9, 30), tzinfo=UTC) - timedelta(hours=8)  # 09:30 in the city


async def seed_progress(session: AsyncSession, *, actor_name: str, last_date: date) -> ProgressSummary:
    """Plans and reports for the projects under construction (the caller commits)."""
    rng = Random(DEMO_SEED)
    rows = (await session.execute(
        select(col(Project.id), col(Project.stage_entered_on), col(Project.total_investment_amount),
               col(Project.total_investment_currency), col(Project.funding_source), col(Unit.name))
        .join(Unit, col(Unit.id) == col(Project.unit_id))
        .where(col(Project.stage) == Stage.under_construction.value).order_by(col(Project.id)))).all()
    now = utcnow()
    plans: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    silent_from = {row.id: rng.choice([9, 10]) for row in rows if rng.random() < 0.05}
    for row in rows:
        first = 1 if row.stage_entered_on.year < YEAR else row.stage_entered_on.month
        total_cny = row.total_investment_amount * PLAN_RATES.get(row.total_investment_currency, Decimal(1))
        # A project that started building during the year plans for the months left.
        planned = max(_wan(total_cny * Decimal(rng.randint(15, 40)) / 100 * (13 - first) / 12), WAN * 100)
        plan: dict[str, Any] = {"project_id": row.id, "year": YEAR, "planned_amount": planned,
                                "planned_currency": "CNY", "progress_goal": rng.choice(PROGRESS[2:]),
                                "version": 1, "created_at": now, "updated_at": now}
        shares = [Decimal(s) for s in rng.choice([(20, 25, 25, 30), (15, 25, 30, 30), (25, 25, 25, 25)])]
        quarters = [_wan(planned * s / 100) for s in shares[:3]]
        split = rng.random() < 0.33
        for q, amount in enumerate([*quarters, planned - sum(quarters)], start=1):
            plan[f"q{q}_amount"] = amount if split else None
        plans.append(plan)
        # A pace of 0.65 .. 1.2 of the plan's monthly share.
        pace = Decimal(rng.choice([65, 80, 90, 95, 100, 100, 100, 105, 105, 110, 115, 120])) / 100
        foreign = row.funding_source == FundingSource.foreign.value
        for month in range(first, LAST_MONTH + 1):
            if month >= silent_from.get(row.id, 13) or month_end(YEAR, month) < row.stage_entered_on:
                continue
            # A third of the projects expect, in their last report, the fourth quarter the plan gives it,
            # so that the forecast shows the reported quarters as well as the run rate.
            expects = ([{"quarter": 4, "amount": {"amount": f"{_wan(planned * shares[3] / 100):.2f}",
                                                  "currency": "CNY"}}]
                       if month == LAST_MONTH and row.id % 3 == 0 else None)
            reports += _versions(rng, row, month, planned / (13 - first), pace, foreign, actor_name, last_date,
                                 expects)
    # Core inserts on the session's connection: the ORM's bulk path costs ten times more here.
    connection = await session.connection()
    # Reports filed through the service before (the foreign projects' FDI) have their audit events.
    before = (await session.execute(select(func.coalesce(func.max(col(ProgressReport.id)), 0)))).scalar_one()
    plans_before = (await session.execute(select(func.coalesce(func.max(col(AnnualPlan.id)), 0)))).scalar_one()
    await connection.execute(insert(table(AnnualPlan)), plans)
    # Each new plan's first version, as plans.create records it.
    await connection.execute(insert(table(AnnualPlanVersion)).from_select(
        ["plan_id", "recorded_at", "planned_amount", "planned_currency"],
        select(col(AnnualPlan.id), col(AnnualPlan.created_at), col(AnnualPlan.planned_amount),
               col(AnnualPlan.planned_currency)).where(col(AnnualPlan.id) > plans_before)))
    await connection.execute(insert(table(ProgressReport)), reports)
    ids = (await session.execute(select(col(ProgressReport.id), col(ProgressReport.project_id),
                                        col(ProgressReport.year), col(ProgressReport.month),
                                        col(ProgressReport.revision), col(ProgressReport.status))
                                 .where(col(ProgressReport.id) > before).order_by(col(ProgressReport.id)))).all()
    events = [{"actor_key_id": None, "actor_name": actor_name, "action": "progress_report.file",
               "resource_type": "progress_report", "resource_id": str(r.id), "before": None,
               "after": {"project_id": r.project_id, "year": r.year, "month": r.month, "revision": r.revision,
                         "status": r.status}, "request_id": None, "occurred_at": now} for r in ids]
    await connection.execute(insert(table(AuditEvent)), events)
    return ProgressSummary(annual_plans=len(plans), progress_reports=len(reports))


def _versions(rng: Random, row: Any, month: int, monthly: Decimal, pace: Decimal, foreign: bool,
              actor_name: str, last_date: date, expects: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One month's filings: late sometimes, returned and corrected sometimes."""
    due = due_on(YEAR, month, DUE_DAY)
    wobble = Decimal(rng.randint(70, 130)) / 100
    amount = _wan(monthly * pace * wobble)
    filed = due - timedelta(days=rng.randint(0, 4)) if rng.random() > 0.1 else due + timedelta(days=rng.randint(1, 12))
    returned = rng.random() < 0.04
    out = []
    revision = 1
    while True:
        first_try = returned and revision == 1
        reviewed = min(filed + timedelta(days=rng.randint(1, 3)), last_date)
        waits = month == LAST_MONTH and reviewed >= last_date - timedelta(days=20) and rng.random() < 0.3
        status = ReportStatus.returned if first_try else ReportStatus.submitted if waits else ReportStatus.accepted
        # The first try of a returned report overstated the month.
        value = _wan(amount * Decimal("1.4")) if first_try else amount
        own = _wan(value * Decimal(rng.randint(30, 60)) / 100)
        loans = _wan(value * Decimal(rng.randint(20, 40)) / 100)
        out.append({
            "project_id": row.id, "year": YEAR, "month": month, "revision": revision, "status": status.value,
            "investment_amount": value, "construction_amount": None, "equipment_amount": None, "other_amount": None,
            "funds_own_funds": own, "funds_bank_loans": loans,
            "funds_government_funds": _wan(value / 10) if rng.random() < 0.3 else None,
            "funds_special_bonds": _wan(value / 8) if rng.random() < 0.1 else None,
            "funds_foreign_capital": _wan(value / 3) if foreign else None, "funds_other": None,
            "fdi_utilised_amount": (value / PLAN_RATES["USD"] * Decimal("0.5")).quantize(CENT) if foreign else None,
            "physical_progress": PROGRESS[min(month * len(PROGRESS) // 12, len(PROGRESS) - 1)],
            "problems": rng.choice(PROBLEMS), "next_month_plan": "按计划推进", "expected_investment": expects,
            "not_required": False, "filed_by_key_id": None, "filed_by": f"{row.name}填报员", "filed_at": _at(filed),
            "filed_on": filed, "due_on": due, "late": filed > due, "reviewed_by_key_id": None,
            "reviewed_by": None if waits else actor_name, "reviewed_at": None if waits else _at(reviewed),
            "review_reason": "本月完成投资与形象进度不符，请核实后重报" if first_try else None,
            "accepted_at": _at(reviewed) if status == ReportStatus.accepted else None,
            "accepted_on": reviewed if status == ReportStatus.accepted else None, "superseded_on": None,
            "version": 1})
        if not first_try:
            return out
        revision += 1
        filed = min(reviewed + timedelta(days=rng.randint(1, 4)), last_date)
