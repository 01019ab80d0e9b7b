"""``/targets``: the year's targets, their lists of projects and the projects behind each figure."""

from typing import Annotated

from fastapi import Query, Response, status

from app.clock import today
from app.deps import Allowed, IfMatch, Session
from app.models.enums import TargetProjectStatus
from app.models.fields import BusinessDate
from app.models.stats import TargetProject
from app.models.target import MembershipChange, TargetCreate, TargetMemberRead, TargetRead, TargetUpdate
from app.routers.common import Cursor, Id, Limit, make_router, problems, set_etag
from app.routers.stats import AppSettings, KnownOn, LeaderIds, ids_or_none
from app.services.access.permissions import Action, Principal
from app.services.common.pagination import Page
from app.services.projects import targets
from app.services.stats import health, target_progress

router = make_router("/api/v1/targets", "targets")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TargetRead)
async def create_target(body: TargetCreate, response: Response, session: Session,
                        principal: Principal = Allowed(Action.target_write)) -> TargetRead:
    """Set a target of the year: a goal (a stage, or a designation), a count, an amount, and
    either a named list of projects or a criterion."""
    target = await targets.create_target(session, data=body, actor=principal)
    set_etag(response, target.version)
    response.headers["Location"] = f"{router.prefix}/{target.id}"
    return target


@router.get("", response_model=Page[TargetRead])
async def list_targets(session: Session, principal: Principal = Allowed(Action.target_read),
                       year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                       archived: Annotated[bool, Query(description="List archived targets instead.")] = False,
                       limit: Limit = 50, cursor: Cursor = None) -> Page[TargetRead]:
    """Targets, oldest first. Their progress is at `/stats/targets?year=`."""
    return await targets.list_targets(session, year=year, archived=archived, cursor=cursor, limit=limit)


@router.get("/{target_id}", response_model=TargetRead, responses=problems(404))
async def get_target(target_id: Id, response: Response, session: Session,
                     principal: Principal = Allowed(Action.target_read)) -> TargetRead:
    """One target; its ETag is what a change must send as If-Match."""
    target = targets.to_read(await targets.get_target(session, target_id))
    set_etag(response, target.version)
    return target


@router.patch("/{target_id}", response_model=TargetRead, responses=problems(404, 409, 412, 428))
async def update_target(target_id: Id, body: TargetUpdate, if_match: IfMatch, response: Response,
                        session: Session, principal: Principal = Allowed(Action.target_write)) -> TargetRead:
    """Change a target's title, count, amount, criterion or plan rates."""
    target = await targets.update_target(session, target_id, data=body, if_match=if_match, actor=principal)
    set_etag(response, target.version)
    return target


@router.delete("/{target_id}", response_model=TargetRead, responses=problems(404, 409, 412, 428))
async def archive_target(target_id: Id, if_match: IfMatch, response: Response, session: Session,
                         principal: Principal = Allowed(Action.target_write)) -> TargetRead:
    """Archive a target: it leaves the lists and the statistics. Nothing is deleted."""
    target = await targets.archive_target(session, target_id, if_match=if_match, actor=principal)
    set_etag(response, target.version)
    return target


@router.post("/{target_id}/members", response_model=TargetRead, responses=problems(404, 409, 412, 428))
async def change_members(target_id: Id, body: MembershipChange, if_match: IfMatch, response: Response,
                         session: Session, principal: Principal = Allowed(Action.target_write)) -> TargetRead:
    """Add projects to a list target and remove others, from the date `on` (today when
    omitted). The list on earlier dates is kept as it was."""
    target = await targets.change_members(session, target_id, data=body, if_match=if_match, actor=principal,
                                          today=today())
    set_etag(response, target.version)
    return target


@router.get("/{target_id}/members", response_model=Page[TargetMemberRead], responses=problems(404, 409))
async def list_members(target_id: Id, session: Session, principal: Principal = Allowed(Action.target_read),
                       as_of: Annotated[BusinessDate | None, Query(
                           description="The list as it was on this date; today when omitted.")] = None,
                       limit: Limit = 50, cursor: Cursor = None) -> Page[TargetMemberRead]:
    """A list target's projects on a date."""
    return await targets.list_members(session, target_id, on=as_of or today(), cursor=cursor, limit=limit)


@router.get("/{target_id}/members/history", response_model=Page[TargetMemberRead], responses=problems(404, 409))
async def member_history(target_id: Id, session: Session, principal: Principal = Allowed(Action.target_read),
                         limit: Limit = 50, cursor: Cursor = None) -> Page[TargetMemberRead]:
    """Every change of a list target's list: who added and removed each project, when, from which date."""
    return await targets.list_members(session, target_id, on=None, cursor=cursor, limit=limit)


@router.get("/{target_id}/projects", response_model=Page[TargetProject], responses=problems(404))
async def target_projects(
    target_id: Id,
    session: Session,
    settings: AppSettings,
    principal: Principal = Allowed(Action.target_read),
    as_of: Annotated[BusinessDate | None, Query(description="Today when omitted.")] = None,
    status: Annotated[list[TargetProjectStatus], Query(max_length=4)] = [],  # noqa: B006 - FastAPI copies defaults
    leader_id: LeaderIds = [],  # noqa: B006
    limit: Limit = 50,
    cursor: Cursor = None,
    known_on: KnownOn = None,
) -> Page[TargetProject]:
    """The projects behind a target's figures in `/stats/targets`: its members on the date
    the target is evaluated, each with its standing (done, late, open, dropped) and the
    monthly-scheduling rules (`investment_behind`, `report_missing`) that flag it then; with
    `known_on`, by what had been recorded by then, as `/stats/targets` reads it."""
    return await target_progress.list_target_projects(
        session, target_id, as_of=as_of or today(), status=status, leader_id=ids_or_none(leader_id),
        cursor=cursor, limit=limit, today=today(), rules=health.rules_of(settings), known_on=known_on)
