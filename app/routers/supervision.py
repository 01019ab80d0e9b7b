"""``/supervision-items`` and ``/supervision-tasks``: supervised items, their tasks and progress."""

from typing import Annotated

from fastapi import Query, Response, status

from app.clock import today
from app.deps import Allowed, IfMatch, Session
from app.models.enums import SupervisionSource, SupervisionStatus
from app.models.fields import BusinessDate
from app.models.supervision import (
    ProgressReportCreate,
    ProgressReportRead,
    SupervisionItemCreate,
    SupervisionItemRead,
    SupervisionItemUpdate,
    SupervisionTaskCreate,
    SupervisionTaskRead,
    SupervisionTaskUpdate,
)
from app.routers.common import Cursor, Id, Limit, PositiveId, make_router, problems, set_etag
from app.services.access.permissions import Action, Principal
from app.services.common.pagination import Page
from app.services.supervision import items as supervised_items

items = make_router("/api/v1/supervision-items", "supervision")
tasks = make_router("/api/v1/supervision-tasks", "supervision")

ITEM_SORTS = ", ".join(supervised_items.ITEM_SORT_KEYS)
TASK_SORTS = ", ".join(supervised_items.TASK_SORT_KEYS)
TaskSort = Annotated[str, Query(max_length=40, description=f"One of {TASK_SORTS}; prefix - to descend.",
                                 json_schema_extra={"enum": [f"{d}{k}" for k in supervised_items.TASK_SORT_KEYS
                                                             for d in ("", "-")]})]


@items.post("", status_code=status.HTTP_201_CREATED, response_model=SupervisionItemRead, responses=problems())
async def create_item(body: SupervisionItemCreate, response: Response, session: Session,
                      principal: Principal = Allowed(Action.supervision_write)) -> SupervisionItemRead:
    """Pick an item for supervision (督办): a leader's instruction, a meeting decision or a plan item."""
    item = await supervised_items.create_item(session, principal, data=body, today=today())
    set_etag(response, item.version)
    response.headers["Location"] = f"{items.prefix}/{item.id}"
    return item


@items.get("", response_model=Page[SupervisionItemRead])
async def list_items(
    session: Session,
    principal: Principal = Allowed(Action.supervision_read),
    status: Annotated[list[SupervisionStatus], Query(max_length=4, description="The rolled-up status.")] = [],  # noqa: B006 - FastAPI copies defaults
    source: Annotated[list[SupervisionSource], Query(max_length=3)] = [],  # noqa: B006
    project_id: Annotated[list[PositiveId], Query(max_length=50, description="Items linked to these projects.")] = [],  # noqa: B006
    archived: Annotated[bool, Query(description="List archived items instead of current ones.")] = False,
    sort: Annotated[str, Query(max_length=40, description=f"One of {ITEM_SORTS}; prefix - to descend.",
                               json_schema_extra={"enum": [f"{d}{k}" for k in supervised_items.ITEM_SORT_KEYS
                                                           for d in ("", "-")]})]
    = "-created_at",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[SupervisionItemRead]:
    """Supervised items with their tasks rolled up; a unit sees those with a task of its own."""
    filters = supervised_items.ItemFilters(status=status, source=source, project_id=project_id, archived=archived)
    return await supervised_items.list_items(session, principal, filters=filters, sort=sort, cursor=cursor, limit=limit,
                                        today=today())


@items.get("/{item_id}", response_model=SupervisionItemRead, responses=problems(404))
async def get_item(item_id: Id, response: Response, session: Session,
                   principal: Principal = Allowed(Action.supervision_read)) -> SupervisionItemRead:
    """One supervised item and its roll-up."""
    item = await supervised_items.read_item(session, principal, item_id, today=today())
    set_etag(response, item.version)
    return item


@items.patch("/{item_id}", response_model=SupervisionItemRead, responses=problems(404, 409, 412, 428))
async def update_item(item_id: Id, body: SupervisionItemUpdate, if_match: IfMatch, response: Response,
                      session: Session,
                      principal: Principal = Allowed(Action.supervision_write)) -> SupervisionItemRead:
    """Change an item; `project_ids` replaces its links."""
    item = await supervised_items.update_item(session, principal, item_id, data=body, if_match=if_match, today=today())
    set_etag(response, item.version)
    return item


@items.delete("/{item_id}", response_model=SupervisionItemRead, responses=problems(404, 409, 412, 428))
async def archive_item(item_id: Id, if_match: IfMatch, response: Response, session: Session,
                       principal: Principal = Allowed(Action.supervision_write)) -> SupervisionItemRead:
    """Archive an item. Nothing is deleted: it leaves the lists and the year-end assessment."""
    item = await supervised_items.archive_item(session, principal, item_id, if_match=if_match, today=today())
    set_etag(response, item.version)
    return item


@items.post("/{item_id}/tasks", status_code=status.HTTP_201_CREATED, response_model=SupervisionTaskRead,
            responses=problems(404, 409))
async def add_task(item_id: Id, body: SupervisionTaskCreate, response: Response, session: Session,
                   principal: Principal = Allowed(Action.supervision_write)) -> SupervisionTaskRead:
    """Decompose an item (分解任务): a task for a responsible unit, with a deadline."""
    task = await supervised_items.add_task(session, principal, item_id, data=body, today=today())
    set_etag(response, task.version)
    response.headers["Location"] = f"{tasks.prefix}/{task.id}"
    return task


@items.get("/{item_id}/tasks", response_model=Page[SupervisionTaskRead], responses=problems(404))
async def list_item_tasks(item_id: Id, session: Session, principal: Principal = Allowed(Action.supervision_read),
                          sort: TaskSort = "deadline", limit: Limit = 50,
                          cursor: Cursor = None) -> Page[SupervisionTaskRead]:
    """An item's tasks; a unit sees its own."""
    return await supervised_items.list_item_tasks(session, principal, item_id, sort=sort, cursor=cursor, limit=limit,
                                             today=today())


@tasks.get("", response_model=Page[SupervisionTaskRead])
async def list_tasks(
    session: Session,
    principal: Principal = Allowed(Action.supervision_read),
    item_id: Annotated[list[PositiveId], Query(max_length=50)] = [],  # noqa: B006 - FastAPI copies defaults
    unit_id: Annotated[list[PositiveId], Query(max_length=50)] = [],  # noqa: B006
    done: bool | None = None,
    overdue: Annotated[bool | None, Query(description="Only those not done past their deadline (or, false, "
                                                      "the others).")] = None,
    deadline_from: Annotated[BusinessDate | None, Query(description="Deadline on or after this date.")] = None,
    deadline_until: Annotated[BusinessDate | None, Query(description="Deadline on or before this date.")] = None,
    sort: TaskSort = "deadline",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[SupervisionTaskRead]:
    """Tasks of current supervised items across items; a unit sees its own."""
    filters = supervised_items.TaskFilters(item_id=item_id, unit_id=unit_id, done=done, overdue=overdue,
                                      deadline_from=deadline_from, deadline_until=deadline_until)
    return await supervised_items.list_tasks(session, principal, filters=filters, sort=sort, cursor=cursor, limit=limit,
                                        today=today())


@tasks.get("/{task_id}", response_model=SupervisionTaskRead, responses=problems(404))
async def get_task(task_id: Id, response: Response, session: Session,
                   principal: Principal = Allowed(Action.supervision_read)) -> SupervisionTaskRead:
    """One task; its ETag is what a change or a progress report must send as If-Match."""
    task = await supervised_items.read_task(session, principal, task_id, today=today())
    set_etag(response, task.version)
    return task


@tasks.patch("/{task_id}", response_model=SupervisionTaskRead, responses=problems(404, 409, 412, 428))
async def update_task(task_id: Id, body: SupervisionTaskUpdate, if_match: IfMatch, response: Response,
                      session: Session,
                      principal: Principal = Allowed(Action.supervision_write)) -> SupervisionTaskRead:
    """Change a task's title, description, unit or deadline."""
    task = await supervised_items.update_task(session, principal, task_id, data=body, if_match=if_match, today=today())
    set_etag(response, task.version)
    return task


@tasks.post("/{task_id}/progress", status_code=status.HTTP_201_CREATED, response_model=ProgressReportRead,
            responses=problems(404, 409, 412, 428))
async def report_progress(task_id: Id, body: ProgressReportCreate, if_match: IfMatch, response: Response,
                          session: Session,
                          principal: Principal = Allowed(Action.supervision_report)) -> ProgressReportRead:
    """Report a task's progress (the responsible unit or the bureau); 100% marks it done."""
    task, report = await supervised_items.report_progress(session, principal, task_id, data=body, if_match=if_match,
                                                     today=today())
    set_etag(response, task.version)
    response.headers["Location"] = f"{tasks.prefix}/{task_id}/progress"
    return report


@tasks.get("/{task_id}/progress", response_model=Page[ProgressReportRead], responses=problems(404))
async def list_progress(task_id: Id, session: Session, principal: Principal = Allowed(Action.supervision_read),
                        limit: Limit = 50, cursor: Cursor = None) -> Page[ProgressReportRead]:
    """A task's progress reports, oldest first."""
    return await supervised_items.list_progress(session, principal, task_id, cursor=cursor, limit=limit)
