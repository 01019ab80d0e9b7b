"""The shapes of the aggregates: pipeline, targets, leaders' dashboards, health.

Every number that counts projects comes with ``projects``: the path of a list of exactly
those projects, so any figure can be traced to the projects behind it.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.models.enums import (
    CohortBy,
    Designation,
    FundingSource,
    HealthRule,
    PipelineDimension,
    ProjectHealth,
    Stage,
    TargetProjectStatus,
)
from app.models.promotion import SigningEventRead
from app.models.target import TargetRead

KNOWN_ON = ("Only what had been recorded by this instant counts (the query's known_on, in UTC); null: everything "
            "recorded now.")


class MoneyTotal(BaseModel):
    """A sum of money in one currency: ``Money``'s shape, without an input's upper bound."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"amount": "3260000000.00", "currency": "USD"}]})
    amount: Decimal
    currency: str


def plain(value: Decimal) -> Decimal:
    """A rate without trailing zeros, never in exponent form: 7.1157000000 reads 7.1157."""
    return Decimal(format(value.normalize(), "f"))


class RateUsed(BaseModel):
    currency: str
    rate: Annotated[Decimal, AfterValidator(plain)] = Field(description="CNY for one unit of the currency.")
    valid_from: date | None = Field(description="The table rate's date; null for a target's plan rate.")
    source: Literal["exchange_rates", "plan_rate"]


class ConvertedTotal(BaseModel):
    """A total over several currencies in one currency. Each currency's total is converted
    at its rate and rounded to the cent (half up); ``amount`` is null, and
    ``missing_rates`` names the currencies, when a rate it needs is missing."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "amount": "21182400000.00", "currency": "CNY", "missing_rates": [],
        "rates": [{"currency": "USD", "rate": "6.4", "valid_from": None, "source": "plan_rate"}]}]})
    amount: Decimal | None
    currency: str
    rates: list[RateUsed] = Field(description="The rate of each currency converted (none for the same currency).")
    missing_rates: list[str] = Field(description="Currencies with no rate in force: the amount is then null.")


class ForeignInvestment(BaseModel):
    """Foreign investment of the foreign-funded projects among these: contracted (合同外资) and
    utilised (实际使用外资), in US dollars."""

    foreign_projects: int
    contracted: MoneyTotal
    utilised: MoneyTotal
    share_utilised: Decimal | None = Field(description="utilised / contracted, 4 places; null when none contracted.")


class Totals(BaseModel):
    count: int
    totals: list[MoneyTotal] = Field(description="Total investment per currency, as recorded.")
    total_cny: ConvertedTotal
    projects: str = Field(description="Lists these projects.")
    fdi: ForeignInvestment | None = Field(default=None, description="Contracted and utilised FDI of the foreign "
                                          "projects among these (on `/stats/pipeline`).")


# --- /stats/pipeline ------------------------------------------------------------------------

GroupValue = str | int | None


class PipelineGroup(Totals):
    key: dict[str, GroupValue] = Field(description="The group's value of each `group_by` dimension.")
    names: dict[str, str] = Field(default_factory=dict, description=(
        "The Chinese name of each zone or industry in `key` (`zone`, `industry`, `zone_root`, `industry_root`)."))


class FunnelStage(BaseModel):
    """One stage of the funnel, over the stage history known on ``as_of``."""

    stage: Stage
    entered: int = Field(description="Projects that entered the stage.")
    moved_on: int = Field(description="Of those, projects that advanced to the next stage.")
    terminated: int = Field(description="Projects terminated while in the stage.")
    in_stage: int = Field(description="Projects in the stage on `as_of`.")
    share_moved_on: Decimal | None = Field(description="moved_on / entered, 4 places; null when none entered.")
    median_days: Decimal | None = Field(description="Median days of the stays in the stage that ended.")
    median_days_in_stage_now: Decimal | None = Field(
        description="Median days the projects in the stage on `as_of` have been in it.")
    projects: str


class PipelineStats(BaseModel):
    as_of: date
    known_on: datetime | None = Field(default=None, description=KNOWN_ON)
    group_by: list[PipelineDimension]
    year_means: str = "the year the project entered the stage it is in on `as_of`"
    total: Totals
    groups: list[PipelineGroup]
    funnel: list[FunnelStage] | None = Field(description="Null when asked for with `funnel=false`.")


class PipelineProject(BaseModel):
    """A project as it stood on ``as_of``."""

    id: int
    name: str
    stage: Stage
    stage_entered_on: date
    funding_source: FundingSource
    zone: str
    industry: str
    leader_id: int | None
    unit_id: int | None
    total_investment: MoneyTotal


# --- /stats/targets ---------------------------------------------------------------------------


class TargetAmount(BaseModel):
    count: int
    totals: list[MoneyTotal] = Field(description="Total investment per currency, as recorded.")
    total: ConvertedTotal = Field(description="In the target's currency.")
    projects: str
    fdi: ForeignInvestment | None = Field(default=None, description="Contracted and utilised FDI of the foreign "
                                          "projects among these (the target's own figures, not by leader).")


class Counted(BaseModel):
    count: int
    projects: str


class LeaderProgress(BaseModel):
    leader_id: int | None
    leader_name: str | None
    members: TargetAmount
    done: TargetAmount
    late: Counted


class TargetProgress(BaseModel):
    target: TargetRead
    evaluated_on: date = Field(description="`as_of`, or the year's last day if that is earlier.")
    members: TargetAmount
    done: TargetAmount
    late: Counted
    dropped: Counted = Field(description="Members terminated by `evaluated_on`.")
    share_done: Decimal | None = Field(description="done.count / target_count, 4 places.")
    share_done_amount: Decimal | None = Field(description="done amount / target_amount, 4 places.")
    by_leader: list[LeaderProgress]


class TargetStats(BaseModel):
    year: int
    as_of: date
    known_on: datetime | None = Field(default=None, description=KNOWN_ON)
    done_means: str = ("the project is, on `evaluated_on`, at the goal stage or beyond (not terminated), "
                       "or holds the goal designation as granted (decided by then, for the target's year)")
    late_means: str
    criterion_members_mean: str = ("projects matching the criterion that exist on `evaluated_on` and had not "
                                   "reached the goal (nor been terminated) by the eve of the year")
    items: list[TargetProgress]


class TargetProject(BaseModel):
    """A member of a target on ``evaluated_on``, with its standing."""

    id: int
    name: str
    stage: Stage | None = Field(description="On `evaluated_on`; null if the project did not exist yet.")
    leader_id: int | None
    unit_id: int | None
    total_investment: MoneyTotal
    planned_sign_on: date | None
    planned_start_on: date | None
    planned_production_on: date | None
    status: TargetProjectStatus
    reasons: list["HealthReason"] = Field(
        default_factory=list, description="The monthly-scheduling rules (`investment_behind`, `report_missing`) "
        "that are not green for the project on `evaluated_on`, as `/stats/project-health` gives them; empty where "
        "they do not apply (no plan, no duty to report, not active). They do not make a project `late`.")


# --- health, dashboards -----------------------------------------------------------------------


class HealthRuleRead(BaseModel):
    rule: HealthRule
    measures: str
    unit: Literal["days", "points", "months"] = Field(
        default="days", description="What the thresholds count: days, percentage points behind time progress "
        "(investment_behind), or due months unfiled (report_missing).")
    amber_after_days: int | None = Field(description="The amber threshold, in `unit`.")
    red_after_days: int | None = Field(description="The red threshold, in `unit`.")
    max_days_by_stage: dict[str, int] | None = Field(
        default=None, description="no_follow_up: the days allowed per stage (amber past them, red past twice).")


class HealthReason(BaseModel):
    rule: HealthRule
    health: ProjectHealth = Field(description="The level this rule alone gives the project.")
    days: int | None = Field(description="The rule's measure on `as_of`, in days (null for the rules not "
                             "measured in days).")
    points: Decimal | None = Field(default=None, description="investment_behind: points behind time progress.")
    months: int | None = Field(default=None, description="report_missing: due months unfiled in a row.")
    inputs: dict[str, str | int | None]


class ProjectHealthRead(BaseModel):
    id: int
    name: str
    stage: Stage
    stage_entered_on: date
    leader_id: int | None
    unit_id: int | None
    health: ProjectHealth = Field(description="Its worst rule's level.")
    reasons: list[HealthReason] = Field(description="Every rule that is not green, and why.")


class ProjectHealthPage(BaseModel):
    as_of: date
    known_on: datetime | None = Field(default=None, description=KNOWN_ON)
    rules: list[HealthRuleRead]
    items: list[ProjectHealthRead]
    next_cursor: str | None


class StageSummary(Totals):
    stage: Stage


class HealthCounts(BaseModel):
    green: int
    amber: int
    red: int
    projects: str = Field(description="Lists the projects with their health and reasons.")


class TargetShare(BaseModel):
    """A target, counted over one leader's projects."""

    target_id: int
    title: str
    year: int
    goal_stage: Stage | None
    goal_designation: Designation | None
    members: TargetAmount
    done: TargetAmount
    late: Counted


class DashboardSection(BaseModel):
    """Open items of a feature joined to the dashboard (difficulties, supervision tasks)."""

    count: int
    overdue: int
    items: str = Field(description="Lists the items.")


class LeaderInvestment(BaseModel):
    """The leader's projects' investment against plan and time progress for the last due month
    (a leader's group of ``/stats/investment``)."""

    year: int
    month: int
    planned: MoneyTotal
    completed_ytd: MoneyTotal
    completion_rate: Decimal | None
    time_progress: Decimal
    gap_points: Decimal | None
    rank: int | None = Field(description="Among the leaders, by completion rate.")
    figures: str = Field(description="The investment statistics by leader this comes from.")


class LeaderBrief(BaseModel):
    id: int
    name: str
    title: str | None


class LeaderDashboard(BaseModel):
    leader: LeaderBrief
    as_of: date
    known_on: datetime | None = Field(default=None, description=KNOWN_ON)
    projects: Totals
    by_stage: list[StageSummary]
    late: Counted
    late_means: str
    health: HealthCounts
    attention: list[ProjectHealthRead] = Field(description="Red, then amber projects (at most `attention_limit`).")
    rules: list[HealthRuleRead]
    targets: list[TargetShare] = Field(description="The year's targets the leader's projects count toward.")
    open_difficulties: DashboardSection | None = Field(
        default=None, description="Null until the difficulties feature is installed.")
    overdue_tasks: DashboardSection | None = Field(
        default=None, description="Null until the supervision feature is installed.")
    overdue_follow_ups: DashboardSection | None = Field(
        default=None, description="Follow-up entries of the leader's projects (or where they were present) whose "
        "next contact has passed on `as_of` with no newer entry (`count` = `overdue`).")
    investment: LeaderInvestment | None = Field(
        default=None, description="Null when none of the leader's projects has a plan or report for the year.")
    missing_reports: Counted | None = Field(
        default=None, description="The leader's projects missing a due monthly report (rule report_missing).")


class LeaderSummary(BaseModel):
    leader_id: int | None
    leader_name: str | None
    projects: Totals
    by_stage: dict[Stage, int]
    late: Counted
    health: HealthCounts
    targets: list[TargetShare] = Field(description="The year's targets the leader's projects count toward.")
    dashboard: str | None
    investment: LeaderInvestment | None = None
    missing_reports: Counted | None = None


class LeaderStats(BaseModel):
    as_of: date
    known_on: datetime | None = Field(default=None, description=KNOWN_ON)
    rules: list[HealthRuleRead]
    late_means: str
    items: list[LeaderSummary]


# --- /stats/cohorts and /stats/signing-events/{id} ------------------------------------------


class CohortStage(BaseModel):
    """How many of a cohort stood at a stage (or beyond it) on `as_of`."""

    count: int
    share: Decimal | None = Field(description="count / signed count, 4 places (落地率, 开工率, 投产率).")
    projects: str = Field(description="Lists these projects as they are now.")


class FundsInPlace(BaseModel):
    """资金到位率: the funds arrived (本月到位资金, every source, in the accepted monthly reports)
    against the amount agreed (the projects' total investment, converted to CNY)."""

    arrived: MoneyTotal = Field(description="CNY: the report versions counting on `as_of`, every month begun by then.")
    agreed: ConvertedTotal = Field(description="The signed projects' total investment in CNY (`signed.total_cny`).")
    share_arrived: Decimal | None = Field(description="arrived / agreed, 4 places; null when agreed is null (a "
                                          "missing rate) or zero.")


class Cohort(BaseModel):
    """Projects signed in one year, or at one signing event, and how far they have come."""

    key: dict[str, GroupValue] = Field(description="`signed_year` or `signing_event_id`.")
    name: str | None = Field(default=None, description="The signing event's name.")
    signed: Totals = Field(description="Signed: count and total investment.")
    registered: CohortStage = Field(description="Registered or landed, or beyond (落地率).")
    under_construction: CohortStage = Field(description="Under construction or beyond (开工率).")
    in_production: CohortStage = Field(description="In production (投产率).")
    terminated: CohortStage
    funds: FundsInPlace = Field(description="Funds arrived against the amount agreed (资金到位率).")
    fdi: ForeignInvestment = Field(description="Utilised against contracted FDI of the cohort's foreign projects.")


class CohortStats(BaseModel):
    as_of: date
    by: CohortBy
    means: str
    items: list[Cohort]


class SigningEventStats(BaseModel):
    event: SigningEventRead
    as_of: date
    means: str
    figures: Cohort
