"""The shapes of ``/stats/forecast``: the expected end of the year, for the investment of
the projects with an annual plan and for the year's targets, each figure with its method."""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from app.models.enums import Designation, InvestmentDimension, Stage
from app.models.stats import KNOWN_ON, MoneyTotal

GroupKey = str | int | None
ProjectMethod = Literal["reported_quarters", "run_rate"]


class ProjectForecast(BaseModel):
    project_id: int
    name: str
    leader_id: int | None
    unit_id: int | None
    planned: MoneyTotal = Field(description="The year's annual plan (年度计划投资), CNY.")
    completed_ytd: MoneyTotal = Field(description="Accepted reports of the year up to `reported_month`.")
    by_reported_quarters: MoneyTotal = Field(description=(
        "completed_ytd plus what the project's latest counted report expects for the rest of the year: "
        "each later quarter's expected_investment, and of the current quarter what its expected amount "
        "leaves after the months already reported (never below zero)."))
    by_run_rate: MoneyTotal = Field(description="completed_ytd / reported_month × 12, to the cent.")
    expected_investment: MoneyTotal = Field(description="The larger of the two (reported quarters on a tie).")
    method: ProjectMethod = Field(description="Which of the two `expected_investment` is.")
    expected_rate: Decimal | None = Field(description="expected_investment / planned, 4 places; null for a zero plan.")
    expected_to_miss: bool = Field(description="expected_investment is below planned × (1 − tolerance).")
    inputs: dict[str, str | int | None] = Field(description=(
        "The report month the quarters come from, the quarters' expected amounts, the months reported."))


class InvestmentForecast(BaseModel):
    projects: int = Field(description="Projects with an annual plan for the year.")
    planned: MoneyTotal
    completed_ytd: MoneyTotal
    expected_investment: MoneyTotal = Field(description=(
        "The sum of the projects' expected_investment, computed exactly and rounded to the cent once."))
    expected_rate: Decimal | None = Field(description="expected_investment / planned, 4 places.")
    expected_to_miss: bool = Field(description="expected_investment is below planned × (1 − tolerance).")
    projects_expected_to_miss: int
    by_method: dict[str, int] = Field(description="Projects whose expected_investment is each method's.")


class InvestmentForecastGroup(InvestmentForecast):
    key: GroupKey = Field(description="The group's value of `group_by` (as `/stats/investment`); null for none.")


class StageMedian(BaseModel):
    stage: Stage
    median_days: Decimal | None = Field(description="Median days of the stays in the stage that ended by "
                                        "`evaluated_on` (the funnel's median_days); null without any.")
    stays: int


class TargetForecast(BaseModel):
    target_id: int
    title: str
    goal_stage: Stage | None
    goal_designation: Designation | None
    target_count: int
    members: int
    done: int = Field(description="As `/stats/targets` on `evaluated_on`.")
    late: int
    expected_more: int = Field(description=(
        "Members not done nor dropped whose planned date for the goal falls after `evaluated_on` and within "
        "the year, and whose remaining stages fit in the days left by the stages' median days."))
    expected_done: int = Field(description="done + expected_more.")
    expected_share: Decimal | None = Field(description="expected_done / target_count, 4 places.")
    expected_to_miss: bool = Field(description="expected_done is below target_count × (1 − tolerance).")
    method: str
    inputs: dict[str, str | int | None]
    projects: str = Field(description="Lists the target's members with their standing.")


class ForecastMethods(BaseModel):
    investment: str
    targets: str


class ForecastStats(BaseModel):
    year: int
    as_of: date
    known_on: datetime | None = Field(default=None, description=KNOWN_ON)
    reported_month: int = Field(description=(
        "The last month of the year whose report was due before `as_of` (12 once the year's reports are all "
        "due): the year to date runs to it."))
    evaluated_on: date = Field(description="`as_of`, or the year's last day if earlier: stages and members are "
                               "read on it.")
    days_left: int = Field(description="Days from `evaluated_on` to the year's last day.")
    miss_tolerance_percent: int = Field(description="FORECAST_MISS_TOLERANCE_PERCENT: how far below the plan "
                                        "(or the target count) a forecast may fall before it is expected to miss.")
    group_by: InvestmentDimension | None
    methods: ForecastMethods
    total: InvestmentForecast
    groups: list[InvestmentForecastGroup]
    projects: list[ProjectForecast] = Field(description=(
        "Per project with a plan (all with `projects=all`; by default those expected to miss), the lowest "
        "expected rate first."))
    stage_medians: list[StageMedian]
    targets: list[TargetForecast]
