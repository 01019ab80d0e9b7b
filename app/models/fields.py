"""Validated field types shared by the API schemas.

Every text field refuses NUL bytes (PostgreSQL cannot store them) and has a length cap,
so hostile input is a 422 naming the field, never a 500.
"""

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_no_nul)
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_nul)
]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_no_nul)]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(_no_nul)
]


def _printable_secret(value: str) -> str:
    if not value.isascii() or not value.isprintable() or " " in value:
        raise ValueError("must be printable ASCII without spaces")
    return value


# A secret shared with another system to sign requests (HMAC): long, and easy to paste.
SigningSecret = Annotated[str, StringConstraints(min_length=32, max_length=200), AfterValidator(_printable_secret)]


def _country(value: str) -> str:
    value = value.upper()
    if pycountry.countries.get(alpha_2=value) is None:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. JP or CN")
    return value


def _currency(value: str) -> str:
    value = value.upper()
    if pycountry.currencies.get(alpha_3=value) is None:
        raise ValueError("must be an ISO 4217 currency code, e.g. CNY or USD")
    return value


CountryCode = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_country)]
CurrencyCode = Annotated[str, StringConstraints(min_length=3, max_length=3), AfterValidator(_currency)]

# The national online approval platform's project code: year, region (6), industry (2),
# project type (2), serial (6), e.g. 2022-370214-04-01-123456.
PROJECT_CODE_RE = re.compile(r"^(\d{4})-(\d{6})-(\d{2})-(\d{2})-(\d{6})$")


def _project_code(value: str) -> str:
    match = PROJECT_CODE_RE.match(value)
    if match is None:
        raise ValueError("must be a 24-character national project code like 2022-370214-04-01-123456")
    if not 2000 <= int(match.group(1)) <= 2100:
        raise ValueError("project code year must be between 2000 and 2100")
    return value


ProjectCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=24, max_length=24), AfterValidator(_project_code)
]

# Business dates outside this window are typing mistakes, not history or plans.
MIN_BUSINESS_DATE = date(1990, 1, 1)
MAX_BUSINESS_DATE = date(2100, 12, 31)


def _business_date(value: date) -> date:
    if not MIN_BUSINESS_DATE <= value <= MAX_BUSINESS_DATE:
        raise ValueError(f"must be between {MIN_BUSINESS_DATE} and {MAX_BUSINESS_DATE}")
    return value


BusinessDate = Annotated[date, AfterValidator(_business_date)]

CENTS = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000000000000")  # 10^15 in any currency: far beyond any project


class Money(BaseModel):
    """An amount in one currency; the amount is a decimal string with at most two places."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": "3260000000.00", "currency": "USD"}]},
    )
    amount: Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, max_digits=18, decimal_places=2),
                      AfterValidator(lambda v: v.quantize(CENTS))]
    currency: CurrencyCode


def _not_null(cls: type, value: object) -> object:
    # Defaults are not validated, so this sees only an explicit null.
    if value is None:
        raise ValueError("may not be null")
    return value


def reject_null(*fields: str) -> Any:
    """A validator for partial updates: these fields may be omitted, but not set to null."""
    return field_validator(*fields)(classmethod(_not_null))
