"""Conversion per cohort (``/stats/cohorts``) and per signing event (``/stats/signing-events/{id}``).

A project belongs to the cohort of the day it was first moved to ``signed`` on or before
``as_of`` (its stage history; a project registered later than signing in a ledger has no
such entry and belongs to none): ``signed_year`` is that day's year, ``signing_event``
the event a move to ``signed`` named. Each cohort then counts, by its members' stage on
``as_of`` (``app.services.stats.timeline``): registered or landed or beyond (落地率),
under construction or beyond (开工率), in production (投产率), terminated; the funds arrived
in its members' accepted monthly reports against the amount agreed, their total investment
in CNY (资金到位率); and, for its foreign projects, utilised against contracted FDI
(``app.services.promotion.fdi``). Both report figures count the versions that were their
month's figure on ``as_of`` (``app.services.progress.reports.counted_by``).
Archived projects count nowhere.

One ``GROUP BY`` (cohort, currency) answers everything, each cohort's figures riding on
window functions over its rows.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, cast, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Subquery
from sqlmodel import col

from app.dialect import a_date
from app.models import Project, SigningEvent, StageTransition
from app.models.enums import STAGE_ORDER, CohortBy, FundingSource, Stage
from app.models.stats import Cohort, CohortStage, CohortStats, FundsInPlace, MoneyTotal, SigningEventStats, Totals
from app.services.common import links
from app.services.progress import reports
from app.services.projects import exchange_rates
from app.services.projects.exchange_rates import RateBook
from app.services.promotion import fdi, signing_events
from app.services.stats.pipeline import check_as_of, share
from app.services.stats.timeline import AnySelect, reached, stage_on

CENTS = Decimal("0.01")
MEANS = ("a cohort is the projects first moved to signed in a year (or at a signing event) on or before as_of; "
         "registered, under_construction and in_production count those at that stage or beyond on as_of, "
         "terminated those terminated by then; shares are of the signed count; funds arrived are the accepted "
         "monthly reports' (every source, CNY, the versions counting on as_of) against the signed total in CNY "
         "(资金到位率); links list the projects as they are now")
GOALS: dict[str, Stage] = {"registered": Stage.registered, "under_construction": Stage.under_construction,
                           "in_production": Stage.in_production}
LATER = {goal: [s.value for s in STAGE_ORDER[STAGE_ORDER.index(stage):]] for goal, stage in GOALS.items()}


def first_signed(on: date) -> Subquery:
    """Each project's first move to signed on or before ``on``: (project_id, signed_on,
    signing_event_id)."""
    t = StageTransition
    return (select(col(t.project_id).label("project_id"), func.min(col(t.occurred_on)).label("signed_on"),
                   func.min(col(t.signing_event_id)).label("signing_event_id"))
            .where(col(t.to_stage) == Stage.signed.value, col(t.occurred_on) <= a_date(on))
            .group_by(col(t.project_id)).subquery("signed"))


def _key(by: CohortBy, signed: Subquery) -> ColumnElement[Any]:
    if by == CohortBy.signed_year:
        return cast(extract("year", signed.c.signed_on), Integer)
    return signed.c.signing_event_id


def _rows_query(by: CohortBy, on: date, *, event_id: int | None = None) -> AnySelect:
    signed = first_signed(on)
    state = stage_on(on)
    utilised = fdi.utilised_fdi_query(on)
    arrived = reports.funds_arrived_query(on)
    key = _key(by, signed).label("key")
    currency = col(Project.total_investment_currency)
    foreign = col(Project.funding_source) == FundingSource.foreign.value
    n, amount = func.count(), func.sum(col(Project.total_investment_amount))

    def flag(condition: ColumnElement[bool]) -> Any:
        return func.sum(func.sum(case((condition, 1), else_=0))).over(partition_by=key)

    def usd(value: Any) -> Any:
        return func.sum(func.sum(case((foreign, value)))).over(partition_by=key)

    stmt: AnySelect = (
        select(key, currency.label("currency"), n.label("n"), amount.label("amount"),
               func.sum(n).over(partition_by=key).label("group_n"),
               *[flag(reached(state.c.stage, stage)).label(goal) for goal, stage in GOALS.items()],
               flag(state.c.stage == Stage.terminated.value).label("terminated"),
               flag(foreign).label("foreign_n"),
               usd(col(Project.contracted_fdi_amount)).label("contracted"), usd(utilised.c.utilised).label("utilised"),
               func.sum(func.sum(arrived.c.arrived)).over(partition_by=key).label("arrived"))
        .select_from(Project)
        .join(signed, signed.c.project_id == col(Project.id))
        .join(state, state.c.project_id == col(Project.id))
        .outerjoin(utilised, utilised.c.project_id == col(Project.id))
        .outerjoin(arrived, arrived.c.project_id == col(Project.id))
        .where(col(Project.archived_at).is_(None))
        .group_by(key, currency))
    if by == CohortBy.signing_event:
        stmt = stmt.where(signed.c.signing_event_id.is_not(None))
    if event_id is not None:
        stmt = stmt.where(signed.c.signing_event_id == event_id)
    return stmt


def _link(by: CohortBy, value: Any, **params: Any) -> str:
    query: list[tuple[str, Any]] = [("signed_year" if by == CohortBy.signed_year else "signing_event_id", value)]
    for name, values in params.items():
        query += [(name, v) for v in values]
    return links.link("/projects", query)


def _cohort(by: CohortBy, value: Any, rows: list[Any], *, book: RateBook, name: str | None = None) -> Cohort:
    first = rows[0] if rows else None
    signed_n = int(first.group_n) if first else 0

    def stage(count_of: str, stages: list[str]) -> CohortStage:
        count = int(getattr(first, count_of)) if first else 0
        return CohortStage(count=count, share=share(count, signed_n), projects=_link(by, value, stage=stages))

    money = exchange_rates.money((r.currency, r.amount) for r in rows)
    agreed = exchange_rates.convert(money, to=exchange_rates.BASE, book=book)
    arrived = Decimal(first.arrived if first is not None and first.arrived is not None else 0).quantize(CENTS)
    return Cohort(
        key={by.value if by == CohortBy.signed_year else "signing_event_id": value}, name=name,
        signed=Totals(count=signed_n, totals=money, total_cny=agreed, projects=_link(by, value)),
        funds=FundsInPlace(arrived=MoneyTotal(amount=arrived, currency=exchange_rates.BASE), agreed=agreed,
                           share_arrived=(arrived / agreed.amount).quantize(fdi.SHARE_PLACES) if agreed.amount
                           else None),
        **{goal: stage(goal, LATER[goal]) for goal in GOALS},
        terminated=stage("terminated", [Stage.terminated.value]),
        fdi=fdi.foreign_investment(first.foreign_n if first else 0, first.contracted if first else None,
                                   first.utilised if first else None))


async def cohorts(session: AsyncSession, *, by: CohortBy, as_of: date, today: date) -> CohortStats:
    """Per cohort (signing year or event) on ``as_of``: signed, then how far they have come."""
    check_as_of(as_of, today)
    rows = (await session.execute(_rows_query(by, as_of))).all()
    book = await exchange_rates.rate_book(session, as_of)
    groups: dict[Any, list[Any]] = {}
    for row in rows:
        groups.setdefault(row.key, []).append(row)
    names: dict[int, str] = {}
    if by == CohortBy.signing_event and groups:
        names = {r.id: r.name for r in await session.execute(
            select(col(SigningEvent.id), col(SigningEvent.name)).where(col(SigningEvent.id).in_(list(groups))))}
    items = [_cohort(by, value, members, book=book, name=names.get(value))
             for value, members in sorted(groups.items(), key=lambda kv: kv[0])]
    return CohortStats(as_of=as_of, by=by, means=MEANS, items=items)


async def signing_event_stats(session: AsyncSession, event_id: int, *, as_of: date, today: date) -> SigningEventStats:
    """What one signing event brought, on ``as_of``."""
    check_as_of(as_of, today)
    event = await signing_events.get(session, event_id)
    rows = list((await session.execute(_rows_query(CohortBy.signing_event, as_of, event_id=event_id))).all())
    book = await exchange_rates.rate_book(session, as_of)
    return SigningEventStats(event=signing_events.to_read(event), as_of=as_of, means=MEANS,
                             figures=_cohort(CohortBy.signing_event, event_id, rows, book=book, name=event.name))
