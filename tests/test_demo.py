"""The demo data set: the 2022 plan's figures, read back through the project list."""

from decimal import Decimal

import pytest

from app.clock import today
from app.demo import PLAN_FIGURES, seed_demo
from app.errors import Conflict


async def walk(api, params):
    items, cursor = [], None
    while True:
        r = await api.client.get("/api/v1/projects", headers=api.admin,
                                 params={**params, "limit": 200, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


async def test_the_demo_holds_the_plans_figures_to_the_unit_of_currency(demo):
    api, summary = demo.api, demo.summary
    assert (summary.leaders, summary.units) == (12, 30)
    for name, figure in PLAN_FIGURES.items():
        projects = await walk(api, figure["filter"])
        assert len(projects) == figure["count"], name
        if figure["total"] is not None:
            amount, currency = figure["total"]
            assert {p["total_investment"]["currency"] for p in projects} == {currency}, name
            assert sum(Decimal(p["total_investment"]["amount"]) for p in projects) == Decimal(amount), name
    every = await walk(api, {})
    assert len(every) == summary.projects
    assert all(p["leader_id"] and p["unit_id"] for p in every)
    nidec = await walk(api, {"q": "日本电产"})
    assert nidec[0]["total_investment"] == {"amount": "500000000.00", "currency": "USD"}

    with pytest.raises(Conflict) as refused:
        async with api.app.state.sessionmaker() as session, session.begin():
            await seed_demo(session, today=today())
    assert refused.value.code == "database_not_empty"
