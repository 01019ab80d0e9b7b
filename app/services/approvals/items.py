"""Approval items (审批事项) of projects, and the catalogue of their kinds.

An item's time limit runs from ``submitted_on``: it is ``overdue`` while submitted or
accepted past ``due_on`` (submitted_on + time_limit_days, calendar days), and once
decided it was ``decided_within_limit`` if decided on or before ``due_on``.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, InvalidInput, NotFound
from app.models import ApprovalItem, ApprovalKind, Project
from app.models.approval import (
    ApprovalItemCreate,
    ApprovalItemRead,
    ApprovalItemUpdate,
    ApprovalKindCreate,
    ApprovalKindRead,
    ApprovalKindUpdate,
    check_status_dates,
)
from app.models.enums import APPROVAL_DECIDED, APPROVAL_PENDING, ApprovalStatus
from app.services.access.permissions import Principal, project_scope
from app.services.common import audit, lifecycle, links, pagination, versioning
from app.services.common.pagination import Page, SortKey
from app.services.events import outbox
from app.services.projects import guards

# Derived or time-dependent fields are not changes of their own in the audit trail.
AUDIT_IGNORED = frozenset({"updated_at", "overdue"})


# --- the catalogue -----------------------------------------------------------------------


def _kind_read(kind: ApprovalKind) -> ApprovalKindRead:
    return ApprovalKindRead.model_validate(kind, from_attributes=True)


def _kind_snapshot(kind: ApprovalKind) -> dict[str, Any]:
    return _kind_read(kind).model_dump(mode="json", exclude={"updated_at"})


async def _kind(session: AsyncSession, code: str) -> ApprovalKind | None:
    stmt = select(ApprovalKind).where(col(ApprovalKind.code) == code)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_kind(session: AsyncSession, code: str) -> ApprovalKind:
    kind = await _kind(session, code)
    if kind is None:
        raise NotFound(f"No approval kind {code}.")
    return kind


async def usable_kind(session: AsyncSession, code: str, *, allow_archived: bool = False) -> ApprovalKind:
    """The kind named by an item or event, or 422 naming the field ``kind``."""
    kind = await _kind(session, code)
    if kind is None or (kind.archived_at is not None and not allow_archived):
        raise InvalidInput.field("kind", f"{code} is not a current approval kind; see {links.link('/approval-kinds')}")
    return kind


async def list_kinds(session: AsyncSession, *, archived: bool, cursor: str | None,
                     limit: int) -> Page[ApprovalKindRead]:
    """The catalogue, in the order its kinds were added."""
    key = SortKey("id", ApprovalKind.id, int)
    archived_at = col(ApprovalKind.archived_at)
    stmt = select(ApprovalKind).where(archived_at.is_not(None) if archived else archived_at.is_(None))
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=ApprovalKind.id, cursor=cursor,
                            limit=limit, sort_label="approval_kind")
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="approval_kind",
                                        key_of=lambda k: (k.id or 0, k.id or 0))
    return Page[ApprovalKindRead](items=[_kind_read(k) for k in kept], next_cursor=next_cursor)


async def create_kind(session: AsyncSession, *, data: ApprovalKindCreate, actor: Principal) -> ApprovalKindRead:
    """Add a kind to the catalogue."""
    if await _kind(session, data.code) is not None:
        raise Conflict(f"The approval kind {data.code} exists already.", code="code_taken")
    kind = ApprovalKind(code=data.code, name=data.name, default_time_limit_days=data.default_time_limit_days)
    session.add(kind)
    await _flush_kind(session)
    await audit.record(session, actor, action="approval_kind.create", resource_type="approval_kind",
                       resource_id=kind.code, after=_kind_snapshot(kind))
    return _kind_read(kind)


async def _flush_kind(session: AsyncSession) -> None:
    try:
        await versioning.flush(session)
    except IntegrityError as exc:
        raise Conflict("Another approval kind already has this code or name.", code="name_taken") from exc


async def update_kind(session: AsyncSession, code: str, *, data: ApprovalKindUpdate, if_match: str | None,
                      actor: Principal) -> ApprovalKindRead:
    """Rename a kind or change its default time limit (items keep their own limits)."""
    kind = await get_kind(session, code)
    await lifecycle.update(session, actor, kind, if_match=if_match, resource_type="approval_kind", resource_id=code,
                           snapshot=lambda: _kind_snapshot(kind), fields=data.model_dump(exclude_unset=True),
                           archived_code=None, flush=_flush_kind)
    return _kind_read(kind)


async def archive_kind(session: AsyncSession, code: str, *, if_match: str | None, actor: Principal) -> ApprovalKindRead:
    """Retire a kind: no new items of it; existing items keep it."""
    kind = await get_kind(session, code)
    await lifecycle.archive(session, actor, kind, if_match=if_match, resource_type="approval_kind",
                            resource_id=code)
    return _kind_read(kind)


# --- items -------------------------------------------------------------------------------


def derive(item: ApprovalItem) -> None:
    """Set the stored derived fields from the item's dates and time limit."""
    item.due_on = (item.submitted_on + timedelta(days=item.time_limit_days)
                   if item.submitted_on is not None and item.time_limit_days is not None else None)
    item.decision_days = ((item.decided_on - item.submitted_on).days
                          if item.submitted_on is not None and item.decided_on is not None
                          and item.decided_on >= item.submitted_on else None)


def to_read(item: ApprovalItem, *, today: date) -> ApprovalItemRead:
    assert item.id is not None
    status = ApprovalStatus(item.status)
    within = (item.decided_on <= item.due_on
              if status in APPROVAL_DECIDED and item.decided_on is not None and item.due_on is not None else None)
    return ApprovalItemRead(
        id=item.id, project_id=item.project_id, kind=item.kind, authority=item.authority, status=status,
        submitted_on=item.submitted_on, decided_on=item.decided_on, time_limit_days=item.time_limit_days,
        due_on=item.due_on, days_to_decision=item.decision_days,
        overdue=status in APPROVAL_PENDING and item.due_on is not None and item.due_on < today,
        decided_within_limit=within, reference=item.reference, note=item.note, last_event_at=item.last_event_at,
        version=item.version, created_at=item.created_at, updated_at=item.updated_at,
        archived_at=item.archived_at)


def overdue_clause(today: date) -> ColumnElement[bool]:
    """Items waiting on their authority past their due day, as a WHERE clause."""
    return and_(col(ApprovalItem.status).in_([str(s) for s in APPROVAL_PENDING]),
                col(ApprovalItem.due_on) < today)


def _snapshot(read: ApprovalItemRead) -> dict[str, Any]:
    return read.model_dump(mode="json", exclude=set(AUDIT_IGNORED))


async def project_for(session: AsyncSession, principal: Principal, project_id: int, *,
                      for_update: bool = False) -> Project:
    """The project, if the principal may see it; else 404."""
    return await guards.visible_project(session, principal, project_id, for_update=for_update)


async def announce(session: AsyncSession, actor: Principal, item: ApprovalItem, project: Project, *,
                   before: ApprovalItemRead | None, today: date,
                   audited: lifecycle.Changed | None = None) -> ApprovalItemRead:
    """Write the outbound event for a created or changed item, and its audit event unless
    the update path already wrote it (``audited``)."""
    after = to_read(item, today=today)
    payload: dict[str, Any] = {"approval": after.model_dump(mode="json"), "project_id": project.id,
                               "project_code": project.code}
    if before is None:
        await audit.record(session, actor, action="approval.create", resource_type="approval_item",
                           resource_id=after.id, after=_snapshot(after))
        await outbox.emit(session, "approval.created", payload)
        return after
    if audited is None:
        old, new = audit.diff(_snapshot(before), _snapshot(after))
        await audit.record(session, actor, action="approval.update", resource_type="approval_item",
                           resource_id=after.id, before=old, after=new)
    else:
        old, new = audited.before, audited.after
    payload["changes"] = {"before": old, "after": new}
    if before.status != after.status:
        payload["previous_status"] = before.status
        await outbox.emit(session, "approval.status_changed", payload)
    else:
        await outbox.emit(session, "approval.updated", payload)
    return after


def _check_dates(status: ApprovalStatus, submitted_on: date | None, decided_on: date | None, *,
                 today: date) -> None:
    try:
        check_status_dates(status, submitted_on, decided_on)
    except ValueError as exc:
        name, _, message = str(exc).partition(": ")
        raise InvalidInput.field(name, message) from exc
    for name, value in (("submitted_on", submitted_on), ("decided_on", decided_on)):
        if value is not None and value > today:
            raise InvalidInput.field(name, f"must not be in the future (today is {today})")


async def create_item(session: AsyncSession, principal: Principal, project_id: int, *, data: ApprovalItemCreate,
                      today: date) -> ApprovalItemRead:
    """Record an approval item a project needs."""
    project = await project_for(session, principal, project_id)
    if project.archived_at is not None:
        raise Conflict("An archived project takes no new approval items.", code="project_archived")
    kind = await usable_kind(session, data.kind)
    _check_dates(data.status, data.submitted_on, data.decided_on, today=today)
    limit = data.time_limit_days if "time_limit_days" in data.model_fields_set else kind.default_time_limit_days
    item = ApprovalItem(project_id=project_id, kind=kind.code, authority=data.authority, status=data.status,
                        submitted_on=data.submitted_on, decided_on=data.decided_on, time_limit_days=limit,
                        reference=data.reference, note=data.note)
    derive(item)
    session.add(item)
    await versioning.flush(session)
    return await announce(session, principal, item, project, before=None, today=today)


async def get_item(session: AsyncSession, principal: Principal, project_id: int, item_id: int) -> tuple[
        Project, ApprovalItem]:
    project = await project_for(session, principal, project_id)
    item = await session.get(ApprovalItem, item_id)
    if item is None or item.project_id != project_id:
        raise NotFound(f"No approval item {item_id} on project {project_id}.")
    return project, item


async def read_item(session: AsyncSession, principal: Principal, project_id: int, item_id: int, *,
                    today: date) -> ApprovalItemRead:
    return to_read((await get_item(session, principal, project_id, item_id))[1], today=today)


async def update_item(session: AsyncSession, principal: Principal, project_id: int, item_id: int, *,
                      data: ApprovalItemUpdate, if_match: str | None, today: date) -> ApprovalItemRead:
    """Change the fields present; the dates must suit the resulting status."""
    project, item = await get_item(session, principal, project_id, item_id)
    if project.archived_at is not None:
        versioning.check(if_match, item.version)
        raise Conflict("An archived project's approval items cannot change.", code="project_archived")
    before = to_read(item, today=today)
    changes = data.model_dump(exclude_unset=True)

    def apply() -> None:
        merged = before.model_copy(update=changes)
        _check_dates(merged.status, merged.submitted_on, merged.decided_on, today=today)
        for name, value in changes.items():  # derived fields follow from the new ones
            setattr(item, name, value)
        derive(item)

    changed = await lifecycle.update(session, principal, item, if_match=if_match, resource_type="approval_item",
                                     resource_id=item_id, snapshot=lambda: _snapshot(to_read(item, today=today)),
                                     apply=apply, what="approval item", action="approval.update")
    return await announce(session, principal, item, project, before=before, today=today, audited=changed)


async def archive_item(session: AsyncSession, principal: Principal, project_id: int, item_id: int, *,
                       if_match: str | None, today: date) -> ApprovalItemRead:
    """Archive an item recorded by mistake (a withdrawn application is a status, not this)."""
    project, item = await get_item(session, principal, project_id, item_id)
    await lifecycle.archive(session, principal, item, if_match=if_match, resource_type="approval_item",
                            resource_id=item_id, action="approval.archive")
    read = to_read(item, today=today)
    await outbox.emit(session, "approval.archived", {"approval": read.model_dump(mode="json"),
                                                     "project_id": project.id, "project_code": project.code})
    return read


@dataclass
class ItemFilters:
    """The list filters; each is ANDed, values within one are ORed."""

    project_id: int | None = None
    kind: list[str] = field(default_factory=list)
    status: list[ApprovalStatus] = field(default_factory=list)
    authority: str | None = None
    overdue: bool | None = None
    archived: bool = False

    def apply(self, stmt: Select[Any], *, today: date) -> Select[Any]:
        if self.project_id is not None:
            stmt = stmt.where(col(ApprovalItem.project_id) == self.project_id)
        if self.kind:
            stmt = stmt.where(col(ApprovalItem.kind).in_(self.kind))
        if self.status:
            stmt = stmt.where(col(ApprovalItem.status).in_([str(s) for s in self.status]))
        if self.authority is not None:
            stmt = stmt.where(col(ApprovalItem.authority) == self.authority)
        if self.overdue is not None:
            overdue = overdue_clause(today)
            # ``due_on`` may be null: "not overdue" includes the items without a due day.
            stmt = stmt.where(overdue if self.overdue else ~overdue | col(ApprovalItem.due_on).is_(None))
        archived_at = col(ApprovalItem.archived_at)
        return stmt.where(archived_at.is_not(None) if self.archived else archived_at.is_(None))


async def list_items(session: AsyncSession, principal: Principal, *, filters: ItemFilters, today: date,
                     cursor: str | None, limit: int) -> Page[ApprovalItemRead]:
    """Approval items of the projects the principal may see, oldest first.

    Across projects (no ``project_id``) items of archived projects are left out.
    """
    stmt = select(ApprovalItem).join(Project, col(Project.id) == col(ApprovalItem.project_id)).where(
        project_scope(principal))
    if filters.project_id is not None:
        await project_for(session, principal, filters.project_id)
    else:
        stmt = stmt.where(col(Project.archived_at).is_(None))
    stmt = filters.apply(stmt, today=today)
    key = SortKey("id", ApprovalItem.id, int)
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=ApprovalItem.id, cursor=cursor,
                            limit=limit, sort_label="approval_item")
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="approval_item",
                                        key_of=lambda i: (i.id or 0, i.id or 0))
    return Page[ApprovalItemRead](items=[to_read(i, today=today) for i in kept], next_cursor=next_cursor)
