"""Monthly scheduling (项目调度): ``/annual-plans`` and ``/progress-reports``, and each
project's own under ``/projects/{project_id}/``."""

from typing import Annotated

from fastapi import Depends, Query, Response, status

from app.clock import today
from app.config import Settings
from app.deps import Allowed, IfMatch, Session, settings_of
from app.models.enums import Designation, Industry, ReportStatus, Zone
from app.models.progress import (
    AnnualPlanCreate,
    AnnualPlanRead,
    AnnualPlanUpdate,
    MissingReports,
    ProgressReportCreate,
    ProgressReportRead,
    ReviewCreate,
)
from app.routers.common import Cursor, Id, Limit, make_router, problems, set_etag
from app.routers.stats import LeaderIds, UnitIds, ids_or_none
from app.services.access.permissions import Action, Principal
from app.services.common.pagination import Page
from app.services.progress import missing, plans, reports, review, rules

router = make_router("/api/v1", "progress")
AppSettings = Annotated[Settings, Depends(settings_of)]
Year = Annotated[int, Query(ge=2000, le=2100)]
Month = Annotated[int, Query(ge=1, le=12)]


# --- annual plans -------------------------------------------------------------------------------


@router.post("/projects/{project_id}/annual-plans", status_code=status.HTTP_201_CREATED,
             response_model=AnnualPlanRead, responses=problems(404, 409))
async def create_plan(project_id: Id, body: AnnualPlanCreate, response: Response, session: Session,
                      principal: Principal = Allowed(Action.plan_write)) -> AnnualPlanRead:
    """Set a project's plan for a year (年度计划): one per year, 409 for a second."""
    plan = await plans.create(session, principal, project_id, data=body)
    set_etag(response, plan.version)
    response.headers["Location"] = f"/api/v1/annual-plans/{plan.id}"
    return plan


@router.get("/projects/{project_id}/annual-plans", response_model=list[AnnualPlanRead], responses=problems(404))
async def project_plans(project_id: Id, session: Session,
                        principal: Principal = Allowed(Action.plan_read)) -> list[AnnualPlanRead]:
    """A project's annual plans, by year."""
    return await plans.for_project(session, principal, project_id)


@router.get("/annual-plans", response_model=Page[AnnualPlanRead])
async def list_plans(session: Session, principal: Principal = Allowed(Action.plan_read), year: Year | None = None,
                     leader_id: LeaderIds = [], unit_id: UnitIds = [],  # noqa: B006 - FastAPI copies defaults
                     zone: Annotated[list[Zone], Query(max_length=20)] = [],  # noqa: B006
                     industry: Annotated[list[Industry], Query(max_length=20)] = [],  # noqa: B006
                     designation: Annotated[list[Designation], Query(max_length=2, description=(
                         "Projects holding a granted designation."))] = [],  # noqa: B006
                     limit: Limit = 50, cursor: Cursor = None) -> Page[AnnualPlanRead]:
    """Annual plans by id, filtered by the year and the project's leader, unit, zone, industry
    or designation (`none` for no leader or unit)."""
    return await plans.listing(session, principal, year=year, leader_id=ids_or_none(leader_id),
                               unit_id=ids_or_none(unit_id, "unit_id"), zone=zone, industry=industry,
                               designation=designation, cursor=cursor, limit=limit)


@router.get("/annual-plans/{plan_id}", response_model=AnnualPlanRead, responses=problems(404))
async def get_plan(plan_id: Id, response: Response, session: Session,
                   principal: Principal = Allowed(Action.plan_read)) -> AnnualPlanRead:
    """One annual plan; its ETag is what a change sends as If-Match."""
    plan = plans.to_read(await plans.get(session, principal, plan_id))
    set_etag(response, plan.version)
    return plan


@router.patch("/annual-plans/{plan_id}", response_model=AnnualPlanRead, responses=problems(404, 409, 412, 428))
async def update_plan(plan_id: Id, body: AnnualPlanUpdate, if_match: IfMatch, response: Response, session: Session,
                      principal: Principal = Allowed(Action.plan_write)) -> AnnualPlanRead:
    """Change a plan's investment, progress goal or quarterly split; a revised investment takes effect
    on `effective_on` (today by default) and the figures of earlier dates keep the amount before it."""
    plan = await plans.update(session, principal, plan_id, data=body, if_match=if_match, today=today())
    set_etag(response, plan.version)
    return plan


# --- monthly reports ------------------------------------------------------------------------------


@router.post("/projects/{project_id}/progress-reports", status_code=status.HTTP_201_CREATED,
             response_model=ProgressReportRead, responses=problems(404, 409))
async def file_report(project_id: Id, body: ProgressReportCreate, response: Response, session: Session,
                      settings: AppSettings, principal: Principal = Allowed(Action.report_file)) -> ProgressReportRead:
    """File a month's report (月报). Filing a month again (after a return, or to correct an
    accepted month) adds a version; 409 while a version awaits review."""
    report = await reports.file(session, principal, project_id, data=body, rules=rules.rules_of(settings),
                                today=today())
    set_etag(response, report.version)
    response.headers["Location"] = f"/api/v1/progress-reports/{report.id}"
    return report


@router.get("/projects/{project_id}/progress-reports", response_model=Page[ProgressReportRead],
            responses=problems(404))
async def project_reports(project_id: Id, session: Session, principal: Principal = Allowed(Action.report_read),
                          year: Year | None = None, limit: Limit = 50,
                          cursor: Cursor = None) -> Page[ProgressReportRead]:
    """A project's report versions, newest first."""
    return await reports.for_project(session, principal, project_id, year=year, cursor=cursor, limit=limit)


@router.get("/progress-reports", response_model=Page[ProgressReportRead])
async def list_reports(session: Session, principal: Principal = Allowed(Action.report_read),
                       year: Year | None = None, month: Month | None = None,
                       status_: Annotated[list[ReportStatus], Query(alias="status", max_length=3)] = [],  # noqa: B006
                       unit_id: UnitIds = [], leader_id: LeaderIds = [],  # noqa: B006
                       late: Annotated[bool | None, Query(description="Only late filings (true) or not.")] = None,
                       limit: Limit = 50, cursor: Cursor = None) -> Page[ProgressReportRead]:
    """Report versions the key may see, newest first."""
    return await reports.listing(session, principal, cursor=cursor, limit=limit, year=year, month=month,
                                 status=status_, unit_id=ids_or_none(unit_id, "unit_id"),
                                 leader_id=ids_or_none(leader_id), late=late)


@router.get("/progress-reports/missing", response_model=MissingReports)
async def missing_reports(session: Session, settings: AppSettings, year: Year, month: Month,
                          principal: Principal = Allowed(Action.report_read)) -> MissingReports:
    """Per responsible unit: the projects that must report the month and have not, and those
    that filed it late (未按时报送)."""
    return await missing.missing(session, principal, year=year, month=month, rules=rules.rules_of(settings),
                                 today=today())


@router.get("/progress-reports/{report_id}", response_model=ProgressReportRead, responses=problems(404))
async def get_report(report_id: Id, response: Response, session: Session,
                     principal: Principal = Allowed(Action.report_read)) -> ProgressReportRead:
    """One report version; its ETag is what a review sends as If-Match."""
    report = await reports.get_read(session, principal, report_id)
    set_etag(response, report.version)
    return report


@router.get("/progress-reports/{report_id}/versions", response_model=list[ProgressReportRead],
            responses=problems(404))
async def report_versions(report_id: Id, session: Session,
                          principal: Principal = Allowed(Action.report_read)) -> list[ProgressReportRead]:
    """Every version filed for the report's month, first filed first."""
    return await reports.versions(session, principal, report_id)


@router.post("/progress-reports/{report_id}/review", response_model=ProgressReportRead,
             responses=problems(404, 409, 412, 428))
async def review_report(report_id: Id, body: ReviewCreate, if_match: IfMatch, response: Response, session: Session,
                        principal: Principal = Allowed(Action.report_review)) -> ProgressReportRead:
    """Accept a submitted report (it becomes its month's figure) or return it with a reason."""
    report = await review.review(session, principal, report_id, data=body, if_match=if_match, today=today())
    set_etag(response, report.version)
    return report
