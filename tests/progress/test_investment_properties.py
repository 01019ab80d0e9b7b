"""``/stats/investment``, with and without ``as_of`` and ``known_on``, equals a brute-force reference on random
worlds of plans and report versions (``tests/progress_reference.py``)."""

import os
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.clock import today
from tests import progress_reference as ref

PROPERTY = settings(max_examples=int(os.environ.get("STATS_EXAMPLES", "25")), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
DIMENSIONS = [None, "leader", "unit", "zone", "industry", "designation", "target", "stage"]


def shape(figures: dict[str, Any]) -> dict[str, Any]:
    rate, gap = figures["completion_rate"], figures["gap_points"]
    return {
        "projects": figures["projects"], "planned": Decimal(figures["planned"]["amount"]),
        "completed": Decimal(figures["completed_ytd"]["amount"]),
        "rate": None if rate is None else Decimal(rate), "gap": None if gap is None else Decimal(gap),
        "health": figures["health"],
        "funds": {f["source"]: Decimal(f["amount"]["amount"]) for f in figures["funds_arrived_ytd"]},
        "fdi": Decimal(figures["fdi_utilised_ytd"]["amount"]),
    }


@PROPERTY
@given(world=ref.worlds(), month=st.integers(1, 12), dimension=st.sampled_from(DIMENSIONS),
       as_of=st.one_of(st.none(), st.dates(min_value=date(2022, 1, 1), max_value=date(2023, 4, 30))),
       known_on=st.one_of(st.none(), st.datetimes(min_value=datetime(2021, 12, 1), max_value=datetime(2023, 6, 30),
                                                  timezones=st.just(UTC))))
async def test_investment_against_time_progress_is_the_brute_force_sum_of_the_counted_versions(
        api, world, month, dimension, as_of, known_on):
    """With ``known_on``, the acceptances, supersessions and plan revisions recorded after it are
    left out; without, every one counts from its business date."""
    await ref.load(api.app, world)
    params: dict[str, Any] = {"year": ref.YEAR, "month": month}
    if dimension:
        params["group_by"] = dimension
    if as_of:
        params["as_of"] = as_of.isoformat()
    if known_on:
        params["known_on"] = known_on.isoformat()
    r = await api.client.get("/api/v1/stats/investment", headers=api.admin, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = ref.investment(world, month, as_of or today(), dimension, known_on)
    assert shape(body["total"]) == expected["total"]
    got = {g["key"]: {**shape(g), "rank": g["rank"], "rank_change": g["rank_change"]} for g in body["groups"]}
    assert got == expected["groups"]
    ranks = [g["rank"] for g in body["groups"] if g["rank"] is not None]
    assert ranks == sorted(ranks)
