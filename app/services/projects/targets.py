"""The year's targets: create, read, change, archive, and keep a list target's members.

A list target's membership is dated: a project is on the list from ``added_on`` until
``removed_on``; removals close rows and re-additions open new ones, so the list on any
past date can be read back, and nothing is deleted.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, InvalidInput, NotFound
from app.models import Project, Target, TargetMember, utcnow
from app.models.enums import Designation, Stage, TargetMembership
from app.models.fields import Money
from app.models.target import (
    Criterion,
    MembershipChange,
    TargetCreate,
    TargetMemberRead,
    TargetRead,
    TargetUpdate,
)
from app.services.access.permissions import Principal
from app.services.common import audit, lifecycle, links, pagination, versioning
from app.services.common.pagination import Page, SortKey
from app.services.projects import guards, reference


def to_read(target: Target) -> TargetRead:
    assert target.id is not None
    return TargetRead(
        id=target.id, year=target.year, title=target.title, description=target.description,
        goal_stage=Stage(target.goal_stage) if target.goal_stage else None,
        goal_designation=Designation(target.goal_designation) if target.goal_designation else None,
        target_count=target.target_count,
        target_amount=(Money(amount=target.target_amount, currency=target.target_currency)
                       if target.target_amount is not None else None),
        currency=target.target_currency, membership=TargetMembership(target.membership),
        criterion=Criterion.model_validate(target.criterion) if target.criterion is not None else None,
        plan_rates={c: Decimal(r) for c, r in sorted(target.plan_rates.items())},
        version=target.version, created_at=target.created_at, updated_at=target.updated_at,
        archived_at=target.archived_at)


def _snapshot(target: Target) -> dict[str, Any]:
    return to_read(target).model_dump(mode="json", exclude={"updated_at"})


def _plan_rates(rates: dict[str, Decimal]) -> dict[str, str]:
    return {currency: str(rate) for currency, rate in sorted(rates.items())}


async def create_target(session: AsyncSession, *, data: TargetCreate, actor: Principal) -> TargetRead:
    """Set a target of the year; a list target's initial members join on ``members_since``."""
    await guards.check_current(session, Project, data.members, field="members")
    if data.criterion is not None:
        await reference.check_known(session, field="criterion", zones=data.criterion.zone,
                                    industries=data.criterion.industry)
    since = data.members_since or date(data.year, 1, 1)
    target = Target(
        year=data.year, title=data.title, description=data.description,
        goal_stage=data.goal_stage, goal_designation=data.goal_designation, target_count=data.target_count,
        target_amount=data.target_amount.amount if data.target_amount else None,
        target_currency=data.target_amount.currency if data.target_amount else "CNY",
        membership=data.membership,
        criterion=data.criterion.model_dump(mode="json") if data.criterion is not None else None,
        plan_rates=_plan_rates(data.plan_rates))
    session.add(target)
    await versioning.flush(session)
    assert target.id is not None
    session.add_all([TargetMember(target_id=target.id, project_id=pid, added_on=since, added_by=actor.name)
                     for pid in data.members])
    await versioning.flush(session)
    after = _snapshot(target)
    if data.membership == TargetMembership.list:
        after |= {"members": sorted(data.members), "members_since": since.isoformat()}
    await audit.record(session, actor, action="target.create", resource_type="target", resource_id=target.id,
                       after=after)
    return to_read(target)


async def get_target(session: AsyncSession, target_id: int) -> Target:
    target = await session.get(Target, target_id)
    if target is None:
        raise NotFound(f"No target with id {target_id}.")
    return target


async def list_targets(session: AsyncSession, *, year: int | None, archived: bool, cursor: str | None,
                       limit: int) -> Page[TargetRead]:
    """Targets, by year then id."""
    stmt = select(Target).where(col(Target.archived_at).is_not(None) if archived
                                else col(Target.archived_at).is_(None))
    if year is not None:
        stmt = stmt.where(col(Target.year) == year)
    key = SortKey("id", Target.id, int)
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=Target.id, cursor=cursor, limit=limit,
                            sort_label="target")
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="target", key_of=lambda t: (t.id or 0, t.id or 0))
    return Page[TargetRead](items=[to_read(t) for t in kept], next_cursor=next_cursor)


async def update_target(session: AsyncSession, target_id: int, *, data: TargetUpdate, if_match: str | None,
                        actor: Principal) -> TargetRead:
    """Change the fields present in ``data``."""
    target = await get_target(session, target_id)

    async def apply() -> None:
        if data.criterion is not None and target.membership != TargetMembership.criterion:
            raise InvalidInput.field("criterion", "a list target has no criterion; change its members instead")
        if "target_amount" in data.model_fields_set:
            target.target_amount = data.target_amount.amount if data.target_amount else None
            target.target_currency = data.target_amount.currency if data.target_amount else "CNY"
        if data.criterion is not None:
            await reference.check_known(session, field="criterion", zones=data.criterion.zone,
                                        industries=data.criterion.industry)
            target.criterion = data.criterion.model_dump(mode="json")
        if data.plan_rates is not None:
            target.plan_rates = _plan_rates(data.plan_rates)

    await lifecycle.update(session, actor, target, if_match=if_match, resource_type="target", resource_id=target_id,
                           snapshot=lambda: _snapshot(target), apply=apply, archived_code="target_archived",
                           fields=data.model_dump(exclude_unset=True,
                                                  exclude={"target_amount", "criterion", "plan_rates"}))
    return to_read(target)


async def archive_target(session: AsyncSession, target_id: int, *, if_match: str | None,
                         actor: Principal) -> TargetRead:
    """Archive a target: it leaves the lists and the statistics, and keeps its history."""
    target = await get_target(session, target_id)
    await lifecycle.archive(session, actor, target, if_match=if_match, resource_type="target",
                            resource_id=target_id, code="target_archived")
    return to_read(target)


def _list_target(target: Target) -> None:
    if target.membership != TargetMembership.list:
        raise Conflict("A criterion target has no list: its criterion selects its projects "
                       f"(GET {links.link(f'/targets/{target.id}/projects')}).", code="not_a_list_target")


async def _open_rows(session: AsyncSession, target_id: int, project_ids: Sequence[int]) -> dict[int, TargetMember]:
    rows = (await session.execute(select(TargetMember).where(
        col(TargetMember.target_id) == target_id, col(TargetMember.project_id).in_(project_ids),
        col(TargetMember.removed_on).is_(None)))).scalars()
    return {row.project_id: row for row in rows}


async def change_members(session: AsyncSession, target_id: int, *, data: MembershipChange, if_match: str | None,
                         actor: Principal, today: date) -> TargetRead:
    """Add projects to and remove them from a list target, from ``data.on``; the change is
    dated, so the list on earlier dates stays as it was."""
    target = await get_target(session, target_id)
    versioning.check(if_match, target.version)
    if target.archived_at is not None:
        raise Conflict("An archived target cannot change.", code="target_archived")
    _list_target(target)
    on = data.on or today
    if on > today:
        raise InvalidInput.field("on", f"must not be in the future (today is {today})")
    await guards.check_current(session, Project, data.add, field="add")

    already = await _open_rows(session, target_id, data.add)
    if already:
        raise InvalidInput.field("add", f"already on the list: {', '.join(str(i) for i in sorted(already))}")
    if data.add:
        # A project removed after `on` would be on the list twice on the days between.
        overlapping = (await session.execute(select(col(TargetMember.project_id)).where(
            col(TargetMember.target_id) == target_id, col(TargetMember.project_id).in_(data.add),
            col(TargetMember.removed_on) > on))).scalars().first()
        if overlapping is not None:
            raise InvalidInput.field("on", f"project {overlapping} was on the list after {on}; "
                                           "add it from a later date")
    leaving = await _open_rows(session, target_id, data.remove)
    absent = [i for i in data.remove if i not in leaving]
    if absent:
        raise InvalidInput.field("remove", f"not on the list: {', '.join(str(i) for i in absent)}")
    late_start = [row.project_id for row in leaving.values() if row.added_on > on]
    if late_start:
        raise InvalidInput.field("on", f"project {late_start[0]} joined the list after {on}")

    count_before = await member_count(session, target_id)
    now = utcnow()
    for row in leaving.values():
        row.removed_on, row.removed_by, row.removed_at = on, actor.name, now
    session.add_all([TargetMember(target_id=target_id, project_id=pid, added_on=on, added_by=actor.name,
                                  added_at=now, note=data.note) for pid in data.add])
    target.updated_at = now  # the list is part of the target: its version moves
    await versioning.flush(session)
    await audit.record(session, actor, action="target.members", resource_type="target", resource_id=target_id,
                       before={"member_count": count_before},
                       after={"member_count": await member_count(session, target_id), "added": sorted(data.add),
                              "removed": sorted(data.remove), "on": on.isoformat(), "note": data.note})
    return to_read(target)


async def member_count(session: AsyncSession, target_id: int) -> int:
    """How many projects are on the list now (open rows)."""
    stmt = select(func.count()).select_from(TargetMember).where(
        col(TargetMember.target_id) == target_id, col(TargetMember.removed_on).is_(None))
    return int((await session.execute(stmt)).scalar_one())


async def list_members(session: AsyncSession, target_id: int, *, on: date | None, cursor: str | None,
                       limit: int) -> Page[TargetMemberRead]:
    """The list's rows: those in force on ``on``, or with ``on`` None its whole history."""
    target = await get_target(session, target_id)
    _list_target(target)
    m = TargetMember
    stmt = select(m).where(col(m.target_id) == target_id)
    if on is not None:
        stmt = stmt.where(col(m.added_on) <= on, or_(col(m.removed_on).is_(None), col(m.removed_on) > on))
    key = SortKey("id", m.id, int)
    label = f"members:{on}"
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=m.id, cursor=cursor, limit=limit,
                            sort_label=label)
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label=label, key_of=lambda r: (r.id or 0, r.id or 0))
    return Page[TargetMemberRead](items=[TargetMemberRead.model_validate(r, from_attributes=True) for r in kept],
                                  next_cursor=next_cursor)
