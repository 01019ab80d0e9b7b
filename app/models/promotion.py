"""Investment promotion (招商): investors, the follow-up log, FDI receipts and signing events."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import AfterValidator, ConfigDict, StringConstraints, WithJsonSchema, model_validator
from sqlalchemy import BigInteger, Boolean, Column, Date, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from app.models.base import utcnow
from app.models.enums import FollowUpKind, Zone
from app.models.fields import BusinessDate, CountryCode, Money, Name, Note, Reason, ShortText, reject_null
from app.models.types import Amount, UTCDateTime
from app.services.promotion import credit_code


def _credit_code(value: str) -> str:
    wrong = credit_code.problem(value)
    if wrong is not None:
        raise ValueError(wrong)
    return value


CreditCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=18), AfterValidator(_credit_code),
    WithJsonSchema({"type": "string", "pattern": credit_code.PATTERN, "examples": ["91350100M000100Y43"],
                    "description": "统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character."}),
]

_big_id = BigInteger().with_variant(Integer, "sqlite")

# --- investors (客商) -----------------------------------------------------------------------


class InvestorBase(SQLModel):
    name: Name = Field(sa_column=Column(String(200), nullable=False))
    country: CountryCode = Field(sa_column=Column(String(2), nullable=False))
    credit_code: CreditCode | None = Field(default=None, sa_column=Column(String(18), unique=True))
    fortune_global_500: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    group_name: Name | None = Field(default=None, sa_column=Column(String(200)))


class InvestorCreate(InvestorBase):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class InvestorUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    name: Name | None = None
    country: CountryCode | None = None
    credit_code: CreditCode | None = None
    fortune_global_500: bool | None = None
    group_name: Name | None = None

    _not_null = reject_null("name", "country", "fortune_global_500")


_investor_version = Column("version", Integer, nullable=False)  # the optimistic-lock counter behind ETags


class Investor(InvestorBase, table=True):
    """An investor (客商/投资方): projects name it by ``investor_id`` and carry its name and country."""

    __tablename__ = "investors"
    __table_args__ = (Index("ix_investors_name_country", "name", "country"),)
    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1, sa_column=_investor_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    __mapper_args__ = {"version_id_col": _investor_version}


class InvestorRead(SQLModel):
    id: int
    name: str
    country: str
    credit_code: str | None
    fortune_global_500: bool
    group_name: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


# --- the follow-up log (跟踪记录) --------------------------------------------------------------


class FollowUp(SQLModel, table=True):
    """One entry of a project's follow-up log; append-only. A correction is a new entry whose
    ``corrects_id`` names the entry it replaces."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_project_id_occurred_on", "project_id", "occurred_on"),
        Index("ix_follow_ups_occurred_on_id", "occurred_on", "id"),
    )
    id: int | None = Field(default=None, sa_column=Column(_big_id, primary_key=True, autoincrement=True))
    project_id: int = Field(sa_column=Column(ForeignKey("projects.id"), nullable=False))
    occurred_on: date = Field(sa_column=Column(Date, nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    participants: str | None = Field(default=None, sa_column=Column(Text))
    summary: str = Field(sa_column=Column(Text, nullable=False))
    next_step: str | None = Field(default=None, sa_column=Column(Text))
    next_contact_on: date | None = Field(default=None, sa_column=Column(Date))
    corrects_id: int | None = Field(default=None, sa_column=Column(ForeignKey("follow_ups.id"), unique=True))
    actor_key_id: int | None = Field(default=None, sa_column=Column(ForeignKey("api_keys.id")))
    actor_name: str = Field(sa_column=Column(String(100), nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class FollowUpLeader(SQLModel, table=True):
    """A city leader present at a follow-up."""

    __tablename__ = "follow_up_leaders"
    follow_up_id: int = Field(sa_column=Column(ForeignKey("follow_ups.id"), primary_key=True))
    leader_id: int = Field(sa_column=Column(ForeignKey("leaders.id"), primary_key=True, index=True))


class FollowUpCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    occurred_on: BusinessDate = Field(description="When it happened (not in the future).")
    kind: FollowUpKind
    leader_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        default_factory=list, max_length=20, description="City leaders present.")
    participants: Note | None = None
    summary: Reason
    next_step: Note | None = None
    next_contact_on: BusinessDate | None = Field(default=None, description="The next contact agreed; not before "
                                                 "occurred_on.")
    corrects_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                    description="The entry this one corrects (it then no longer counts).")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.next_contact_on is not None and self.next_contact_on < self.occurred_on:
            raise ValueError("next_contact_on: must not be before occurred_on")
        if len(set(self.leader_ids)) != len(self.leader_ids):
            raise ValueError("leader_ids: each leader may appear once")
        return self


class FollowUpRead(SQLModel):
    id: int
    project_id: int
    occurred_on: date
    kind: FollowUpKind
    leader_ids: list[int]
    participants: str | None
    summary: str
    next_step: str | None
    next_contact_on: date | None
    corrects_id: int | None
    corrected_by_id: int | None = Field(description="The entry that corrects this one; it then no longer counts.")
    overdue: bool = Field(description="next_contact_on has passed and no newer entry was made on the project.")
    actor_key_id: int | None
    actor_name: str
    recorded_at: datetime


# --- utilised foreign investment (实际使用外资) ---------------------------------------------------


class FdiReceipt(SQLModel, table=True):
    """Foreign investment actually paid in on a date, as recorded before the monthly reports
    carried ``fdi_utilised``; kept read-only since migration 0012 moved them into the reports.
    A correction was a new receipt whose ``corrects_id`` names the one it replaced."""

    __tablename__ = "fdi_receipts"
    __table_args__ = (Index("ix_fdi_receipts_project_id_received_on", "project_id", "received_on"),)
    id: int | None = Field(default=None, sa_column=Column(_big_id, primary_key=True, autoincrement=True))
    project_id: int = Field(sa_column=Column(ForeignKey("projects.id"), nullable=False))
    received_on: date = Field(sa_column=Column(Date, nullable=False))
    amount: Decimal = Field(sa_column=Column(Amount, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text))
    corrects_id: int | None = Field(default=None, sa_column=Column(ForeignKey("fdi_receipts.id"), unique=True))
    actor_key_id: int | None = Field(default=None, sa_column=Column(ForeignKey("api_keys.id")))
    actor_name: str = Field(sa_column=Column(String(100), nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class FdiReceiptRead(SQLModel):
    id: int
    project_id: int
    received_on: date
    amount: Money
    note: str | None
    corrects_id: int | None
    corrected_by_id: int | None
    actor_key_id: int | None
    actor_name: str
    recorded_at: datetime


# --- signing events (签约活动) ----------------------------------------------------------------


class SigningEventBase(SQLModel):
    name: Name = Field(sa_column=Column(String(200), nullable=False))
    held_on: BusinessDate = Field(sa_column=Column(Date, nullable=False))
    organiser: ShortText | None = Field(default=None, sa_column=Column(String(100)))
    zone: Zone | None = Field(default=None, sa_column=Column(String(32)))


class SigningEventCreate(SigningEventBase):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class SigningEventUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    name: Name | None = None
    held_on: BusinessDate | None = None
    organiser: ShortText | None = None
    zone: Zone | None = None

    _not_null = reject_null("name", "held_on")


_event_version = Column("version", Integer, nullable=False)  # the optimistic-lock counter behind ETags


class SigningEvent(SigningEventBase, table=True):
    """An investment fair or promotion week at which projects are signed."""

    __tablename__ = "signing_events"
    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1, sa_column=_event_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    __mapper_args__ = {"version_id_col": _event_version}


class SigningEventRead(SQLModel):
    id: int
    name: str
    held_on: date
    organiser: str | None
    zone: Zone | None
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
