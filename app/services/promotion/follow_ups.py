"""The follow-up log (跟踪记录): visits, meetings, inspections, calls and ceremonies.

Append-only, like the stage history: an entry is never changed; a correction is a new
entry whose ``corrects_id`` names the one it replaces, which then no longer counts
(``effective``). Each entry may agree a next contact (``next_contact_on``); it is
*overdue* on a date D when D is past it, the entry still counts, it is the project's
latest (no entry that counts is dated after it, or on its day and recorded later), and
the project is neither archived nor terminated.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import Subquery
from sqlmodel import col

from app.dialect import a_date
from app.errors import Conflict, InvalidInput, NotFound
from app.models import FollowUp, FollowUpLeader, Leader, Project
from app.models.enums import FollowUpKind, Role, Stage
from app.models.promotion import FollowUpCreate, FollowUpRead
from app.services.access.permissions import Principal, project_scope
from app.services.common import audit, pagination
from app.services.common.pagination import Page, SortKey
from app.services.projects.projects import get_project

SORT_KEYS: dict[str, SortKey] = {
    "occurred_on": SortKey("occurred_on", FollowUp.occurred_on, pagination.decode_date),
    "recorded_at": SortKey("recorded_at", FollowUp.recorded_at, pagination.decode_datetime),
}


def effective(entry: Any = FollowUp) -> ColumnElement[bool]:
    """The entry still counts: no other entry corrects it."""
    correction = aliased(FollowUp)
    return ~exists().where(col(correction.corrects_id) == entry.id)


def latest(entry: Any = FollowUp, *, on: date | None = None) -> ColumnElement[bool]:
    """No entry that counts (dated by ``on``) is newer on the same project."""
    newer = aliased(FollowUp)
    conditions = [col(newer.project_id) == entry.project_id, col(newer.id) != entry.id, effective(newer),
                  or_(col(newer.occurred_on) > entry.occurred_on,
                      and_(col(newer.occurred_on) == entry.occurred_on, col(newer.id) > entry.id))]
    if on is not None:
        conditions.append(col(newer.occurred_on) <= a_date(on))
    return ~exists().where(*conditions)


def overdue(on: date, entry: Any = FollowUp) -> ColumnElement[bool]:
    """The entry's next contact has passed on ``on`` without a newer entry (see the docstring);
    the query must join ``projects``."""
    return and_(col(entry.next_contact_on).is_not(None), col(entry.next_contact_on) < a_date(on),
                col(entry.occurred_on) <= a_date(on), effective(entry), latest(entry, on=on),
                col(Project.archived_at).is_(None), col(Project.stage) != Stage.terminated.value)


def last_follow_up(on: date) -> Subquery:
    """Each project's latest follow-up that counts, dated by ``on``: (project_id, last_on)."""
    return (select(col(FollowUp.project_id).label("project_id"), func.max(col(FollowUp.occurred_on)).label("last_on"))
            .where(col(FollowUp.occurred_on) <= a_date(on), effective())
            .group_by(col(FollowUp.project_id)).subquery("last_follow_up"))


def scope(principal: Principal) -> ColumnElement[bool]:
    """The entries this principal reads: a unit's on its projects; a leader's on the projects in
    their charge or where they were present; everyone else's, all. Joins ``projects``."""
    if principal.role == Role.leader:
        present = exists().where(col(FollowUpLeader.follow_up_id) == col(FollowUp.id),
                                 col(FollowUpLeader.leader_id) == principal.leader_id)
        return or_(col(Project.leader_id) == principal.leader_id, present)
    return project_scope(principal)


@dataclass
class FollowUpFilters:
    project_id: int | None = None
    leader_id: list[int] = field(default_factory=list)
    unit_id: list[int] = field(default_factory=list)
    kind: list[FollowUpKind] = field(default_factory=list)
    since: date | None = None
    until: date | None = None
    overdue: bool | None = None

    def apply(self, stmt: Select[Any], today: date) -> Select[Any]:
        if self.project_id is not None:
            stmt = stmt.where(col(FollowUp.project_id) == self.project_id)
        if self.leader_id:
            present = exists().where(col(FollowUpLeader.follow_up_id) == col(FollowUp.id),
                                     col(FollowUpLeader.leader_id).in_(self.leader_id))
            stmt = stmt.where(or_(col(Project.leader_id).in_(self.leader_id), present))
        if self.unit_id:
            stmt = stmt.where(col(Project.unit_id).in_(self.unit_id))
        if self.kind:
            stmt = stmt.where(col(FollowUp.kind).in_([k.value for k in self.kind]))
        if self.since is not None:
            stmt = stmt.where(col(FollowUp.occurred_on) >= a_date(self.since))
        if self.until is not None:
            stmt = stmt.where(col(FollowUp.occurred_on) <= a_date(self.until))
        if self.overdue is not None:
            stmt = stmt.where(overdue(today) if self.overdue else ~overdue(today))
        return stmt


async def count_overdue(session: AsyncSession, *, leader_id: int, on: date) -> int:
    """How many entries of a leader's (in charge or present) are overdue on ``on``."""
    stmt = (select(func.count()).select_from(FollowUp).join(Project, col(Project.id) == col(FollowUp.project_id))
            .where(overdue(on)))
    return int((await session.execute(FollowUpFilters(leader_id=[leader_id]).apply(stmt, on))).scalar_one())


def _columns(today: date) -> tuple[Any, ...]:
    correction = aliased(FollowUp)
    corrected_by = (select(col(correction.id)).where(col(correction.corrects_id) == col(FollowUp.id))
                    .scalar_subquery().label("corrected_by_id"))
    return (FollowUp, corrected_by, overdue(today).label("overdue"))


async def _leaders_of(session: AsyncSession, ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(col(FollowUpLeader.follow_up_id), col(FollowUpLeader.leader_id))
            .where(col(FollowUpLeader.follow_up_id).in_(ids)).order_by(col(FollowUpLeader.leader_id)))
        for follow_up_id, leader_id in rows:
            out[follow_up_id].append(leader_id)
    return out


def _read(entry: FollowUp, corrected_by_id: int | None, is_overdue: bool, leader_ids: list[int]) -> FollowUpRead:
    return FollowUpRead(**entry.model_dump(), leader_ids=leader_ids, corrected_by_id=corrected_by_id,
                        overdue=bool(is_overdue))


async def listing(session: AsyncSession, principal: Principal, *, filters: FollowUpFilters, sort: str,
                  cursor: str | None, limit: int, today: date) -> Page[FollowUpRead]:
    """One page of the follow-up entries the principal reads."""
    if filters.project_id is not None:
        await get_project(session, principal, filters.project_id)
    key, descending = pagination.parse_sort(sort, SORT_KEYS)
    stmt = (select(*_columns(today)).join(Project, col(Project.id) == col(FollowUp.project_id))
            .where(scope(principal)))
    stmt = filters.apply(stmt, today)
    label = f"follow-ups:{sort}"
    stmt = pagination.apply(stmt, key=key, descending=descending, id_column=FollowUp.id, cursor=cursor,
                            limit=limit, sort_label=label)
    rows = (await session.execute(stmt)).all()
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label=label,
                                        key_of=lambda r: (getattr(r[0], key.name), r[0].id))
    leaders = await _leaders_of(session, [r[0].id for r in kept])
    return Page[FollowUpRead](items=[_read(r[0], r[1], r[2], leaders[r[0].id]) for r in kept],
                              next_cursor=next_cursor)


async def create(session: AsyncSession, principal: Principal, project_id: int, *, data: FollowUpCreate,
                 today: date) -> FollowUpRead:
    """Add an entry to a project's follow-up log (or a correction of one)."""
    project = await get_project(session, principal, project_id)
    if project.archived_at is not None:
        raise Conflict("An archived project's log cannot grow.", code="project_archived")
    if data.occurred_on > today:
        raise InvalidInput.field("occurred_on", f"must not be in the future (today is {today})")
    for leader_id in data.leader_ids:
        leader = await session.get(Leader, leader_id)
        if leader is None:
            raise InvalidInput.field("leader_ids", f"no leader has id {leader_id}")
    if data.corrects_id is not None:
        corrected = await session.get(FollowUp, data.corrects_id)
        if corrected is None or corrected.project_id != project_id:
            raise InvalidInput.field("corrects_id", f"no entry {data.corrects_id} in this project's log")
        if (await session.execute(select(col(FollowUp.id)).where(
                col(FollowUp.corrects_id) == data.corrects_id))).first() is not None:
            raise Conflict(f"Entry {data.corrects_id} is already corrected; correct the correction.",
                           code="already_corrected")
    entry = FollowUp(project_id=project_id, occurred_on=data.occurred_on, kind=data.kind,
                     participants=data.participants, summary=data.summary, next_step=data.next_step,
                     next_contact_on=data.next_contact_on, corrects_id=data.corrects_id,
                     actor_key_id=principal.key_id, actor_name=principal.name)
    session.add(entry)
    try:
        await session.flush()
    except IntegrityError as exc:  # lost a race to correct the same entry
        raise Conflict(f"Entry {data.corrects_id} is already corrected.", code="already_corrected") from exc
    assert entry.id is not None
    session.add_all([FollowUpLeader(follow_up_id=entry.id, leader_id=i) for i in data.leader_ids])
    await session.flush()
    is_overdue = (await session.execute(
        select(overdue(today)).select_from(FollowUp).join(Project, col(Project.id) == col(FollowUp.project_id))
        .where(col(FollowUp.id) == entry.id))).scalar_one()
    read = _read(entry, None, is_overdue, sorted(data.leader_ids))
    await audit.record(session, principal, action="follow_up.create", resource_type="follow_up",
                       resource_id=entry.id, after=read.model_dump(mode="json", exclude={"overdue"}))
    return read


async def read_one(session: AsyncSession, principal: Principal, follow_up_id: int, *, today: date) -> FollowUpRead:
    row = (await session.execute(
        select(*_columns(today)).join(Project, col(Project.id) == col(FollowUp.project_id))
        .where(col(FollowUp.id) == follow_up_id, scope(principal)))).first()
    if row is None:
        raise NotFound(f"No follow-up with id {follow_up_id}.")
    return _read(row[0], row[1], row[2], (await _leaders_of(session, [follow_up_id]))[follow_up_id])
