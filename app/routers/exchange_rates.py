"""``/exchange-rates``: dated rates to CNY."""

from typing import Annotated

from fastapi import Query, Response, status

from app.deps import Allowed, IfMatch, Session
from app.models.exchange_rate import ExchangeRateCreate, ExchangeRateRead, ExchangeRateUpdate
from app.models.fields import BusinessDate, CurrencyCode
from app.routers.common import Cursor, Id, Limit, make_router, problems, set_etag
from app.services.access.permissions import Action, Principal
from app.services.common.pagination import Page
from app.services.projects import exchange_rates

router = make_router("/api/v1/exchange-rates", "exchange-rates")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ExchangeRateRead, responses=problems(409))
async def create_rate(body: ExchangeRateCreate, response: Response, session: Session,
                      principal: Principal = Allowed(Action.exchange_rate_write)) -> ExchangeRateRead:
    """Record a rate to CNY, in force from `valid_from` until the currency's next rate."""
    rate = await exchange_rates.create_rate(session, data=body, actor=principal)
    set_etag(response, rate.version)
    response.headers["Location"] = f"{router.prefix}/{rate.id}"
    return rate


@router.get("", response_model=Page[ExchangeRateRead])
async def list_rates(session: Session, principal: Principal = Allowed(Action.exchange_rate_read),
                     currency: Annotated[list[CurrencyCode], Query(max_length=20)] = [],  # noqa: B006
                     on: Annotated[BusinessDate | None, Query(
                         description="Only the rates in force on this date, one per currency.")] = None,
                     limit: Limit = 50, cursor: Cursor = None) -> Page[ExchangeRateRead]:
    """Rates, oldest first."""
    return await exchange_rates.list_rates(session, currency=currency, on=on, cursor=cursor, limit=limit)


@router.get("/{rate_id}", response_model=ExchangeRateRead, responses=problems(404))
async def get_rate(rate_id: Id, response: Response, session: Session,
                   principal: Principal = Allowed(Action.exchange_rate_read)) -> ExchangeRateRead:
    """One rate."""
    rate = ExchangeRateRead.model_validate(await exchange_rates.get_rate(session, rate_id), from_attributes=True)
    set_etag(response, rate.version)
    return rate


@router.patch("/{rate_id}", response_model=ExchangeRateRead, responses=problems(404, 409, 412, 428))
async def update_rate(rate_id: Id, body: ExchangeRateUpdate, if_match: IfMatch, response: Response,
                      session: Session, principal: Principal = Allowed(Action.exchange_rate_write)) -> ExchangeRateRead:
    """Correct a rate (the audit trail keeps what it was)."""
    rate = await exchange_rates.update_rate(session, rate_id, data=body, if_match=if_match, actor=principal)
    set_etag(response, rate.version)
    return rate
