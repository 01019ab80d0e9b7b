"""Dated exchange rates to CNY (汇率): a rate is in force from its date until the next one."""

from datetime import date, datetime
from decimal import Decimal
from typing import Self

from pydantic import ConfigDict, model_validator
from sqlalchemy import Column, Date, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import utcnow
from app.models.fields import BusinessDate, CurrencyCode, ShortText, reject_null
from app.models.target import RateValue
from app.models.types import Rate, UTCDateTime

_rate_version = Column("version", Integer, nullable=False)  # the optimistic-lock counter behind ETags


class ExchangeRate(SQLModel, table=True):
    """CNY for one unit of ``currency``, in force from ``valid_from`` until the currency's next rate."""

    __tablename__ = "exchange_rates"
    __table_args__ = (UniqueConstraint("currency", "valid_from", name="uq_exchange_rates_currency_valid_from"),)

    id: int | None = Field(default=None, primary_key=True)
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    rate: Decimal = Field(sa_column=Column(Rate, nullable=False))
    valid_from: date = Field(sa_column=Column(Date, nullable=False))
    source: str | None = Field(default=None, sa_column=Column(String(100)))
    version: int = Field(default=1, sa_column=_rate_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))

    __mapper_args__ = {"version_id_col": _rate_version}


def _not_cny(currency: str | None) -> None:
    if currency == "CNY":
        raise ValueError("currency: CNY is the base currency; it has no rate")


class ExchangeRateCreate(SQLModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={  # type: ignore[assignment]
        "examples": [{"currency": "USD", "rate": "6.7261", "valid_from": "2022-06-01", "source": "中间价"}]})
    currency: CurrencyCode
    rate: RateValue
    valid_from: BusinessDate
    source: ShortText | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        _not_cny(self.currency)
        return self


class ExchangeRateUpdate(SQLModel):
    """A correction: rates are facts with a history (in the audit trail), never deleted."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    rate: RateValue | None = None
    valid_from: BusinessDate | None = None
    source: ShortText | None = None

    _not_null = reject_null("rate", "valid_from")


class ExchangeRateRead(SQLModel):
    id: int
    currency: str
    rate: Decimal
    valid_from: date
    source: str | None
    version: int
    created_at: datetime
    updated_at: datetime
