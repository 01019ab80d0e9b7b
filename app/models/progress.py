"""Monthly scheduling (项目调度): each project's annual plan, and its monthly reports (月报).

A monthly report is kept as versions: every filing of a month is a row of its own, and
nothing is overwritten. A version counts from the day it is accepted (``accepted_on``)
until the day a later version of the same month is accepted (``superseded_on``), so the
figures on any date D are those of the versions with ``accepted_on <= D`` and
(``superseded_on`` null or after D), the way a project's stage on D is read. The instants
of both (``accepted_at``, ``superseded_at``) say what had been recorded by an instant
(``known_on``). A plan's planned investment is kept as versions too (``AnnualPlanVersion``).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import BigInteger, Boolean, Column, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import JSONDocument, utcnow
from app.models.enums import FundsSource, ReportStatus, ReviewDecision
from app.models.fields import BusinessDate, Money, Note, Reason, reject_null
from app.models.types import Amount, UTCDateTime

Year = Annotated[int, Field(ge=2000, le=2100)]
Month = Annotated[int, Field(ge=1, le=12)]
ProgressText = Annotated[Note, Field(max_length=2000)]

_plan_version = Column("version", Integer, nullable=False)  # the optimistic-lock counter behind ETags
_report_version = Column("version", Integer, nullable=False)


def _cny(name: str, money: Money | None) -> None:
    if money is not None and money.currency != "CNY":
        raise ValueError(f"{name}: must be in CNY, not {money.currency}")


# --- annual plans -----------------------------------------------------------------------------


class AnnualPlan(SQLModel, table=True):
    """A project's plan for one year (年度计划): investment to complete and the progress to reach."""

    __tablename__ = "annual_plans"
    __table_args__ = (
        UniqueConstraint("project_id", "year", name="uq_annual_plans_project_id_year"),
        Index("ix_annual_plans_year_project_id", "year", "project_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(ForeignKey("projects.id"), nullable=False))
    year: int = Field(sa_column=Column(Integer, nullable=False))
    planned_amount: Decimal = Field(sa_column=Column(Amount, nullable=False))
    planned_currency: str = Field(sa_column=Column(String(3), nullable=False))
    progress_goal: str | None = Field(default=None, sa_column=Column(Text))
    # The quarterly split (in the plan's currency), all four or none.
    q1_amount: Decimal | None = Field(default=None, sa_column=Column(Amount))
    q2_amount: Decimal | None = Field(default=None, sa_column=Column(Amount))
    q3_amount: Decimal | None = Field(default=None, sa_column=Column(Amount))
    q4_amount: Decimal | None = Field(default=None, sa_column=Column(Amount))
    version: int = Field(default=1, sa_column=_plan_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))

    __mapper_args__ = {"version_id_col": _plan_version}


class AnnualPlanVersion(SQLModel, table=True):
    """A plan's planned investment from ``valid_from`` until ``valid_to`` (business dates; null:
    since ever, and still), by what was recorded from ``recorded_at`` until ``superseded_at``
    (instants; null: still believed), as ``ProjectVersion`` keeps a project's attributes
    (``app.services.projects.history``): a plan revised in July still counts its first amount
    on a date in June, and a bulletin made before the revision can be made again."""

    __tablename__ = "annual_plan_versions"
    __table_args__ = (Index("ix_annual_plan_versions_plan_id_valid_from", "plan_id", "valid_from"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    plan_id: int = Field(sa_column=Column(ForeignKey("annual_plans.id"), nullable=False))
    valid_from: date | None = Field(default=None, sa_column=Column(Date))
    valid_to: date | None = Field(default=None, sa_column=Column(Date))
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    superseded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    planned_amount: Decimal = Field(sa_column=Column(Amount, nullable=False))
    planned_currency: str = Field(sa_column=Column(String(3), nullable=False))


# The plan's own columns that ``AnnualPlanVersion`` keeps the history of.
PLAN_HISTORISED = ("planned_amount", "planned_currency")


def _quarters_add_up(planned: Money | None, quarterly: list[Money] | None) -> None:
    if quarterly is None:
        return
    if len(quarterly) != 4:
        raise ValueError("quarterly: four amounts, one per quarter")
    for money in quarterly:
        _cny("quarterly", money)
    if planned is not None and sum(m.amount for m in quarterly) != planned.amount:
        raise ValueError(f"quarterly: the four quarters must add up to planned_investment ({planned.amount})")


class AnnualPlanCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    year: Year
    planned_investment: Money = Field(description="Investment to complete in the year (年度计划投资), in CNY.")
    progress_goal: ProgressText | None = Field(default=None, description="形象进度目标: the progress to reach.")
    quarterly: list[Money] | None = Field(default=None, min_length=4, max_length=4,
                                          description="The plan split by quarter (CNY), adding up to it.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        _cny("planned_investment", self.planned_investment)
        _quarters_add_up(self.planned_investment, self.quarterly)
        return self


class AnnualPlanUpdate(SQLModel):
    """A partial update; the split, present or kept, must still add up to the plan."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    planned_investment: Money | None = None
    progress_goal: ProgressText | None = None
    quarterly: list[Money] | None = Field(default=None, min_length=4, max_length=4)
    effective_on: BusinessDate | None = Field(default=None, description=(
        "The business date a new planned_investment takes effect on (a revision of the plan, 计划调整): today "
        "when omitted, never in the future, and not before a later revision to another amount (409 "
        "`later_change`). `/stats/investment` `as_of` an earlier date keeps the amount before it "
        "(docs/STATS.md)."))

    _not_null = reject_null("planned_investment", "effective_on")

    @model_validator(mode="after")
    def _check(self) -> Self:
        _cny("planned_investment", self.planned_investment)
        _quarters_add_up(self.planned_investment, self.quarterly)
        return self


class AnnualPlanRead(SQLModel):
    id: int
    project_id: int
    year: int
    planned_investment: Money
    progress_goal: str | None
    quarterly: list[Money] | None
    version: int
    created_at: datetime
    updated_at: datetime


# --- monthly reports ----------------------------------------------------------------------------

FUNDS_COLUMNS: dict[FundsSource, str] = {source: f"funds_{source.value}" for source in FundsSource}


class ProgressReport(SQLModel, table=True):
    """One version of a project's monthly report (月报); append-only but for its review."""

    __tablename__ = "progress_reports"
    __table_args__ = (
        UniqueConstraint("project_id", "year", "month", "revision", name="uq_progress_reports_month_revision"),
        # /stats/investment: the versions of a year's months that count on a date, read
        # from the index alone for the month range and the acceptance interval.
        Index("ix_progress_reports_year_month_accepted", "year", "month", "accepted_on", "superseded_on",
              "project_id"),
        Index("ix_progress_reports_project_id_year_month", "project_id", "year", "month"),
        # /stats/investment: a year's reports in project order with every column it filters on
        # and sums, so that PostgreSQL aggregates per project from the index alone, streaming.
        Index("ix_progress_reports_year_project_id_month", "year", "project_id", "month",
              postgresql_include=["accepted_on", "superseded_on", "accepted_at", "superseded_at",
                                  "investment_amount", "funds_own_funds",
                                  "funds_bank_loans", "funds_government_funds", "funds_special_bonds",
                                  "funds_foreign_capital", "funds_other", "fdi_utilised_amount"]),
        Index("ix_progress_reports_status_id", "status", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    project_id: int = Field(sa_column=Column(ForeignKey("projects.id"), nullable=False))
    year: int = Field(sa_column=Column(Integer, nullable=False))
    month: int = Field(sa_column=Column(Integer, nullable=False))
    revision: int = Field(sa_column=Column(Integer, nullable=False))  # 1, 2, … per month
    status: str = Field(sa_column=Column(String(16), nullable=False))
    investment_amount: Decimal = Field(sa_column=Column(Amount, nullable=False))  # CNY
    construction_amount: Decimal | None = Field(default=None, sa_column=Column(Amount))
    equipment_amount: Decimal | None = Field(default=None, sa_column=Column(Amount))
    other_amount: Decimal | None = Field(default=None, sa_column=Column(Amount))
    funds_own_funds: Decimal | None = Field(default=None, sa_column=Column(Amount))
    funds_bank_loans: Decimal | None = Field(default=None, sa_column=Column(Amount))
    funds_government_funds: Decimal | None = Field(default=None, sa_column=Column(Amount))
    funds_special_bonds: Decimal | None = Field(default=None, sa_column=Column(Amount))
    funds_foreign_capital: Decimal | None = Field(default=None, sa_column=Column(Amount))
    funds_other: Decimal | None = Field(default=None, sa_column=Column(Amount))
    fdi_utilised_amount: Decimal | None = Field(default=None, sa_column=Column(Amount))  # USD
    physical_progress: str | None = Field(default=None, sa_column=Column(Text))
    problems: str | None = Field(default=None, sa_column=Column(Text))
    next_month_plan: str | None = Field(default=None, sa_column=Column(Text))
    expected_investment: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSONDocument))
    not_required: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    filed_by_key_id: int | None = Field(default=None, sa_column=Column(ForeignKey("api_keys.id")))
    filed_by: str = Field(sa_column=Column(String(100), nullable=False))
    filed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    filed_on: date = Field(sa_column=Column(Date, nullable=False))  # the city's calendar day of filed_at
    due_on: date = Field(sa_column=Column(Date, nullable=False))
    late: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    reviewed_by_key_id: int | None = Field(default=None, sa_column=Column(ForeignKey("api_keys.id")))
    reviewed_by: str | None = Field(default=None, sa_column=Column(String(100)))
    reviewed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    review_reason: str | None = Field(default=None, sa_column=Column(Text))
    accepted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    accepted_on: date | None = Field(default=None, sa_column=Column(Date))
    superseded_on: date | None = Field(default=None, sa_column=Column(Date))
    superseded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))  # the next's accepted_at
    version: int = Field(default=1, sa_column=_report_version)

    __mapper_args__ = {"version_id_col": _report_version}


class InvestmentSplit(BaseModel):
    """本月完成投资 by kind: 建筑安装工程, 设备工器具购置, 其他 (CNY), adding up to it."""

    model_config = ConfigDict(extra="forbid")
    construction: Money
    equipment: Money
    other: Money


class FundsArrived(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: FundsSource
    amount: Money


class ExpectedInvestment(BaseModel):
    """预计第N季度完成投资: what the project expects to complete in a remaining quarter."""

    model_config = ConfigDict(extra="forbid")
    quarter: Annotated[int, Field(ge=1, le=4)]
    amount: Money


class ProgressReportCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    year: Year
    month: Month
    investment_completed: Money = Field(description="本月完成投资: investment completed in the month, CNY.")
    investment_split: InvestmentSplit | None = None
    funds_arrived: list[FundsArrived] = Field(default_factory=list, max_length=len(FundsSource),
                                              description="本月到位资金 by source (CNY), each source once.")
    fdi_utilised: Money | None = Field(default=None, description="实际使用外资 (USD); foreign projects only.")
    physical_progress: ProgressText | None = Field(default=None, description="形象进度")
    problems: ProgressText | None = Field(default=None, description="存在问题")
    next_month_plan: ProgressText | None = Field(default=None, description="下月计划")
    expected_investment: list[ExpectedInvestment] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _check(self) -> Self:
        _cny("investment_completed", self.investment_completed)
        if self.investment_split is not None:
            parts = self.investment_split
            for name in ("construction", "equipment", "other"):
                _cny(f"investment_split.{name}", getattr(parts, name))
            if parts.construction.amount + parts.equipment.amount + parts.other.amount \
                    != self.investment_completed.amount:
                raise ValueError("investment_split: construction, equipment and other must add up to "
                                 f"investment_completed ({self.investment_completed.amount})")
        if len({f.source for f in self.funds_arrived}) != len(self.funds_arrived):
            raise ValueError("funds_arrived: each source may appear once")
        for funds in self.funds_arrived:
            _cny("funds_arrived", funds.amount)
        if self.fdi_utilised is not None and self.fdi_utilised.currency != "USD":
            raise ValueError(f"fdi_utilised: must be in USD, not {self.fdi_utilised.currency}")
        quarters = [e.quarter for e in self.expected_investment]
        if len(set(quarters)) != len(quarters):
            raise ValueError("expected_investment: each quarter may appear once")
        current = (self.month - 1) // 3 + 1
        if any(q < current for q in quarters):
            raise ValueError(f"expected_investment: only the remaining quarters ({current} to 4)")
        for e in self.expected_investment:
            _cny("expected_investment", e.amount)
        return self


class ReviewCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    decision: ReviewDecision
    reason: Reason | None = Field(default=None, description="Why it is returned (required to return).")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.decision == ReviewDecision.return_ and not self.reason:
            raise ValueError("reason: a returned report says why")
        return self


class ProgressReportRead(SQLModel):
    id: int
    project_id: int
    year: int
    month: int
    revision: int = Field(description="1 for the month's first filing, 2 for the next, …")
    status: ReportStatus
    counts: bool = Field(description="This version is the month's figure today (accepted, not superseded).")
    investment_completed: Money
    investment_split: InvestmentSplit | None
    funds_arrived: list[FundsArrived]
    fdi_utilised: Money | None
    physical_progress: str | None
    problems: str | None
    next_month_plan: str | None
    expected_investment: list[ExpectedInvestment]
    investment_ytd: Money = Field(description="本年累计: the year's accepted reports up to this month.")
    investment_since_start: Money = Field(description="开工至今累计: every accepted report up to this month.")
    not_required: bool = Field(description="The project need not report this month (filed all the same).")
    filed_by: str
    filed_by_key_id: int | None
    filed_at: datetime
    filed_on: date
    due_on: date
    late: bool = Field(description="Filed after due_on.")
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_reason: str | None
    accepted_at: datetime | None
    accepted_on: date | None
    superseded_on: date | None
    superseded_at: datetime | None = Field(description="When a later version of the month was accepted (the "
                                           "instant of superseded_on): known_on before it still counts this one.")
    version: int


class MissingProject(BaseModel):
    project_id: int
    name: str
    filed_on: date | None = Field(description="When the month was first filed; null if never.")
    late: bool = Field(description="Filed after the due day, or not filed and the due day has passed.")


class MissingByUnit(BaseModel):
    unit_id: int | None
    unit_name: str | None
    required: int = Field(description="Projects of the unit that must report the month.")
    missing: list[MissingProject] = Field(description="Must report and have filed nothing.")
    late: list[MissingProject] = Field(description="Filed, but first after the due day.")


class MissingReports(BaseModel):
    year: int
    month: int
    due_on: date
    as_of: date
    required_means: str
    items: list[MissingByUnit]

