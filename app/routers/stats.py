"""``/stats``: the pipeline, the year's targets and the leaders, on any date; and each
leader's dashboard at ``/leaders/{id}/dashboard``."""

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from app.clock import today
from app.config import Settings
from app.deps import Allowed, ReadSession, settings_of
from app.errors import InvalidInput
from app.models.enums import FundingSource, InvestmentDimension, PipelineDimension, ProjectHealth, Stage
from app.models.fields import ISO_INSTANT, BusinessDate, CountryCode
from app.models.forecast import ForecastStats
from app.models.investment import InvestmentStats
from app.models.reference import ReferenceKey
from app.models.stats import (
    LeaderDashboard,
    LeaderStats,
    PipelineProject,
    PipelineStats,
    ProjectHealthPage,
    TargetStats,
)
from app.routers.common import Cursor, Id, Limit, make_router, problems
from app.services.access.permissions import Action, Principal
from app.services.common.pagination import Page
from app.services.ledger import spreadsheets
from app.services.stats import bulletin, dashboards, health, target_progress, timeline
from app.services.stats import forecast as forecast_stats
from app.services.stats import investment as investment_stats
from app.services.stats import pipeline as pipeline_stats

router = make_router("/api/v1/stats", "stats")
leaders = make_router("/api/v1/leaders", "stats")
reports = make_router("/api/v1/reports", "stats")

AppSettings = Annotated[Settings, Depends(settings_of)]
AsOf = Annotated[BusinessDate | None, Query(description="The date to report on; today when omitted.")]
LeaderIds = Annotated[list[str], Query(max_length=50, description="Leader ids; `none` for no leader.")]
UnitIds = Annotated[list[str], Query(max_length=50, description="Unit ids; `none` for no unit.")]
KNOWN_ON = ("Only what had been recorded by this instant (ISO 8601; a date is its end in the city's time zone, a "
            "time without an offset is the city's): a figure given then is given again exactly, the corrections "
            "recorded since left out. Now when omitted (docs/STATS.md, \"History\").")


async def known_on_query(settings: AppSettings, known_on: Annotated[str | None, Query(
        max_length=40, pattern=f"^{ISO_INSTANT.pattern}$", description=KNOWN_ON,
        examples=["2023-01-31", "2023-01-31T18:00:00+08:00"])] = None) -> datetime | None:
    if known_on is None:
        return None
    try:
        return timeline.known_by(known_on, settings.timezone)
    except (ValueError, OverflowError):
        raise InvalidInput.field("known_on", "must be an ISO 8601 date or date and time of years 1–9998") from None


KnownOn = Annotated[datetime | None, Depends(known_on_query)]
GroupBy = Annotated[list[str], Query(max_length=7, description=(
    "Dimensions to group by, repeated or comma-separated: "
    + ", ".join(d.value for d in PipelineDimension) + "."))]
_ID = re.compile(r"[0-9]{1,10}")


def ids_or_none(values: list[str], field: str = "leader_id") -> list[int | None]:
    """Ids from the query, ``none`` standing for "no one"."""
    out: list[int | None] = []
    for value in values:
        if value == pipeline_stats.NONE:
            out.append(None)
        elif _ID.fullmatch(value) and 1 <= int(value) <= 2**31 - 1:
            out.append(int(value))
        else:
            raise InvalidInput.field(field, f"must be an id or {pipeline_stats.NONE}, not {value[:20]!r}")
    return out


def dimensions(values: list[str]) -> list[PipelineDimension]:
    out: list[PipelineDimension] = []
    for part in (p.strip() for v in values for p in v.split(",")):
        if part not in PipelineDimension.__members__:
            raise InvalidInput.field("group_by", "each must be one of "
                                     + ", ".join(d.value for d in PipelineDimension))
        if PipelineDimension(part) in out:
            raise InvalidInput.field("group_by", f"{part} is named twice")
        out.append(PipelineDimension(part))
    return out


async def pipeline_filters(
    stage: Annotated[list[Stage], Query(max_length=7)] = [],  # noqa: B006 - FastAPI copies defaults
    funding_source: Annotated[list[FundingSource], Query(max_length=2)] = [],  # noqa: B006
    zone: Annotated[list[ReferenceKey], Query(max_length=20, description="Zone keys (`/zones`).")] = [],  # noqa: B006
    industry: Annotated[list[ReferenceKey], Query(max_length=20,
                                                  description="Industry keys (`/industries`).")] = [],  # noqa: B006
    zone_root: Annotated[list[ReferenceKey], Query(max_length=20, description=(
        "Zone keys: the projects in that zone or any zone within it."))] = [],  # noqa: B006
    industry_root: Annotated[list[ReferenceKey], Query(max_length=20, description=(
        "Industry keys: the projects in that industry or any industry within its chain."))] = [],  # noqa: B006
    leader_id: LeaderIds = [],  # noqa: B006
    unit_id: UnitIds = [],  # noqa: B006
    year: Annotated[list[Annotated[int, Field(ge=1990, le=2100)]],
                    Query(max_length=20, description="The year a project entered its stage.")] = [],  # noqa: B006
    investor_country: Annotated[list[CountryCode], Query(max_length=20)] = [],  # noqa: B006
) -> pipeline_stats.PipelineFilters:
    for y in year:
        if not 1990 <= y <= 2100:
            raise InvalidInput.field("year", "must be between 1990 and 2100")
    return pipeline_stats.PipelineFilters(stage=stage, funding_source=funding_source, zone=zone, industry=industry,
                                          zone_root=zone_root, industry_root=industry_root,
                                          leader_id=ids_or_none(leader_id), unit_id=ids_or_none(unit_id, "unit_id"),
                                          year=year, investor_country=investor_country)


Filters = Annotated[pipeline_stats.PipelineFilters, Depends(pipeline_filters)]


@router.get("/pipeline", response_model=PipelineStats)
async def pipeline(session: ReadSession, filters: Filters, principal: Principal = Allowed(Action.stats_read),
                   group_by: GroupBy = [], as_of: AsOf = None, known_on: KnownOn = None,  # noqa: B006
                   funnel: Annotated[bool, Query(description=(
                       "Include the funnel between stages (it reads the whole stage history); "
                       "`false` answers faster."))] = True) -> PipelineStats:
    """The pipeline as it stood on `as_of`: counts and totals (per currency and in CNY, naming
    the rates) per group, and the funnel between stages: how many entered each stage, moved
    on, were terminated, and the median days spent in it. Filters are named after the
    fields (the funnel uses all but `stage` and `year`); each figure links to its projects."""
    return await pipeline_stats.pipeline(session, as_of=as_of or today(), group_by=dimensions(group_by),
                                         filters=filters, with_funnel=funnel, today=today(), known_on=known_on)


@router.get("/pipeline/projects", response_model=Page[PipelineProject])
async def pipeline_projects(session: ReadSession, filters: Filters, principal: Principal = Allowed(Action.stats_read),
                            as_of: AsOf = None, known_on: KnownOn = None, limit: Limit = 50,
                            cursor: Cursor = None) -> Page[PipelineProject]:
    """The projects behind a pipeline figure, as they stood on `as_of`."""
    return await pipeline_stats.list_projects(session, as_of=as_of or today(), filters=filters, cursor=cursor,
                                              limit=limit, today=today(), known_on=known_on)


@router.get("/targets", response_model=TargetStats)
async def targets(session: ReadSession, year: Annotated[int, Query(ge=2000, le=2100)],
                  principal: Principal = Allowed(Action.stats_read), as_of: AsOf = None,
                  known_on: KnownOn = None) -> TargetStats:
    """Each target of the year: its members, how many reached the goal and for how much (in
    the target's currency), the share done, what is late, by leader in charge."""
    return await target_progress.target_stats(session, year=year, as_of=as_of or today(), today=today(),
                                              known_on=known_on)


@router.get("/leaders", response_model=LeaderStats)
async def leader_stats(session: ReadSession, settings: AppSettings, principal: Principal = Allowed(Action.stats_read),
                       as_of: AsOf = None, known_on: KnownOn = None) -> LeaderStats:
    """Every leader in charge side by side: projects by stage with totals, late, statuses, targets."""
    return await dashboards.leader_stats(session, as_of=as_of or today(), rules=health.rules_of(settings),
                                        today=today(), known_on=known_on)


HEALTH_DESCRIPTION = "Each project's red/amber/green health on `as_of`, with the rules and inputs behind it."


async def project_health(
    session: ReadSession,
    settings: AppSettings,
    principal: Principal = Allowed(Action.stats_read),
    as_of: AsOf = None,
    known_on: KnownOn = None,
    leader_id: LeaderIds = [],  # noqa: B006
    unit_id: Annotated[list[int], Query(max_length=50)] = [],  # noqa: B006
    health_: Annotated[list[ProjectHealth], Query(alias="health", max_length=3)] = [],  # noqa: B006
    status_: Annotated[list[ProjectHealth], Query(alias="status", max_length=3, deprecated=True,
                                                  description="The former name of `health`.")] = [],  # noqa: B006
    late: Annotated[bool | None, Query(description="Only late projects (true) or not (false).")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ProjectHealthPage:
    for u in unit_id:
        if not 1 <= u <= 2**31 - 1:
            raise InvalidInput.field("unit_id", "must be an id")
    check = as_of or today()
    pipeline_stats.check_as_of(check, today())
    return await health.list_health(session, as_of=check, rules=health.rules_of(settings),
                                    leader_id=ids_or_none(leader_id), unit_id=unit_id, health=health_ + status_,
                                    late=late, cursor=cursor, limit=limit, today=today(), known_on=known_on)


router.add_api_route("/project-health", project_health, methods=["GET"], response_model=ProjectHealthPage,
                     description=HEALTH_DESCRIPTION)
# The path before red/amber/green was called health: kept one release for the front ends
# built against it, then removed.
router.add_api_route("/project-status", project_health, methods=["GET"], response_model=ProjectHealthPage,
                     description=HEALTH_DESCRIPTION + " Deprecated: use `/stats/project-health`.",
                     deprecated=True)


@router.get("/investment", response_model=InvestmentStats)
async def investment(
    session: ReadSession,
    settings: AppSettings,
    year: Annotated[int, Query(ge=2000, le=2100)],
    month: Annotated[int, Query(ge=1, le=12, description="The report month; not after the current one.")],
    principal: Principal = Allowed(Action.stats_read),
    group_by: Annotated[InvestmentDimension | None, Query(description="One dimension to group and rank by.")] = None,
    as_of: Annotated[BusinessDate | None, Query(description=(
        "Count only the report versions accepted by this date (the figures as they were seen then); "
        "today when omitted."))] = None,
    known_on: KnownOn = None,
) -> InvestmentStats:
    """Investment completed against the annual plans and time progress (时间进度) for the year to
    `month`: per group and in total, the plan, the completed investment, the completion rate
    and its gap to time progress in points, the projects by colour, funds arrived by source,
    utilised FDI, and each group's rank and its change since the previous month. With
    `known_on`, only what had been recorded by then counts: last month's bulletin again, the
    revisions and acceptances since left out."""
    return await investment_stats.investment(session, year=year, month=month, as_of=as_of or today(),
                                             group_by=group_by, rules=investment_stats.rules_of(settings),
                                             today=today(), known_on=known_on)


@router.get("/forecast", response_model=ForecastStats)
async def forecast(
    session: ReadSession,
    settings: AppSettings,
    year: Annotated[int, Query(ge=2000, le=2100)],
    principal: Principal = Allowed(Action.stats_read),
    group_by: Annotated[InvestmentDimension | None, Query(description="One dimension to group by, as "
                                                                      "`/stats/investment`.")] = None,
    as_of: Annotated[BusinessDate | None, Query(description=(
        "Forecast from what was known and accepted by this date; today when omitted. Some month of `year` "
        "must have been due by then."))] = None,
    projects: Annotated[forecast_stats.ProjectsShown, Query(description=(
        "Which projects to list: those expected to miss (default), all with a plan, or none."))
    ] = "expected_to_miss",
    known_on: KnownOn = None,
) -> ForecastStats:
    """Will the year be made? Per project with an annual plan, per group and city-wide: the
    investment expected by the year's end (the larger of the reports' expected quarters and the
    run rate), against the plan; per target: the members expected to reach the goal by the
    year's end (by their planned dates and the median days each remaining stage has taken).
    Each figure names its method and inputs."""
    return await forecast_stats.forecast(session, year=year, as_of=as_of or today(), group_by=group_by,
                                         tolerance=settings.forecast_miss_tolerance_percent,
                                         due_day=settings.progress_report_due_day, projects=projects,
                                         today=today(), known_on=known_on)


@leaders.get("/{leader_id}/dashboard", response_model=LeaderDashboard, responses=problems(404))
async def leader_dashboard(leader_id: Id, session: ReadSession, settings: AppSettings,
                           principal: Principal = Allowed(Action.stats_read), as_of: AsOf = None,
                           known_on: KnownOn = None) -> LeaderDashboard:
    """One leader's projects on `as_of`: by stage with totals, late, red/amber/green with the
    reasons, and the year's targets they count toward. Any leader may read any dashboard."""
    return await dashboards.leader_dashboard(session, leader_id, as_of=as_of or today(),
                                            rules=health.rules_of(settings),
                                            attention_limit=settings.dashboard_attention_limit, today=today(),
                                            known_on=known_on)


@reports.get(
    "/monthly", response_class=StreamingResponse,
    responses={200: {"description": "The bulletin workbook.",
                     "content": {spreadsheets.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}}})
async def monthly_bulletin(
    session: ReadSession,
    settings: AppSettings,
    year: Annotated[int, Query(ge=2000, le=2100)],
    month: Annotated[int, Query(ge=1, le=12, description="The bulletin's month; not after the current one.")],
    principal: Principal = Allowed(Action.bulletin_read),
    format: Annotated[Literal["xlsx"], Query(description="xlsx, the only format.")] = "xlsx",
    known_on: KnownOn = None,
) -> StreamingResponse:
    """The monthly bulletin (通报) as one print-ready workbook, as of the month's last day (or
    today if earlier): the targets' headline, investment against plan and time progress, units,
    zones and leaders ranked with their change of rank, red and amber projects with their rules,
    reports missing or late, overdue difficulties and supervised tasks, the projects expected to
    miss, the pipeline by stage and the investment by month, with native charts. Each number is
    what the `/stats` endpoint it comes from answers for the same `as_of` (`docs/BULLETIN.md`). With
    `known_on`, the statistics (the forecast too) are read by what had been recorded by then (a
    past bulletin made again); the lists of missing reports and overdue items are as recorded now."""
    figures = await bulletin.gather(session, principal, year=year, month=month, settings=settings, today=today(),
                                    known_on=known_on)
    return StreamingResponse(bulletin.stream(figures), media_type=spreadsheets.XLSX_MEDIA_TYPE,
                             headers={"Content-Disposition": bulletin.content_disposition(year, month)})
