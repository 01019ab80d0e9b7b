"""Validated field types shared by the API schemas.

Every text field refuses NUL bytes (PostgreSQL cannot store them) and has a length cap,
so hostile input is a 422 naming the field, never a 500. Names (``ShortText``, ``Name``)
are also normalised to NFC, lose their zero-width characters, and refuse control and
bidirectional formatting characters and names with nothing visible.
"""

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from app.services.projects import codes


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# The patterns tell clients (and the OpenAPI document) what the validators enforce:
# no NUL, and for required text at least one character that is not white space.
_TEXT = r"^[^\x00]*$"
_SOME_TEXT = r"^[^\x00]*[^\x00\s][^\x00]*$"


def _text(max_length: int, *, required: bool = True) -> Any:
    # The pattern is documentation only: _no_nul and the length checks give the clearer errors.
    return Field(max_length=max_length, min_length=1 if required else None,
                 json_schema_extra={"pattern": _SOME_TEXT if required else _TEXT})


# Names are read by people who cannot see what a character does. Refused: control
# characters but tab and line breaks (white space, which hides nothing; ledgers have
# them) and the bidirectional controls that reorder what follows them
# (U+202A-U+202E, U+2066-U+2069, and the marks U+200E, U+200F, U+061C); removed: the
# zero-width characters, so that two names that look alike are alike (a unit's name is
# unique as stored) and a name of them alone is empty.
_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ZERO_WIDTH = r"\u200b\u200c\u200d\u2060\ufeff"
_REFUSED = re.compile(f"[{_CONTROLS}]")
_ZERO_WIDTH_RE = re.compile(f"[{_ZERO_WIDTH}]")
_NAME = f"^[^{_CONTROLS}]*[^{_CONTROLS}{_ZERO_WIDTH}\\s][^{_CONTROLS}]*$"


def clean_name(value: str) -> str:
    """A name in NFC without zero-width characters; ValueError for controls or nothing visible."""
    found = _REFUSED.search(value)
    if found is not None:
        raise ValueError(f"must not contain control or bidirectional formatting characters "
                         f"(U+{ord(found.group()):04X})")
    value = _ZERO_WIDTH_RE.sub("", unicodedata.normalize("NFC", value)).strip()
    if not any(unicodedata.category(c)[0] in "LNPS" for c in value):
        raise ValueError("must contain a visible character")
    return value


def _name(max_length: int) -> Any:
    return Field(max_length=max_length, min_length=1, json_schema_extra={"pattern": _NAME})


def _at_most(max_length: int) -> Any:
    """The length cap on the text as sent, before white space is stripped: what the schema's
    maxLength says."""

    def check(value: object) -> object:
        if isinstance(value, str) and len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        return value

    return BeforeValidator(check)


ShortText = Annotated[str, StringConstraints(strip_whitespace=True), _name(100), _at_most(100),
                      AfterValidator(_no_nul), AfterValidator(clean_name)]
Name = Annotated[str, StringConstraints(strip_whitespace=True), _name(200), _at_most(200),
                 AfterValidator(_no_nul), AfterValidator(clean_name)]
Note = Annotated[str, StringConstraints(strip_whitespace=True), _text(2000, required=False), AfterValidator(_no_nul)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True), _text(2000), AfterValidator(_no_nul)]


def _printable_secret(value: str) -> str:
    if not value.isascii() or not value.isprintable() or " " in value:
        raise ValueError("must be printable ASCII without spaces")
    return value


# A secret shared with another system to sign requests (HMAC): long, and easy to paste.
SigningSecret = Annotated[str, StringConstraints(min_length=32, max_length=200, pattern=r"^[\x21-\x7e]+$"),
                          AfterValidator(_printable_secret)]


def _country(value: str) -> str:
    value = value.upper()
    if pycountry.countries.get(alpha_2=value) is None:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. JP or CN")
    return value


# ISO 4217 codes that name no money: precious metals, testing, "no currency", fund units.
NOT_MONEY = frozenset({"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"})


def _currency(value: str) -> str:
    value = value.upper()
    if pycountry.currencies.get(alpha_3=value) is None or value in NOT_MONEY:
        raise ValueError("must be an ISO 4217 currency code, e.g. CNY or USD")
    return value


COUNTRIES = sorted(c.alpha_2 for c in pycountry.countries)
CURRENCIES = sorted(c.alpha_3 for c in pycountry.currencies if c.alpha_3 not in NOT_MONEY)
CountryCode = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_country),
                        WithJsonSchema({"type": "string", "enum": COUNTRIES, "description": "ISO 3166-1 alpha-2"})]
CurrencyCode = Annotated[str, StringConstraints(min_length=3, max_length=3), AfterValidator(_currency),
                         WithJsonSchema({"type": "string", "enum": CURRENCIES, "description": "ISO 4217"})]

def _project_code(value: str) -> str:
    from app import clock  # here, not at the top: app.config imports the models

    try:
        codes.read(value, today=clock.today())
    except codes.CodeError as exc:
        raise ValueError(str(exc)) from None
    return value


def _project_code_shape(value: str) -> str:
    if codes.SHAPE.match(value) is None:
        raise ValueError("must be a 24-character national project code like 2411-370214-04-01-000011")
    return value


# The national project code (项目代码) a write sets: the rules it was issued under are
# checked (``app.services.projects.codes``), and a refusal names the part that is wrong.
ProjectCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=24, max_length=24), AfterValidator(_project_code),
    WithJsonSchema({"type": "string", "pattern": codes.PATTERN, "minLength": 24, "maxLength": 24,
                    "examples": ["2411-370214-04-01-000011", "2019-370211-26-03-654321"],
                    "description": "The national project code: a year 2011-2020 (old rules), or a year and "
                                   "month YYMM from 2011 on with an ISO/IEC 7064 MOD 11,10 check digit."}),
]
# A code looked up: only its shape is checked, since a code stored before the rules were
# checked must still find its project.
ProjectCodeLookup = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=24, max_length=24),
    AfterValidator(_project_code_shape),
    WithJsonSchema({"type": "string", "pattern": codes.PATTERN, "minLength": 24, "maxLength": 24,
                    "examples": ["2411-370214-04-01-000011"]}),
]

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    # Lax parsing would read 0 or "8e-177" as 1970-01-01: a business date is written out.
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


# A day of the city's calendar, as the business reports it (not when a row was written).
BusinessDate = Annotated[date, BeforeValidator(_iso_date)]

ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?")


def _iso_instant(value: object) -> object:
    # Lax parsing would read 0.5 as half a second after 1970: an instant is written out.
    if isinstance(value, str) and not ISO_INSTANT.fullmatch(value):
        raise ValueError("must be an ISO 8601 instant, e.g. 2022-06-05T08:00:00Z")
    return value


Instant = Annotated[datetime, BeforeValidator(_iso_instant)]


def _decimal_string(value: object) -> object:
    # The schema says a decimal string: a JSON number is refused, not read through a float.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("must be a decimal string, e.g. \"3260000000.00\"")
    return value

CENTS = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999999.99")  # under 10^15 in any currency: far beyond any project
AMOUNT_PATTERN = r"^\d{1,15}(\.\d{1,2})?$"


class Money(BaseModel):
    """An amount in one currency; the amount is a decimal string with at most two places."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": "3260000000.00", "currency": "USD"}]},
    )
    amount: Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, max_digits=17, decimal_places=2),
                      BeforeValidator(_decimal_string),
                      AfterValidator(lambda v: v.quantize(CENTS).copy_abs()),  # no "-0.00"
                      WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["3260000000.00"],
                                      "description": "A decimal string with at most two decimal places."})]
    currency: CurrencyCode


def _not_null(cls: type, value: object) -> object:
    # Defaults are not validated, so this sees only an explicit null.
    if value is None:
        raise ValueError("may not be null")
    return value


def reject_null(*fields: str) -> Any:
    """A validator for partial updates: these fields may be omitted, but not set to null."""
    return field_validator(*fields)(classmethod(_not_null))
