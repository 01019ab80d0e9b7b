"""A brute-force reference for ``/stats/investment``: random worlds (those of
``tests/stats_reference.py``) given annual plans and monthly report versions — returned,
accepted, corrected, filed late, left awaiting review — written straight into the
database, and the figures recomputed here in plain Python from the rules as
``docs/PROGRESS.md`` states them."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import delete

from app.models import AnnualPlan, AnnualPlanVersion, ProgressReport
from app.services.projects import history
from tests import stats_reference as ref

YEAR = 2022
SOURCES = ["own_funds", "bank_loans", "government_funds", "special_bonds", "foreign_capital", "other"]
CENTS = Decimal("0.01")
PLANNED_AT = datetime(2021, 12, 1, tzinfo=UTC)


def instant(on: date, hour: int = 2) -> datetime:
    return datetime(on.year, on.month, on.day, hour, tzinfo=UTC)


@dataclass
class Version:
    amount: Decimal
    funds: dict[str, Decimal]
    fdi: Decimal | None
    filed_on: date
    status: str  # submitted, returned, accepted
    accepted_on: date | None = None
    superseded_on: date | None = None
    expected: dict[int, Decimal] | None = None  # expected_investment by quarter
    accepted_at: datetime | None = None  # the instants of accepted_on and superseded_on
    superseded_at: datetime | None = None


@dataclass
class Revision:
    """A plan's planned investment changed to ``amount`` from ``effective_on``, recorded at ``recorded_at``."""

    effective_on: date
    amount: Decimal
    recorded_at: datetime


@dataclass
class Schedule:
    """One project's plan and report versions; ``months`` maps (year, month) to its versions."""

    planned: Decimal | None
    months: dict[tuple[int, int], list[Version]] = field(default_factory=dict)
    planned_at: datetime = PLANNED_AT  # when the plan was set
    revision: Revision | None = None


@dataclass
class ProgressWorld:
    world: ref.World
    schedules: list[Schedule]


amounts = st.integers(0, 10**7).map(lambda n: Decimal(n) / 100)


@st.composite
def versions(draw: st.DrawFn, year: int, month: int) -> list[Version]:
    """A month's filings: each is returned or accepted before the next; the last may wait."""
    day = date(year, month, 1) + timedelta(days=draw(st.integers(0, 60)))
    out: list[Version] = []
    last_accepted: Version | None = None
    n = draw(st.integers(0, 3))
    for i in range(n):
        status = draw(st.sampled_from(["accepted", "accepted", "returned"] + (["submitted"] if i == n - 1 else [])))
        funds = {s: draw(amounts) for s in draw(st.lists(st.sampled_from(SOURCES), max_size=2, unique=True))}
        v = Version(amount=draw(amounts), funds=funds, fdi=draw(st.one_of(st.none(), amounts)), filed_on=day,
                    status=status)
        reviewed = day + timedelta(days=draw(st.sampled_from([0, 0, 3, 40])))
        if status == "accepted":
            # Two acceptances of one day an hour apart, in the order they were made.
            v.accepted_on, v.accepted_at = reviewed, instant(reviewed, 2 + i)
            if last_accepted is not None:
                last_accepted.superseded_on, last_accepted.superseded_at = reviewed, v.accepted_at
            last_accepted = v
        out.append(v)
        day = reviewed + timedelta(days=draw(st.sampled_from([0, 1, 20])))
    return out


@st.composite
def worlds(draw: st.DrawFn) -> ProgressWorld:
    world = draw(ref.worlds(max_projects=8))
    schedules = []
    for _ in world.projects:
        planned = draw(st.one_of(st.none(), st.just(Decimal(0)), amounts.map(lambda a: a * 12)))
        months = {}
        for ym in draw(st.lists(st.sampled_from([(YEAR - 1, 12)] + [(YEAR, m) for m in range(1, 13)]),
                                max_size=5, unique=True)):
            months[ym] = draw(versions(*ym))
        planned_at = instant(date(2021, 11, 1) + timedelta(days=draw(st.integers(0, 240))), 9)
        revision = None
        if planned is not None and draw(st.booleans()):
            effective_on = date(YEAR, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
            recorded_on = max(effective_on + timedelta(days=draw(st.sampled_from([0, 0, 10, 90]))), planned_at.date())
            revision = Revision(effective_on=effective_on, amount=draw(amounts.map(lambda a: a * 12)),
                                recorded_at=instant(recorded_on, 12))
        schedules.append(Schedule(planned=planned, months=months, planned_at=planned_at, revision=revision))
    return ProgressWorld(world=world, schedules=schedules)


async def load(app: Any, pw: ProgressWorld) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(ProgressReport))
        await session.execute(delete(AnnualPlanVersion))
        await session.execute(delete(AnnualPlan))
    await ref.load(app, pw.world)
    async with app.state.sessionmaker() as session, session.begin():
        for p, s in zip(pw.world.projects, pw.schedules, strict=True):
            if s.planned is None:
                continue
            plan = AnnualPlan(project_id=p.id, year=YEAR, planned_amount=s.planned, planned_currency="CNY",
                              created_at=s.planned_at, updated_at=s.planned_at)
            session.add(plan)
            await session.flush()
            # The plan's versions as plans.create and plans.update record them.
            history.begin(session, [plan], recorded_at=s.planned_at, kind=history.PLAN)
            await session.flush()
            if s.revision is not None:
                assert plan.id is not None
                plan.planned_amount = s.revision.amount
                history.record(session, await history.believed(session, [plan.id], kind=history.PLAN),
                               [history.Dated(plan.id, s.revision.effective_on, {"planned_amount": s.revision.amount,
                                                                                 "planned_currency": "CNY"})],
                               recorded_at=s.revision.recorded_at, kind=history.PLAN)
    await load_versions(app, [(p.id, s.months) for p, s in zip(pw.world.projects, pw.schedules, strict=True)])


async def load_versions(app: Any, projects: list[tuple[int, dict[tuple[int, int], list[Version]]]]) -> None:
    """Each project's report versions, month by month, as rows."""
    async with app.state.sessionmaker() as session, session.begin():
        for project_id, months in projects:
            for (year, month), vs in months.items():
                for revision, v in enumerate(vs, start=1):
                    filed_at = datetime(v.filed_on.year, v.filed_on.month, v.filed_on.day, 2, tzinfo=UTC)
                    due = date(year + month // 12, month % 12 + 1, 5)
                    session.add(ProgressReport(
                        project_id=project_id, year=year, month=month, revision=revision, status=v.status,
                        investment_amount=v.amount, fdi_utilised_amount=v.fdi,
                        **{f"funds_{k}": a for k, a in v.funds.items()}, filed_by="test", filed_at=filed_at,
                        expected_investment=[{"quarter": q, "amount": {"amount": f"{a:.2f}", "currency": "CNY"}}
                                             for q, a in sorted(v.expected.items())] if v.expected else None,
                        filed_on=v.filed_on, due_on=due, late=v.filed_on > due, accepted_on=v.accepted_on,
                        accepted_at=v.accepted_at or (filed_at if v.accepted_on else None),
                        superseded_on=v.superseded_on, superseded_at=v.superseded_at))


# --- the reference ----------------------------------------------------------------------------


def counts(v: Version, as_of: date, known_on: datetime | None = None) -> bool:
    """The version was its month's figure on ``as_of``, by what had been recorded by ``known_on``."""
    def known(at: datetime | None) -> bool:
        return known_on is None or (at is not None and at <= known_on)

    accepted = v.accepted_on is not None and v.accepted_on <= as_of and known(v.accepted_at)
    superseded = v.superseded_on is not None and v.superseded_on <= as_of and known(v.superseded_at)
    return accepted and not superseded


def plan_on(s: Schedule, on: date, known_on: datetime | None = None) -> Decimal | None:
    """The plan's amount on ``on``, by what had been recorded by ``known_on``; None: no plan."""
    if s.planned is None or (known_on is not None and known_on < s.planned_at):
        return None
    r = s.revision
    if r is not None and on >= r.effective_on and (known_on is None or r.recorded_at <= known_on):
        return r.amount
    return s.planned


@dataclass
class Facts:
    planned: Decimal | None
    done: Decimal
    done_prev: Decimal
    funds: dict[str, Decimal]
    fdi: Decimal


def facts(s: Schedule, month: int, as_of: date, on: date | None = None,
          known_on: datetime | None = None) -> Facts | None:
    """A project's figures for the year to ``month`` (the reports counted on ``as_of``, the
    plan as it stood on ``on``, by what had been recorded by ``known_on``); None when it has
    neither plan nor a counted report (it is then not in the statistics)."""
    planned = plan_on(s, on or as_of, known_on)
    done = done_prev = fdi = Decimal(0)
    funds: dict[str, Decimal] = defaultdict(Decimal)
    any_counted = False
    for (year, m), vs in s.months.items():
        if year != YEAR or m > month:
            continue
        for v in vs:
            if counts(v, as_of, known_on):
                any_counted = True
                done += v.amount
                done_prev += v.amount if m <= month - 1 else 0
                fdi += v.fdi or 0
                for k, a in v.funds.items():
                    funds[k] += a
    if planned is None and not any_counted:
        return None
    return Facts(planned=planned, done=done, done_prev=done_prev, funds=dict(funds), fdi=fdi)


def colour(f: Facts, month: int, amber: int | None = 10, red: int | None = 30) -> str:
    if f.planned is None or f.planned <= 0:
        return "no_plan"
    behind = (Fraction(month, 12) - Fraction(f.done) / Fraction(f.planned)) * 100
    if red is not None and behind >= red:
        return "red"
    if amber is not None and behind >= amber:
        return "amber"
    return "green"


def keys(pw: ProgressWorld, p: ref.P, dimension: str | None, on: date) -> list[Any]:
    """The groups a project counts in."""
    w = pw.world
    if dimension is None:
        return [None]
    if dimension == "leader":
        return [w.leader_ids[p.leader] if p.leader is not None else None]
    if dimension == "unit":
        return [w.unit_ids[p.unit] if p.unit is not None else None]
    if dimension in ("zone", "industry"):
        return [getattr(p, dimension)]
    if dimension == "stage":
        s = ref.state_on(p, on)
        return [s.to if s is not None else None]
    if dimension == "designation":
        return [p.designation[0]] if p.designation and p.designation[1] == "granted" else [None]
    targets = [t for t in w.targets if t.year == YEAR and not t.archived]
    found = [t.id for t in targets for m in ref.members(w, t, on) if m.index == p.index]
    return found or [None]


def _quantize(value: Fraction, places: str) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(places))


def summary(fs: list[Facts], month: int) -> dict[str, Any]:
    planned = sum((f.planned or Decimal(0) for f in fs), Decimal(0))
    done = sum((f.done for f in fs), Decimal(0))
    rate = Fraction(done) / Fraction(planned) if planned > 0 else None
    health = {"green": 0, "amber": 0, "red": 0, "no_plan": 0}
    for f in fs:
        health[colour(f, month)] += 1
    return {
        "projects": len(fs), "planned": planned.quantize(CENTS), "completed": done.quantize(CENTS),
        "rate": None if rate is None else _quantize(rate, "0.0001"),
        "gap": None if rate is None else _quantize((rate - Fraction(month, 12)) * 100, "0.1"),
        "health": health,
        "funds": {s: sum((f.funds.get(s, Decimal(0)) for f in fs), Decimal(0)).quantize(CENTS) for s in SOURCES},
        "fdi": sum((f.fdi for f in fs), Decimal(0)).quantize(CENTS),
    }


def competition_ranks(rates: dict[Any, Fraction]) -> dict[Any, int]:
    return {k: 1 + sum(1 for o in rates.values() if o > r) for k, r in rates.items()}


def investment(pw: ProgressWorld, month: int, as_of: date, dimension: str | None,
               known_on: datetime | None = None) -> dict[str, Any]:
    """What /stats/investment should say, in a comparable shape (the world's projects and their
    stage histories were all recorded before ``known_on``; their archiving at ``ref.NOW``)."""
    on = min(date(YEAR, 12, 31) if month == 12 else date(YEAR, month + 1, 1) - timedelta(days=1), as_of)
    archived_known = known_on is None or known_on >= ref.NOW
    members: list[tuple[ref.P, Facts]] = []
    for p, s in zip(pw.world.projects, pw.schedules, strict=True):
        f = facts(s, month, as_of, on, known_on)
        if (not p.archived or on < ref.ARCHIVED_ON or not archived_known) and f is not None:
            members.append((p, f))
    groups: dict[Any, list[Facts]] = defaultdict(list)
    for p, f in members:
        for k in keys(pw, p, dimension, on):
            groups[k].append(f)

    def rates(field_: str) -> dict[Any, Fraction]:
        out = {}
        for k, fs in groups.items():
            planned = sum((f.planned or Decimal(0) for f in fs), Decimal(0))
            if k is not None and planned > 0:
                out[k] = Fraction(sum((getattr(f, field_) for f in fs), Decimal(0))) / Fraction(planned)
        return out

    now, before = competition_ranks(rates("done")), competition_ranks(rates("done_prev")) if month > 1 else {}
    return {
        "total": summary([f for _, f in members], month),
        "groups": {k: {**summary(fs, month), "rank": now.get(k),
                       "rank_change": before[k] - now[k] if k in before and k in now else None}
                   for k, fs in groups.items()} if dimension is not None else {},
    }
