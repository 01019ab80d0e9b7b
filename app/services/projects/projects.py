"""The project registry: create, read, list, update, archive, and stage moves."""

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import Integer, Select, bindparam, cast, extract, func, literal_column, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from app import plainsql
from app.db import lock_key, lock_keys
from app.dialect import in_values, json_rows
from app.errors import AppError, Conflict, InvalidInput, NotFound, PreconditionFailed
from app.models import Investor, Leader, Project, ProjectCodeRecord, ProjectDesignation, StageTransition, Unit, utcnow
from app.models.enums import CodeReason, Designation, DesignationStatus, FundingSource, Stage
from app.models.project import (
    HISTORISED,
    PLANNED_DATES,
    DesignationEntry,
    ProjectCodeRead,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    TransitionCreate,
    TransitionRead,
    planned_dates_out_of_order,
)
from app.plainsql import Query
from app.services.access.permissions import Principal, can_see_project, project_scope
from app.services.approvals import events
from app.services.common import audit, lifecycle, pagination, versioning
from app.services.common.pagination import Page, SortKey
from app.services.events import outbox
from app.services.projects import guards, history, reference, stages
from app.services.promotion import investors, signing_events

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
    investor_id: list[int] = field(default_factory=list)
    fortune_global_500: bool | None = None
    signed_year: list[int] = field(default_factory=list)
    signing_event_id: list[int] = field(default_factory=list)
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
                                   "leader_id": Project.leader_id, "unit_id": Project.unit_id,
                                   "investor_id": Project.investor_id}
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
        if self.signed_year or self.signing_event_id:
            # The cohorts' members (app.services.stats.cohorts): signed in these years, or at these events.
            t = StageTransition
            signed = select(col(t.project_id)).where(col(t.project_id) == col(Project.id),
                                                     col(t.to_stage) == Stage.signed.value)
            if self.signed_year:
                signed = signed.where(in_values(cast(extract("year", col(t.occurred_on)), Integer), self.signed_year,
                                                dialect_name))
            if self.signing_event_id:
                signed = signed.where(in_values(col(t.signing_event_id), self.signing_event_id, dialect_name))
            stmt = stmt.where(signed.exists())
        if self.fortune_global_500 is not None:
            stmt = stmt.where(col(Project.investor_id).in_(
                select(col(Investor.id)).where(col(Investor.fortune_global_500) == self.fortune_global_500)))
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
        "investor_country": row["investor_country"], "investor_id": row["investor_id"],
        "funding_source": row["funding_source"], "industry": row["industry"], "zone": row["zone"],
        "total_investment": {"amount": row["total_investment_amount"], "currency": row["total_investment_currency"]},
        "contracted_fdi": (None if row["contracted_fdi_amount"] is None
                           else {"amount": row["contracted_fdi_amount"], "currency": "USD"}),
        "registered_capital": (None if row["registered_capital_amount"] is None
                               else {"amount": row["registered_capital_amount"],
                                     "currency": row["registered_capital_currency"]}),
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
    await guards.check_current(session, Leader, leader_id, field="leader_id")
    await guards.check_current(session, Unit, unit_id, field="unit_id")


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


def _new_project(data: ProjectCreate, investor: Investor, entered_on: date) -> Project:
    return Project(
        **data.model_dump(include={"code", "name", "funding_source", "industry", "zone", "leader_id", "unit_id",
                                   "planned_sign_on", "planned_start_on", "planned_production_on", "on_hold"}),
        investor=investor.name, investor_country=investor.country, investor_id=investor.id,
        total_investment_amount=data.total_investment.amount,
        total_investment_currency=data.total_investment.currency,
        contracted_fdi_amount=data.contracted_fdi.amount if data.contracted_fdi else None,
        registered_capital_amount=data.registered_capital.amount if data.registered_capital else None,
        registered_capital_currency=data.registered_capital.currency if data.registered_capital else None,
        stage=data.stage, stage_entered_on=entered_on,
    )


async def create_project(session: AsyncSession, *, data: ProjectCreate, actor: Principal,
                         today: date) -> ProjectRead:
    """Register a project in its starting stage; its creation opens its stage history."""
    try:
        [read] = await create_projects(session, items=[data], actor=actor, today=today)
    except ItemRefused as refused:
        raise refused.error from None
    return read


class ItemRefused(Exception):
    """One item of a batch was refused (``error``): the whole batch is, with it."""

    def __init__(self, index: int, error: AppError) -> None:
        super().__init__(error.detail)
        self.index, self.error = index, error


async def create_projects(session: AsyncSession, *, items: Sequence[ProjectCreate], actor: Principal,
                          today: date) -> list[ProjectRead]:
    """The one way projects are registered (``create_project`` registers a batch of one): each
    with its checks, history entry, code record, audit event and outbox event, in a few
    statements for them all (a ledger import, the demo); ``ItemRefused`` names the first refused."""
    async def each(check: Any, indexes: Sequence[int]) -> None:
        for i in indexes:
            try:
                await check(i)
            except AppError as exc:
                raise ItemRefused(i, exc) from exc

    def first(values: Sequence[Any]) -> dict[Any, int]:
        seen: dict[Any, int] = {}
        for i, value in enumerate(values):
            if value is not None:
                seen.setdefault(value, i)
        return seen

    async def dates(i: int) -> None:
        data = items[i]
        if (data.stage_entered_on or today) > today:
            raise InvalidInput.field("stage_entered_on", f"must not be in the future (today is {today})")
        if data.code_on is not None and data.code_on > today:
            raise InvalidInput.field("code_on", f"must not be in the future (today is {today})")

    await each(dates, range(len(items)))
    for model, name in ((Leader, "leader_id"), (Unit, "unit_id")):
        wanted = first([getattr(d, name) for d in items])
        try:
            await guards.check_current(session, model, sorted(wanted), field=name)
        except AppError:  # name the first item that names a missing one
            await each(lambda i, m=model, n=name: guards.check_current(session, m, getattr(items[i], n), field=n),
                       sorted(wanted.values()))
            raise
    for name in ("zone", "industry"):
        await each(lambda i, n=name: reference.check_usable(session, **{n: getattr(items[i], n)}),
                   sorted(first([getattr(d, name) for d in items]).values()))
    codes = first([d.code for d in items])
    if codes:
        await lock_keys(session, "project_code", sorted(codes))
        held: dict[Any, Any] = {}
        for stmt in (select(col(ProjectCodeRecord.code), col(ProjectCodeRecord.project_id))
                     .where(col(ProjectCodeRecord.code).in_(codes)),
                     select(col(Project.code), col(Project.id)).where(col(Project.code).in_(codes))):
            for code, holder in (await session.execute(stmt)).all():
                held[code] = holder
        for code, holder in held.items():
            raise ItemRefused(codes[code], Conflict(
                f"The code {code} is (or was) the code of project {holder}: a code belongs to one project only.",
                code="code_taken", errors=[{"field": "code", "message": "is taken"}]))
    named = await investors.match_or_create_many(
        session, [(d.investor, d.investor_country) for d in items if d.investor_id is None], actor=actor)
    made: list[Project] = []
    for i, data in enumerate(items):
        if data.investor_id is None:
            assert data.investor is not None and data.investor_country is not None
            investor = named[(data.investor, data.investor_country)]
        else:
            try:
                investor = await investors.resolve(session, investor_id=data.investor_id, name=data.investor,
                                                   country=data.investor_country, actor=actor)
            except AppError as exc:
                raise ItemRefused(i, exc) from exc
        made.append(_new_project(data, investor, data.stage_entered_on or today))
    session.add_all(made)
    await _flush(session)
    history.begin(session, made, recorded_at=utcnow())
    designations: list[list[ProjectDesignation]] = []
    for project, data in zip(made, items, strict=True):
        assert project.id is not None
        rows = [ProjectDesignation(project_id=project.id, designation=e.designation, status=e.status, year=e.year,
                                   decided_on=e.decided_on) for e in data.designations]
        designations.append(rows)
        session.add_all(rows)
        session.add(stages.first_entry(project, actor=actor, note=data.note))
        if project.code is not None:
            session.add(_code_record(project, reason=CodeReason.assigned, valid_from=data.code_on or today,
                                     actor=actor))
    await _flush(session)
    reads = [to_read(project, rows) for project, rows in zip(made, designations, strict=True)]
    for read in reads:
        await audit.record(session, actor, action="project.create", resource_type="project", resource_id=read.id,
                           after=snapshot(read))
        await outbox.emit(session, "project.created", {"project": read.model_dump(mode="json")})
    if codes:
        for project in await events.waiting_for(session, made):
            await events.apply_waiting(session, project=project)
    return reads


async def get_project(session: AsyncSession, principal: Principal, project_id: int, *,
                      for_update: bool = False) -> Project:
    """The project, if it exists and the principal may see it; else 404."""
    return await guards.visible_project(session, principal, project_id, for_update=for_update)


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


async def list_projects(on: AsyncConnection, principal: Principal, *, filters: ProjectFilters, sort: str,
                        cursor: str | None, limit: int) -> dict[str, Any]:
    """One page of the projects the principal may see, in keyset order, as ``Page[ProjectRead]``'s
    fields (``project_json``)."""
    key, descending = pagination.parse_sort(sort, SORT_KEYS)
    stmt = filters.apply(select(*PROJECT_READ_COLUMNS).where(project_scope(principal)), on.dialect.name)
    stmt = pagination.apply(stmt, key=key, descending=descending, id_column=Project.id, cursor=cursor,
                            limit=limit, sort_label=sort)
    rows = (await on.execute(stmt)).mappings().all()
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
    designations = (await _designations(session, [project_id]))[project_id]
    return (await _change_one(session, principal, ProjectChange(project, designations, update=data),
                              today=today)).read


async def archive_project(session: AsyncSession, principal: Principal, project_id: int, *,
                          if_match: str | None, today: date) -> ProjectRead:
    """Archive a project: it leaves the lists but is never deleted; the aggregates as of a date
    before ``today`` still count it."""
    project = await get_project(session, principal, project_id)
    await lifecycle.archive(session, principal, project, if_match=if_match, resource_type="project",
                            resource_id=project_id, code="project_archived")
    history.record(session, await history.believed(session, [project_id]),
                   [history.Dated(project_id, today, {"archived": True})], recorded_at=utcnow())
    read = await _read(session, project)
    await outbox.emit(session, "project.archived", {"project": read.model_dump(mode="json")})
    return read


async def move_project(session: AsyncSession, principal: Principal, project_id: int, *, data: TransitionCreate,
                       if_match: str | None, today: date) -> tuple[ProjectRead, TransitionRead]:
    """Move a project to another stage; see ``app.services.projects.stages`` for the rules."""
    project = await get_project(session, principal, project_id)
    versioning.check(if_match, project.version)
    designations = (await _designations(session, [project_id]))[project_id]
    changed = await _change_one(session, principal, ProjectChange(project, designations, moves=[data]), today=today)
    return changed.read, changed.transitions[0]


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


# The columns of a project's own row that a change writes (set-based, for every project changed).
_WRITTEN = ("code", "name", "investor", "investor_country", "investor_id", "funding_source", "industry", "zone",
            "total_investment_amount", "total_investment_currency", "contracted_fdi_amount",
            "registered_capital_amount", "registered_capital_currency", "leader_id", "unit_id", *PLANNED_DATES,
            "on_hold", "stage", "stage_entered_on", "version", "updated_at")
# The fields of an update that are not a column of the same name.
_DERIVED = frozenset({"total_investment", "designations", "contracted_fdi", "registered_capital", "investor",
                      "investor_country", "investor_id", "code_reason", "code_on", "effective_on"})
_INVESTOR = frozenset({"investor", "investor_country", "investor_id"})


@dataclass(slots=True)
class ProjectChange:
    """One project's update (or none), then its stage moves; ``designations`` are its current ones."""

    project: Project
    designations: Sequence[ProjectDesignation]
    update: ProjectUpdate | None = None
    moves: Sequence[TransitionCreate] = ()


@dataclass(frozen=True, slots=True)
class ProjectChanged:
    """The project as a change left it, and the stage moves it made."""

    read: ProjectRead
    transitions: list[TransitionRead]


@dataclass(slots=True)
class _Updated:
    """What an update sets: the columns, and what is written beside the project's row."""

    columns: dict[str, Any]
    effective_on: date
    code_change: tuple[CodeReason, date] | None = None
    designations: list[dict[str, Any]] | None = None


class _Checked:
    """Each check a batch repeats (a leader named by a thousand rows) made once."""

    def __init__(self) -> None:
        self.done: set[tuple[Any, ...]] = set()

    async def once(self, key: tuple[Any, ...], check: Callable[[], Awaitable[None]]) -> None:
        if key not in self.done:
            await check()
            self.done.add(key)


async def _planned_update(session: AsyncSession, principal: Principal, project: Project, data: ProjectUpdate,
                          state: Mapping[str, Any], checked: _Checked, *, today: date) -> _Updated:
    """The update's checks, in the order the API promises, and the columns it sets; nothing written
    but a new investor."""
    columns = data.model_dump(exclude_unset=True, exclude=set(_DERIVED))
    fields = data.model_fields_set
    if _INVESTOR & fields:
        investor = await investors.resolve(
            session, investor_id=data.investor_id, actor=principal,
            name=data.investor if data.investor is not None or data.investor_id else project.investor,
            country=(data.investor_country if data.investor_country is not None or data.investor_id
                     else project.investor_country))
        columns.update(investor=investor.name, investor_country=investor.country, investor_id=investor.id)
    fdi = (data.contracted_fdi.amount if data.contracted_fdi else None) if "contracted_fdi" in fields \
        else project.contracted_fdi_amount
    if fdi is not None and columns.get("funding_source", project.funding_source) != FundingSource.foreign:
        raise InvalidInput.field("contracted_fdi", "only a foreign-funded project has contracted foreign investment")
    if "contracted_fdi" in fields:
        columns["contracted_fdi_amount"] = fdi
    if "registered_capital" in fields:
        capital = data.registered_capital
        columns["registered_capital_amount"] = capital.amount if capital else None
        columns["registered_capital_currency"] = capital.currency if capital else None
    for model, name in ((Leader, "leader_id"), (Unit, "unit_id")):
        if columns.get(name) is not None:
            await checked.once((name, columns[name]),
                               partial(guards.check_current, session, model, columns[name], field=name))
    # An archived zone or industry stays on the projects that had it; none may take it anew.
    for name in ("zone", "industry"):
        if columns.get(name) not in (None, getattr(project, name)):
            await checked.once((name, columns[name]),
                               partial(reference.check_usable, session, **{name: columns[name]}))
    effective_on = data.effective_on or today
    if effective_on > today:
        raise InvalidInput.field("effective_on", f"must not be in the future (today is {today})")
    updated = _Updated(columns, effective_on, code_change=await _code_change(session, project, data, today=today))
    wrong = planned_dates_out_of_order({name: columns.get(name, state[name]) for name in PLANNED_DATES})
    if wrong is not None:
        raise InvalidInput.field(wrong[0], f"must not be before {wrong[1]} ({wrong[2]})")
    if data.total_investment is not None:
        columns["total_investment_amount"] = data.total_investment.amount
        columns["total_investment_currency"] = data.total_investment.currency
    if data.designations is not None:
        updated.designations = [{name: getattr(e, name) for name in DESIGNATION_FIELDS} for e in data.designations]
    return updated


async def change_projects(session: AsyncSession, principal: Principal, *, items: Sequence[ProjectChange],
                          today: date) -> list[ProjectChanged]:
    """The one way a project changes (``update_project`` and ``move_project`` make a batch of
    one; a ledger import, of a chunk): per update and per move, the checks, a version, the
    history entries, one audit event and one outbox event; the projects' rows written in one
    statement for them all. Each project must be at the version it was read at (412).
    ``ItemRefused`` names the first refused."""
    ids = [item.project.id for item in items if item.project.id is not None]
    # Locked until the commit, at the versions read: nothing changes them between the checks and the writes.
    locked: dict[int, tuple[int, Any]] = {}
    for start in range(0, len(ids), 500):
        stmt = (select(col(Project.id), col(Project.version), col(Project.archived_at))
                .where(col(Project.id).in_(ids[start:start + 500])).with_for_update())
        for pid, version, archived_at in (await session.execute(stmt)).all():
            if pid is not None:
                locked[pid] = (version, archived_at)
    current: dict[int, StageTransition] = {}
    moving = [item.project.id for item in items if item.moves and item.project.id is not None]
    for start in range(0, len(moving), 500):
        latest = (select(func.max(col(StageTransition.id))).where(col(StageTransition.project_id)
                                                                  .in_(moving[start:start + 500]))
                  .group_by(col(StageTransition.project_id)))
        for entry in (await session.execute(select(StageTransition)
                                            .where(col(StageTransition.id).in_(latest)))).scalars():
            current[entry.project_id] = entry
    checked = _Checked()
    believed = await history.believed(session, [item.project.id for item in items
                                                if item.update is not None and item.project.id is not None])
    recorded_at = utcnow()

    states: list[dict[str, Any]] = []
    # Per item, its steps: ("update" or "move", the columns before and after, the update or the move and its entry).
    written: list[tuple[int, list[tuple[str, dict[str, Any], dict[str, Any], Any]]]] = []
    entries: list[StageTransition] = []
    codes: list[ProjectCodeRecord] = []
    designations_before: list[list[dict[str, Any]]] = []
    for i, item in enumerate(items):
        project, data = item.project, item.update
        assert project.id is not None
        state = {c.name: getattr(project, c.name) for c in PROJECT_COLUMNS}
        designations_before.append([{name: getattr(d, name) for name in DESIGNATION_FIELDS}
                                    for d in item.designations])
        steps: list[tuple[str, dict[str, Any], dict[str, Any], Any]] = []
        try:
            if project.id not in locked or not can_see_project(principal, project):
                raise NotFound(f"No project with id {project.id}.")
            version, archived_at = locked[project.id]
            if version != project.version:
                raise PreconditionFailed("The resource was changed by another request; read it again and retry.")
            if data is not None:
                if archived_at is not None:
                    raise Conflict("An archived project cannot be changed.", code="project_archived")
                updated = await _planned_update(session, principal, project, data, state, checked, today=today)
                if updated.designations is not None:
                    await _set_designations(session, project.id, item.designations, data.designations or [])
                if updated.code_change is not None:
                    reason, valid_from = updated.code_change
                    codes.append(ProjectCodeRecord(code=updated.columns["code"], project_id=project.id, reason=reason,
                                                   valid_from=valid_from, actor_key_id=principal.key_id,
                                                   actor_name=principal.name))
                before = dict(state)
                state.update(updated.columns, updated_at=recorded_at, version=state["version"] + 1)
                # Every historised field the update names, changed today or not: dated back, an
                # unchanged value may still change the past.
                history.record(session, believed, [history.Dated(project.id, updated.effective_on, {
                    name: state[name] for name in HISTORISED if name in updated.columns})], recorded_at=recorded_at)
                steps.append(("update", before, dict(state), updated))
            previous = current.get(project.id)
            for move in item.moves:
                if archived_at is not None:
                    raise Conflict("An archived project cannot change stage.", code="project_archived")
                await checked.once(("signing_event", move.signing_event_id, move.to),
                                   partial(signing_events.check_for_move, session,
                                           signing_event_id=move.signing_event_id, to=move.to))
                kind = stages.classify(Stage(state["stage"]), move.to)
                stages.check(principal, kind, reason=move.reason, occurred_on=move.occurred_on,
                             previous_on=previous.occurred_on if previous else None, today=today)
                entry = StageTransition(project_id=project.id, kind=kind, from_stage=state["stage"], to_stage=move.to,
                                        occurred_on=move.occurred_on, note=move.note, reason=move.reason,
                                        signing_event_id=move.signing_event_id, actor_key_id=principal.key_id,
                                        actor_name=principal.name, recorded_at=recorded_at)
                if previous is not None:
                    previous.left_on, previous.left_recorded_at = move.occurred_on, recorded_at
                entries.append(entry)
                before = dict(state)
                state.update(stage=move.to, stage_entered_on=move.occurred_on, updated_at=utcnow(),
                             version=state["version"] + 1)
                steps.append(("move", before, dict(state), (move, entry)))
                previous = entry
        except AppError as exc:
            raise ItemRefused(i, exc) from exc
        states.append(state)
        written.append((i, steps))
    session.add_all(entries)
    await _flush(session)  # the history: the new entries' ids, the previous entries' left_on; the designations

    rows = [{"b_id": state["id"], **{f"b_{name}": state[name] for name in _WRITTEN}}
            for state, (_, steps) in zip(states, written, strict=True) if steps]
    if rows:
        table = Project.__table__  # type: ignore[attr-defined]
        try:
            await session.execute(table.update().where(table.c.id == bindparam("b_id"))
                                  .values({name: bindparam(f"b_{name}") for name in _WRITTEN}), rows)
        except IntegrityError as exc:  # lost a race for a unique project code
            raise Conflict("Another project already has this code.", code="code_taken") from exc
    if codes:  # the code as it now is joins the history
        session.add_all(codes)
        await _flush(session)
    changed: list[ProjectChanged] = []
    audited: list[dict[str, Any]] = []
    emitted: list[tuple[str, dict[str, Any]]] = []
    for state, designations, (i, steps) in zip(states, designations_before, written, strict=True):
        item = items[i]
        after: ProjectRead | None = None
        transitions: list[TransitionRead] = []
        for step, before, columns, detail in steps:
            if step == "update":
                before_read = ProjectRead.model_validate(_project(before, designations))
                designations = detail.designations if detail.designations is not None else designations
                after = ProjectRead.model_validate(_project(columns, designations))
                old, new = audit.diff(snapshot(before_read), snapshot(after))
                recorded = new
                if detail.code_change is not None:
                    reason, valid_from = detail.code_change
                    recorded = {**new, "code_reason": reason.value, "code_on": valid_from.isoformat()}
                audited.append({"action": "project.update", "resource_type": "project", "resource_id": state["id"],
                                "before": old, "after": recorded})
                emitted.append(("project.updated", {"project": after.model_dump(mode="json"),
                                                    "changes": {"before": old, "after": new}}))
                continue
            after = ProjectRead.model_validate(_project(columns, designations))
            move, entry = detail
            audited.append({"action": "project.transition", "resource_type": "project", "resource_id": state["id"],
                            "before": {"stage": before["stage"],
                                       "stage_entered_on": str(before["stage_entered_on"])},
                            "after": {"stage": after.stage, "stage_entered_on": str(after.stage_entered_on),
                                      "kind": entry.kind, "reason": move.reason, "note": move.note,
                                      **({"signing_event_id": move.signing_event_id}
                                         if move.signing_event_id else {})}})
            transition = TransitionRead.model_validate(entry, from_attributes=True)
            transitions.append(transition)
            emitted.append(("project.stage_changed", {
                "project": after.model_dump(mode="json"), "previous_stage": before["stage"], "stage": after.stage,
                "transition": transition.model_dump(mode="json")}))
        for name in _WRITTEN:  # the session's instance as the row now is (not a change to flush)
            set_committed_value(item.project, name, state[name])
        changed.append(ProjectChanged(after or ProjectRead.model_validate(_project(state, designations)), transitions))
    await audit.record_many(session, principal, audited)
    await outbox.emit_many(session, emitted)
    for item, (_, steps) in zip(items, written, strict=True):
        if any(step == "update" and detail.code_change is not None for step, _, _, detail in steps):
            await events.apply_waiting(session, project=item.project)
    return changed


async def _change_one(session: AsyncSession, principal: Principal, item: ProjectChange, *,
                      today: date) -> ProjectChanged:
    try:
        [changed] = await change_projects(session, principal, items=[item], today=today)
    except ItemRefused as refused:
        raise refused.error from None
    return changed
