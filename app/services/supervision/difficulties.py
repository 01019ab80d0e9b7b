"""Difficulties (困难问题): raise, read, list, edit, move through their statuses, add notes."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, not_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.models import Difficulty, DifficultyEvent, Leader, Project, Unit
from app.models.difficulty import (
    DifficultyCreate,
    DifficultyEventRead,
    DifficultyNoteCreate,
    DifficultyRead,
    DifficultyTransition,
    DifficultyUpdate,
)
from app.models.enums import (
    UNRESOLVED,
    DifficultyCategory,
    DifficultyEventKind,
    DifficultyStatus,
    EscalationLevel,
    Role,
)
from app.services.access.permissions import (
    Principal,
    can_act_on_difficulty,
    can_see_difficulty,
    can_see_project,
    difficulty_scope,
)
from app.services.common import audit, lifecycle, pagination, versioning
from app.services.common.pagination import Page, SortKey
from app.services.events import outbox
from app.services.projects import guards
from app.services.supervision import difficulty_states

SORT_KEYS: dict[str, SortKey] = {
    "due_on": SortKey("due_on", col(Difficulty.due_on), pagination.decode_date),
    "raised_on": SortKey("raised_on", col(Difficulty.raised_on), pagination.decode_date),
    "created_at": SortKey("created_at", col(Difficulty.created_at), pagination.decode_datetime),
    "updated_at": SortKey("updated_at", col(Difficulty.updated_at), pagination.decode_datetime),
}
AUDIT_IGNORED = frozenset({"updated_at", "overdue"})


def is_overdue(today: date) -> Any:
    """Unresolved and past the due date on ``today``, as a WHERE clause."""
    return and_(col(Difficulty.status).in_([str(s) for s in UNRESOLVED]),
                col(Difficulty.due_on) < today)


@dataclass
class DifficultyFilters:
    """The list filters; each is ANDed, values within one are ORed."""

    status: list[DifficultyStatus] = field(default_factory=list)
    category: list[DifficultyCategory] = field(default_factory=list)
    escalation_level: list[EscalationLevel] = field(default_factory=list)
    project_id: list[int] = field(default_factory=list)
    unit_id: list[int] = field(default_factory=list)
    leader_id: list[int] = field(default_factory=list)
    overdue: bool | None = None

    def apply(self, stmt: Select[Any], *, today: date) -> Select[Any]:
        columns: dict[str, Any] = {"status": col(Difficulty.status), "category": col(Difficulty.category),
                                   "escalation_level": col(Difficulty.escalation_level),
                                   "project_id": col(Difficulty.project_id), "unit_id": col(Difficulty.unit_id),
                                   "leader_id": col(Difficulty.leader_id)}
        for name, column in columns.items():
            values = getattr(self, name)
            if values:
                stmt = stmt.where(column.in_([str(v) if isinstance(v, str) else v for v in values]))
        if self.overdue is not None:
            stmt = stmt.where(is_overdue(today) if self.overdue else not_(is_overdue(today)))
        return stmt


def to_read(d: Difficulty, *, today: date) -> DifficultyRead:
    return DifficultyRead.model_validate(
        {**d.model_dump(), "overdue": d.status in UNRESOLVED and d.due_on < today})


def snapshot(read: DifficultyRead) -> dict[str, Any]:
    return read.model_dump(mode="json", exclude=set(AUDIT_IGNORED))




async def raise_difficulty(session: AsyncSession, principal: Principal, project_id: int, *,
                           data: DifficultyCreate, today: date) -> DifficultyRead:
    """Record a difficulty on a project; raising it opens its timeline."""
    project = await guards.visible_project(session, principal, project_id)
    if project.archived_at is not None:
        raise Conflict("An archived project takes no new difficulties.", code="project_archived")
    raised_on = data.raised_on or today
    if raised_on > today:
        raise InvalidInput.field("raised_on", f"must not be in the future (today is {today})")
    if data.due_on < raised_on:
        raise InvalidInput.field("due_on", f"must not be before the day it was raised ({raised_on})")
    unit_id = data.unit_id or project.unit_id
    if unit_id is None:
        raise InvalidInput.field("unit_id", "is required: the project has no responsible unit")
    await guards.check_current(session, Unit, unit_id, field="unit_id")
    leader_id = data.leader_id or project.leader_id
    if data.leader_id is not None:
        await guards.check_current(session, Leader, data.leader_id, field="leader_id")
    difficulty = Difficulty(project_id=project_id, title=data.title, description=data.description,
                            category=data.category, status=DifficultyStatus.open, unit_id=unit_id,
                            leader_id=leader_id, raised_on=raised_on, raised_by_key_id=principal.key_id,
                            raised_by=principal.name, due_on=data.due_on, escalation_level=EscalationLevel.unit)
    session.add(difficulty)
    await session.flush()
    session.add(difficulty_states.raised_entry(difficulty, actor=principal))
    await session.flush()
    read = to_read(difficulty, today=today)
    await audit.record(session, principal, action="difficulty.create", resource_type="difficulty",
                       resource_id=read.id, after=snapshot(read))
    await outbox.emit(session, "difficulty.raised", {"difficulty": read.model_dump(mode="json")})
    return read


async def get_difficulty(session: AsyncSession, principal: Principal, difficulty_id: int) -> tuple[
        Difficulty, Project]:
    """The difficulty and its project, if the principal may see it; else 404."""
    row = (await session.execute(
        select(Difficulty, Project).join(Project, col(Project.id) == col(Difficulty.project_id))
        .where(col(Difficulty.id) == difficulty_id))).one_or_none()
    if row is None or not can_see_difficulty(principal, row[0], row[1]):
        raise NotFound(f"No difficulty with id {difficulty_id}.")
    return row[0], row[1]


async def _for_action(session: AsyncSession, principal: Principal, difficulty_id: int) -> Difficulty:
    difficulty, project = await get_difficulty(session, principal, difficulty_id)
    if not can_act_on_difficulty(principal, difficulty, project):
        whose = "assigned to this unit" if principal.role == Role.unit else "in this leader's charge"
        raise Forbidden(f"Difficulty {difficulty_id} is not {whose}.", code="not_in_charge")
    return difficulty


async def read_difficulty(session: AsyncSession, principal: Principal, difficulty_id: int, *,
                          today: date) -> DifficultyRead:
    return to_read((await get_difficulty(session, principal, difficulty_id))[0], today=today)


async def list_difficulties(session: AsyncSession, principal: Principal, *, filters: DifficultyFilters, sort: str,
                            cursor: str | None, limit: int, today: date) -> Page[DifficultyRead]:
    """One page of the difficulties the principal may see, in keyset order."""
    key, descending = pagination.parse_sort(sort, SORT_KEYS)
    stmt = filters.apply(select(Difficulty).where(difficulty_scope(principal)), today=today)
    label = f"difficulties:{sort}"
    stmt = pagination.apply(stmt, key=key, descending=descending, id_column=col(Difficulty.id), cursor=cursor,
                            limit=limit, sort_label=label)
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label=label,
                                        key_of=lambda d: (getattr(d, key.name), d.id or 0))
    return Page[DifficultyRead](items=[to_read(d, today=today) for d in kept], next_cursor=next_cursor)


async def list_project_difficulties(session: AsyncSession, principal: Principal, project_id: int, *,
                                    filters: DifficultyFilters, sort: str, cursor: str | None, limit: int,
                                    today: date) -> Page[DifficultyRead]:
    """A project's difficulties that the principal may see.

    A unit reaches a project it is not responsible for here only through a difficulty
    assigned to it; otherwise the project is not found.
    """
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound(f"No project with id {project_id}.")
    if not can_see_project(principal, project):
        # Decided before the page is read, whatever the query says: a cursor or a filter
        # must not tell another unit's project from a missing one.
        assigned = select(col(Difficulty.id)).where(col(Difficulty.project_id) == project_id,
                                               difficulty_scope(principal)).limit(1)
        if (await session.execute(assigned)).first() is None:
            raise NotFound(f"No project with id {project_id}.")
    filters.project_id = [project_id]
    return await list_difficulties(session, principal, filters=filters, sort=sort, cursor=cursor, limit=limit,
                                   today=today)


async def update_difficulty(session: AsyncSession, principal: Principal, difficulty_id: int, *,
                            data: DifficultyUpdate, if_match: str | None, today: date) -> DifficultyRead:
    """Change the fields present in ``data``, if ``if_match`` names the current version."""
    difficulty = await _for_action(session, principal, difficulty_id)
    changes = data.model_dump(exclude_unset=True)

    async def apply() -> None:
        if difficulty.status == DifficultyStatus.closed:
            raise Conflict("A closed difficulty cannot be changed.", code="difficulty_closed")
        if changes.get("unit_id") is not None:
            await guards.check_current(session, Unit, changes["unit_id"], field="unit_id")
        if changes.get("leader_id") is not None:
            await guards.check_current(session, Leader, changes["leader_id"], field="leader_id")
        if "due_on" in changes and changes["due_on"] < difficulty.raised_on:
            raise InvalidInput.field("due_on", f"must not be before the day it was raised ({difficulty.raised_on})")

    changed = await lifecycle.update(session, principal, difficulty, if_match=if_match, resource_type="difficulty",
                                     resource_id=difficulty_id,
                                     snapshot=lambda: snapshot(to_read(difficulty, today=today)),
                                     fields=changes, apply=apply, archived_code=None)
    after = to_read(difficulty, today=today)
    await outbox.emit(session, "difficulty.updated", {"difficulty": after.model_dump(mode="json"),
                                                      "changes": {"before": changed.before, "after": changed.after}})
    return after


async def move_difficulty(session: AsyncSession, principal: Principal, difficulty_id: int, *,
                          data: DifficultyTransition, if_match: str | None,
                          today: date) -> tuple[DifficultyRead, DifficultyEventRead]:
    """Move a difficulty to another status; see ``app.services.supervision.difficulty_states`` for the rules."""
    difficulty = await _for_action(session, principal, difficulty_id)
    versioning.check(if_match, difficulty.version)
    before = to_read(difficulty, today=today)
    entry = await difficulty_states.transition(
        session, difficulty, to=data.to, occurred_on=data.occurred_on or today, resolution=data.resolution,
        reason=data.reason, note=data.note, actor=principal, today=today)
    await versioning.flush(session)
    after = to_read(difficulty, today=today)
    old, new = audit.diff(snapshot(before), snapshot(after))
    await audit.record(session, principal, action="difficulty.transition", resource_type="difficulty",
                       resource_id=difficulty_id, before=old,
                       after={**new, "kind": entry.kind, "occurred_on": str(entry.occurred_on), "note": entry.note})
    event = DifficultyEventRead.model_validate(entry, from_attributes=True)
    await outbox.emit(session, "difficulty.status_changed", {
        "difficulty": after.model_dump(mode="json"), "previous_status": before.status,
        "event": event.model_dump(mode="json")})
    return after, event


async def add_note(session: AsyncSession, principal: Principal, difficulty_id: int, *, data: DifficultyNoteCreate,
                   today: date) -> DifficultyEventRead:
    """Append a dated progress note to a difficulty's timeline."""
    difficulty = await _for_action(session, principal, difficulty_id)
    if difficulty.status == DifficultyStatus.closed:
        raise Conflict("A closed difficulty takes no more notes.", code="difficulty_closed")
    occurred_on = data.occurred_on or today
    if occurred_on > today:
        raise InvalidInput.field("occurred_on", f"must not be in the future (today is {today})")
    if occurred_on < difficulty.raised_on:
        raise InvalidInput.field("occurred_on", f"must not be before the day it was raised ({difficulty.raised_on})")
    entry = DifficultyEvent(difficulty_id=difficulty_id, kind=DifficultyEventKind.note, occurred_on=occurred_on,
                            note=data.note, actor_key_id=principal.key_id, actor_name=principal.name)
    session.add(entry)
    await session.flush()
    read = DifficultyEventRead.model_validate(entry, from_attributes=True)
    await audit.record(session, principal, action="difficulty.note", resource_type="difficulty",
                       resource_id=difficulty_id, after={"event_id": read.id, "occurred_on": str(occurred_on),
                                                         "note": data.note})
    return read


async def list_timeline(session: AsyncSession, principal: Principal, difficulty_id: int, *, cursor: str | None,
                        limit: int) -> Page[DifficultyEventRead]:
    """A difficulty's timeline, in the order it was recorded."""
    await get_difficulty(session, principal, difficulty_id)
    key = SortKey("id", col(DifficultyEvent.id), int)
    stmt = select(DifficultyEvent).where(col(DifficultyEvent.difficulty_id) == difficulty_id)
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=col(DifficultyEvent.id), cursor=cursor,
                            limit=limit, sort_label="timeline")
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="timeline",
                                        key_of=lambda e: (e.id or 0, e.id or 0))
    return Page[DifficultyEventRead](items=[DifficultyEventRead.model_validate(e, from_attributes=True)
                                            for e in kept], next_cursor=next_cursor)
