"""The shapes of ``/stats/investment``: investment completed against the annual plans and
against time progress (时间进度), per group and in total."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from app.models.enums import FundsSource, InvestmentDimension
from app.models.stats import KNOWN_ON, MoneyTotal

GroupKey = str | int | None


class HealthCounts(BaseModel):
    """Projects by colour under the ``investment_behind`` rule; ``no_plan`` have no plan to measure."""

    green: int
    amber: int
    red: int
    no_plan: int


class FundsTotal(BaseModel):
    source: FundsSource
    amount: MoneyTotal


class InvestmentFigures(BaseModel):
    projects: int = Field(description="Projects with a plan for the year or an accepted report in it.")
    planned: MoneyTotal = Field(description="The sum of their annual plans (年度计划投资), CNY.")
    completed_ytd: MoneyTotal = Field(description="本年累计完成投资: accepted reports of the year up to the month.")
    completion_rate: Decimal | None = Field(description="completed_ytd / planned, to four places; null without "
                                            "a plan.")
    gap_points: Decimal | None = Field(description="(completion rate − time progress) × 100, in percentage "
                                       "points, to one place: negative is behind time progress.")
    health: HealthCounts
    funds_arrived_ytd: list[FundsTotal] = Field(description="本年累计到位资金 by source, CNY.")
    fdi_utilised_ytd: MoneyTotal = Field(description="实际使用外资 of the year up to the month, USD.")


class InvestmentGroup(InvestmentFigures):
    key: GroupKey = Field(description="The group's value of `group_by`; null for none (no leader, no "
                          "designation, in no target).")
    rank: int | None = Field(description="By completion rate, 1 the highest (ties share a rank); null for the "
                             "group of none and for groups without a plan.")
    rank_change: int | None = Field(description="Places gained since the previous month (negative: lost); "
                                    "null in January or when either month has no rank.")
    plans: str | None = Field(description="Lists the group's projects (their annual plans, or for targets and "
                              "stages the project list on the date).")


class InvestmentRules(BaseModel):
    amber_behind_points: int | None
    red_behind_points: int | None


class InvestmentStats(BaseModel):
    year: int
    month: int
    as_of: date = Field(description="Only versions accepted by this date count, as the bureau saw them then.")
    known_on: datetime | None = Field(default=None, description=KNOWN_ON)
    evaluated_on: date = Field(description="The month's last day, or as_of if earlier: the stage, target "
                               "membership, attributes and plan of each project are read on it.")
    time_progress: Decimal = Field(description="The share of the year elapsed at the month's end (month / 12), "
                                   "to four places.")
    group_by: InvestmentDimension | None
    rules: InvestmentRules
    total: InvestmentFigures
    groups: list[InvestmentGroup]
