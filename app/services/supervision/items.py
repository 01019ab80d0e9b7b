"""Supervision (督查督办): items picked for supervision, their tasks, and progress reports.

An item's status is rolled up from its tasks by the database (see ``rollup``):

    pending      no tasks yet: it still has to be decomposed (待分解)
    done         every task done
    overdue      some task not done and past its deadline
    in_progress  otherwise
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Integer, Select, and_, case, cast, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.models import (
    Project,
    SupervisionItem,
    SupervisionItemProject,
    SupervisionProgress,
    SupervisionTask,
    Unit,
    utcnow,
)
from app.models.enums import SupervisionSource, SupervisionStatus
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
from app.services.access.permissions import (
    Principal,
    can_act_on_task,
    project_scope,
    supervision_item_scope,
    task_scope,
)
from app.services.common import audit, lifecycle, pagination, versioning
from app.services.common.pagination import Page, SortKey
from app.services.projects import guards

ITEM_SORT_KEYS: dict[str, SortKey] = {
    "created_at": SortKey("created_at", col(SupervisionItem.created_at), pagination.decode_datetime),
    "updated_at": SortKey("updated_at", col(SupervisionItem.updated_at), pagination.decode_datetime),
    "title": SortKey("title", col(SupervisionItem.title), pagination.decode_str),
}
TASK_SORT_KEYS: dict[str, SortKey] = {
    "deadline": SortKey("deadline", col(SupervisionTask.deadline), pagination.decode_date),
    "created_at": SortKey("created_at", col(SupervisionTask.created_at), pagination.decode_datetime),
    "updated_at": SortKey("updated_at", col(SupervisionTask.updated_at), pagination.decode_datetime),
}


# --- the roll-up, in SQL ------------------------------------------------------------------


def task_is_done() -> Any:
    return col(SupervisionTask.completed_on).is_not(None)


def task_is_overdue(today: date) -> Any:
    return col(SupervisionTask.completed_on).is_(None) & (col(SupervisionTask.deadline) < today)


def rollup(today: date, principal: Principal | None = None) -> Any:
    """Per item: task count, done, overdue, mean percent and status, as a subquery; over
    the tasks ``principal`` may see (a unit: its own), so a roll-up shows no other unit's."""
    tasks = func.count(col(SupervisionTask.id))
    done = func.coalesce(func.sum(case((task_is_done(), 1), else_=0)), 0)
    overdue = func.coalesce(func.sum(case((task_is_overdue(today), 1), else_=0)), 0)
    return (select(col(SupervisionItem.id).label("item_id"),
                   tasks.label("task_count"), done.label("done_count"), overdue.label("overdue_count"),
                   func.coalesce(cast(func.round(func.avg(col(SupervisionTask.percent))), Integer), 0).label("percent"),
                   case((tasks == 0, SupervisionStatus.pending.value),
                        (done == tasks, SupervisionStatus.done.value),
                        (overdue > 0, SupervisionStatus.overdue.value),
                        else_=SupervisionStatus.in_progress.value).label("status"))
            .select_from(SupervisionItem)
            .outerjoin(SupervisionTask, and_(col(SupervisionTask.item_id) == col(SupervisionItem.id),
                                             task_scope(principal) if principal is not None else true()))
            .group_by(col(SupervisionItem.id))
            .subquery("rollup"))


# --- items --------------------------------------------------------------------------------


@dataclass
class ItemFilters:
    status: list[SupervisionStatus] = field(default_factory=list)
    source: list[SupervisionSource] = field(default_factory=list)
    project_id: list[int] = field(default_factory=list)
    archived: bool = False


_AUDITED: dict[type, set[str]] = {
    SupervisionItemRead: {"id", "title", "source", "source_ref", "description", "project_ids", "archived_at"},
    SupervisionTaskRead: {"id", "item_id", "title", "description", "unit_id", "deadline", "percent",
                          "completed_on"},
}


def _snapshot(read: SupervisionItemRead | SupervisionTaskRead) -> dict[str, Any]:
    return read.model_dump(mode="json", include=_AUDITED[type(read)])


async def _project_ids(session: AsyncSession, item_ids: Sequence[int],
                       principal: Principal | None = None) -> dict[int, list[int]]:
    """Each item's linked projects; those ``principal`` may see, when given."""
    out: dict[int, list[int]] = {i: [] for i in item_ids}
    if item_ids:
        stmt = (select(col(SupervisionItemProject.item_id), col(SupervisionItemProject.project_id))
                .where(col(SupervisionItemProject.item_id).in_(item_ids))
                .order_by(col(SupervisionItemProject.project_id)))
        if principal is not None:
            stmt = stmt.join(Project, col(Project.id) == col(SupervisionItemProject.project_id)).where(
                project_scope(principal))
        rows = await session.execute(stmt)
        for item_id, project_id in rows:
            out[item_id].append(project_id)
    return out


def _item_select(today: date, principal: Principal) -> tuple[Select[Any], Any]:
    r = rollup(today, principal)
    stmt = (select(SupervisionItem, r.c.task_count, r.c.done_count, r.c.overdue_count, r.c.percent, r.c.status)
            .join(r, r.c.item_id == col(SupervisionItem.id)))
    return stmt, r


async def _reads(session: AsyncSession, principal: Principal, rows: Sequence[Any]) -> list[SupervisionItemRead]:
    links = await _project_ids(session, [row[0].id for row in rows], principal)
    return [SupervisionItemRead.model_validate({
        **item.model_dump(), "project_ids": links[item.id], "task_count": task_count, "done_count": done_count,
        "overdue_count": overdue_count, "percent": percent, "status": status})
        for item, task_count, done_count, overdue_count, percent, status in rows]


async def _read_item(session: AsyncSession, principal: Principal, item_id: int, *, today: date) -> SupervisionItemRead:
    stmt, _ = _item_select(today, principal)
    row = (await session.execute(stmt.where(col(SupervisionItem.id) == item_id,
                                            supervision_item_scope(principal)))).one_or_none()
    if row is None:
        raise NotFound(f"No supervision item with id {item_id}.")
    return (await _reads(session, principal, [row]))[0]


async def _get_item(session: AsyncSession, principal: Principal, item_id: int) -> SupervisionItem:
    item = (await session.execute(select(SupervisionItem).where(
        col(SupervisionItem.id) == item_id, supervision_item_scope(principal)))).scalar_one_or_none()
    if item is None:
        raise NotFound(f"No supervision item with id {item_id}.")
    return item


async def _set_links(session: AsyncSession, item_id: int, project_ids: Sequence[int]) -> None:
    current = set((await _project_ids(session, [item_id]))[item_id])
    wanted = set(project_ids)
    for project_id in wanted - current:
        session.add(SupervisionItemProject(item_id=item_id, project_id=project_id))
    for project_id in current - wanted:
        # A link is a current fact; its past values stay in the audit trail.
        link = await session.get(SupervisionItemProject, (item_id, project_id))
        if link is not None:
            await session.delete(link)


async def create_item(session: AsyncSession, principal: Principal, *, data: SupervisionItemCreate,
                      today: date) -> SupervisionItemRead:
    """Pick an item for supervision, optionally linked to projects."""
    await guards.check_current(session, Project, data.project_ids, field="project_ids")
    item = SupervisionItem(title=data.title, source=data.source, source_ref=data.source_ref,
                           description=data.description, created_by_key_id=principal.key_id,
                           created_by=principal.name)
    session.add(item)
    await session.flush()
    assert item.id is not None
    await _set_links(session, item.id, data.project_ids)
    await session.flush()
    read = await _read_item(session, principal, item.id, today=today)
    await audit.record(session, principal, action="supervision_item.create", resource_type="supervision_item",
                       resource_id=item.id, after=_snapshot(read))
    return read


async def read_item(session: AsyncSession, principal: Principal, item_id: int, *, today: date) -> SupervisionItemRead:
    return await _read_item(session, principal, item_id, today=today)


async def list_items(session: AsyncSession, principal: Principal, *, filters: ItemFilters, sort: str,
                     cursor: str | None, limit: int, today: date) -> Page[SupervisionItemRead]:
    """One page of the items the principal may see, with their roll-up."""
    key, descending = pagination.parse_sort(sort, ITEM_SORT_KEYS)
    stmt, r = _item_select(today, principal)
    stmt = stmt.where(supervision_item_scope(principal))
    stmt = stmt.where(col(SupervisionItem.archived_at).is_not(None) if filters.archived
                      else col(SupervisionItem.archived_at).is_(None))
    if filters.status:
        stmt = stmt.where(r.c.status.in_([str(s) for s in filters.status]))
    if filters.source:
        stmt = stmt.where(col(SupervisionItem.source).in_([str(s) for s in filters.source]))
    if filters.project_id:
        linked = select(col(SupervisionItemProject.item_id)).where(
            col(SupervisionItemProject.project_id).in_(filters.project_id))
        stmt = stmt.where(col(SupervisionItem.id).in_(linked))
    label = f"items:{sort}"
    stmt = pagination.apply(stmt, key=key, descending=descending, id_column=col(SupervisionItem.id), cursor=cursor,
                            limit=limit, sort_label=label)
    rows = list((await session.execute(stmt)).all())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label=label,
                                        key_of=lambda row: (getattr(row[0], key.name), row[0].id or 0))
    return Page[SupervisionItemRead](items=await _reads(session, principal, kept), next_cursor=next_cursor)


async def update_item(session: AsyncSession, principal: Principal, item_id: int, *, data: SupervisionItemUpdate,
                      if_match: str | None, today: date) -> SupervisionItemRead:
    """Change the fields present in ``data``; ``project_ids`` replaces the links."""
    item = await _get_item(session, principal, item_id)

    async def apply() -> None:
        if data.project_ids is not None:
            await guards.check_current(session, Project, data.project_ids, field="project_ids")
            await _set_links(session, item_id, data.project_ids)

    async def state() -> dict[str, Any]:
        return _snapshot(await _read_item(session, principal, item_id, today=today))

    await lifecycle.update(session, principal, item, if_match=if_match, resource_type="supervision_item",
                           resource_id=item_id, snapshot=state, apply=apply, archived_code="item_archived",
                           fields=data.model_dump(exclude_unset=True, exclude={"project_ids"}))
    return await _read_item(session, principal, item_id, today=today)


async def archive_item(session: AsyncSession, principal: Principal, item_id: int, *, if_match: str | None,
                       today: date) -> SupervisionItemRead:
    """Archive an item: it leaves the lists and the assessment but is never deleted."""
    item = await _get_item(session, principal, item_id)
    await lifecycle.archive(session, principal, item, if_match=if_match, resource_type="supervision_item",
                            resource_id=item_id, code="item_archived")
    return await _read_item(session, principal, item_id, today=today)


# --- tasks --------------------------------------------------------------------------------


def task_read(task: SupervisionTask, *, today: date) -> SupervisionTaskRead:
    return SupervisionTaskRead.model_validate({
        **task.model_dump(), "done": task.completed_on is not None,
        "overdue": task.completed_on is None and task.deadline < today})


async def _get_task(session: AsyncSession, principal: Principal, task_id: int) -> SupervisionTask:
    task = (await session.execute(select(SupervisionTask).where(
        col(SupervisionTask.id) == task_id, task_scope(principal)))).scalar_one_or_none()
    if task is None:
        raise NotFound(f"No supervision task with id {task_id}.")
    return task


async def _item_is_current(session: AsyncSession, item_id: int) -> None:
    item = await session.get(SupervisionItem, item_id)
    if item is not None and item.archived_at is not None:
        raise Conflict("The task's supervision item is archived.", code="item_archived")


async def add_task(session: AsyncSession, principal: Principal, item_id: int, *, data: SupervisionTaskCreate,
                   today: date) -> SupervisionTaskRead:
    """Decompose an item: add a task with a responsible unit and a deadline."""
    item = await _get_item(session, principal, item_id)
    if item.archived_at is not None:
        raise Conflict("An archived supervision item takes no new tasks.", code="item_archived")
    await guards.check_current(session, Unit, data.unit_id, field="unit_id")
    task = SupervisionTask(item_id=item_id, title=data.title, description=data.description, unit_id=data.unit_id,
                           deadline=data.deadline)
    session.add(task)
    await session.flush()
    read = task_read(task, today=today)
    await audit.record(session, principal, action="supervision_task.create", resource_type="supervision_task",
                       resource_id=read.id, after=_snapshot(read))
    return read


async def read_task(session: AsyncSession, principal: Principal, task_id: int, *, today: date) -> SupervisionTaskRead:
    return task_read(await _get_task(session, principal, task_id), today=today)


@dataclass
class TaskFilters:
    item_id: list[int] = field(default_factory=list)
    unit_id: list[int] = field(default_factory=list)
    done: bool | None = None
    overdue: bool | None = None
    deadline_from: date | None = None
    deadline_until: date | None = None


async def list_tasks(session: AsyncSession, principal: Principal, *, filters: TaskFilters, sort: str,
                     cursor: str | None, limit: int, today: date) -> Page[SupervisionTaskRead]:
    """One page of the tasks the principal may see (of current items)."""
    key, descending = pagination.parse_sort(sort, TASK_SORT_KEYS)
    current_items = select(col(SupervisionItem.id)).where(col(SupervisionItem.archived_at).is_(None))
    stmt = select(SupervisionTask).where(task_scope(principal),
                                         col(SupervisionTask.item_id).in_(current_items))
    if filters.item_id:
        stmt = stmt.where(col(SupervisionTask.item_id).in_(filters.item_id))
    if filters.unit_id:
        stmt = stmt.where(col(SupervisionTask.unit_id).in_(filters.unit_id))
    if filters.done is not None:
        stmt = stmt.where(task_is_done() if filters.done else ~task_is_done())
    if filters.overdue is not None:
        stmt = stmt.where(task_is_overdue(today) if filters.overdue else ~task_is_overdue(today))
    if filters.deadline_from is not None:
        stmt = stmt.where(col(SupervisionTask.deadline) >= filters.deadline_from)
    if filters.deadline_until is not None:
        stmt = stmt.where(col(SupervisionTask.deadline) <= filters.deadline_until)
    label = f"tasks:{sort}"
    stmt = pagination.apply(stmt, key=key, descending=descending, id_column=col(SupervisionTask.id), cursor=cursor,
                            limit=limit, sort_label=label)
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label=label,
                                        key_of=lambda t: (getattr(t, key.name), t.id or 0))
    return Page[SupervisionTaskRead](items=[task_read(t, today=today) for t in kept], next_cursor=next_cursor)


async def list_item_tasks(session: AsyncSession, principal: Principal, item_id: int, *, sort: str,
                          cursor: str | None, limit: int, today: date) -> Page[SupervisionTaskRead]:
    """An item's tasks that the principal may see."""
    await _get_item(session, principal, item_id)
    return await list_tasks(session, principal, filters=TaskFilters(item_id=[item_id]), sort=sort, cursor=cursor,
                            limit=limit, today=today)


async def update_task(session: AsyncSession, principal: Principal, task_id: int, *, data: SupervisionTaskUpdate,
                      if_match: str | None, today: date) -> SupervisionTaskRead:
    """Change a task's title, description, unit or deadline."""
    task = await _get_task(session, principal, task_id)
    changes = data.model_dump(exclude_unset=True)

    async def apply() -> None:
        await _item_is_current(session, task.item_id)
        if changes.get("unit_id") is not None:
            await guards.check_current(session, Unit, changes["unit_id"], field="unit_id")

    await lifecycle.update(session, principal, task, if_match=if_match, resource_type="supervision_task",
                           resource_id=task_id, snapshot=lambda: _snapshot(task_read(task, today=today)),
                           fields=changes, apply=apply, archived_code=None)
    return task_read(task, today=today)


async def report_progress(session: AsyncSession, principal: Principal, task_id: int, *,
                          data: ProgressReportCreate, if_match: str | None,
                          today: date) -> tuple[SupervisionTaskRead, ProgressReportRead]:
    """File a dated progress report; at 100% the task is done on the report's date."""
    task = await _get_task(session, principal, task_id)
    if not can_act_on_task(principal, task):
        raise Forbidden(f"Task {task_id} is not assigned to this unit.", code="not_in_charge")
    versioning.check(if_match, task.version)
    await _item_is_current(session, task.item_id)
    if task.completed_on is not None:
        raise Conflict(f"The task was done on {task.completed_on}; it takes no more reports.", code="task_done")
    reported_on = data.reported_on or today
    if reported_on > today:
        raise InvalidInput.field("reported_on", f"must not be in the future (today is {today})")
    if task.last_reported_on is not None and reported_on < task.last_reported_on:
        raise InvalidInput.field("reported_on", f"must not be before the previous report, on {task.last_reported_on}")
    before = task_read(task, today=today)
    report = SupervisionProgress(task_id=task_id, reported_on=reported_on, percent=data.percent, note=data.note,
                                 actor_key_id=principal.key_id, actor_name=principal.name)
    session.add(report)
    task.percent, task.last_reported_on = data.percent, reported_on
    if data.percent == 100:
        task.completed_on = reported_on
    task.updated_at = utcnow()
    await versioning.flush(session)
    after = task_read(task, today=today)
    old, new = audit.diff(_snapshot(before), _snapshot(after))
    await audit.record(session, principal, action="supervision_task.progress", resource_type="supervision_task",
                       resource_id=task_id, before=old,
                       after={**new, "reported_on": str(reported_on), "note": data.note})
    return after, ProgressReportRead.model_validate(report, from_attributes=True)


async def list_progress(session: AsyncSession, principal: Principal, task_id: int, *, cursor: str | None,
                        limit: int) -> Page[ProgressReportRead]:
    """A task's progress reports, oldest first."""
    await _get_task(session, principal, task_id)
    key = SortKey("id", col(SupervisionProgress.id), int)
    stmt = select(SupervisionProgress).where(col(SupervisionProgress.task_id) == task_id)
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=col(SupervisionProgress.id), cursor=cursor,
                            limit=limit, sort_label="progress")
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="progress",
                                        key_of=lambda p: (p.id or 0, p.id or 0))
    return Page[ProgressReportRead](items=[ProgressReportRead.model_validate(p, from_attributes=True) for p in kept],
                                    next_cursor=next_cursor)
