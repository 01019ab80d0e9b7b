"""A brute-force reference for the aggregates: random worlds of projects with stage
histories, designations, exchange rates and targets, written straight into the database,
and every figure recomputed here from those raw rows in plain Python.

It is written from the rules as the API documents them, not from the service's SQL, so a
property test comparing the two checks the SQL against the rules.
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import delete

from app.models import (
    ExchangeRate,
    Leader,
    Project,
    ProjectDesignation,
    ProjectVersion,
    StageTransition,
    Target,
    TargetMember,
    Unit,
)
from app.models.project import HISTORISED

STAGES = ["negotiating", "signed", "registered", "preliminary", "under_construction", "in_production"]
RANK = {s: i for i, s in enumerate(STAGES)}
CURRENCIES = ["CNY", "USD", "JPY"]
UNITS = 2
ZONES = ["binhai_new_area", "international_land_port", "other"]
INDUSTRIES = ["electronics", "logistics", "new_energy"]
FIRST = date(2021, 1, 1)
LAST = date(2023, 6, 30)
CENTS = Decimal("0.01")
NOW = datetime(2024, 1, 1, tzinfo=UTC)
RECORDED = datetime(2000, 1, 1, tzinfo=UTC)  # when the world's projects were registered
ARCHIVED_ON = date(2024, 1, 1)  # the city's day of NOW: an archived project counts before it


# --- the world ------------------------------------------------------------------------------


@dataclass
class Move:
    to: str
    on: date
    kind: str
    from_stage: str | None


@dataclass
class P:
    index: int
    funding_source: str
    zone: str
    industry: str
    currency: str
    amount: Decimal
    leader: int | None  # index into leaders
    unit: int | None
    planned: tuple[date | None, date | None, date | None]
    moves: list[Move]
    archived: bool
    designation: tuple[str, str, int | None, date | None] | None  # (designation, status, year, decided_on)
    id: int = 0


@dataclass
class T:
    index: int
    year: int
    goal_stage: str | None
    goal_designation: str | None
    membership: str
    criterion: dict[str, list[str]]
    members: list[tuple[int, date, date | None]]  # (project index, added_on, removed_on)
    currency: str
    plan_rates: dict[str, Decimal]
    target_count: int
    target_amount: Decimal | None
    archived: bool
    id: int = 0


@dataclass
class World:
    leaders: int
    projects: list[P]
    rates: list[tuple[str, date, Decimal]]
    targets: list[T]
    leader_ids: list[int] = field(default_factory=list)
    unit_ids: list[int] = field(default_factory=list)


dates = st.dates(min_value=FIRST, max_value=LAST)


@st.composite
def histories(draw: st.DrawFn) -> list[Move]:
    start = draw(st.sampled_from([*STAGES, "terminated"]))
    on = draw(dates)
    moves = [Move(start, on, "created", None)]
    for _ in range(draw(st.integers(0, 4))):
        current = moves[-1].to
        options = []
        if current in RANK and RANK[current] < 5:
            options += [STAGES[RANK[current] + 1], "terminated"]
        options += [s for s in STAGES if current == "terminated" or RANK[s] < RANK[current]]
        if not options:
            break
        to = draw(st.sampled_from(options))
        if to == "terminated":
            kind = "terminate"
        elif current != "terminated" and RANK[to] == RANK[current] + 1:
            kind = "advance"
        else:
            kind = "correction"
        on = min(on + timedelta(days=draw(st.sampled_from([0, 0, 1, 30, 200]))), LAST)
        moves.append(Move(to, on, kind, current))
    return moves


@st.composite
def projects(draw: st.DrawFn, index: int, leaders: int) -> P:
    planned = sorted(draw(st.lists(dates, min_size=3, max_size=3)))
    sign, start, production = (d if draw(st.booleans()) else None for d in planned)
    designation = None
    if draw(st.integers(0, 2)) == 0:
        designation = (draw(st.sampled_from(["city_key", "key_preliminary"])),
                       draw(st.sampled_from(["candidate", "granted", "granted", "rejected"])),
                       draw(st.sampled_from([None, 2022, 2021])), draw(st.one_of(st.none(), dates)))
    return P(index=index, funding_source=draw(st.sampled_from(["foreign", "domestic"])),
             zone=draw(st.sampled_from(ZONES)), industry=draw(st.sampled_from(INDUSTRIES)),
             currency=draw(st.sampled_from(CURRENCIES)),
             amount=Decimal(draw(st.integers(0, 10**11))) / 100,
             leader=draw(st.one_of(st.none(), st.integers(0, leaders - 1))),
             unit=draw(st.one_of(st.none(), st.integers(0, UNITS - 1))),
             planned=(sign, start, production), moves=draw(histories()),
             archived=draw(st.integers(0, 9)) == 0, designation=designation)


@st.composite
def targets(draw: st.DrawFn, index: int, n_projects: int) -> T:
    goal = draw(st.sampled_from(["signed", "registered", "under_construction", "in_production", "city_key"]))
    membership = draw(st.sampled_from(["list", "list", "criterion"]))
    criterion: dict[str, list[str]] = {}
    members: list[tuple[int, date, date | None]] = []
    if membership == "criterion":
        if draw(st.booleans()):
            criterion["funding_source"] = draw(st.lists(st.sampled_from(["foreign", "domestic"]), min_size=1,
                                                        max_size=1))
        if draw(st.booleans()):
            criterion["zone"] = draw(st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True))
    elif n_projects:
        for p in draw(st.lists(st.integers(0, n_projects - 1), max_size=n_projects, unique=True)):
            added = draw(dates)
            removed = draw(st.one_of(st.none(), st.integers(0, 400).map(lambda n, a=added: a + timedelta(days=n))))
            members.append((p, added, removed))
            if removed is not None and draw(st.booleans()):
                members.append((p, removed + timedelta(days=draw(st.integers(0, 60))), None))
    currency = draw(st.sampled_from(CURRENCIES))
    plan_rates = {"USD": Decimal(draw(st.integers(600, 720))) / 100} if draw(st.booleans()) else {}
    return T(index=index, year=draw(st.sampled_from([2022, 2022, 2021])),
             goal_stage=None if goal == "city_key" else goal,
             goal_designation="city_key" if goal == "city_key" else None, membership=membership,
             criterion=criterion, members=members, currency=currency, plan_rates=plan_rates,
             target_count=draw(st.integers(0, 5)),
             target_amount=Decimal(draw(st.integers(0, 10**9))) if draw(st.booleans()) else None,
             archived=draw(st.integers(0, 5)) == 0)


@st.composite
def worlds(draw: st.DrawFn, max_projects: int = 10) -> World:
    leaders = draw(st.integers(1, 3))
    n = draw(st.integers(0, max_projects))
    ps = [draw(projects(i, leaders)) for i in range(n)]
    rates = []
    for currency in ("USD", "JPY"):
        for on in draw(st.lists(dates, max_size=2, unique=True)):
            scale = 100 if currency == "USD" else 10000
            rates.append((currency, on, Decimal(draw(st.integers(1, 1000))) / scale))
    ts = [draw(targets(i, n)) for i in range(draw(st.integers(0, 3)))]
    return World(leaders=leaders, projects=ps, rates=rates, targets=ts)


async def load(app: Any, world: World) -> None:
    """Replace the data tables' rows with the world's, in one transaction."""
    async with app.state.sessionmaker() as session, session.begin():
        for model in (TargetMember, Target, ExchangeRate, ProjectDesignation, StageTransition, ProjectVersion, Project,
                      Leader, Unit):
            await session.execute(delete(model))
        leaders = [Leader(name=f"领导{i}") for i in range(world.leaders)]
        session.add_all(leaders)
        await session.flush()
        units = [Unit(name=f"单位{i}") for i in range(UNITS)]
        session.add_all(units)
        await session.flush()
        world.leader_ids = [leader.id for leader in leaders]  # type: ignore[misc]
        world.unit_ids = [unit.id for unit in units]  # type: ignore[misc]
        for p in world.projects:
            last = p.moves[-1]
            project = Project(
                name=f"项目{p.index}", investor="投资方", investor_country="CN", funding_source=p.funding_source,
                industry=p.industry, zone=p.zone, total_investment_amount=p.amount,
                total_investment_currency=p.currency, stage=last.to, stage_entered_on=last.on,
                leader_id=world.leader_ids[p.leader] if p.leader is not None else None,
                unit_id=world.unit_ids[p.unit] if p.unit is not None else None,
                planned_sign_on=p.planned[0], planned_start_on=p.planned[1], planned_production_on=p.planned[2],
                archived_at=NOW if p.archived else None)
            session.add(project)
            await session.flush()
            assert project.id is not None
            p.id = project.id
            session.add_all(versions(project))
            for i, move in enumerate(p.moves):
                left_on = p.moves[i + 1].on if i + 1 < len(p.moves) else None
                session.add(StageTransition(project_id=p.id, kind=move.kind, from_stage=move.from_stage,
                                            to_stage=move.to, occurred_on=move.on, left_on=left_on,
                                            recorded_at=RECORDED, left_recorded_at=RECORDED if left_on else None,
                                            actor_name="test"))
            if p.designation:
                name, status, year, decided_on = p.designation
                session.add(ProjectDesignation(project_id=p.id, designation=name, status=status, year=year,
                                               decided_on=decided_on))
            await session.flush()
        for currency, on, rate in world.rates:
            session.add(ExchangeRate(currency=currency, valid_from=on, rate=rate))
        for t in world.targets:
            target = Target(year=t.year, title=f"目标{t.index}", goal_stage=t.goal_stage,
                            goal_designation=t.goal_designation, target_count=t.target_count,
                            target_amount=t.target_amount, target_currency=t.currency, membership=t.membership,
                            criterion=t.criterion if t.membership == "criterion" else None,
                            plan_rates={c: str(r) for c, r in t.plan_rates.items()},
                            archived_at=NOW if t.archived else None)
            session.add(target)
            await session.flush()
            assert target.id is not None
            t.id = target.id
            session.add_all([TargetMember(target_id=t.id, project_id=world.projects[p].id, added_on=added,
                                          removed_on=removed, added_by="test")
                             for p, added, removed in t.members])


def versions(project: Project) -> list[ProjectVersion]:
    """The project's history of attributes: as it is, since ever; an archived project counts
    until ``ARCHIVED_ON``, as recorded at ``NOW``."""
    kept = {name: getattr(project, name) for name in HISTORISED}
    assert project.id is not None
    if project.archived_at is None:
        return [ProjectVersion(project_id=project.id, recorded_at=RECORDED, archived=False, **kept)]
    return [ProjectVersion(project_id=project.id, recorded_at=RECORDED, superseded_at=NOW, archived=False, **kept),
            ProjectVersion(project_id=project.id, valid_to=ARCHIVED_ON, recorded_at=NOW, archived=False, **kept),
            ProjectVersion(project_id=project.id, valid_from=ARCHIVED_ON, recorded_at=NOW, archived=True, **kept)]


# --- the reference --------------------------------------------------------------------------


def state_on(p: P, on: date) -> Move | None:
    """The last move dated on or before ``on``."""
    current = None
    for move in p.moves:
        if move.on <= on:
            current = move
    return current


def active(p: P, on: date) -> bool:
    s = state_on(p, on)
    return s is not None and s.to != "terminated"


def measures(p: P, on: date) -> dict[str, int | None]:
    s = state_on(p, on)
    out: dict[str, int | None] = {"sign_overdue": None, "start_overdue": None, "production_overdue": None,
                                  "stalled": None}
    if s is None or s.to == "terminated":
        return out
    r = RANK[s.to]
    for rule, planned, stage in (("sign_overdue", p.planned[0], "signed"),
                                 ("start_overdue", p.planned[1], "under_construction"),
                                 ("production_overdue", p.planned[2], "in_production")):
        if planned is not None and r < RANK[stage]:
            out[rule] = (on - planned).days
    if r < RANK["under_construction"]:
        out["stalled"] = (on - s.on).days
    return out


def late(p: P, on: date) -> bool:
    return any(v is not None and v >= 1 for k, v in measures(p, on).items() if k != "stalled")


DEFAULT_RULES = {"sign_overdue": (1, None), "start_overdue": (1, 90), "production_overdue": (None, 1),
                 "stalled": (180, None)}


def previous(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def report_due_on(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 5)


def last_due_month(on: date) -> tuple[int, int]:
    """The latest month whose monthly report was due (the 5th of the next month) before ``on``."""
    month = previous(on.year, on.month)
    while report_due_on(*month) >= on:
        month = previous(*month)
    return month


def must_report(p: P, year: int, month: int) -> bool:
    """Under construction on the month's last day, or preliminary with a granted key designation."""
    end = report_due_on(year, month).replace(day=1) - timedelta(days=1)
    s = state_on(p, end)
    if s is None:
        return False
    granted = p.designation is not None and p.designation[1] == "granted"
    return s.to == "under_construction" or (s.to == "preliminary" and granted)


def months_unreported(p: P, on: date, filed: Any = lambda year, month: False, depth: int = 2) -> int:
    """Due months in a row, back from the last due month, that ``p`` had to report and has not
    filed by ``on`` (``filed(year, month)``; these worlds file nothing)."""
    month, n = last_due_month(on), 0
    while n < depth and must_report(p, *month) and not filed(*month):
        n += 1
        month = previous(*month)
    return n


def status(p: P, on: date) -> str | None:
    if not active(p, on):
        return None
    unreported = months_unreported(p, on)
    worst = 2 if unreported >= 2 else unreported
    for rule, value in measures(p, on).items():
        amber, red = DEFAULT_RULES[rule]
        if value is None:
            continue
        if red is not None and value >= red:
            worst = max(worst, 2)
        elif amber is not None and value >= amber:
            worst = max(worst, 1)
    return ["green", "amber", "red"][worst]


def current(world: World, on: date | None = None) -> list[P]:
    """The projects that count: on ``on``, those not yet archived then; with no date, the unarchived."""
    return [p for p in world.projects if not p.archived or (on is not None and on < ARCHIVED_ON)]


def totals(ps: list[P]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for p in ps:
        out[p.currency] += p.amount
    return dict(out)


def rates_on(world: World, on: date) -> dict[str, Decimal]:
    out: dict[str, tuple[date, Decimal]] = {}
    for currency, valid_from, rate in world.rates:
        if valid_from <= on and (currency not in out or out[currency][0] < valid_from):
            out[currency] = (valid_from, rate)
    return {c: r for c, (_, r) in out.items()}


def convert(money: dict[str, Decimal], to: str, rates: dict[str, Decimal]) -> tuple[Decimal | None, list[str]]:
    needed = {c for c in money if c != to}
    if needed and to != "CNY":
        needed.add(to)
    needed.discard("CNY")
    missing = sorted(c for c in needed if c not in rates)
    if missing:
        return None, missing

    def r(c: str) -> Decimal:
        return Decimal(1) if c == "CNY" else rates[c]

    total = Decimal(0)
    with localcontext(prec=60):
        for c, amount in money.items():
            total += amount if c == to else (amount * r(c) / r(to)).quantize(CENTS, rounding=ROUND_HALF_UP)
    return total.quantize(CENTS), []


def median(values: list[int]) -> Decimal | None:
    return Decimal(str(statistics.median(values))).quantize(Decimal("0.1")) if values else None


def dimension(world: World, p: P, on: date, d: str) -> Any:
    s = state_on(p, on)
    assert s is not None
    return {"stage": s.to, "funding_source": p.funding_source, "zone": p.zone, "industry": p.industry,
            "leader": world.leader_ids[p.leader] if p.leader is not None else None,
            "unit": world.unit_ids[p.unit] if p.unit is not None else None,
            "year": s.on.year}[d]


def pipeline(world: World, on: date, group_by: list[str]) -> dict[str, Any]:
    """What /stats/pipeline should say, in a comparable shape."""
    present = [p for p in current(world, on) if state_on(p, on) is not None]
    groups: dict[tuple[Any, ...], list[P]] = defaultdict(list)
    for p in present:
        groups[tuple(dimension(world, p, on, d) for d in group_by)].append(p)
    rates = rates_on(world, on)
    funnel = {}
    for stage in [*STAGES, "terminated"]:
        entered, moved, terminated, stays, now = set(), set(), set(), [], []
        for p in current(world, on):
            for i, m in enumerate(p.moves):
                if m.on > on:
                    continue
                if m.to == stage:
                    entered.add(p.index)
                    nxt = p.moves[i + 1] if i + 1 < len(p.moves) else None
                    if nxt is not None and nxt.on <= on:
                        stays.append((nxt.on - m.on).days)
                if m.from_stage == stage and m.kind == "advance":
                    moved.add(p.index)
                if m.from_stage == stage and m.kind == "terminate":
                    terminated.add(p.index)
            s = state_on(p, on)
            if s is not None and s.to == stage:
                now.append((on - s.on).days)
        funnel[stage] = {"entered": len(entered), "moved_on": len(moved), "terminated": len(terminated),
                         "in_stage": len(now), "median_days": median(stays), "median_days_in_stage_now": median(now)}
    return {
        "count": len(present), "totals": totals(present), "total_cny": convert(totals(present), "CNY", rates),
        "groups": {key: (len(ps), totals(ps), convert(totals(ps), "CNY", rates)) for key, ps in groups.items()},
        "funnel": funnel,
    }


def done(t: T, p: P, on: date) -> bool:
    if not active(p, on):
        return False
    if t.goal_stage is not None:
        s = state_on(p, on)
        assert s is not None
        return RANK[s.to] >= RANK[t.goal_stage]
    if p.designation is None:
        return False
    name, status_, year, decided_on = p.designation
    return (name == t.goal_designation and status_ == "granted" and (decided_on is None or decided_on <= on)
            and (year is None or year == t.year))


def members(world: World, t: T, on: date) -> list[P]:
    if t.membership == "list":
        idx = {p for p, added, removed in t.members if added <= on and (removed is None or removed > on)}
        return [p for p in current(world, on) if p.index in idx]
    eve = date(t.year, 1, 1) - timedelta(days=1)
    out = []
    for p in current(world, on):
        if any(getattr(p, name) not in values for name, values in t.criterion.items()):
            continue
        if state_on(p, on) is None or done(t, p, eve):
            continue
        s = state_on(p, eve)
        if s is not None and s.to == "terminated":
            continue
        out.append(p)
    return out


def target_progress(world: World, t: T, as_of: date) -> dict[str, Any]:
    on = min(as_of, date(t.year, 12, 31))
    ms = members(world, t, on)
    rates = rates_on(world, on) | t.plan_rates

    def part(ps: list[P]) -> dict[str, Any]:
        finished = [p for p in ps if done(t, p, on)]
        return {"members": len(ps), "done": len(finished),
                "late": sum(1 for p in ps if not done(t, p, on) and late(p, on)),
                "member_totals": totals(ps), "done_totals": totals(finished),
                "member_total": convert(totals(ps), t.currency, rates),
                "done_total": convert(totals(finished), t.currency, rates)}

    leaders: dict[int | None, list[P]] = defaultdict(list)
    for p in ms:
        leaders[world.leader_ids[p.leader] if p.leader is not None else None].append(p)
    dropped = sum(1 for p in ms if (s := state_on(p, on)) is not None and s.to == "terminated")
    return {"evaluated_on": on, "dropped": dropped, **part(ms),
            "by_leader": {leader: part(ps) for leader, ps in leaders.items()}}


def leader_view(world: World, on: date) -> dict[int | None, dict[str, Any]]:
    """Per leader: project count, by stage, statuses, late."""
    out: dict[int | None, dict[str, Any]] = {}
    for p in current(world, on):
        s = state_on(p, on)
        if s is None:
            continue
        leader = world.leader_ids[p.leader] if p.leader is not None else None
        view = out.setdefault(leader, {"count": 0, "by_stage": defaultdict(int), "green": 0, "amber": 0, "red": 0,
                                       "late": 0, "totals": defaultdict(Decimal)})
        view["count"] += 1
        view["by_stage"][s.to] += 1
        view["totals"][p.currency] += p.amount
        if (st_ := status(p, on)) is not None:
            view[st_] += 1
        view["late"] += late(p, on)
    return out
