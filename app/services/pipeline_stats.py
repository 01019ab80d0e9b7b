"""``/stats/pipeline``: counts and totals of the pipeline on any date, and its funnel.

Every number is one SQL aggregate: a ``GROUP BY`` of the chosen dimensions and the
currency, with window functions (``SUM(…) OVER``) giving each group's and the whole
pipeline's figures in the same pass. Medians are a window-function formulation
(``row_number``/``count``) that both databases run as written.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, distinct, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Subquery
from sqlmodel import col

from app.dialect import a_date, days_between
from app.errors import InvalidInput
from app.models import Project, StageTransition
from app.models.enums import (
    STAGE_ORDER,
    FundingSource,
    Industry,
    PipelineDimension,
    Stage,
    TransitionKind,
    Zone,
)
from app.models.stats import FunnelStage, MoneyTotal, PipelineGroup, PipelineProject, PipelineStats, Totals
from app.services import exchange_rates, pagination
from app.services.exchange_rates import RateBook
from app.services.pagination import Page, SortKey
from app.services.pipeline_state import RANK, AnySelect, State, entered_year, projects_on

PROJECTS_PATH = "/api/v1/stats/pipeline/projects"
SHARE_PLACES = Decimal("0.0001")
DAYS_PLACES = Decimal("0.1")
NONE = "none"  # the filter value for "no leader" / "no unit"

D = PipelineDimension


def check_as_of(as_of: date, today: date) -> None:
    if as_of > today:
        raise InvalidInput.field("as_of", f"must not be in the future (today is {today})")


def share(part: int | Decimal, whole: int | Decimal | None) -> Decimal | None:
    """``part / whole`` to four places; None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(SHARE_PLACES)


@dataclass
class PipelineFilters:
    """Filters on the projects as they stood on the date; each is ANDed, values within one ORed.
    ``leader_id`` and ``unit_id`` take None for "no leader" / "no unit"."""

    stage: list[Stage] = field(default_factory=list)
    funding_source: list[FundingSource] = field(default_factory=list)
    zone: list[Zone] = field(default_factory=list)
    industry: list[Industry] = field(default_factory=list)
    leader_id: list[int | None] = field(default_factory=list)
    unit_id: list[int | None] = field(default_factory=list)
    year: list[int] = field(default_factory=list)

    def apply(self, stmt: AnySelect, state: State) -> AnySelect:
        """Add the filters to a query joining ``projects`` and the state."""
        stmt = self.apply_attributes(stmt)
        if self.stage:
            stmt = stmt.where(state.c.stage.in_([str(s) for s in self.stage]))
        if self.year:
            stmt = stmt.where(entered_year(state).in_(self.year))
        return stmt

    def apply_attributes(self, stmt: AnySelect) -> AnySelect:
        """Add the filters on the project's own fields (all but stage and year) to a query
        joining ``projects``."""
        for name, column in (("funding_source", Project.funding_source), ("zone", Project.zone),
                             ("industry", Project.industry)):
            if words := getattr(self, name):
                stmt = stmt.where(col(column).in_([str(w) for w in words]))
        for name, ref in (("leader_id", Project.leader_id), ("unit_id", Project.unit_id)):
            if refs := getattr(self, name):
                ids = [r for r in refs if r is not None]
                stmt = stmt.where(or_(col(ref).in_(ids), col(ref).is_(None)) if None in refs else col(ref).in_(ids))
        return stmt

    def narrowed(self, **key: Any) -> "PipelineFilters":
        """These filters, narrowed to one group's key."""
        values = {name: list(getattr(self, name)) for name in self.__dataclass_fields__}
        names = {D.stage: "stage", D.funding_source: "funding_source", D.zone: "zone", D.industry: "industry",
                 D.leader: "leader_id", D.unit: "unit_id", D.year: "year"}
        for dimension, value in key.items():
            values[names[D(dimension)]] = [value]
        return PipelineFilters(**values)

    def query(self, *, attributes_only: bool = False) -> list[tuple[str, str]]:
        """The filters as query parameters of the project list."""
        params: list[tuple[str, str]] = []
        for name in self.__dataclass_fields__:
            if attributes_only and name in ("stage", "year"):
                continue
            params += [(name, NONE if value is None else str(value)) for value in getattr(self, name)]
        return params


def projects_link(as_of: date, filters: PipelineFilters, *, attributes_only: bool = False,
                  **extra: str) -> str:
    params = [("as_of", as_of.isoformat()), *filters.query(attributes_only=attributes_only), *extra.items()]
    return f"{PROJECTS_PATH}?{urlencode(params)}"


def dimension(d: PipelineDimension, state: State) -> ColumnElement[Any]:
    columns: dict[PipelineDimension, Any] = {
        D.stage: state.c.stage, D.funding_source: col(Project.funding_source), D.zone: col(Project.zone),
        D.industry: col(Project.industry), D.leader: col(Project.leader_id), D.unit: col(Project.unit_id)}
    return entered_year(state) if d == D.year else columns[d]


_ENUM_ORDER: dict[PipelineDimension, dict[str, int]] = {
    D.stage: {**{s.value: i for s, i in RANK.items()}, Stage.terminated.value: len(RANK)},
    D.funding_source: {v.value: i for i, v in enumerate(FundingSource)},
    D.zone: {v.value: i for i, v in enumerate(Zone)},
    D.industry: {v.value: i for i, v in enumerate(Industry)},
}


def sort_key(dimensions: Sequence[PipelineDimension], key: dict[str, Any]) -> tuple[tuple[int, int], ...]:
    """Groups in the lifecycle's and the vocabularies' order, ids and years ascending, "none" last
    (the same on both databases, whose collations differ)."""
    out = []
    for d in dimensions:
        value = key[d.value]
        if value is None:
            out.append((1, 0))
        elif d in _ENUM_ORDER:
            out.append((0, _ENUM_ORDER[d][value]))
        else:
            out.append((0, int(value)))
    return tuple(out)


async def totals_by(session: AsyncSession, stmt: AnySelect, keys: Sequence[Any]) -> Sequence[Any]:
    """Per (keys…, currency): the count and total, with each key group's count and the whole
    selection's count and per-currency totals alongside, by window functions."""
    currency = col(Project.total_investment_currency)
    n = func.count()
    amount = func.sum(col(Project.total_investment_amount))
    query = stmt.with_only_columns(
        *[k.label(f"k{i}") for i, k in enumerate(keys)], currency.label("currency"), n.label("n"),
        amount.label("amount"),
        func.sum(n).over(partition_by=list(keys) or None).label("group_n"),
        func.sum(n).over().label("all_n"),
        func.sum(amount).over(partition_by=currency).label("all_amount"),
    ).group_by(*keys, currency)
    return (await session.execute(query)).all()


def summarise(rows: Sequence[Any], *, book: RateBook, projects: str) -> Totals:
    """The whole selection's totals, read from the window columns of ``totals_by``'s rows."""
    count = int(rows[0].all_n) if rows else 0
    money = exchange_rates.money({(r.currency, r.all_amount) for r in rows})
    return Totals(count=count, totals=money, total_cny=exchange_rates.convert(money, to=exchange_rates.BASE,
                                                                                book=book), projects=projects)


async def pipeline(session: AsyncSession, *, as_of: date, group_by: Sequence[PipelineDimension],
                   filters: PipelineFilters, today: date) -> PipelineStats:
    """Counts and totals on ``as_of`` grouped by ``group_by``, and the funnel between stages."""
    check_as_of(as_of, today)
    base, state = projects_on(as_of)
    base = filters.apply(base, state)
    keys = [dimension(d, state) for d in group_by]
    rows = await totals_by(session, base, keys)
    book = await exchange_rates.rate_book(session, as_of)

    groups: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        groups.setdefault(tuple(getattr(row, f"k{i}") for i in range(len(keys))), []).append(row)
    out = []
    for values, members in groups.items():
        key = {d.value: v for d, v in zip(group_by, values, strict=True)}
        money = exchange_rates.money((r.currency, r.amount) for r in members)
        out.append(PipelineGroup(
            key=key, count=int(members[0].group_n), totals=money,
            total_cny=exchange_rates.convert(money, to=exchange_rates.BASE, book=book),
            projects=projects_link(as_of, filters.narrowed(**key))))
    out.sort(key=lambda g: sort_key(group_by, g.key))
    return PipelineStats(as_of=as_of, group_by=list(group_by),
                         total=summarise(rows, book=book, projects=projects_link(as_of, filters)),
                         groups=out, funnel=await funnel(session, as_of=as_of, filters=filters))


def median_by(values: Subquery) -> AnySelect:
    """(key, median of value, count) per key of a (key, value) subquery, by row numbers: the
    middle row, or the mean of the two middle rows."""
    n = func.count().over(partition_by=values.c.key)
    ranked = select(values.c.key, values.c.value,
                    func.row_number().over(partition_by=values.c.key, order_by=values.c.value).label("rn"),
                    n.label("n")).subquery("ranked")
    middle = or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
    return (select(ranked.c.key, func.avg(ranked.c.value).label("median"), func.max(ranked.c.n).label("n"))
            .where(middle).group_by(ranked.c.key))


def _days(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(DAYS_PLACES)


async def funnel(session: AsyncSession, *, as_of: date, filters: PipelineFilters) -> list[FunnelStage]:
    """Per stage, over the history known on ``as_of`` of the projects matching the attribute
    filters: entered, moved on, terminated, in the stage now, and median days."""
    t = StageTransition
    on = a_date(as_of)

    def scoped(stmt: AnySelect) -> AnySelect:
        stmt = (stmt.join(Project, col(Project.id) == col(t.project_id))
                .where(col(Project.archived_at).is_(None), col(t.occurred_on) <= on))
        return filters.apply_attributes(stmt)

    entered = scoped(select(col(t.to_stage).label("stage"), literal("entered").label("metric"),
                            col(t.project_id).label("project_id")))
    left = scoped(select(col(t.from_stage).label("stage"),
                         col(t.kind).label("metric"), col(t.project_id).label("project_id"))
                  .where(col(t.kind).in_([TransitionKind.advance.value, TransitionKind.terminate.value])))
    events = union_all(entered, left).subquery("events")
    counts: dict[tuple[str, str], int] = {
        (row.stage, row.metric): int(row.n) for row in await session.execute(
            select(events.c.stage, events.c.metric, func.count(distinct(events.c.project_id)).label("n"))
            .group_by(events.c.stage, events.c.metric))}

    stays = scoped(select(col(t.to_stage).label("key"), days_between(t.left_on, t.occurred_on).label("value"))
                   .where(col(t.left_on).is_not(None), col(t.left_on) <= on)).subquery("stays")
    completed = {row.key: row.median for row in await session.execute(median_by(stays))}
    base, state = projects_on(as_of)
    current = filters.apply_attributes(base).with_only_columns(
        state.c.stage.label("key"), days_between(on, state.c.entered_on).label("value")).subquery("current")
    now = {row.key: (row.median, int(row.n)) for row in await session.execute(median_by(current))}

    out = []
    for stage in (*STAGE_ORDER, Stage.terminated):
        entered_n = counts.get((stage.value, "entered"), 0)
        moved = counts.get((stage.value, TransitionKind.advance.value), 0)
        median_now, in_stage = now.get(stage.value, (None, 0))
        out.append(FunnelStage(
            stage=stage, entered=entered_n, moved_on=moved,
            terminated=counts.get((stage.value, TransitionKind.terminate.value), 0), in_stage=in_stage,
            share_moved_on=share(moved, entered_n), median_days=_days(completed.get(stage.value)),
            median_days_in_stage_now=_days(median_now),
            projects=projects_link(as_of, filters, attributes_only=True, stage=stage.value)))
    return out


async def list_projects(session: AsyncSession, *, as_of: date, filters: PipelineFilters, cursor: str | None,
                        limit: int, today: date) -> Page[PipelineProject]:
    """The projects behind a pipeline figure: as they stood on ``as_of``, by id."""
    check_as_of(as_of, today)
    base, state = projects_on(as_of)
    stmt: AnySelect = filters.apply(base, state).with_only_columns(
        col(Project.id), col(Project.name), state.c.stage, state.c.entered_on, col(Project.funding_source),
        col(Project.zone), col(Project.industry), col(Project.leader_id), col(Project.unit_id),
        col(Project.total_investment_amount), col(Project.total_investment_currency))
    key = SortKey("id", Project.id, int)
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=Project.id, cursor=cursor, limit=limit,
                            sort_label="pipeline")
    rows = (await session.execute(stmt)).all()
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="pipeline", key_of=lambda r: (r.id, r.id))
    return Page[PipelineProject](items=[PipelineProject(
        id=r.id, name=r.name, stage=Stage(r.stage), stage_entered_on=r.entered_on,
        funding_source=FundingSource(r.funding_source), zone=Zone(r.zone), industry=Industry(r.industry),
        leader_id=r.leader_id, unit_id=r.unit_id,
        total_investment=MoneyTotal(amount=r.total_investment_amount, currency=r.total_investment_currency))
        for r in kept], next_cursor=next_cursor)
