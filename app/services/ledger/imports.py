"""Ledger (台账) imports: every row validated, then all of it written, or nothing.

The file is read in a worker thread (``spreadsheets``), its cells by the column map
(``ledger``), a chunk of rows at a time, so that no import holds all its rows:

1. *plan*: each row is matched to a project — by 项目代码, else by name and investor — and
   what it would change is worked out and checked against the rules the project
   services enforce (the models' validators, current leaders and units, free codes,
   stage moves through ``stages.classify`` and ``stages.check``);
2. a dry run stops there and reports; a real run with any invalid row answers 422
   ``ledger_invalid`` with the same report, having written nothing;
3. *apply*: the file is read again, its rows planned again and written through the
   project services — runs of new projects by ``create_projects``, runs of updates and
   stage moves by ``change_projects`` (each a few statements a chunk), a row that also
   changes its investor's details by ``update_project`` and ``move_project`` — so every
   rule holds and every project change has its own audit event. Anything refused there (a
   concurrent change) rolls the whole import back. One ``import`` audit event records the
   file, who imported it and the counts.

A project whose ledger stage is ahead of its current one moves forward one stage at a
time, every move dated on the row's 进入阶段日期 (or the import's ``as_of`` date); a
ledger stage of 终止 terminates it, with the row's 备注 as the reason. Anything else is
a correction, which an import never makes: such a row is invalid.
"""

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import chain, islice
from typing import Any

import anyio.to_thread
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import AppError, InvalidInput
from app.models import IndustryEntry, Investor, Leader, Project, ProjectCodeRecord, ProjectDesignation, Unit, ZoneEntry
from app.models.enums import Designation, DesignationStatus, FundingSource, ImportAction, Stage
from app.models.ledger import ImportReport, LedgerColumnRead, LedgerIssue, LedgerRowChange
from app.models.project import (
    PLANNED_DATES,
    DesignationEntry,
    ProjectCreate,
    ProjectUpdate,
    TransitionCreate,
    planned_dates_out_of_order,
)
from app.models.promotion import InvestorUpdate
from app.services.access.permissions import Principal
from app.services.common import audit, versioning
from app.services.ledger import columns, spreadsheets
from app.services.ledger.columns import BY_KEY, DESIGNATION_KEYS, Header, Row
from app.services.projects import projects, reference, stages
from app.services.promotion import investors as investor_service

CHUNK_ROWS = 500
IN_BATCH = 500  # values in one SQL IN (...)
IMPORT_NOTE = "台账导入"
REQUIRED_TO_CREATE = ("name", "investor", "funding_source", "industry", "zone", "total_investment")
# Where a model field's error is shown: the ledger column it comes from.
FIELD_COLUMN = {"leader_id": "leader", "unit_id": "unit", "occurred_on": "stage_entered_on", "reason": "note",
                "to": "stage", "designations": "city_key"}
Progress = Callable[[str, int, int], None]


class LedgerReader:
    """A ledger file read a chunk of rows at a time, so that no import holds all its rows.

    Blocking (openpyxl, csv, cell conversion): call it from a worker thread.
    """

    def __init__(self, content: bytes, filename: str | None, limits: spreadsheets.Limits) -> None:
        sheet = spreadsheets.read(content, filename, limits)
        self.format, self.sheet, self.size, self.limits = sheet.format, sheet.name, sheet.size, limits
        top = list(islice(sheet.rows, spreadsheets.HEADER_SEARCH_ROWS))
        self.header, self.file_issues = columns.find_header(top)
        self.warnings: list[LedgerIssue] = []
        self.rows_read = 0  # data rows
        self.last_row = 0  # the sheet's row number reached
        self._source = chain((r for r in top if self.header and r[0] > self.header.row), sheet.rows)
        for _, text, column in self.header.columns if self.header else ():
            if column is None:
                self.warnings.append(LedgerIssue(row=self.header.row if self.header else None, column=text,
                                                 message="is not a ledger column: ignored"))

    def chunk(self, size: int) -> list[Row]:
        """The next ``size`` data rows (fewer at the end); blank rows and total rows are skipped."""
        header = self.header
        assert header is not None
        rows: list[Row] = []
        while len(rows) < size:
            item = next(self._source, None)
            if item is None:
                break
            number, cells = item
            self.last_row = number
            if columns.is_total_row(header, cells):
                self.warnings.append(LedgerIssue(row=number, message="is a total row (合计): skipped"))
                continue
            row = columns.read_row(header, number, cells)
            if row is None:
                continue
            self.rows_read += 1
            if self.rows_read > self.limits.max_rows:
                raise InvalidInput.field("file", f"has more than {self.limits.max_rows:,} rows: split the ledger",
                                         code="too_many_rows")
            rows.append(row)
        return rows


async def _open(content: bytes, filename: str | None, limits: spreadsheets.Limits) -> LedgerReader:
    return await anyio.to_thread.run_sync(LedgerReader, content, filename, limits)


async def _next_chunk(reader: LedgerReader) -> list[Row]:
    return await anyio.to_thread.run_sync(reader.chunk, CHUNK_ROWS)


# --- planning ------------------------------------------------------------------------------


@dataclass(slots=True)
class Plan:
    """What one row does: create, update (fields and stage moves), nothing, or — with errors — nothing at all."""

    row: int
    name: str
    code: str | None
    errors: list[LedgerIssue] = field(default_factory=list)
    warnings: list[LedgerIssue] = field(default_factory=list)
    project: Project | None = None
    designations: list[ProjectDesignation] = field(default_factory=list)  # the project's current ones
    create: ProjectCreate | None = None
    update: ProjectUpdate | None = None
    changed: list[str] = field(default_factory=list)
    moves: list[TransitionCreate] = field(default_factory=list)
    investor: dict[str, Any] = field(default_factory=dict)  # what the row sets on the project's investor

    @property
    def action(self) -> ImportAction | None:
        if self.errors:
            return None
        if self.create is not None:
            return ImportAction.create
        return ImportAction.update if self.changed or self.moves or self.investor else ImportAction.unchanged


@dataclass
class Context:
    """What planning needs beyond one row: the file's header, references by name, keys seen so far."""

    actor: Principal
    today: date
    as_of: date
    header: Header
    file_note: str
    leaders: dict[str, list[Leader]] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    looked_up_leaders: set[str] = field(default_factory=set)
    looked_up_units: set[str] = field(default_factory=set)
    seen_codes: dict[str, int] = field(default_factory=dict)
    seen_names: dict[tuple[str, str], tuple[int, bool]] = field(default_factory=dict)
    seen_projects: dict[int, int] = field(default_factory=dict)
    investors: dict[tuple[str, str], Investor] = field(default_factory=dict)  # current, the oldest of a name
    investors_by_code: dict[str, Investor] = field(default_factory=dict)
    seen_credit_codes: dict[str, tuple[str, str]] = field(default_factory=dict)
    # zone / industry -> each entry by its comparable Chinese name, English name and key
    vocabularies: dict[str, dict[str, Any]] = field(default_factory=dict)
    zone_regions: dict[str, list[ZoneEntry]] = field(default_factory=dict)  # GB/T 2260 code -> zones

    def forget_rows(self) -> None:
        self.seen_credit_codes.clear()
        self.seen_codes.clear()
        self.seen_names.clear()
        self.seen_projects.clear()

    def issue(self, row: Row | int, key: str, message: str, value: Any = None) -> LedgerIssue:
        number = row if isinstance(row, int) else row.number
        if value is None and not isinstance(row, int):
            value = row.values.get(key)
        return LedgerIssue(row=number, column=self.header.header(key), field=key, value=columns.shorten(value),
                           message=message)


def _batches(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), IN_BATCH):
        yield values[start:start + IN_BATCH]


async def _load_references(session: AsyncSession, ctx: Context, rows: Sequence[Row]) -> None:
    """Look up, once per import, the leaders and units these rows name."""
    leaders = {r.values["leader"] for r in rows if r.values.get("leader")} - ctx.looked_up_leaders
    units = {r.values["unit"] for r in rows if r.values.get("unit")} - ctx.looked_up_units
    ctx.looked_up_leaders |= leaders
    ctx.looked_up_units |= units
    for batch in _batches(sorted(leaders)):
        for leader in (await session.execute(select(Leader).where(col(Leader.name).in_(batch)))).scalars():
            ctx.leaders.setdefault(leader.name, []).append(leader)
    for batch in _batches(sorted(units)):
        for unit in (await session.execute(select(Unit).where(col(Unit.name).in_(batch)))).scalars():
            ctx.units[unit.name] = unit


async def _load_vocabularies(session: AsyncSession, ctx: Context) -> None:
    """Zones and industries, once per import: few, and every row names one of each."""
    if ctx.vocabularies:
        return
    for name, model in (("zone", ZoneEntry), ("industry", IndustryEntry)):
        lookup: dict[str, Any] = {}
        for entry in await reference.all_entries(session, model):
            for word in (entry.key, entry.name_en, entry.name):  # a name wins over another entry's key
                if word:
                    lookup[columns.comparable(word)] = entry
        ctx.vocabularies[name] = lookup
    for zone in await reference.all_entries(session, ZoneEntry):
        if isinstance(zone, ZoneEntry) and zone.region_code and zone.archived_at is None:
            ctx.zone_regions.setdefault(zone.region_code, []).append(zone)


def _suggest_zone(ctx: Context, row: Row, plan: Plan, project: Project | None) -> None:
    """A warning when the row's code names a region that zones carry and the row's zone is none
    of them: a suggestion for a person, never a change."""
    code = row.values.get("code")
    if not code or len(code) != 24:
        return
    zones = ctx.zone_regions.get(code[5:11], [])
    zone = row.values.get("zone") if "zone" not in row.failed else None
    if project is not None and zone is None:
        zone = project.zone
    if zones and zone not in {z.key for z in zones}:
        names = "、".join(f"{z.name} ({z.key})" for z in zones)
        plan.warnings.append(ctx.issue(row, "zone", f"the 项目代码's region {code[5:11]} is that of {names}: "
                                                    "check the project's zone"))


def _resolve_vocabularies(ctx: Context, row: Row, plan: Plan, project: Project | None) -> None:
    """The row's zone and industry, as written (a Chinese name, an English name or a key), made
    keys; an unknown one is an error of the row, and so is an archived one the project does
    not have already."""
    for name in ("zone", "industry"):
        text = row.values.get(name)
        if text is None:
            continue
        entry = ctx.vocabularies[name].get(columns.comparable(text))
        if entry is None:
            plan.errors.append(ctx.issue(row, name, f"is not a {name} of /api/v1/{reference.path(name)}: write its "
                                                    "Chinese name, English name or key"))
            row.failed.add(name)
        elif entry.archived_at is not None and (project is None or getattr(project, name) != entry.key):
            plan.errors.append(ctx.issue(row, name, "is archived: only the projects that had it keep it"))
            row.failed.add(name)
        else:
            row.values[name] = entry.key


async def _load_matches(session: AsyncSession, rows: Sequence[Row]) -> tuple[
        dict[str, Project], dict[tuple[str, str], list[Project]], dict[int, list[ProjectDesignation]]]:
    codes = sorted({r.values["code"] for r in rows if r.values.get("code")})
    names = sorted({r.values["name"] for r in rows if r.values.get("name")})
    by_code: dict[str, Project] = {}
    by_name: dict[tuple[str, str], list[Project]] = {}
    for batch in _batches(codes):
        for p in (await session.execute(select(Project).where(col(Project.code).in_(batch)))).scalars():
            by_code[p.code or ""] = p
        # A code a project had before (re-approved, corrected) still leads to it.
        former = (select(col(ProjectCodeRecord.code), Project)
                  .join(Project, col(Project.id) == col(ProjectCodeRecord.project_id))
                  .where(col(ProjectCodeRecord.code).in_(batch)))
        for code, p in (await session.execute(former)).all():
            by_code.setdefault(code, p)
    for batch in _batches(names):
        stmt = select(Project).where(col(Project.name).in_(batch)).order_by(col(Project.id))
        for p in (await session.execute(stmt)).scalars():
            by_name.setdefault((p.name, p.investor), []).append(p)
    ids = sorted({p.id for p in by_code.values() if p.id} | {p.id for ps in by_name.values() for p in ps if p.id})
    designations: dict[int, list[ProjectDesignation]] = {}
    for batch in _batches(ids):
        designations.update(await projects.designations_of(session, batch))
    return by_code, by_name, designations


def _resolve_leader(ctx: Context, row: Row, plan: Plan, current: int | None) -> int | None:
    name = row.values.get("leader")
    if name is None:
        return None
    found = ctx.leaders.get(name, [])
    active = [leader for leader in found if leader.archived_at is None]
    if len(active) == 1:
        return active[0].id
    if len(active) > 1:
        plan.errors.append(ctx.issue(row, "leader", f"{len(active)} current leaders are named {name}: "
                                                    "rename one, then import again"))
    elif found and current in {leader.id for leader in found}:
        return current  # an archived leader the project already has: nothing changes
    elif found:
        plan.errors.append(ctx.issue(row, "leader", "is an archived leader"))
    else:
        plan.errors.append(ctx.issue(row, "leader", "is not a known leader: add the leader first"))
    return current


def _resolve_unit(ctx: Context, row: Row, plan: Plan, current: int | None) -> int | None:
    name = row.values.get("unit")
    if name is None:
        return None
    unit = ctx.units.get(name)
    if unit is None:
        plan.errors.append(ctx.issue(row, "unit", "is not a known responsible unit: add the unit first"))
        return current
    if unit.archived_at is not None and unit.id != current:
        plan.errors.append(ctx.issue(row, "unit", "is an archived responsible unit"))
        return current
    return unit.id


def _model_issues(ctx: Context, row: Row, exc: ValidationError) -> list[LedgerIssue]:
    """A model's validation errors, each shown (once per column) at the ledger column its field comes from."""
    issues: list[LedgerIssue] = []
    reported: set[str] = set()
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        name = loc[0] if loc else ""
        if not name:
            head, _, rest = message.partition(":")
            if head in BY_KEY or head in FIELD_COLUMN:
                name, message = head, rest.strip()
            else:
                name = next((f for f in ("planned_production_on", "planned_start_on", "planned_sign_on")
                             if message.startswith(f)), "name")
        if name == "total_investment" and len(loc) > 1 and loc[1] == "currency":
            name = "currency"
        key = FIELD_COLUMN.get(name, name)
        if key not in BY_KEY:
            key = "name"
        if key in reported or key in row.failed:
            continue
        reported.add(key)
        issues.append(ctx.issue(row, key, message))
    return issues


def _designations(row: Row, current: Sequence[ProjectDesignation]) -> list[DesignationEntry] | None:
    """The designations after this row, or None if the ledger has no designation column."""
    present = [key for key in DESIGNATION_KEYS if key in row.values]
    if not present:
        return None
    by_name = {d.designation: d for d in current}
    wanted: dict[str, DesignationEntry] = {
        d.designation: DesignationEntry(designation=Designation(d.designation), status=DesignationStatus(d.status),
                                        year=d.year, decided_on=d.decided_on) for d in current}
    for key in present:
        designation = DESIGNATION_KEYS[key]
        status = row.values[key]
        if status is None:
            wanted.pop(designation, None)
        elif designation not in by_name or by_name[designation].status != status:
            old = by_name.get(designation)
            wanted[designation] = DesignationEntry(designation=designation, status=DesignationStatus(status),
                                                   year=old.year if old else None,
                                                   decided_on=old.decided_on if old else None)
    return [wanted[d] for d in sorted(wanted)]


def _currency(ctx: Context, row: Row, plan: Plan, current: str | None) -> str:
    """The row's currency: its 币种, else the amount header's (万美元), else the project's, else CNY."""
    given = row.values.get("currency")
    from_header = ctx.header.amount_currency
    if given and from_header and given != from_header:
        plan.errors.append(ctx.issue(row, "currency", f"contradicts the amount column's header, which is in "
                                                      f"{from_header}"))
    return given or from_header or current or "CNY"


def _check_duplicates(ctx: Context, row: Row, plan: Plan, code: str | None, name: str | None,
                      investor: str | None) -> None:
    if code:
        first = ctx.seen_codes.setdefault(code, row.number)
        if first != row.number:
            plan.errors.append(ctx.issue(row, "code", f"is the same 项目代码 as row {first}"))
    if name and investor:
        first_row, first_had_code = ctx.seen_names.setdefault((name, investor), (row.number, bool(code)))
        if first_row != row.number and not (code and first_had_code):
            plan.errors.append(ctx.issue(row, "name", f"has the same 项目名称 and 投资方 as row {first_row}: give "
                                                      "each its 项目代码"))


def _match(ctx: Context, row: Row, plan: Plan, by_code: dict[str, Project],
           by_name: dict[tuple[str, str], list[Project]]) -> Project | None:
    code, name, investor = row.values.get("code"), row.values.get("name"), row.values.get("investor")
    _check_duplicates(ctx, row, plan, code, name, investor)
    if code and code in by_code:
        project: Project | None = by_code[code]
    else:
        candidates = by_name.get((name, investor), []) if name and investor else []
        if code:
            candidates = [p for p in candidates if p.code is None]  # a project that has no code yet
        if len(candidates) > 1:
            plan.errors.append(ctx.issue(row, "name", f"matches {len(candidates)} projects (ids "
                                                      f"{', '.join(str(p.id) for p in candidates)}) by name and "
                                                      "investor: give the row its 项目代码"))
            return None
        project = candidates[0] if candidates else None
    if project is None:
        if not code and not (name and investor) and not ({"code", "name", "investor"} & row.failed):
            plan.errors.append(ctx.issue(row, "name", "a row needs a 项目代码, or a 项目名称 and an 投资方"))
        return None
    assert project.id is not None
    first = ctx.seen_projects.setdefault(project.id, row.number)
    if first != row.number:
        plan.errors.append(ctx.issue(row, "name", f"is the same project (id {project.id}) as row {first}"))
    if project.archived_at is not None:
        plan.errors.append(ctx.issue(row, "code" if code else "name",
                                     f"is project {project.id}, which is archived: it cannot be imported over"))
    return project


def _plan_create(ctx: Context, row: Row, plan: Plan) -> None:
    v = row.values
    for key in REQUIRED_TO_CREATE:
        if v.get(key) is None and key not in row.failed:
            plan.errors.append(ctx.issue(row, key, "is required for a new project"))
    funding = v.get("funding_source")
    country = v.get("investor_country") or ("CN" if funding == FundingSource.domestic else None)
    if country is None and "investor_country" not in row.failed and funding is not None:
        plan.errors.append(ctx.issue(row, "investor_country", "is required for a foreign-funded project"))
    stage = v.get("stage") or Stage.negotiating
    entered_on = v.get("stage_entered_on") or ctx.as_of
    note = v.get("note")
    if stage == Stage.terminated and not note:
        plan.errors.append(ctx.issue(row, "note", "must say why the project ended, to register it as 终止"))
    if entered_on > ctx.today and "stage_entered_on" not in row.failed:
        plan.errors.append(ctx.issue(row, "stage_entered_on", f"must not be in the future (today is {ctx.today})"))
    designations = _designations(row, []) or []
    data = {"code": v.get("code"), "name": v.get("name"), "investor": v.get("investor"), "investor_country": country,
            "funding_source": funding, "industry": v.get("industry"), "zone": v.get("zone"),
            "total_investment": {"amount": v.get("total_investment"), "currency": _currency(ctx, row, plan, None)},
            "leader_id": _resolve_leader(ctx, row, plan, None), "unit_id": _resolve_unit(ctx, row, plan, None),
            "planned_sign_on": v.get("planned_sign_on"), "planned_start_on": v.get("planned_start_on"),
            "planned_production_on": v.get("planned_production_on"), "designations": designations,
            "on_hold": bool(v.get("on_hold")), "stage": stage, "stage_entered_on": entered_on,
            "note": note or IMPORT_NOTE}
    if plan.errors:
        return
    try:
        plan.create = ProjectCreate.model_validate(data)
    except ValidationError as exc:
        plan.errors.extend(_model_issues(ctx, row, exc))


def _changes(ctx: Context, row: Row, plan: Plan, project: Project,
             current_designations: Sequence[ProjectDesignation]) -> dict[str, Any]:
    v = row.values
    changes: dict[str, Any] = {}
    if v.get("code") and project.code is None:
        changes["code"] = v["code"]
    for key in ("name", "investor", "funding_source", "industry", "zone"):
        if key in v:
            if v[key] is None:
                plan.errors.append(ctx.issue(row, key, "may not be blank"))
            elif v[key] != getattr(project, key):
                changes[key] = v[key]
    if "investor_country" in v:
        funding = changes.get("funding_source", project.funding_source)
        country = v["investor_country"] or ("CN" if funding == FundingSource.domestic else None)
        if country is None:
            plan.errors.append(ctx.issue(row, "investor_country", "is required for a foreign-funded project"))
        elif country != project.investor_country:
            changes["investor_country"] = country
    if "total_investment" in v:
        amount = v["total_investment"]
        currency = _currency(ctx, row, plan, project.total_investment_currency)
        if amount is None:
            plan.errors.append(ctx.issue(row, "total_investment", "may not be blank"))
        elif amount != project.total_investment_amount or currency != project.total_investment_currency:
            changes["total_investment"] = {"amount": amount, "currency": currency}
    elif v.get("currency"):
        plan.warnings.append(ctx.issue(row, "currency", "is ignored: the ledger has no 总投资 column"))
    if "leader" in v:
        leader_id = _resolve_leader(ctx, row, plan, project.leader_id)
        if leader_id != project.leader_id:
            changes["leader_id"] = leader_id
    if "unit" in v:
        unit_id = _resolve_unit(ctx, row, plan, project.unit_id)
        if unit_id != project.unit_id:
            changes["unit_id"] = unit_id
    for key in PLANNED_DATES:
        if key in v and v[key] != getattr(project, key):
            changes[key] = v[key]
    if "on_hold" in v and bool(v["on_hold"]) != project.on_hold:
        changes["on_hold"] = bool(v["on_hold"])
    wanted = _designations(row, current_designations)
    if wanted is not None:
        now = {(str(d.designation), str(d.status), d.year, d.decided_on) for d in current_designations}
        if {(str(d.designation), str(d.status), d.year, d.decided_on) for d in wanted} != now:
            changes["designations"] = [d.model_dump() for d in wanted]
    # The planned dates stay in order once merged with the project's (as update_project checks).
    if any(name in changes for name in PLANNED_DATES):
        wrong = planned_dates_out_of_order({name: changes.get(name, getattr(project, name)) for name in PLANNED_DATES})
        if wrong is not None:
            later, earlier, day = wrong
            plan.errors.append(ctx.issue(row, later if later in changes else earlier,
                                         f"{later} must not be before {earlier} ({day})"))
    return changes


def _moves(ctx: Context, row: Row, plan: Plan, project: Project) -> None:
    target, current = row.values.get("stage"), Stage(project.stage)
    on = row.values.get("stage_entered_on")
    if target is None or "stage_entered_on" in row.failed:
        return
    if target == current:
        if on is not None and on != project.stage_entered_on:
            plan.warnings.append(ctx.issue(row, "stage_entered_on", f"differs from the registry's "
                                           f"{project.stage_entered_on}: stage dates change only through stage moves"))
        return
    on = on or ctx.as_of
    reason = row.values.get("note")
    steps = stages.forward_steps(current, target)
    if steps is None:
        plan.errors.append(ctx.issue(row, "stage", f"is behind the project's stage ({current}): an import only moves "
                                                   "projects forward; an admin corrects a stage in its history"))
        return
    previous, previous_on = current, project.stage_entered_on
    for step in steps:
        try:
            kind = stages.classify(previous, step)
            stages.check(ctx.actor, kind, reason=reason if step == Stage.terminated else None, occurred_on=on,
                         previous_on=previous_on, today=ctx.today)
            plan.moves.append(TransitionCreate(to=step, occurred_on=on, note=ctx.file_note,
                                               reason=reason if step == Stage.terminated else None))
        except AppError as exc:
            field_name = (exc.errors or [{}])[0].get("field", "stage")
            key = FIELD_COLUMN.get(field_name, field_name if field_name in BY_KEY else "stage")
            message = (exc.errors or [{}])[0].get("message", exc.detail)
            if key == "note" and step == Stage.terminated:
                message = "must give the reason the project is terminated (终止)"
            plan.errors.append(ctx.issue(row, key, message))
            return
        except ValidationError as exc:
            plan.errors.extend(_model_issues(ctx, row, exc))
            return
        previous, previous_on = step, on


def _plan_update(ctx: Context, row: Row, plan: Plan, project: Project,
                 current_designations: Sequence[ProjectDesignation]) -> None:
    changes = _changes(ctx, row, plan, project, current_designations)
    _moves(ctx, row, plan, project)
    if plan.errors:
        return
    try:
        # A ledger tells how things stood on its as_of date: its changes take effect then.
        plan.update = ProjectUpdate.model_validate({**changes, "effective_on": ctx.as_of}) if changes else None
    except ValidationError as exc:
        plan.errors.extend(_model_issues(ctx, row, exc))
        return
    plan.changed = sorted(changes)


async def _load_investors(session: AsyncSession, ctx: Context, rows: Sequence[Row],
                          by_code: dict[str, Project], by_name: dict[tuple[str, str], list[Project]]) -> None:
    """The investors the rows name (by name, or by their projects) and the credit codes they give."""
    names = ({r.values["investor"] for r in rows if r.values.get("investor")}
             | {p.investor for p in by_code.values()} | {p.investor for ps in by_name.values() for p in ps})
    codes = sorted({r.values["credit_code"] for r in rows if r.values.get("credit_code")})
    for batch in _batches(sorted(names)):
        stmt = (select(Investor).where(col(Investor.name).in_(batch), col(Investor.archived_at).is_(None))
                .order_by(col(Investor.id)))
        for investor in (await session.execute(stmt)).scalars():
            ctx.investors.setdefault((investor.name, investor.country), investor)
    for batch in _batches(codes):
        for investor in (await session.execute(select(Investor).where(col(Investor.credit_code).in_(batch)))).scalars():
            ctx.investors_by_code[investor.credit_code or ""] = investor


def _plan_investor(ctx: Context, row: Row, plan: Plan, name: str, country: str) -> None:
    """What the row's 统一社会信用代码 and 世界500强 set on the investor its project is linked to
    (matched by name and country, as the project services do)."""
    wants = {k: row.values[k] for k in ("credit_code", "fortune_global_500") if row.values.get(k) is not None}
    if not wants:
        return
    current = ctx.investors.get((name, country))
    code = wants.get("credit_code")
    if code is not None:
        holder = ctx.investors_by_code.get(code)
        seen = ctx.seen_credit_codes.setdefault(code, (name, country))
        if holder is not None and (holder.name, holder.country) != (name, country):
            plan.errors.append(ctx.issue(row, "credit_code", f"is the credit code of the investor {holder.name}"))
        elif seen != (name, country):
            plan.errors.append(ctx.issue(row, "credit_code", f"is given to the investor {seen[0]} in another row"))
        elif current is not None and current.credit_code not in (None, code):
            plan.errors.append(ctx.issue(row, "credit_code", f"differs from the investor's {current.credit_code}: "
                                                             "change it through /investors"))
    plan.investor = {k: v for k, v in wants.items() if current is None or getattr(current, k) != v}


async def _plan_chunk(session: AsyncSession, ctx: Context, rows: Sequence[Row]) -> list[Plan]:
    await _load_references(session, ctx, rows)
    await _load_vocabularies(session, ctx)
    by_code, by_name, designations = await _load_matches(session, rows)
    await _load_investors(session, ctx, rows, by_code, by_name)
    plans = []
    for row in rows:
        plan = Plan(row=row.number, name=row.values.get("name") or "", code=row.values.get("code"),
                    errors=list(row.issues))
        project = _match(ctx, row, plan, by_code, by_name)
        _resolve_vocabularies(ctx, row, plan, project)
        _suggest_zone(ctx, row, plan, project)
        if project is None:
            _plan_create(ctx, row, plan)
            if plan.create is not None:
                assert plan.create.investor is not None and plan.create.investor_country is not None
                _plan_investor(ctx, row, plan, plan.create.investor, plan.create.investor_country)
        else:
            assert project.id is not None
            plan.project, plan.name, plan.code = project, row.values.get("name") or project.name, project.code
            plan.designations = designations.get(project.id, [])
            _plan_update(ctx, row, plan, project, plan.designations)
            if not plan.errors:
                update = plan.update
                _plan_investor(ctx, row, plan, (update.investor if update and update.investor else project.investor),
                               (update.investor_country if update and update.investor_country
                                else project.investor_country))
                plan.changed = sorted({*plan.changed, *plan.investor})
        plans.append(plan)
    return plans


# --- applying ------------------------------------------------------------------------------


async def _apply(session: AsyncSession, ctx: Context, plan: Plan) -> None:
    """Write one planned row through the project services."""
    if plan.create is not None:
        created = await projects.create_project(session, data=plan.create, actor=ctx.actor, today=ctx.today)
        await _apply_investor(session, ctx, plan, created.investor_id)
        return
    project = plan.project
    assert project is not None and project.id is not None
    version = project.version
    investor_id = project.investor_id
    if plan.update is not None:
        read = await projects.update_project(session, ctx.actor, project.id, data=plan.update,
                                             if_match=versioning.etag(version), today=ctx.today)
        version, investor_id = read.version, read.investor_id
    await _apply_investor(session, ctx, plan, investor_id)
    for move in plan.moves:
        read, _ = await projects.move_project(session, ctx.actor, project.id, data=move,
                                              if_match=versioning.etag(version), today=ctx.today)
        version = read.version


async def _apply_investor(session: AsyncSession, ctx: Context, plan: Plan, investor_id: int | None) -> None:
    if not plan.investor or investor_id is None:
        return
    investor = await investor_service.get(session, investor_id)
    changes = {k: v for k, v in plan.investor.items() if getattr(investor, k) != v}
    if changes:
        await investor_service.update_investor(session, investor_id, data=InvestorUpdate(**changes),
                                               if_match=versioning.etag(investor.version), actor=ctx.actor)


# --- the whole import ----------------------------------------------------------------------


@dataclass
class Tally:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    error_count: int = 0
    errors: list[LedgerIssue] = field(default_factory=list)
    warnings: list[LedgerIssue] = field(default_factory=list)
    changes: list[LedgerRowChange] = field(default_factory=list)

    def add(self, plan: Plan, max_errors: int, max_changes: int) -> None:
        self.rows += 1
        self.warnings.extend(plan.warnings[:max(0, max_errors - len(self.warnings))])
        action = plan.action
        if action is None:
            self.invalid += 1
            self.error_count += len(plan.errors)
            self.errors.extend(plan.errors[:max(0, max_errors - len(self.errors))])
            return
        if action == ImportAction.unchanged:
            self.unchanged += 1
            return
        if action == ImportAction.create:
            self.created += 1
        else:
            self.updated += 1
        if len(self.changes) >= max_changes:
            return
        self.changes.append(LedgerRowChange(row=plan.row, action=action,
                                            project_id=plan.project.id if plan.project else None,
                                            code=plan.create.code if plan.create else plan.code, name=plan.name,
                                            fields=plan.changed, stage_moves=[m.to for m in plan.moves]))


def _report(reader: LedgerReader, tally: Tally, *, dry_run: bool, filename: str | None, sha256: str,
            max_errors: int) -> ImportReport:
    assert reader.header is not None
    return ImportReport(
        dry_run=dry_run, valid=tally.invalid == 0, file_name=filename,
        format="xlsx" if reader.format == "xlsx" else "csv", sha256=sha256, sheet=reader.sheet,
        header_row=reader.header.row,
        columns=[LedgerColumnRead(header=text, field=column.key if column else None)
                 for _, text, column in reader.header.columns],
        rows=tally.rows, created=tally.created, updated=tally.updated, unchanged=tally.unchanged,
        invalid=tally.invalid, errors=tally.errors, errors_truncated=tally.error_count > len(tally.errors),
        warnings=(reader.warnings + tally.warnings)[:max_errors], changes=tally.changes,
        changes_truncated=len(tally.changes) < tally.created + tally.updated)


def _rejection(report: ImportReport, detail: str) -> InvalidInput:
    errors = [{"field": e.field or "file", "message": e.message, "row": e.row, "column": e.column, "value": e.value}
              for e in report.errors]
    return InvalidInput(detail, code="ledger_invalid", errors=errors,
                        extensions={"report": report.model_dump(mode="json")})


def clean_filename(filename: str | None) -> str | None:
    if not filename:
        return None
    name = "".join(ch for ch in filename.replace("\\", "/").rsplit("/", 1)[-1] if ch.isprintable())
    return name[:200] or None


async def import_projects(session: AsyncSession, actor: Principal, *, content: bytes, filename: str | None,
                          dry_run: bool, today: date, as_of: date | None, limits: spreadsheets.Limits,
                          max_errors: int, max_changes: int, progress: Progress | None = None) -> ImportReport:
    """Validate a ledger file row by row; unless a dry run, write all of it, or (422) nothing."""
    if as_of is not None and as_of > today:
        raise InvalidInput.field("as_of", f"must not be in the future (today is {today})")
    filename = clean_filename(filename)
    sha256 = hashlib.sha256(content).hexdigest()
    reader = await _open(content, filename, limits)
    if reader.header is None or reader.file_issues:
        issues = reader.file_issues
        raise InvalidInput(f"The ledger cannot be read: {issues[0].message}", code="ledger_header",
                           errors=[{"field": "file", "message": i.message, "row": i.row, "column": i.column}
                                   for i in issues])
    ctx = Context(actor=actor, today=today, as_of=as_of or today, header=reader.header,
                  file_note=f"{IMPORT_NOTE}: {filename}" if filename else IMPORT_NOTE)

    # 1. Check every row, a chunk at a time; remember which chunks have something to write.
    tally = Tally()
    writing: dict[int, int] = {}  # chunk index -> its number of rows
    index = 0
    while rows := await _next_chunk(reader):
        plans = await _plan_chunk(session, ctx, rows)
        for plan in plans:
            tally.add(plan, max_errors, max_changes)
        if any(plan.action in (ImportAction.create, ImportAction.update) for plan in plans):
            writing[index] = len(rows)
        index += 1
        if progress:
            top = reader.header.row  # rows below the header, read of (as the file declares) all
            progress("validating", reader.last_row - top, max(reader.size or 0, reader.last_row) - top)
    report = _report(reader, tally, dry_run=dry_run, filename=filename, sha256=sha256, max_errors=max_errors)
    if dry_run:
        return report
    if tally.invalid:
        first = report.errors[0]
        raise _rejection(report, f"{tally.invalid:,} of {tally.rows:,} rows are invalid; nothing was imported. "
                                 f"First: row {first.row}, {first.column}: {first.message}")

    # 2. Write: the file is read again and its rows planned again, chunk by chunk, rather
    # than kept, so that memory does not grow with the ledger.
    ctx.forget_rows()
    reader = await _open(content, filename, limits)
    done, to_write, index = 0, sum(writing.values()), 0
    while writing and (rows := await _next_chunk(reader)):
        if index in writing:
            plans = await _plan_chunk(session, ctx, rows)
            await _apply_chunk(session, ctx, plans, reader, filename=filename, sha256=sha256)
            done += len(plans)
            if progress:
                progress("importing", done, to_write)
        index += 1
    await audit.record(session, actor, action="import", resource_type="ledger", resource_id=sha256,
                       after={"file_name": filename, "format": report.format, "rows": report.rows,
                              "created": report.created, "updated": report.updated, "unchanged": report.unchanged,
                              "as_of": str(ctx.as_of)})
    await session.flush()
    return report


async def _apply_chunk(session: AsyncSession, ctx: Context, plans: Sequence[Plan], reader: LedgerReader, *,
                       filename: str | None, sha256: str) -> None:
    """Write a chunk's rows planned again, in file order, each run of new projects at once; a
    row that became invalid, or that a service refuses, stops the import."""
    def rejected(plan: Plan, detail: str) -> InvalidInput:
        return _rejection(_report(reader, _single(plan), dry_run=False, filename=filename, sha256=sha256,
                                  max_errors=100), detail)

    def refused(plan: Plan, exc: AppError) -> InvalidInput:
        plan.errors.append(LedgerIssue(row=plan.row, message=exc.detail))
        return rejected(plan, f"Row {plan.row} was refused: {exc.detail} Nothing was imported.")

    for plan in plans:
        if plan.errors:  # the registry changed since the rows were checked
            raise rejected(plan, f"Row {plan.row} became invalid while importing; nothing was imported.")
    creating: list[Plan] = []
    changing: list[Plan] = []

    async def change() -> None:
        if not changing:
            return
        items = [projects.ProjectChange(project=p.project, designations=p.designations, update=p.update,
                                        moves=p.moves) for p in changing if p.project is not None]
        try:
            await projects.change_projects(session, ctx.actor, items=items, today=ctx.today)
        except projects.ItemRefused as exc:
            raise refused(changing[exc.index], exc.error) from exc
        changing.clear()

    async def create() -> None:
        if not creating:
            return
        items = [p.create for p in creating if p.create is not None]
        try:
            created = await projects.create_projects(session, items=items, actor=ctx.actor, today=ctx.today)
        except projects.ItemRefused as exc:
            raise refused(creating[exc.index], exc.error) from exc
        for plan, read in zip(creating, created, strict=True):
            try:
                await _apply_investor(session, ctx, plan, read.investor_id)
            except AppError as exc:
                raise refused(plan, exc) from exc
        creating.clear()

    # Runs of new projects, and runs of changes the project service makes set-based, are each
    # written at once; the file's order holds between runs.
    for plan in plans:
        if plan.create is not None:
            await change()
            creating.append(plan)
            continue
        await create()
        if plan.action == ImportAction.unchanged:
            continue
        if not plan.investor:
            changing.append(plan)
            continue
        await change()
        try:
            await _apply(session, ctx, plan)
        except AppError as exc:
            raise refused(plan, exc) from exc
    await create()
    await change()


def _single(plan: Plan) -> Tally:
    tally = Tally()
    tally.add(plan, 100, 100)
    return tally


__all__ = ["ImportReport", "LedgerReader", "Progress", "import_projects"]
