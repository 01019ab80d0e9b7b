"""``/projects/{id}/approvals``, ``/approvals``, ``/approval-kinds`` and ``/stats/approvals``."""

from typing import Annotated

from fastapi import Path, Query, Response, status

from app.clock import today
from app.deps import Allowed, IfMatch, Session
from app.models.approval import (
    ApprovalItemCreate,
    ApprovalItemRead,
    ApprovalItemUpdate,
    ApprovalKindCreate,
    ApprovalKindRead,
    ApprovalKindUpdate,
    KindCode,
)
from app.models.enums import ApprovalStatus
from app.models.fields import BusinessDate
from app.routers.common import Cursor, Id, Limit, make_router, problems, set_etag
from app.services.access.permissions import Action, Principal
from app.services.approvals import items as approval_items
from app.services.approvals import stats as approval_stats
from app.services.approvals.stats import ApprovalStats
from app.services.common.pagination import Page

items = make_router("/api/v1/projects/{project_id}/approvals", "approvals")
across = make_router("/api/v1/approvals", "approvals")
kinds = make_router("/api/v1/approval-kinds", "approval-kinds")
stats = make_router("/api/v1/stats", "stats")

Code = Annotated[KindCode, Path(description="The kind's code, e.g. `construction_permit`.")]
KindFilter = Annotated[list[KindCode], Query(max_length=50, description="Only these kinds (repeatable).")]
StatusFilter = Annotated[list[ApprovalStatus], Query(max_length=6, description="Only these statuses (repeatable).")]
AuthorityFilter = Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
OverdueFilter = Annotated[bool | None, Query(description="Only items past (true) or not past (false) their due day.")]


@items.post("", status_code=status.HTTP_201_CREATED, response_model=ApprovalItemRead, responses=problems(404, 409))
async def create_item(project_id: Id, body: ApprovalItemCreate, response: Response, session: Session,
                      principal: Principal = Allowed(Action.approval_write)) -> ApprovalItemRead:
    """Record an approval item a project needs; its time limit defaults to its kind's."""
    item = await approval_items.create_item(session, principal, project_id, data=body, today=today())
    set_etag(response, item.version)
    response.headers["Location"] = f"/api/v1/projects/{project_id}/approvals/{item.id}"
    return item


@items.get("", response_model=Page[ApprovalItemRead], responses=problems(404))
async def list_items(project_id: Id, session: Session, principal: Principal = Allowed(Action.approval_read),
                     kind: KindFilter = [], status: StatusFilter = [],  # noqa: B006 - FastAPI copies defaults
                     overdue: OverdueFilter = None,
                     archived: Annotated[bool, Query(description="List archived items instead.")] = False,
                     limit: Limit = 50, cursor: Cursor = None) -> Page[ApprovalItemRead]:
    """A project's approval items, oldest first."""
    filters = approval_items.ItemFilters(project_id=project_id, kind=kind, status=status, overdue=overdue,
                                    archived=archived)
    return await approval_items.list_items(session, principal, filters=filters, today=today(), cursor=cursor,
                                      limit=limit)


@items.get("/{item_id}", response_model=ApprovalItemRead, responses=problems(404))
async def get_item(project_id: Id, item_id: Id, response: Response, session: Session,
                   principal: Principal = Allowed(Action.approval_read)) -> ApprovalItemRead:
    """One approval item; its ETag is what a change must send as If-Match."""
    item = await approval_items.read_item(session, principal, project_id, item_id, today=today())
    set_etag(response, item.version)
    return item


@items.patch("/{item_id}", response_model=ApprovalItemRead, responses=problems(404, 409, 412, 428))
async def update_item(project_id: Id, item_id: Id, body: ApprovalItemUpdate, if_match: IfMatch,
                      response: Response, session: Session,
                      principal: Principal = Allowed(Action.approval_write)) -> ApprovalItemRead:
    """Change an item's status, dates, authority or time limit."""
    item = await approval_items.update_item(session, principal, project_id, item_id, data=body, if_match=if_match,
                                       today=today())
    set_etag(response, item.version)
    return item


@items.delete("/{item_id}", response_model=ApprovalItemRead, responses=problems(404, 409, 412, 428))
async def archive_item(project_id: Id, item_id: Id, if_match: IfMatch, response: Response, session: Session,
                       principal: Principal = Allowed(Action.approval_write)) -> ApprovalItemRead:
    """Archive an item recorded by mistake. Nothing is deleted; a withdrawn application is a status."""
    item = await approval_items.archive_item(session, principal, project_id, item_id, if_match=if_match,
                                        today=today())
    set_etag(response, item.version)
    return item


@across.get("", response_model=Page[ApprovalItemRead])
async def list_all_items(session: Session, principal: Principal = Allowed(Action.approval_read),
                         kind: KindFilter = [], status: StatusFilter = [],  # noqa: B006
                         authority: AuthorityFilter = None, overdue: OverdueFilter = None,
                         limit: Limit = 50, cursor: Cursor = None) -> Page[ApprovalItemRead]:
    """Approval items across the projects this key may see (archived projects left out);
    `?overdue=true` is the list of approvals to chase."""
    filters = approval_items.ItemFilters(kind=kind, status=status, authority=authority, overdue=overdue)
    return await approval_items.list_items(session, principal, filters=filters, today=today(), cursor=cursor,
                                      limit=limit)


@kinds.get("", response_model=Page[ApprovalKindRead])
async def list_kinds(session: Session, principal: Principal = Allowed(Action.approval_kind_read),
                     archived: bool = False, limit: Limit = 50, cursor: Cursor = None) -> Page[ApprovalKindRead]:
    """The catalogue of approval kinds (审批事项目录), in the order they were added."""
    return await approval_items.list_kinds(session, archived=archived, cursor=cursor, limit=limit)


@kinds.post("", status_code=status.HTTP_201_CREATED, response_model=ApprovalKindRead, responses=problems(409))
async def create_kind(body: ApprovalKindCreate, response: Response, session: Session,
                      principal: Principal = Allowed(Action.approval_kind_manage)) -> ApprovalKindRead:
    """Add a kind to the catalogue."""
    kind = await approval_items.create_kind(session, data=body, actor=principal)
    set_etag(response, kind.version)
    response.headers["Location"] = f"{kinds.prefix}/{kind.code}"
    return kind


@kinds.get("/{code}", response_model=ApprovalKindRead, responses=problems(404))
async def get_kind(code: Code, response: Response, session: Session,
                   principal: Principal = Allowed(Action.approval_kind_read)) -> ApprovalKindRead:
    """One kind of the catalogue."""
    kind = await approval_items.get_kind(session, code)
    set_etag(response, kind.version)
    return ApprovalKindRead.model_validate(kind, from_attributes=True)


@kinds.patch("/{code}", response_model=ApprovalKindRead, responses=problems(404, 409, 412, 428))
async def update_kind(code: Code, body: ApprovalKindUpdate, if_match: IfMatch, response: Response,
                      session: Session,
                      principal: Principal = Allowed(Action.approval_kind_manage)) -> ApprovalKindRead:
    """Rename a kind or change its default time limit; existing items keep their own limits."""
    kind = await approval_items.update_kind(session, code, data=body, if_match=if_match, actor=principal)
    set_etag(response, kind.version)
    return kind


@kinds.delete("/{code}", response_model=ApprovalKindRead, responses=problems(404, 409, 412, 428))
async def archive_kind(code: Code, if_match: IfMatch, response: Response, session: Session,
                       principal: Principal = Allowed(Action.approval_kind_manage)) -> ApprovalKindRead:
    """Archive a kind: no new items of it; existing items and events keep it."""
    kind = await approval_items.archive_kind(session, code, if_match=if_match, actor=principal)
    set_etag(response, kind.version)
    return kind


@stats.get("/approvals", response_model=ApprovalStats)
async def approval_statistics(
    session: Session,
    principal: Principal = Allowed(Action.approval_read),
    kind: KindFilter = [],  # noqa: B006
    authority: AuthorityFilter = None,
    submitted_from: Annotated[BusinessDate | None, Query(description="Items submitted on or after this day.")] = None,
    submitted_to: Annotated[BusinessDate | None, Query(description="Items submitted on or before this day.")] = None,
) -> ApprovalStats:
    """Per kind and authority: how many items, the median days from submission to decision,
    the share decided within the time limit, and what is overdue today. Items of archived
    projects are left out; a unit key counts only its own projects."""
    return await approval_stats.approval_stats(session, principal, today=today(), kind=kind, authority=authority,
                                               submitted_from=submitted_from, submitted_to=submitted_to)
