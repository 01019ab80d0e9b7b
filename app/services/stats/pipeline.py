"""``/stats/pipeline``: counts and totals of the pipeline on any date, and its funnel.

Every number is one SQL aggregate: a ``GROUP BY`` of the chosen dimensions and the
currency, with window functions (``SUM(…) OVER``) giving each group's and the whole
pipeline's figures in the same pass. Medians are a window-function formulation (a
running count over per-day counts) that both databases run as written.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, cast, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import Subquery
from sqlmodel import col

from app.dialect import a_date, days_between
from app.errors import InvalidInput
from app.models import IndustryEntry, Project, ZoneEntry
from app.models.enums import (
    STAGE_ORDER,
    FundingSource,
    PipelineDimension,
    Stage,
    TransitionKind,
)
from app.models.stats import FunnelStage, MoneyTotal, PipelineGroup, PipelineProject, PipelineStats, Totals
from app.services.common import links, pagination
from app.services.common.pagination import Page, SortKey
from app.services.projects import exchange_rates, reference
from app.services.projects.exchange_rates import RateBook
from app.services.promotion import fdi
from app.services.stats.timeline import RANK, AnySelect, State, entered_year, history_as, projects_as, projects_on

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
    zone: list[str] = field(default_factory=list)
    industry: list[str] = field(default_factory=list)
    zone_root: list[str] = field(default_factory=list)
    industry_root: list[str] = field(default_factory=list)
    leader_id: list[int | None] = field(default_factory=list)
    unit_id: list[int | None] = field(default_factory=list)
    year: list[int] = field(default_factory=list)
    investor_country: list[str] = field(default_factory=list)

    def apply(self, stmt: AnySelect, state: State, projects: Any = Project) -> AnySelect:
        """Add the filters to a query joining ``projects`` (``timeline.projects_as``) and the state."""
        stmt = self.apply_attributes(stmt, projects)
        if self.stage:
            stmt = stmt.where(state.c.stage.in_([str(s) for s in self.stage]))
        if self.year:
            stmt = stmt.where(entered_year(state).in_(self.year))
        return stmt

    def apply_attributes(self, stmt: AnySelect, projects: Any = Project) -> AnySelect:
        """Add the filters on the project's own fields (all but stage and year) to a query
        joining ``projects``."""
        for name in ("funding_source", "zone", "industry", "investor_country"):
            if words := getattr(self, name):
                stmt = stmt.where(col(getattr(projects, name)).in_([str(w) for w in words]))
        for name, column, model in (("zone_root", projects.zone, ZoneEntry),
                                    ("industry_root", projects.industry, IndustryEntry)):
            if words := getattr(self, name):
                tree = FILTER_TREES[model]
                stmt = stmt.where(col(column).in_(select(tree.c.key).where(tree.c.root.in_(words))))
        for name in ("leader_id", "unit_id"):
            ref = getattr(projects, name)
            if refs := getattr(self, name):
                ids = [r for r in refs if r is not None]
                stmt = stmt.where(or_(col(ref).in_(ids), col(ref).is_(None)) if None in refs else col(ref).in_(ids))
        return stmt

    def narrowed(self, **key: Any) -> "PipelineFilters":
        """These filters, narrowed to one group's key."""
        values = {name: list(getattr(self, name)) for name in self.__dataclass_fields__}
        names = {D.stage: "stage", D.funding_source: "funding_source", D.zone: "zone", D.industry: "industry",
                 D.zone_root: "zone_root", D.industry_root: "industry_root", D.leader: "leader_id",
                 D.unit: "unit_id", D.year: "year", D.investor_country: "investor_country"}
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
                  known_on: datetime | None = None, **extra: str) -> str:
    params = [*links.clocks(as_of, known_on),
              *filters.query(attributes_only=attributes_only), *extra.items()]
    return links.link("/stats/pipeline/projects", params)


def roots(model: type[ZoneEntry] | type[IndustryEntry], use: str) -> Any:
    """(key, root) of every zone or industry: the root is the top of its chain of parents (a
    recursive CTE; the registry refuses cycles). ``use`` names it apart from the same tree's
    other uses in one statement (a filter and a group)."""
    name = f"{model.__tablename__}_roots_{use}"
    tops = (select(col(model.key).label("key"), col(model.key).label("root"))
            .where(col(model.parent_key).is_(None)).cte(name, recursive=True))
    child = aliased(model)
    return tops.union_all(select(col(child.key), tops.c.root).where(col(child.parent_key) == tops.c.key))


# One CTE object per use, so that a statement filtering in several places (the funnel's
# union) renders it once.
FILTER_TREES: dict[type[ZoneEntry] | type[IndustryEntry], Any] = {m: roots(m, "filter")
                                                                   for m in (ZoneEntry, IndustryEntry)}
GROUP_TREES: dict[type[ZoneEntry] | type[IndustryEntry], Any] = {m: roots(m, "group")
                                                                  for m in (ZoneEntry, IndustryEntry)}

# The tree each of these dimensions groups by, and the project's column it starts from.
TREES: dict[PipelineDimension, tuple[type[ZoneEntry] | type[IndustryEntry], str]] = {
    D.zone_root: (ZoneEntry, "zone"), D.industry_root: (IndustryEntry, "industry")}
REFERENCE: dict[PipelineDimension, str] = {D.zone: "zone", D.industry: "industry", D.zone_root: "zone",
                                           D.industry_root: "industry"}


def with_trees(stmt: AnySelect, dimensions: Sequence[PipelineDimension], projects: Any = Project
               ) -> tuple[AnySelect, dict[PipelineDimension, Any]]:
    """``stmt`` joined to the root of each tree ``dimensions`` group by, and those root columns."""
    out = {}
    for d in dimensions:
        if d in TREES:
            model, column = TREES[d]
            tree = GROUP_TREES[model]
            stmt = stmt.outerjoin(tree, tree.c.key == col(getattr(projects, column)))
            out[d] = tree.c.root
    return stmt, out


def dimension(d: PipelineDimension, state: State, trees: dict[PipelineDimension, Any] | None = None,
              projects: Any = Project) -> ColumnElement[Any]:
    p = projects
    columns: dict[PipelineDimension, Any] = {
        D.stage: state.c.stage, D.funding_source: col(p.funding_source), D.zone: col(p.zone),
        D.industry: col(p.industry), D.leader: col(p.leader_id), D.unit: col(p.unit_id),
        D.investor_country: col(p.investor_country),
        **(trees or {})}
    return entered_year(state) if d == D.year else columns[d]


_ENUM_ORDER: dict[PipelineDimension, dict[str, int]] = {
    D.stage: {**{s.value: i for s, i in RANK.items()}, Stage.terminated.value: len(RANK)},
    D.funding_source: {v.value: i for i, v in enumerate(FundingSource)},
}


@dataclass
class Vocabularies:
    """Zones and industries by key: their order (as added) and Chinese names."""

    order: dict[str, dict[str, int]]
    names: dict[str, dict[str, str]]

    def of(self, d: PipelineDimension) -> str | None:
        return REFERENCE.get(d)


async def vocabularies(session: AsyncSession) -> Vocabularies:
    order: dict[str, dict[str, int]] = {}
    names: dict[str, dict[str, str]] = {}
    for kind, entries in (await reference.vocabularies(session)).items():
        order[kind] = {key: i for i, (key, _, _) in enumerate(entries)}
        names[kind] = {key: zh for key, zh, _ in entries}
    return Vocabularies(order, names)


def sort_key(dimensions: Sequence[PipelineDimension], key: dict[str, Any],
             words: Vocabularies | None = None) -> tuple[tuple[int, int | str], ...]:
    """Groups in the lifecycle's and the vocabularies' order (zones and industries as added),
    ids and years ascending, "none" last (the same on both databases, whose collations differ)."""
    out: list[tuple[int, int | str]] = []
    for d in dimensions:
        value = key[d.value]
        kind = words.of(d) if words is not None else None
        if value is None:
            out.append((1, 0))
        elif d == D.investor_country:
            out.append((0, str(value)))
        elif d in _ENUM_ORDER:
            out.append((0, _ENUM_ORDER[d][value]))
        elif kind is not None and words is not None:
            out.append((0, words.order[kind].get(value, len(words.order[kind]))))
        else:
            out.append((0, int(value)))
    return tuple(out)


async def totals_by(session: AsyncSession, stmt: AnySelect, keys: Sequence[Any], *, outer: int = 0,
                    projects: Any = Project) -> Sequence[Any]:
    """Per (keys…, currency): the count and total, with alongside, by window functions, each
    key group's count (``group_n``), the whole selection's count and per-currency totals
    (``all_n``, ``all_amount``) and, for the first ``outer`` keys, the outer group's count and
    per-currency totals (``outer_n``, ``outer_amount``)."""
    currency = col(projects.total_investment_currency)
    n = func.count()
    amount = func.sum(col(projects.total_investment_amount))
    outer_keys = list(keys[:outer])
    query = stmt.with_only_columns(
        *[k.label(f"k{i}") for i, k in enumerate(keys)], currency.label("currency"), n.label("n"),
        amount.label("amount"),
        func.sum(n).over(partition_by=list(keys) or None).label("group_n"),
        func.sum(n).over().label("all_n"),
        func.sum(amount).over(partition_by=currency).label("all_amount"),
        func.sum(n).over(partition_by=outer_keys or None).label("outer_n"),
        func.sum(amount).over(partition_by=[*outer_keys, currency]).label("outer_amount"),
    ).group_by(*keys, currency)
    return (await session.execute(query)).all()


def summarise(rows: Sequence[Any], *, book: RateBook, projects: str) -> Totals:
    """The whole selection's totals, read from the window columns of ``totals_by``'s rows."""
    count = int(rows[0].all_n) if rows else 0
    money = exchange_rates.money({(r.currency, r.all_amount) for r in rows})
    return Totals(count=count, totals=money, total_cny=exchange_rates.convert(money, to=exchange_rates.BASE,
                                                                                book=book), projects=projects)


async def pipeline(session: AsyncSession, *, as_of: date, group_by: Sequence[PipelineDimension],
                   filters: PipelineFilters, with_funnel: bool, today: date,
                   known_on: datetime | None = None) -> PipelineStats:
    """Counts and totals on ``as_of`` (by what had been recorded by ``known_on``) grouped by
    ``group_by``, and the funnel between stages (which reads the whole history, so it may be
    left out)."""
    check_as_of(as_of, today)
    p = projects_as(as_of, known_on, today=today)
    base, state = projects_on(as_of, projects=p, known_on=known_on)
    base, trees = with_trees(filters.apply(base, state, p), group_by, p)
    keys = [dimension(d, state, trees, p) for d in group_by]
    rows = await totals_by(session, base, keys, projects=p)
    book = await exchange_rates.rate_book(session, as_of)
    fdi_rows = (await session.execute(fdi.fdi_by(base, keys, as_of, projects=p, known_on=known_on))).all()
    fdi_of = {tuple(getattr(r, f"k{i}") for i in range(len(keys))): r for r in fdi_rows}
    words = await vocabularies(session)

    groups: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        groups.setdefault(tuple(getattr(row, f"k{i}") for i in range(len(keys))), []).append(row)
    out = []
    for values, members in groups.items():
        key = {d.value: v for d, v in zip(group_by, values, strict=True)}
        money = exchange_rates.money((r.currency, r.amount) for r in members)
        own = fdi_of.get(values)
        names = {d.value: words.names[kind].get(v, v) for d, v in zip(group_by, values, strict=True)
                 if v is not None and (kind := words.of(d)) is not None}
        out.append(PipelineGroup(
            key=key, names=names, count=int(members[0].group_n), totals=money,
            total_cny=exchange_rates.convert(money, to=exchange_rates.BASE, book=book),
            projects=projects_link(as_of, filters.narrowed(**key), known_on=known_on),
            fdi=fdi.foreign_investment(own.n, own.contracted, own.utilised) if own else fdi.foreign_investment(
                0, None, None)))
    out.sort(key=lambda g: sort_key(group_by, g.key, words))
    total = summarise(rows, book=book, projects=projects_link(as_of, filters, known_on=known_on))
    first = fdi_rows[0] if fdi_rows else None
    total.fdi = fdi.foreign_investment(first.all_n if first else 0, first.all_contracted if first else None,
                                       first.all_utilised if first else None)
    return PipelineStats(as_of=as_of, known_on=known_on, group_by=list(group_by),
                         total=total,
                         groups=out,
                         funnel=(await funnel(session, as_of=as_of, filters=filters, projects=p, known_on=known_on)
                                 if with_funnel else None))


def median_by(values: Subquery) -> AnySelect:
    """(metric, key, median of value, count) per (metric, key) of a (metric, key, value)
    subquery of whole days.

    Days take few distinct values, so the values are counted first (a hash aggregate, not a
    sort of every row), then a running count over those finds the middle position(s):
    the value at position (n+1)/2 and at (n+2)/2 (the same one when n is odd), averaged.
    """
    counted = (select(values.c.metric, values.c.key, values.c.value, func.count().label("c"))
               .group_by(values.c.metric, values.c.key, values.c.value).subquery("counted"))
    by_group = [counted.c.metric, counted.c.key]
    # Whole numbers on both databases (PostgreSQL's SUM of counts is numeric), so that the
    # positions below divide as integers.
    upto = cast(func.sum(counted.c.c).over(partition_by=by_group, order_by=counted.c.value, rows=(None, 0)),
                Integer)
    n = cast(func.sum(counted.c.c).over(partition_by=by_group), Integer)
    running = select(counted.c.metric, counted.c.key, counted.c.value, counted.c.c, upto.label("upto"),
                     n.label("n")).subquery("running")
    before = running.c.upto - running.c.c

    def holds(position: Any) -> Any:
        return and_(before < position, position <= running.c.upto)

    middle = or_(holds((running.c.n + 1) // 2), holds((running.c.n + 2) // 2))
    return (select(running.c.metric, running.c.key, func.avg(running.c.value).label("median"),
                   func.max(running.c.n).label("n"))
            .where(middle).group_by(running.c.metric, running.c.key))


def _days(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(DAYS_PLACES)


async def funnel(session: AsyncSession, *, as_of: date, filters: PipelineFilters, projects: Any = Project,
                 known_on: datetime | None = None) -> list[FunnelStage]:
    """Per stage, over the history known on ``as_of`` of the projects matching the attribute
    filters (``projects``: ``timeline.projects_as``): entered, moved on, terminated, in the
    stage now, and median days."""
    t = history_as(known_on)
    on = a_date(as_of)
    p = projects

    def scoped(stmt: AnySelect) -> AnySelect:
        stmt = (stmt.join(p, col(p.id) == col(t.project_id))
                .where(col(p.archived_at).is_(None), col(t.occurred_on) <= on))
        return filters.apply_attributes(stmt, p)

    # Projects, not moves: a project counts once per stage even if a correction sent it
    # through twice. Only corrected projects can repeat, so only their moves are made
    # distinct; the others are counted as they stream by (no sort of the whole history).
    corrected_ids = (select(col(t.project_id).label("project_id"))
                     .where(col(t.kind) == TransitionKind.correction.value, col(t.occurred_on) <= on)
                     .cte("corrected"))
    corrected = select(corrected_ids.c.project_id)
    # NOT EXISTS, not NOT IN: PostgreSQL plans NOT IN (subquery) as a subplan rescanned per
    # row once the ids outgrow work_mem (quadratic); NOT EXISTS is an anti-join.
    uncorrected = ~select(corrected_ids.c.project_id).where(
        corrected_ids.c.project_id == col(t.project_id)).exists()
    kinds = [TransitionKind.advance.value, TransitionKind.terminate.value]
    parts: list[AnySelect] = []
    sides: tuple[tuple[Any, Any, list[Any]], ...] = (
        (col(t.to_stage), literal("entered"), []),
        (col(t.from_stage), col(t.kind), [col(t.kind).in_(kinds)]))
    for stage_of, metric_of, where in sides:
        key, metric = stage_of.label("stage"), metric_of.label("metric")
        parts.append(scoped(select(key, metric, func.count().label("n")))
                     .where(*where, uncorrected).group_by(key, metric))
        repeated = (scoped(select(key, metric, col(t.project_id)))
                    .where(*where, col(t.project_id).in_(corrected)).distinct().subquery())
        parts.append(select(repeated.c.stage, repeated.c.metric, func.count().label("n"))
                     .group_by(repeated.c.stage, repeated.c.metric))
    both = union_all(*parts).subquery("counted")
    counts: dict[tuple[str, str], int] = {
        (row.stage, row.metric): int(row.n) for row in await session.execute(
            select(both.c.stage, both.c.metric, func.sum(both.c.n).label("n"))
            .group_by(both.c.stage, both.c.metric))}

    # Days in each stage: the stays that ended by `as_of`, and the ones still running then.
    ended = scoped(select(literal("ended").label("metric"), col(t.to_stage).label("key"),
                          days_between(t.left_on, t.occurred_on).label("value"))
                   .where(col(t.left_on).is_not(None), col(t.left_on) <= on))
    base, state = projects_on(as_of, projects=p, known_on=known_on)
    running = filters.apply_attributes(base, p).with_only_columns(
        literal("running").label("metric"), state.c.stage.label("key"),
        days_between(on, state.c.entered_on).label("value"))
    medians = {(row.metric, row.key): (row.median, int(row.n)) for row in await session.execute(
        median_by(union_all(ended, running).subquery("stays")))}

    out = []
    for stage in (*STAGE_ORDER, Stage.terminated):
        entered_n = counts.get((stage.value, "entered"), 0)
        moved = counts.get((stage.value, TransitionKind.advance.value), 0)
        median_now, in_stage = medians.get(("running", stage.value), (None, 0))
        out.append(FunnelStage(
            stage=stage, entered=entered_n, moved_on=moved,
            terminated=counts.get((stage.value, TransitionKind.terminate.value), 0), in_stage=in_stage,
            share_moved_on=share(moved, entered_n),
            median_days=_days(medians.get(("ended", stage.value), (None, 0))[0]),
            median_days_in_stage_now=_days(median_now),
            projects=projects_link(as_of, filters, attributes_only=True, known_on=known_on, stage=stage.value)))
    return out


async def list_projects(session: AsyncSession, *, as_of: date, filters: PipelineFilters, cursor: str | None,
                        limit: int, today: date, known_on: datetime | None = None) -> Page[PipelineProject]:
    """The projects behind a pipeline figure: as they stood on ``as_of`` (by what had been
    recorded by ``known_on``), by id."""
    check_as_of(as_of, today)
    p = projects_as(as_of, known_on, today=today)
    base, state = projects_on(as_of, projects=p, known_on=known_on)
    stmt: AnySelect = filters.apply(base, state, p).with_only_columns(
        col(p.id).label("id"), col(p.name).label("name"), state.c.stage, state.c.entered_on,
        col(p.funding_source).label("funding_source"), col(p.zone).label("zone"), col(p.industry).label("industry"),
        col(p.leader_id).label("leader_id"), col(p.unit_id).label("unit_id"),
        col(p.total_investment_amount).label("total_investment_amount"),
        col(p.total_investment_currency).label("total_investment_currency"))
    key = SortKey("id", p.id, int)
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=p.id, cursor=cursor, limit=limit,
                            sort_label="pipeline")
    rows = (await session.execute(stmt)).all()
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="pipeline", key_of=lambda r: (r.id, r.id))
    return Page[PipelineProject](items=[PipelineProject(
        id=r.id, name=r.name, stage=Stage(r.stage), stage_entered_on=r.entered_on,
        funding_source=FundingSource(r.funding_source), zone=r.zone, industry=r.industry,
        leader_id=r.leader_id, unit_id=r.unit_id,
        total_investment=MoneyTotal(amount=r.total_investment_amount, currency=r.total_investment_currency))
        for r in kept], next_cursor=next_cursor)
