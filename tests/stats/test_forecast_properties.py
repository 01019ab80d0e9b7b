"""``/stats/forecast`` equals a brute-force reference, recomputed here from the rules
``docs/STATS.md`` states: its investment half on random small worlds of plans and report
versions carrying ``expected_investment`` (the worlds of ``tests/progress_reference.py``), its
targets half on random worlds of stage histories and targets (``tests/stats_reference.py``)."""

import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import progress_reference as ref
from tests import stats_reference as sref

# Fixed examples (derandomized) and few of them: the suite's time is shared.
PROPERTY = settings(max_examples=12, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CENTS, FOUR = Decimal("0.01"), Decimal("0.0001")


@st.composite
def worlds(draw: st.DrawFn) -> ref.ProgressWorld:
    pw = draw(ref.worlds())
    for s in pw.schedules:
        for (_, month), vs in s.months.items():
            for v in vs:
                quarters = draw(st.lists(st.integers((month - 1) // 3 + 1, 4), unique=True, max_size=3))
                v.expected = {q: draw(ref.amounts) for q in quarters} or None
    return pw


def reported_month(as_of: date) -> int:
    """The last month of the year whose report (due on the 5th of the next) was due before as_of."""
    month = 12
    while month >= 1 and date(ref.YEAR + month // 12, month % 12 + 1, 5) >= as_of:
        month -= 1
    return month


def exact(value: Fraction, places: Decimal) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(places)


def project(s: ref.Schedule, month: int, as_of: date, tolerance: int, known_on: datetime | None = None
            ) -> dict[str, Any]:
    counted = {m: v for (y, m), vs in s.months.items() if y == ref.YEAR and m <= month
               for v in vs if ref.counts(v, as_of, known_on)}
    done = sum((v.amount for v in counted.values()), Decimal(0))
    quarter = month // 3 + 1
    rest = Decimal(0)
    if quarter <= 4 and counted:
        expected = counted[max(counted)].expected or {}
        in_quarter = sum((v.amount for m, v in counted.items() if m >= 3 * (quarter - 1) + 1), Decimal(0))
        rest = max(expected.get(quarter, Decimal(0)) - in_quarter, Decimal(0))
        rest += sum((expected.get(q, Decimal(0)) for q in range(quarter + 1, 5)), Decimal(0))
    by_report = Fraction(done + rest)
    run = Fraction(done) * 12 / month
    uses_report = by_report >= run
    chosen = by_report if uses_report else run
    planned = ref.plan_on(s, as_of, known_on) or Decimal(0)  # the plan as it stood on as_of, as known then
    return {"expected": chosen, "method": "reported_quarters" if uses_report else "run_rate",
            "miss": planned > 0 and chosen * 100 < Fraction(planned) * (100 - tolerance), "planned": planned,
            "done": done}


@PROPERTY
@given(world=worlds(), as_of=st.dates(min_value=date(2022, 2, 6), max_value=date(2023, 2, 1)),
       known_on=st.one_of(st.none(), st.datetimes(min_value=datetime(2021, 12, 1), max_value=datetime(2023, 6, 30),
                                                  timezones=st.just(UTC))))
async def test_the_investment_forecast_is_the_brute_force_of_the_counted_versions(api, world, as_of, known_on):
    await ref.load(api.app, world)
    r = await api.client.get("/api/v1/stats/forecast", headers=api.admin,
                             params={"year": ref.YEAR, "as_of": as_of.isoformat(), "projects": "all",
                                     **({"known_on": known_on.isoformat()} if known_on else {})})
    assert r.status_code == 200, r.text
    body = r.json()
    month = reported_month(as_of)
    assert body["reported_month"] == month
    tolerance = body["miss_tolerance_percent"]
    expected = {p.id: project(s, month, as_of, tolerance, known_on)
                for p, s in zip(world.world.projects, world.schedules, strict=True)
                if ref.plan_on(s, as_of, known_on) is not None and not p.archived}
    got = {p["project_id"]: p for p in body["projects"]}
    assert set(got) == set(expected)
    for pid, want in expected.items():
        p = got[pid]
        assert Decimal(p["expected_investment"]["amount"]) == exact(want["expected"], CENTS)
        assert Decimal(p["completed_ytd"]["amount"]) == want["done"]
        assert p["method"] == want["method"] and p["expected_to_miss"] == want["miss"]
    total = sum((w["expected"] for w in expected.values()), Fraction(0))
    planned = sum((w["planned"] for w in expected.values()), Decimal(0))
    assert body["total"]["projects"] == len(expected)
    assert Decimal(body["total"]["expected_investment"]["amount"]) == exact(total, CENTS)
    assert body["total"]["projects_expected_to_miss"] == sum(w["miss"] for w in expected.values())
    assert body["total"]["expected_to_miss"] == (planned > 0 and total * 100 < Fraction(planned) * (100 - tolerance))
    assert body["total"]["expected_rate"] == (str(exact(total / Fraction(planned), FOUR)) if planned > 0 else None)



# --- the targets half -----------------------------------------------------------------------

# The planned date a stage goal must be reached by, as an index into P.planned (sign, start,
# production): a stage with no date of its own is due by the next one's, the start.
GOAL_PLANNED = {"signed": 0, "registered": 1, "preliminary": 1, "under_construction": 1, "in_production": 2}

GAPS = st.sampled_from([0, 1, 7, 16, 30, 45, 90, 151, 200])


def exact_median(values: list[int]) -> Fraction | None:
    """Kept as a fraction, not statistics.median's float, so the fit below compares exactly."""
    if not values:
        return None
    v, n = sorted(values), len(values)
    return Fraction(v[n // 2]) if n % 2 else Fraction(v[n // 2 - 1] + v[n // 2], 2)


def finished_stays(world: sref.World, on: date) -> dict[str, list[int]]:
    """Per stage, the days of every stay in it that had ended by ``on``, over the current projects."""
    stays: dict[str, list[int]] = defaultdict(list)
    for p in sref.current(world):
        for move, left in pairwise(p.moves):
            if left.on <= on:
                stays[move.to].append((left.on - move.on).days)
    return stays


def needs(world: sref.World, t: sref.T, on: date, medians: dict[str, Fraction | None]) -> list[Fraction]:
    """The days each member that may still be expected needs to reach the goal by the median
    stays: members neither done nor dropped, whose planned date for the goal falls after ``on``
    and by the year's end, and with a median for every stage left (else none can be judged)."""
    assert t.goal_stage is not None
    out = []
    for p in sref.members(world, t, on):
        s = sref.state_on(p, on)
        if s is None or s.to == "terminated" or sref.done(t, p, on):
            continue
        planned = p.planned[GOAL_PLANNED[t.goal_stage]]
        if planned is None or not on < planned <= date(t.year, 12, 31):
            continue
        ahead = [medians[stage] for stage in sref.STAGES[sref.RANK[s.to]:sref.RANK[t.goal_stage]]]
        if any(m is None for m in ahead):
            continue
        first, *rest = [m for m in ahead if m is not None]
        out.append(max(first - (on - s.on).days, Fraction(0)) + sum(rest, Fraction(0)))
    return out


def days_left(year: int, on: date) -> int:
    return max((date(year, 12, 31) - on).days, 0)


def medians_on(world: sref.World, on: date) -> dict[str, Fraction | None]:
    stays = finished_stays(world, on)
    return {stage: exact_median(stays[stage]) for stage in sref.STAGES}


def on_edge(world: sref.World, year: int, on: date) -> bool:
    """Some member needs about the days left on ``on``: half a day more or less, just as many."""
    medians, left = medians_on(world, on), days_left(year, on)
    return any(left - 1 < need <= left + 1 for t in world.targets if t.goal_stage is not None and not t.archived
               for need in needs(world, t, on, medians))


def edges(world: sref.World, year: int, on: date) -> list[tuple[bool, list[date]]]:
    """Pairs of dates whose days left are just enough, and just short, for what a member needed
    on ``on``, keyed False for a need in half days (to be tried first): random dates seldom fall on that edge, where
    half a day or ``<`` for ``≤`` decide. What a member needs moves with the date (the days in
    its stage, the stays ended), so a pair is kept only if the edge holds on its own date."""
    medians = medians_on(world, on)
    pairs = []
    for t in world.targets:
        if t.goal_stage is None or t.archived:
            continue
        for need in needs(world, t, on, medians):
            enough = math.ceil(need)
            dates = [d for left in (enough, enough - 1)
                     if date(year, 2, 6) <= (d := date(year, 12, 31) - timedelta(days=left)) <= date(year, 12, 31)]
            if any(on_edge(world, year, d) for d in dates):
                pairs.append((need.denominator != 2, dates))
    return pairs


@st.composite
def target_worlds(draw: st.DrawFn) -> tuple[sref.World, int, list[date]]:
    """Projects and targets of ``tests/stats_reference.py``, with the targets all of the year
    forecast, the histories moved to begin around it and the planned dates often in its rest
    (else few members would be candidates), and a few dates of the year to forecast on (from
    6 February, when January's report is due)."""
    year = draw(st.sampled_from([2021, 2022]))
    leaders = draw(st.integers(1, 3))
    projects = [draw(sref.projects(i, leaders)) for i in range(draw(st.integers(6, 12)))]
    # Mostly in the year, some after it; each drawn on its own (not sign ≤ start ≤ production)
    # so that any goal's date may be late.
    in_year, after = (st.dates(min_value=date(year, 2, 1), max_value=date(year, 12, 31)),
                      st.dates(min_value=date(year + 1, 1, 1), max_value=date(year + 1, 3, 31)))
    near = st.sampled_from([in_year, in_year, in_year, after, st.just(date(year, 12, 31))]).flatmap(lambda d: d)
    some = st.sampled_from([True, True, True, False])
    rarely_none = st.sampled_from([True] * 7 + [False])
    for p in projects:
        # Stays of many lengths, odd and even, so that medians fall on halves and on both sides
        # of the days left.
        on = draw(st.dates(min_value=date(year - 2, 1, 1), max_value=date(year, 9, 30)))
        if draw(st.booleans()):
            # Straight up the stages (the drawn histories seldom climb far): stays in every
            # stage, and members many stages from their goal.
            first, last = draw(st.integers(0, 2)), draw(st.integers(2, len(sref.STAGES) - 1))
            p.moves = [sref.Move(sref.STAGES[first], on, "created", None)]
            p.moves += [sref.Move(stage, on, "advance", sref.STAGES[i - 1])
                        for i, stage in enumerate(sref.STAGES[first + 1:last + 1], start=first + 1)]
        for move in p.moves:
            move.on = on
            on += timedelta(days=draw(GAPS))
        p.planned = tuple(draw(near) if draw(rarely_none) else None for _ in range(3))  # type: ignore[assignment]
    targets = [draw(sref.targets(i, len(projects))) for i in range(draw(st.integers(2, 4)))]
    listed_on = st.dates(min_value=date(year - 1, 6, 1), max_value=date(year, 9, 30))
    for t in targets:
        t.year = year
        if t.goal_stage is None and draw(some):
            # Mostly stage goals: only they expect more than is done.
            t.goal_stage, t.goal_designation = draw(st.sampled_from(sref.STAGES[1:])), None
        if t.membership == "list":
            # Most projects on the list, a few taken off it again: members enough to forecast.
            t.members = [(p.index, added, draw(st.sampled_from([None, None, None, added + timedelta(days=90)])))
                         for p in projects if draw(some) for added in [draw(listed_on)]]
    # Some dates on a planned date or a move's (a stay ending that day): ``<`` for ``≤`` shows there.
    first_day, last_day = date(year, 2, 6), date(year, 10, 31)
    landmarks = sorted({d for p in projects for d in [*p.planned, *(m.on for m in p.moves)]
                        if d is not None and first_day <= d <= last_day})
    days = st.dates(min_value=first_day, max_value=last_day)
    if landmarks:
        days = st.sampled_from([days, st.sampled_from(landmarks)]).flatmap(lambda d: d)
    return (sref.World(leaders=leaders, projects=projects, rates=[], targets=targets), year,
            draw(st.lists(days, min_size=1, max_size=2, unique=True)))


async def check_targets(api, world: sref.World, year: int, on: date) -> None:
    r = await api.client.get("/api/v1/stats/forecast", headers=api.admin,
                             params={"year": year, "as_of": on.isoformat(), "projects": "none"})
    assert r.status_code == 200, r.text
    body = r.json()
    # Within the year the targets are evaluated on as_of itself.
    assert body["evaluated_on"] == on.isoformat() and body["days_left"] == days_left(year, on)
    stays = finished_stays(world, on)
    medians = medians_on(world, on)
    got_medians = {m["stage"]: (None if m["median_days"] is None else Fraction(Decimal(m["median_days"])),
                                m["stays"]) for m in body["stage_medians"]}
    assert got_medians == {stage: (medians[stage], len(stays[stage])) for stage in sref.STAGES}, on

    tolerance = body["miss_tolerance_percent"]
    targets = sorted((t for t in world.targets if t.year == year and not t.archived), key=lambda t: t.id)
    got = {f["target_id"]: f for f in body["targets"]}
    assert list(got) == [t.id for t in targets]
    for t in targets:
        done = sum(sref.done(t, p, on) for p in sref.members(world, t, on))
        # A designation goal has no planned date: its forecast is what is done.
        more = (sum(need <= days_left(year, on) for need in needs(world, t, on, medians))
                if t.goal_stage is not None else 0)
        total = done + more
        want = {"done": done, "expected_more": more, "expected_done": total,
                "expected_share": str((Decimal(total) / t.target_count).quantize(FOUR)) if t.target_count else None,
                "expected_to_miss": Fraction(total) < Fraction(t.target_count * (100 - tolerance), 100)}
        assert {k: got[t.id][k] for k in want} == want, (on, t)


@PROPERTY
@given(drawn=target_worlds())
async def test_each_targets_forecast_is_the_brute_force_of_the_stage_histories(api, drawn):
    world, year, dates = drawn
    await sref.load(api.app, world)
    pairs = sorted(pair for on in dates for pair in edges(world, year, on))
    for on in dict.fromkeys([*dates, *(pairs[0][1] if pairs else [])]):
        await check_targets(api, world, year, on)
