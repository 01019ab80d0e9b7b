"""``/stats/forecast`` (its investment half) equals a brute-force reference on random small
worlds of plans and report versions carrying ``expected_investment`` (the worlds of
``tests/progress_reference.py``), recomputed here from the rules ``docs/STATS.md`` states."""

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import progress_reference as ref

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


def project(s: ref.Schedule, month: int, as_of: date, tolerance: int) -> dict[str, Any]:
    counted = {m: v for (y, m), vs in s.months.items() if y == ref.YEAR and m <= month
               for v in vs if ref.counts(v, as_of)}
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
    planned = s.planned or Decimal(0)
    return {"expected": chosen, "method": "reported_quarters" if uses_report else "run_rate",
            "miss": planned > 0 and chosen * 100 < Fraction(planned) * (100 - tolerance), "planned": planned,
            "done": done}


@PROPERTY
@given(world=worlds(), as_of=st.dates(min_value=date(2022, 2, 6), max_value=date(2023, 2, 1)))
async def test_the_investment_forecast_is_the_brute_force_of_the_counted_versions(api, world, as_of):
    await ref.load(api.app, world)
    r = await api.client.get("/api/v1/stats/forecast", headers=api.admin,
                             params={"year": ref.YEAR, "as_of": as_of.isoformat(), "projects": "all"})
    assert r.status_code == 200, r.text
    body = r.json()
    month = reported_month(as_of)
    assert body["reported_month"] == month
    tolerance = body["miss_tolerance_percent"]
    expected = {p.id: project(s, month, as_of, tolerance)
                for p, s in zip(world.world.projects, world.schedules, strict=True)
                if s.planned is not None and not p.archived}
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

