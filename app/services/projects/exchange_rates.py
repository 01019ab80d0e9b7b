"""Exchange rates to CNY, and converting the database's per-currency totals with them.

A rate is in force from its ``valid_from`` until the currency's next rate. A conversion
uses the rates in force on the date asked (or a target's own plan rates) and names them.

The database sums each currency (``GROUP BY currency``); converting those few totals is
the one step left to Python, because SQLite has no exact decimal arithmetic: a
currency's total times its rate, rounded to the cent, in ``Decimal``. No rows are summed
here, only one total per currency.
"""

import decimal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, NotFound
from app.models import ExchangeRate
from app.models.exchange_rate import ExchangeRateCreate, ExchangeRateRead, ExchangeRateUpdate
from app.models.fields import CENTS
from app.models.stats import ConvertedTotal, MoneyTotal, RateUsed
from app.services.access.permissions import Principal
from app.services.common import audit, lifecycle, pagination, versioning
from app.services.common.pagination import Page, SortKey

BASE = "CNY"


def _snapshot(rate: ExchangeRate) -> dict[str, Any]:
    return ExchangeRateRead.model_validate(rate, from_attributes=True).model_dump(mode="json",
                                                                                 exclude={"updated_at"})


async def _flush(session: AsyncSession) -> None:
    try:
        await versioning.flush(session)
    except IntegrityError as exc:
        raise Conflict("The currency already has a rate from that date; correct that rate instead.",
                       code="rate_exists") from exc


async def _check_free(session: AsyncSession, currency: str, valid_from: date, *, rate_id: int | None = None) -> None:
    stmt = select(col(ExchangeRate.id)).where(col(ExchangeRate.currency) == currency,
                                              col(ExchangeRate.valid_from) == valid_from)
    if rate_id is not None:
        stmt = stmt.where(col(ExchangeRate.id) != rate_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"{currency} already has a rate from {valid_from}; correct that rate instead.",
                       code="rate_exists")


async def create_rate(session: AsyncSession, *, data: ExchangeRateCreate, actor: Principal) -> ExchangeRateRead:
    """Record a rate in force from ``valid_from``."""
    await _check_free(session, data.currency, data.valid_from)
    rate = ExchangeRate(currency=data.currency, rate=data.rate, valid_from=data.valid_from, source=data.source)
    session.add(rate)
    await _flush(session)
    assert rate.id is not None
    await audit.record(session, actor, action="exchange_rate.create", resource_type="exchange_rate",
                       resource_id=rate.id, after=_snapshot(rate))
    return ExchangeRateRead.model_validate(rate, from_attributes=True)


async def get_rate(session: AsyncSession, rate_id: int) -> ExchangeRate:
    rate = await session.get(ExchangeRate, rate_id)
    if rate is None:
        raise NotFound(f"No exchange rate with id {rate_id}.")
    return rate


async def update_rate(session: AsyncSession, rate_id: int, *, data: ExchangeRateUpdate, if_match: str | None,
                      actor: Principal) -> ExchangeRateRead:
    """Correct a rate; the audit trail keeps what it was."""
    rate = await get_rate(session, rate_id)
    changes = data.model_dump(exclude_unset=True)

    async def check() -> None:
        if "valid_from" in changes:
            await _check_free(session, rate.currency, changes["valid_from"], rate_id=rate_id)

    await lifecycle.update(session, actor, rate, if_match=if_match, resource_type="exchange_rate",
                           resource_id=rate_id, snapshot=lambda: _snapshot(rate), fields=changes, apply=check,
                           archived_code=None, flush=_flush)
    return ExchangeRateRead.model_validate(rate, from_attributes=True)


async def list_rates(session: AsyncSession, *, currency: list[str], on: date | None, cursor: str | None,
                     limit: int) -> Page[ExchangeRateRead]:
    """Rates, oldest first; with ``on``, only those in force on that date."""
    r = ExchangeRate
    stmt = select(r)
    if currency:
        stmt = stmt.where(col(r.currency).in_(currency))
    if on is not None:
        stmt = stmt.where(col(r.id).in_(select(in_force(on).c.id)))
    key = SortKey("valid_from", r.valid_from, pagination.decode_date)
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=r.id, cursor=cursor, limit=limit,
                            sort_label="exchange_rate")
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="exchange_rate",
                                        key_of=lambda e: (e.valid_from, e.id or 0))
    return Page[ExchangeRateRead](items=[ExchangeRateRead.model_validate(e, from_attributes=True) for e in kept],
                                  next_cursor=next_cursor)


def in_force(on: date) -> Any:
    """(id, currency, rate, valid_from) of each currency's rate in force on ``on``."""
    r = ExchangeRate
    latest = (select(col(r.currency).label("currency"), func.max(col(r.valid_from)).label("valid_from"))
              .where(col(r.valid_from) <= on).group_by(col(r.currency)).subquery("latest"))
    return (select(col(r.id).label("id"), col(r.currency).label("currency"), col(r.rate).label("rate"),
                   col(r.valid_from).label("valid_from"))
            .join(latest, and_(col(r.currency) == latest.c.currency, col(r.valid_from) == latest.c.valid_from))
            .subquery("in_force"))


# --- conversion -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RateBook:
    """The rates one answer converts with: a target's plan rates first, then the table's."""

    table: Mapping[str, RateUsed]
    plan: Mapping[str, Decimal] = field(default_factory=dict)

    def rate(self, currency: str) -> RateUsed | None:
        if currency in self.plan:
            return RateUsed(currency=currency, rate=self.plan[currency], valid_from=None, source="plan_rate")
        return self.table.get(currency)

    def with_plan(self, plan: Mapping[str, Decimal]) -> "RateBook":
        return RateBook(table=self.table, plan=plan)


async def rate_book(session: AsyncSession, on: date) -> RateBook:
    """Every currency's table rate in force on ``on``."""
    rows = (await session.execute(select(in_force(on)))).all()
    return RateBook(table={row.currency: RateUsed(currency=row.currency, rate=row.rate, valid_from=row.valid_from,
                                                  source="exchange_rates") for row in rows})


def convert(totals: Sequence[MoneyTotal], *, to: str, book: RateBook) -> ConvertedTotal:
    """Per-currency totals as one amount in ``to``, naming the rates used or missing."""
    needed = {m.currency for m in totals if m.currency != to}
    if needed and to != BASE:
        needed.add(to)
    needed.discard(BASE)
    used = {c: book.rate(c) for c in sorted(needed)}
    rates = [r for r in used.values() if r is not None]
    missing = [c for c, r in used.items() if r is None]
    if missing:
        return ConvertedTotal(amount=None, currency=to, rates=rates, missing_rates=missing)

    def to_base(currency: str) -> Decimal:
        rate = used.get(currency)
        return Decimal(1) if rate is None else rate.rate

    amount = Decimal(0)
    # Ample precision: a 17-digit amount times a 16-digit rate must not round before the cent.
    with decimal.localcontext(prec=60):
        for m in totals:
            if m.currency == to:
                amount += m.amount
            else:
                amount += (m.amount * to_base(m.currency) / to_base(to)).quantize(CENTS, rounding=ROUND_HALF_UP)
    return ConvertedTotal(amount=amount.quantize(CENTS), currency=to, rates=rates, missing_rates=[])


def money(rows: Iterable[tuple[str, Decimal | None]]) -> list[MoneyTotal]:
    """(currency, total) pairs from the database as MoneyTotal, by currency; empty totals dropped."""
    return [MoneyTotal(amount=amount, currency=currency) for currency, amount in sorted(rows) if amount is not None]
