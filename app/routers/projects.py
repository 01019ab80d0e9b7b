"""``/projects``: the registry and its stage transitions."""

from typing import Annotated

from fastapi import Depends, Path, Query, Response, status
from pydantic import Field

from app.clock import today
from app.deps import Allowed, IfMatch, PlainConnection, ReadCoreConnection, Session
from app.models.enums import Designation, DesignationStatus, FundingSource, Stage
from app.models.fields import ProjectCodeLookup
from app.models.project import (
    ProjectCodeRead,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    TransitionCreate,
    TransitionRead,
)
from app.models.reference import ReferenceKey
from app.routers.common import Cursor, Id, Limit, PositiveId, json_response, make_router, problems, set_etag
from app.services.access.permissions import Action, Principal
from app.services.common.pagination import Page
from app.services.projects import projects

router = make_router("/api/v1/projects", "projects")

SORTS = [f"{d}{k}" for k in projects.SORT_KEYS for d in ("", "-")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProjectRead, responses=problems(409))
async def create_project(body: ProjectCreate, response: Response, session: Session,
                         principal: Principal = Allowed(Action.project_create)) -> ProjectRead:
    """Register a project, in any starting stage (ledgers are imported mid-life)."""
    project = await projects.create_project(session, data=body, actor=principal, today=today())
    set_etag(response, project.version)
    response.headers["Location"] = f"{router.prefix}/{project.id}"
    return project


async def project_filters(
    stage: Annotated[list[Stage], Query(max_length=10)] = [],  # noqa: B006 - FastAPI copies defaults
    funding_source: Annotated[list[FundingSource], Query(max_length=10)] = [],  # noqa: B006
    zone: Annotated[list[ReferenceKey], Query(max_length=20, description="Zone keys (`/zones`).")] = [],  # noqa: B006
    industry: Annotated[list[ReferenceKey], Query(max_length=20,
                                                  description="Industry keys (`/industries`).")] = [],  # noqa: B006
    leader_id: Annotated[list[PositiveId], Query(max_length=50)] = [],  # noqa: B006
    unit_id: Annotated[list[PositiveId], Query(max_length=50)] = [],  # noqa: B006
    investor_id: Annotated[list[PositiveId], Query(max_length=50)] = [],  # noqa: B006
    signed_year: Annotated[list[Annotated[int, Field(ge=1990, le=2100)]], Query(
        max_length=20, description="Projects signed (moved to signed) in these years.")] = [],  # noqa: B006
    signing_event_id: Annotated[list[PositiveId], Query(
        max_length=20, description="Projects signed at these signing events.")] = [],  # noqa: B006
    fortune_global_500: Annotated[bool | None, Query(
        description="Only projects whose investor is (true) or is not (false) a Fortune Global 500 company.")]
    = None,
    designation: Annotated[list[Designation], Query(max_length=5)] = [],  # noqa: B006
    designation_status: Annotated[list[DesignationStatus], Query(
        max_length=5, description="With `designation`: only projects holding it in these statuses.")] = [],  # noqa: B006
    code: Annotated[ProjectCodeLookup | None, Query(description="The project's current code.")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$",
                                   description="Text search in name and investor.")] = None,
    on_hold: bool | None = None,
    archived: Annotated[bool, Query(description="Archived projects instead of current ones.")] = False,
) -> projects.ProjectFilters:
    """The project list's filters, as query parameters (the list and the ledger export share them)."""
    return projects.ProjectFilters(stage=stage, funding_source=funding_source, zone=zone, industry=industry,
                                   leader_id=leader_id, unit_id=unit_id, investor_id=investor_id,
                                   fortune_global_500=fortune_global_500, signed_year=signed_year,
                                   signing_event_id=signing_event_id, designation=designation,
                                   designation_status=designation_status, code=code, q=q, on_hold=on_hold,
                                   archived=archived)


@router.get("", response_model=Page[ProjectRead])
async def list_projects(
    # The principal first: its connection goes back to the pool before the read takes one.
    principal: Annotated[Principal, Allowed(Action.project_read, session=False)],
    connection: ReadCoreConnection,
    filters: Annotated[projects.ProjectFilters, Depends(project_filters)],
    sort: Annotated[str, Query(json_schema_extra={"enum": SORTS}, description="A field; prefix - to descend.")]
    = "name",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """List projects, filtered, in keyset pages. Repeat a filter to match any of its values."""
    return json_response(await projects.list_projects(connection, principal, filters=filters, sort=sort,
                                                      cursor=cursor, limit=limit))


@router.get("/by-code/{code}", response_model=ProjectRead, responses=problems(404))
async def get_project_by_code(code: Annotated[ProjectCodeLookup, Path()], response: Response, session: Session,
                              principal: Principal = Allowed(Action.project_read_by_code)) -> ProjectRead:
    """Find a project by any national project code (项目代码) it has had; it answers with its
    current ``code``."""
    project = await projects.read_project_by_code(session, principal, code)
    set_etag(response, project.version)
    return project


@router.get("/{project_id}", response_model=ProjectRead, responses=problems(404))
async def get_project(project_id: Id,
                      # The connection first: the principal's statements then run on it too.
                      connection: PlainConnection,
                      principal: Annotated[Principal, Allowed(Action.project_read, session=False)]) -> Response:
    """One project; its ETag is what a change must send as If-Match."""
    project = await projects.read_project(connection, principal, project_id)
    return json_response(project, version=project["version"])


@router.patch("/{project_id}", response_model=ProjectRead, responses=problems(404, 409, 412, 428))
async def update_project(project_id: Id, body: ProjectUpdate, response: Response,
                         session: Session, if_match: IfMatch,
                         principal: Principal = Allowed(Action.project_update)) -> ProjectRead:
    """Change some fields of a project. ``stage`` changes through transitions."""
    project = await projects.update_project(session, principal, project_id, data=body, if_match=if_match,
                                            today=today())
    set_etag(response, project.version)
    return project


@router.delete("/{project_id}", response_model=ProjectRead, responses=problems(404, 409, 412, 428))
async def archive_project(project_id: Id, response: Response, session: Session,
                          if_match: IfMatch,
                          principal: Principal = Allowed(Action.project_archive)) -> ProjectRead:
    """Archive a project. Nothing is deleted: it leaves the lists and keeps its history."""
    project = await projects.archive_project(session, principal, project_id, if_match=if_match, today=today())
    set_etag(response, project.version)
    return project


@router.post("/{project_id}/transitions", status_code=status.HTTP_201_CREATED, response_model=TransitionRead,
             responses=problems(404, 409, 412, 428))
async def move_project(project_id: Id, body: TransitionCreate, response: Response,
                       session: Session,
                       if_match: IfMatch,
                       principal: Principal = Allowed(Action.project_transition)) -> TransitionRead:
    """Move a project to another stage. Forward one stage at a time; ``terminated`` with a
    reason; backward only by an admin, as a correction with a reason."""
    project, entry = await projects.move_project(session, principal, project_id, data=body, if_match=if_match,
                                                 today=today())
    set_etag(response, project.version)
    response.headers["Location"] = f"{router.prefix}/{project_id}/transitions"
    return entry


@router.get("/{project_id}/transitions", response_model=Page[TransitionRead], responses=problems(404))
async def list_transitions(project_id: Id, session: Session, principal: Principal = Allowed(Action.project_read),
                           limit: Limit = 50, cursor: Cursor = None) -> Page[TransitionRead]:
    """A project's stage history, oldest first."""
    return await projects.list_transitions(session, principal, project_id, cursor=cursor, limit=limit)


@router.get("/{project_id}/codes", response_model=Page[ProjectCodeRead], responses=problems(404))
async def list_codes(project_id: Id, session: Session, principal: Principal = Allowed(Action.project_read),
                     limit: Limit = 50, cursor: Cursor = None) -> Page[ProjectCodeRead]:
    """Every national project code the project has had, oldest first, with the date each
    holds from and why it was given (``assigned``, ``re_approved``, ``corrected``)."""
    return await projects.list_codes(session, principal, project_id, cursor=cursor, limit=limit)
