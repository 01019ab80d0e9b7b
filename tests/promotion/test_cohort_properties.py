"""``/stats/cohorts`` on any date equals a brute-force count of the raw rows.

Random worlds (``tests/stats_reference.py``: projects with stage histories — same-day
moves, corrections, terminations — some archived) get signing events on their moves to
signed, contracted FDI and monthly report versions (``tests/progress_reference.py``:
returned, accepted, corrected, left waiting) carrying funds arrived and utilised FDI,
written straight into the database; the answers come over HTTP; the expectations are
computed here, in plain Python, from the same rows and the rules as the API documents them.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, update

from app.clock import today
from app.models import ProgressReport, Project, SigningEvent, StageTransition
from tests import progress_reference as progress
from tests import stats_reference as ref
from tests.stats.test_stats_properties import AS_OF, PROPERTY, get, money

ZERO = Decimal("0.00")
MONTHS = [(year, month) for year in (2020, 2021, 2022, 2023) for month in range(1, 13)]


@dataclass
class Extra:
    events: int
    event_of: list[int | None]  # per project: the event its moves to signed name
    contracted: list[Decimal | None]
    months: list[dict[tuple[int, int], list[progress.Version]]]  # per project: its report versions by month
    event_ids: list[int] = field(default_factory=list)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[ref.World, Extra]:
    world = draw(ref.worlds(max_projects=8))
    events = draw(st.integers(0, 2))
    n = len(world.projects)
    event_of = [draw(st.one_of(st.none(), st.integers(0, events - 1))) if events else None for _ in range(n)]
    contracted, months = [], []
    for p in world.projects:
        foreign = p.funding_source == "foreign"
        contracted.append(Decimal(draw(st.integers(0, 10**9))) / 100 if foreign and draw(st.booleans()) else None)
        reported = draw(st.lists(st.sampled_from(MONTHS), max_size=3, unique=True))
        months.append({ym: draw(progress.versions(*ym)) for ym in reported})
    return world, Extra(events=events, event_of=event_of, contracted=contracted, months=months)


async def load(app: Any, world: ref.World, extra: Extra) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(ProgressReport))
        await session.execute(update(StageTransition).values(signing_event_id=None))
        await session.execute(delete(SigningEvent))
    await ref.load(app, world)
    async with app.state.sessionmaker() as session, session.begin():
        events = [SigningEvent(name=f"签约活动{i}", held_on=date(2022, 1, 1)) for i in range(extra.events)]
        session.add_all(events)
        await session.flush()
        extra.event_ids = [e.id for e in events]  # type: ignore[misc]
        for i, p in enumerate(world.projects):
            if extra.contracted[i] is not None:
                await session.execute(update(Project).where(Project.id == p.id)  # type: ignore[arg-type]
                                      .values(contracted_fdi_amount=extra.contracted[i]))
            if extra.event_of[i] is not None:
                await session.execute(
                    update(StageTransition)
                    .where(StageTransition.project_id == p.id, StageTransition.to_stage == "signed")  # type: ignore[arg-type]
                    .values(signing_event_id=extra.event_ids[extra.event_of[i]]))  # type: ignore[index]
    await progress.load_versions(app, [(p.id, extra.months[i]) for i, p in enumerate(world.projects)])


def reference(world: ref.World, extra: Extra, on: date, by: str) -> dict[Any, dict[str, Any]]:
    """Per cohort: what ``/stats/cohorts`` must answer, from the raw rows."""
    out: dict[Any, dict[str, Any]] = {}
    for i, p in enumerate(world.projects):
        signings = [m.on for m in p.moves if m.to == "signed" and m.on <= on]
        if p.archived or not signings:
            continue
        if by == "signed_year":
            key: Any = min(signings).year
        elif extra.event_of[i] is None:
            continue
        else:
            key = extra.event_ids[extra.event_of[i]]  # type: ignore[index]
        c = out.setdefault(key, {"count": 0, "totals": defaultdict(lambda: ZERO), "registered": 0,
                                 "under_construction": 0, "in_production": 0, "terminated": 0,
                                 "foreign": 0, "contracted": ZERO, "utilised": ZERO, "arrived": ZERO})
        stage = ref.state_on(p, on).to  # type: ignore[union-attr]
        c["count"] += 1
        c["totals"][p.currency] += p.amount
        for goal in ("registered", "under_construction", "in_production"):
            c[goal] += stage in ref.RANK and ref.RANK[stage] >= ref.RANK[goal]
        c["terminated"] += stage == "terminated"
        counted = [v for (year, month), vs in extra.months[i].items() for v in vs
                   if progress.counts(v, on) and (year, month) <= (on.year, on.month)]
        c["arrived"] += sum((sum(v.funds.values(), ZERO) for v in counted), ZERO)
        if p.funding_source == "foreign":
            c["foreign"] += 1
            c["contracted"] += extra.contracted[i] or ZERO
            c["utilised"] += sum((v.fdi for v in counted if v.fdi is not None), ZERO)
    rates = ref.rates_on(world, on)
    for c in out.values():
        c["totals"] = {k: v.quantize(ref.CENTS) for k, v in c["totals"].items()}
        agreed, _ = ref.convert(c["totals"], "CNY", rates)
        c["share_arrived"] = (c["arrived"] / agreed).quantize(Decimal("0.0001")) if agreed else None
    return out


@PROPERTY
@given(data=worlds(), as_of=AS_OF, by=st.sampled_from(["signed_year", "signing_event"]))
async def test_cohorts_on_any_date_are_the_brute_force_count_of_the_histories(api, data, as_of, by):
    world, extra = data
    await load(api.app, world, extra)
    body = await get(api, "/api/v1/stats/cohorts", by=by, as_of=as_of and as_of.isoformat())
    on = as_of or today()
    expected = reference(world, extra, on, by)
    got = {}
    for c in body["items"]:
        got[c["key"][by if by == "signed_year" else "signing_event_id"]] = {
            "count": c["signed"]["count"], "totals": money(c["signed"]["totals"]),
            **{goal: c[goal]["count"] for goal in ("registered", "under_construction", "in_production", "terminated")},
            "foreign": c["fdi"]["foreign_projects"], "contracted": Decimal(c["fdi"]["contracted"]["amount"]),
            "utilised": Decimal(c["fdi"]["utilised"]["amount"]), "arrived": Decimal(c["funds"]["arrived"]["amount"]),
            "share_arrived": c["funds"]["share_arrived"] and Decimal(c["funds"]["share_arrived"])}
        assert c["funds"]["agreed"] == c["signed"]["total_cny"]
        assert c["registered"]["share"] == str((Decimal(c["registered"]["count"]) / c["signed"]["count"])
                                                .quantize(Decimal("0.0001")))
    assert got == expected
    assert [next(iter(c["key"].values())) for c in body["items"]] == sorted(expected)
