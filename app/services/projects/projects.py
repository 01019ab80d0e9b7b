"""The project registry: create, read, list, update, archive, and stage moves."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import Select, bindparam, func, literal_column, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import plainsql
from app.db import lock_key
from app.dialect import in_values, json_rows
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Leader, Project, ProjectCodeRecord, ProjectDesignation, StageTransition, Unit, utcnow
from app.models.enums import CodeReason, Designation, DesignationStatus, FundingSource, Stage
from app.models.project import (
    DesignationEntry,
    ProjectCodeRead,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    TransitionCreate,
    TransitionRead,
)
from app.plainsql import Query
from app.services.access.permissions import Principal, can_see_project, project_scope
from app.services.approvals import events
from app.services.common import audit, pagination, versioning
from app.services.common.pagination import Page, SortKey
from app.services.events import outbox
from app.services.projects import reference, stages

SORT_KEYS: dict[str, SortKey] = {
    "name": SortKey("name", Project.name, pagination.decode_str),
    "total_investment": SortKey("total_investment", Project.total_investment_amount, pagination.decode_decimal),
    "stage_entered_on": SortKey("stage_entered_on", Project.stage_entered_on, pagination.decode_date),
    "created_at": SortKey("created_at", Project.created_at, pagination.decode_datetime),
    "updated_at": SortKey("updated_at", Project.updated_at, pagination.decode_datetime),
}
SORT_ATTRS = {"total_investment": "total_investment_amount"}
AUDIT_IGNORED = frozenset({"updated_at"})
PROJECT_COLUMNS = tuple(Project.__table__.columns)  # type: ignore[attr-defined]
DESIGNATION_FIELDS = ("designation", "status", "year", "decided_on")
# The hot read paths (one project, a list page) select rows with Core, not ORM instances,
# and each project's designations with it as JSON text: one statement, so the two agree.
_DESIGNATION_PAIRS = chain.from_iterable((literal_column(f"'{name}'"), getattr(ProjectDesignation, name))
                                         for name in DESIGNATION_FIELDS)
PROJECT_READ_COLUMNS = (*PROJECT_COLUMNS, select(json_rows(*_DESIGNATION_PAIRS))
                        .where(col(ProjectDesignation.project_id) == col(Project.id))
                        .scalar_subquery().label("designations"))
PROJECT_BY_ID = Query(lambda _dialect: select(*PROJECT_READ_COLUMNS).where(col(Project.id) == bindparam("id")))


@dataclass
class ProjectFilters:
    """The list filters; each is ANDed, values within one are ORed."""

    stage: list[Stage] = field(default_factory=list)
    funding_source: list[FundingSource] = field(default_factory=list)
    zone: list[str] = field(default_factory=list)
    industry: list[str] = field(default_factory=list)
    leader_id: list[int] = field(default_factory=list)
    unit_id: list[int] = field(default_factory=list)
    designation: list[Designation] = field(default_factory=list)
    designation_status: list[DesignationStatus] = field(default_factory=list)
    code: str | None = None
    q: str | None = None
    on_hold: bool | None = None
    archived: bool = False

    def apply(self, stmt: Select[Any], dialect_name: str = "") -> Select[Any]:
        """``stmt`` filtered; ``dialect_name`` "postgresql" gives each list filter one array
        parameter (``dialect.in_values``)."""
        columns: dict[str, Any] = {"stage": Project.stage, "funding_source": Project.funding_source,
                                   "zone": Project.zone, "industry": Project.industry,
                                   "leader_id": Project.leader_id, "unit_id": Project.unit_id}
        for name, column in columns.items():
            values = getattr(self, name)
            if values:
                stmt = stmt.where(in_values(column, [str(v) if isinstance(v, str) else v for v in values],
                                            dialect_name))
        if self.designation or self.designation_status:
            held = select(col(ProjectDesignation.project_id)).where(
                col(ProjectDesignation.project_id) == col(Project.id))
            if self.designation:
                held = held.where(in_values(col(ProjectDesignation.designation), [str(d) for d in self.designation],
                                            dialect_name))
            if self.designation_status:
                held = held.where(in_values(col(ProjectDesignation.status),
                                            [str(s) for s in self.designation_status], dialect_name))
            stmt = stmt.where(held.exists())
        if self.code is not None:
            stmt = stmt.where(Project.code == self.code)  # type: ignore[arg-type]
        if self.q:
            pattern = "%" + self.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(or_(func.lower(Project.name).like(pattern, escape="\\"),
                                  func.lower(Project.investor).like(pattern, escape="\\")))
        if self.on_hold is not None:
            stmt = stmt.where(Project.on_hold == self.on_hold)  # type: ignore[arg-type]
        if self.archived:
            stmt = stmt.where(Project.archived_at.is_not(None))  # type: ignore[union-attr]
        else:
            stmt = stmt.where(Project.archived_at.is_(None))  # type: ignore[union-attr]
        return stmt


def project_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """The API's project (``ProjectRead``'s fields, in order) from a row of
    ``PROJECT_READ_COLUMNS``, as plain values for the JSON encoder: what the hot read paths
    answer without building a model per project."""
    designations = json.loads(row["designations"]) if row["designations"] else []
    return _project(row, designations)


def to_read(project: Project, designations: Sequence[ProjectDesignation]) -> ProjectRead:
    return ProjectRead.model_validate(_project(
        {c.name: getattr(project, c.name) for c in PROJECT_COLUMNS},
        [{name: getattr(d, name) for name in DESIGNATION_FIELDS} for d in designations]))


def _project(row: Mapping[str, Any], designations: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row["id"], "code": row["code"], "name": row["name"], "investor": row["investor"],
        "investor_country": row["investor_country"], "funding_source": row["funding_source"],
        "industry": row["industry"], "zone": row["zone"],
        "total_investment": {"amount": row["total_investment_amount"], "currency": row["total_investment_currency"]},
        "stage": row["stage"], "stage_entered_on": row["stage_entered_on"], "leader_id": row["leader_id"],
        "unit_id": row["unit_id"], "planned_sign_on": row["planned_sign_on"],
        "planned_start_on": row["planned_start_on"], "planned_production_on": row["planned_production_on"],
        "designations": sorted(designations, key=itemgetter("designation")),
        "on_hold": row["on_hold"], "version": row["version"], "created_at": row["created_at"],
        "updated_at": row["updated_at"], "archived_at": row["archived_at"],
    }


def snapshot(read: ProjectRead) -> dict[str, Any]:
    return read.model_dump(mode="json", exclude=set(AUDIT_IGNORED))


async def _designations(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[ProjectDesignation]]:
    out: dict[int, list[ProjectDesignation]] = {pid: [] for pid in project_ids}
    if project_ids:
        rows = await session.execute(
            select(ProjectDesignation).where(ProjectDesignation.project_id.in_(project_ids)))  # type: ignore[attr-defined]
        for d in rows.scalars():
            out[d.project_id].append(d)
    return out


async def _read(session: AsyncSession, project: Project) -> ProjectRead:
    assert project.id is not None
    return to_read(project, (await _designations(session, [project.id]))[project.id])


async def _check_references(session: AsyncSession, *, leader_id: int | None, unit_id: int | None) -> None:
    if leader_id is not None:
        leader = await session.get(Leader, leader_id)
        if leader is None or leader.archived_at is not None:
            raise InvalidInput.field("leader_id", f"no current leader has id {leader_id}")
    if unit_id is not None:
        unit = await session.get(Unit, unit_id)
        if unit is None or unit.archived_at is not None:
            raise InvalidInput.field("unit_id", f"no current unit has id {unit_id}")


def holding_code(code: str) -> Any:
    """A condition on ``Project``: the project that has, or has had, ``code``."""
    return or_(col(Project.code) == code,
               col(Project.id).in_(select(col(ProjectCodeRecord.project_id))
                                   .where(col(ProjectCodeRecord.code) == code)))


async def _check_code_free(session: AsyncSession, code: str | None, *, project_id: int | None = None) -> None:
    """Refuse a code that another project has or has had: a code leads to one project, ever."""
    if code is None:
        return
    # Serializes with another project taking this code, and with approval events naming it.
    await lock_key(session, "project_code", code)
    stmt = select(col(Project.id)).where(holding_code(code))
    if project_id is not None:
        stmt = stmt.where(col(Project.id) != project_id)
    holder = (await session.execute(stmt)).scalar()
    if holder is not None:
        raise Conflict(f"The code {code} is (or was) the code of project {holder}: a code belongs to one "
                       "project only.", code="code_taken", errors=[{"field": "code", "message": "is taken"}])


def _code_record(project: Project, *, reason: CodeReason, valid_from: date, actor: Principal) -> ProjectCodeRecord:
    assert project.id is not None and project.code is not None
    return ProjectCodeRecord(code=project.code, project_id=project.id, reason=reason, valid_from=valid_from,
                             actor_key_id=actor.key_id, actor_name=actor.name)


async def _flush(session: AsyncSession) -> None:
    try:
        await versioning.flush(session)
    except IntegrityError as exc:  # lost a race for a unique project code
        raise Conflict("Another project already has this code.", code="code_taken") from exc


async def _set_designations(session: AsyncSession, project_id: int, current: Sequence[ProjectDesignation],
                      wanted: Sequence[DesignationEntry]) -> None:
    by_name = {d.designation: d for d in current}
    for entry in wanted:
        row = by_name.pop(entry.designation, None)
        if row is None:
            session.add(ProjectDesignation(project_id=project_id, designation=entry.designation,
                                           status=entry.status, year=entry.year, decided_on=entry.decided_on))
        else:
            row.status, row.year, row.decided_on = entry.status, entry.year, entry.decided_on
    for row in by_name.values():
        # A designation is a current fact about the project, not a record; its past
        # values stay in the audit trail.
        await session.delete(row)


async def create_project(session: AsyncSession, *, data: ProjectCreate, actor: Principal,
                         today: date) -> ProjectRead:
    """Register a project in its starting stage; its creation opens its stage history."""
    entered_on = data.stage_entered_on or today
    if entered_on > today:
        raise InvalidInput.field("stage_entered_on", f"must not be in the future (today is {today})")
    if data.code_on is not None and data.code_on > today:
        raise InvalidInput.field("code_on", f"must not be in the future (today is {today})")
    await _check_references(session, leader_id=data.leader_id, unit_id=data.unit_id)
    await reference.check_usable(session, zone=data.zone, industry=data.industry)
    await _check_code_free(session, data.code)
    project = Project(
        **data.model_dump(include={"code", "name", "investor", "investor_country", "funding_source",
                                   "industry", "zone", "leader_id", "unit_id", "planned_sign_on",
                                   "planned_start_on", "planned_production_on", "on_hold"}),
        total_investment_amount=data.total_investment.amount,
        total_investment_currency=data.total_investment.currency,
        stage=data.stage, stage_entered_on=entered_on,
    )
    session.add(project)
    await _flush(session)
    assert project.id is not None
    await _set_designations(session, project.id, [], data.designations)
    session.add(stages.first_entry(project, actor=actor, note=data.note))
    if project.code is not None:
        session.add(_code_record(project, reason=CodeReason.assigned, valid_from=data.code_on or today,
                                 actor=actor))
    await _flush(session)
    read = await _read(session, project)
    await audit.record(session, actor, action="project.create", resource_type="project", resource_id=project.id,
                       after=snapshot(read))
    await outbox.emit(session, "project.created", {"project": read.model_dump(mode="json")})
    await events.apply_waiting(session, project=project)
    return read


async def get_project(session: AsyncSession, principal: Principal, project_id: int, *,
                      for_update: bool = False) -> Project:
    """The project, if it exists and the principal may see it; else 404."""
    stmt = select(Project).where(Project.id == project_id)  # type: ignore[arg-type]
    if for_update:
        stmt = stmt.with_for_update()
    project = (await session.execute(stmt)).scalar_one_or_none()
    if project is None or not can_see_project(principal, project):
        raise NotFound(f"No project with id {project_id}.")
    return project


async def read_project(on: plainsql.On, principal: Principal, project_id: int) -> dict[str, Any]:
    """The project as the API shows it (``project_json``), if the principal may see it; else 404."""
    row = await PROJECT_BY_ID.first(on, id=project_id)
    if row is None or not can_see_project(principal, row):
        raise NotFound(f"No project with id {project_id}.")
    return project_json(row)


async def read_project_by_code(session: AsyncSession, principal: Principal, code: str) -> ProjectRead:
    """The project that has, or has had, ``code``; it answers with its current code."""
    project = (await session.execute(select(Project).where(holding_code(code)))).scalar_one_or_none()
    if project is None or not can_see_project(principal, project):
        raise NotFound(f"No project with code {code}.")
    return await _read(session, project)


async def list_projects(on: plainsql.On, principal: Principal, *, filters: ProjectFilters, sort: str,
                        cursor: str | None, limit: int) -> dict[str, Any]:
    """One page of the projects the principal may see, in keyset order, as ``Page[ProjectRead]``'s
    fields (``project_json``)."""
    key, descending = pagination.parse_sort(sort, SORT_KEYS)
    stmt = filters.apply(select(*PROJECT_READ_COLUMNS).where(project_scope(principal)), plainsql.dialect_of(on).name)
    stmt = pagination.apply(stmt, key=key, descending=descending, id_column=Project.id, cursor=cursor,
                            limit=limit, sort_label=sort)
    rows = await plainsql.rows(on, stmt)
    attr = SORT_ATTRS.get(key.name, key.name)
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label=sort, key_of=lambda p: (p[attr], p["id"]))
    return {"items": [project_json(p) for p in kept], "next_cursor": next_cursor}


async def _code_change(session: AsyncSession, project: Project, data: ProjectUpdate, *,
                       today: date) -> tuple[CodeReason, date] | None:
    """Why and from when the project's code changes, checked; None when it does not."""
    if data.code is None or data.code == project.code:
        return None
    assert project.id is not None
    await _check_code_free(session, data.code, project_id=project.id)
    valid_from = data.code_on or today
    if valid_from > today:
        raise InvalidInput.field("code_on", f"must not be in the future (today is {today})")
    had_codes = (await session.execute(select(col(ProjectCodeRecord.id))
                                       .where(col(ProjectCodeRecord.project_id) == project.id).limit(1))).first()
    return data.code_reason or (CodeReason.corrected if had_codes else CodeReason.assigned), valid_from


async def list_codes(session: AsyncSession, principal: Principal, project_id: int, *, cursor: str | None,
                     limit: int) -> Page[ProjectCodeRead]:
    """Every national project code a project has had, oldest first."""
    project = await get_project(session, principal, project_id)
    key = SortKey("id", ProjectCodeRecord.id, pagination.decode_id(pagination.INT64_MAX))
    stmt = select(ProjectCodeRecord).where(col(ProjectCodeRecord.project_id) == project_id)
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=ProjectCodeRecord.id, cursor=cursor,
                            limit=limit, sort_label="codes")
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="codes",
                                        key_of=lambda r: (r.id or 0, r.id or 0))
    # The current code's latest entry: a project may go back to a code it had before.
    current_id = (await session.execute(
        select(func.max(col(ProjectCodeRecord.id))).where(col(ProjectCodeRecord.project_id) == project_id,
                                                          col(ProjectCodeRecord.code) == project.code))).scalar()
    return Page[ProjectCodeRead](items=[ProjectCodeRead(code=r.code, reason=CodeReason(r.reason),
                                                        valid_from=r.valid_from, current=r.id == current_id,
                                                        actor_name=r.actor_name, recorded_at=r.recorded_at)
                                        for r in kept], next_cursor=next_cursor)


async def update_project(session: AsyncSession, principal: Principal, project_id: int, *, data: ProjectUpdate,
                         if_match: str | None, today: date) -> ProjectRead:
    """Change the fields present in ``data``, if ``if_match`` names the current version. A new
    code joins the project's code history."""
    project = await get_project(session, principal, project_id)
    versioning.check(if_match, project.version)
    if project.archived_at is not None:
        raise Conflict("An archived project cannot be changed.", code="project_archived")
    before = await _read(session, project)
    changes = data.model_dump(exclude_unset=True, exclude={"total_investment", "designations", "code_reason",
                                                           "code_on"})
    if "leader_id" in changes or "unit_id" in changes:
        await _check_references(session, leader_id=changes.get("leader_id"), unit_id=changes.get("unit_id"))
    # An archived zone or industry stays on the projects that had it; none may take it anew.
    await reference.check_usable(session, **{name: changes[name] for name in ("zone", "industry")
                                             if changes.get(name) not in (None, getattr(project, name))})
    code_change = await _code_change(session, project, data, today=today)
    merged = before.model_copy(update=changes)
    for a_name, b_name in (("planned_sign_on", "planned_start_on"), ("planned_start_on", "planned_production_on"),
                           ("planned_sign_on", "planned_production_on")):
        a, b = getattr(merged, a_name), getattr(merged, b_name)
        if a is not None and b is not None and a > b:
            raise InvalidInput.field(b_name, f"must not be before {a_name} ({a})")
    for name, value in changes.items():
        setattr(project, name, value)
    if data.total_investment is not None:
        project.total_investment_amount = data.total_investment.amount
        project.total_investment_currency = data.total_investment.currency
    if data.designations is not None:
        current = (await _designations(session, [project_id]))[project_id]
        await _set_designations(session, project_id, current, data.designations)
    project.updated_at = utcnow()
    if code_change is not None:
        session.add(_code_record(project, reason=code_change[0], valid_from=code_change[1], actor=principal))
    await _flush(session)
    after = await _read(session, project)
    old, new = audit.diff(snapshot(before), snapshot(after))
    if code_change is not None:
        new["code_reason"], new["code_on"] = code_change[0].value, code_change[1].isoformat()
    await audit.record(session, principal, action="project.update", resource_type="project",
                       resource_id=project_id, before=old, after=new)
    await outbox.emit(session, "project.updated", {"project": after.model_dump(mode="json"),
                                                   "changes": {"before": old, "after": new}})
    if "code" in new:
        await events.apply_waiting(session, project=project)
    return after


async def archive_project(session: AsyncSession, principal: Principal, project_id: int, *,
                          if_match: str | None) -> ProjectRead:
    """Archive a project: it leaves the lists but is never deleted."""
    project = await get_project(session, principal, project_id)
    await audit.archive(session, principal, project, if_match=if_match, what="project", resource_type="project",
                        resource_id=project_id, code="project_archived")
    read = await _read(session, project)
    await outbox.emit(session, "project.archived", {"project": read.model_dump(mode="json")})
    return read


async def move_project(session: AsyncSession, principal: Principal, project_id: int, *, data: TransitionCreate,
                       if_match: str | None, today: date) -> tuple[ProjectRead, TransitionRead]:
    """Move a project to another stage; see ``app.services.projects.stages`` for the rules."""
    project = await get_project(session, principal, project_id)
    versioning.check(if_match, project.version)
    if project.archived_at is not None:
        raise Conflict("An archived project cannot change stage.", code="project_archived")
    from_stage, from_entered_on = project.stage, project.stage_entered_on
    entry = await stages.transition(session, project, to=data.to, occurred_on=data.occurred_on, note=data.note,
                                    reason=data.reason, actor=principal, today=today)
    await _flush(session)
    read = await _read(session, project)
    await audit.record(session, principal, action="project.transition", resource_type="project",
                       resource_id=project_id,
                       before={"stage": from_stage, "stage_entered_on": str(from_entered_on)},
                       after={"stage": read.stage, "stage_entered_on": str(read.stage_entered_on),
                              "kind": entry.kind, "reason": data.reason, "note": data.note})
    transition = TransitionRead.model_validate(entry, from_attributes=True)
    await outbox.emit(session, "project.stage_changed", {
        "project": read.model_dump(mode="json"), "previous_stage": from_stage, "stage": read.stage,
        "transition": transition.model_dump(mode="json")})
    return read, transition


async def list_transitions(session: AsyncSession, principal: Principal, project_id: int, *, cursor: str | None,
                           limit: int) -> Page[TransitionRead]:
    """A project's stage history, oldest first."""
    await get_project(session, principal, project_id)
    key = SortKey("id", StageTransition.id, pagination.decode_id(pagination.INT64_MAX))
    stmt = select(StageTransition).where(StageTransition.project_id == project_id)  # type: ignore[arg-type]
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=StageTransition.id, cursor=cursor,
                            limit=limit, sort_label="history")
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="history",
                                        key_of=lambda t: (t.id or 0, t.id or 0))
    return Page[TransitionRead](items=[TransitionRead.model_validate(t, from_attributes=True) for t in kept],
                                next_cursor=next_cursor)


async def designations_of(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[ProjectDesignation]]:
    """The designations of each of these projects (for ledger imports and exports)."""
    return await _designations(session, project_ids)
