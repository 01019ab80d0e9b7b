"""The year's targets (年度目标) and the projects each counts, with the list's history."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import ConfigDict, StrictInt, model_validator
from sqlalchemy import BigInteger, Column, Date, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from app.models.base import JSONDocument, utcnow
from app.models.enums import Designation, FundingSource, Stage, TargetMembership
from app.models.fields import BusinessDate, CurrencyCode, Money, Name, Note, reject_null
from app.models.reference import ReferenceKey
from app.models.types import Amount, UTCDateTime

MAX_MEMBERS_PER_CHANGE = 5000

# CNY for one unit of the currency; the exchange-rate table uses the same shape.
RateValue = Annotated[Decimal, Field(gt=0, le=1_000_000, max_digits=20, decimal_places=10,
                                     description="CNY for one unit of the currency, e.g. 6.7261 for USD.")]
Year = Annotated[int, Field(ge=2000, le=2100)]
ProjectId = Annotated[int, Field(ge=1, le=2**31 - 1)]

_target_version = Column("version", Integer, nullable=False)  # the optimistic-lock counter behind ETags


class Target(SQLModel, table=True):
    """One target of a year's plan: how many projects reach a goal, for how much."""

    __tablename__ = "targets"
    __table_args__ = (Index("ix_targets_year_id", "year", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(sa_column=Column(Integer, nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text))
    goal_stage: str | None = Field(default=None, sa_column=Column(String(24)))
    goal_designation: str | None = Field(default=None, sa_column=Column(String(24)))
    target_count: int = Field(sa_column=Column(Integer, nullable=False))
    target_amount: Decimal | None = Field(default=None, sa_column=Column(Amount))
    target_currency: str = Field(sa_column=Column(String(3), nullable=False))
    membership: str = Field(sa_column=Column(String(16), nullable=False))
    # {"funding_source": [...], "zone": [...], "industry": [...]}; null for a list target.
    criterion: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONDocument))
    # {"USD": "6.5000000000"}: the plan's own rates, used instead of the dated table.
    plan_rates: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONDocument, nullable=False))
    version: int = Field(default=1, sa_column=_target_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    __mapper_args__ = {"version_id_col": _target_version}


class TargetMember(SQLModel, table=True):
    """A project on a list target's list from ``added_on`` until ``removed_on`` (exclusive).

    Rows are never deleted: a removal closes the row, a re-addition opens a new one, so
    the list on any past date is the rows open on it.
    """

    __tablename__ = "target_members"
    __table_args__ = (
        Index("ix_target_members_target_id_project_id", "target_id", "project_id"),
        Index("ix_target_members_project_id", "project_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    target_id: int = Field(sa_column=Column(ForeignKey("targets.id"), nullable=False))
    project_id: int = Field(sa_column=Column(ForeignKey("projects.id"), nullable=False))
    added_on: date = Field(sa_column=Column(Date, nullable=False))
    removed_on: date | None = Field(default=None, sa_column=Column(Date))
    added_by: str = Field(sa_column=Column(String(100), nullable=False))
    added_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    removed_by: str | None = Field(default=None, sa_column=Column(String(100)))
    removed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    note: str | None = Field(default=None, sa_column=Column(Text))


# --- API schemas -------------------------------------------------------------------------


class Criterion(SQLModel):
    """Which projects a criterion target counts: each field present must match (any of its
    values); an empty criterion counts every project."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    funding_source: list[FundingSource] = Field(default_factory=list, max_length=len(FundingSource))
    zone: list[ReferenceKey] = Field(default_factory=list, max_length=50, description="Zone keys (`/zones`).")
    industry: list[ReferenceKey] = Field(default_factory=list, max_length=50,
                                         description="Industry keys (`/industries`).")


def _check_plan_rates(rates: dict[str, Decimal] | None) -> None:
    if rates and "CNY" in rates:
        raise ValueError("plan_rates: CNY is the base currency; it has no rate")


def _check_goal(stage: Stage | None, designation: Designation | None) -> None:
    if (stage is None) == (designation is None):
        raise ValueError("goal_stage: give exactly one goal, goal_stage or goal_designation")
    if stage in (Stage.negotiating, Stage.terminated):
        raise ValueError(f"goal_stage: {stage} is not a goal; use signed, registered, preliminary, "
                         "under_construction or in_production")


class TargetCreate(SQLModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{  # type: ignore[assignment]
        "year": 2022, "title": "外资大项目签约注册", "goal_stage": "registered", "target_count": 42,
        "target_amount": {"amount": "3260000000.00", "currency": "USD"}, "membership": "list",
        "members": [101, 102, 103], "plan_rates": {"USD": "6.5"}}]})
    year: Year
    title: Name
    description: Note | None = None
    goal_stage: Stage | None = Field(default=None, description="The goal is reaching this stage (or a later one).")
    goal_designation: Designation | None = Field(
        default=None, description="The goal is being granted this designation for the target's year.")
    target_count: StrictInt = Field(ge=0, le=1_000_000)
    target_amount: Money | None = Field(default=None, description="Its currency is the target's currency.")
    membership: TargetMembership
    criterion: Criterion | None = Field(default=None, description="Required for a criterion target.")
    members: list[ProjectId] = Field(default_factory=list, max_length=MAX_MEMBERS_PER_CHANGE,
                                     description="The projects of a list target.")
    members_since: BusinessDate | None = Field(
        default=None, description="When the initial members joined the list; 1 January of the year when omitted.")
    plan_rates: dict[CurrencyCode, RateValue] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_goal(self.goal_stage, self.goal_designation)
        _check_plan_rates(self.plan_rates)
        if self.membership == TargetMembership.criterion:
            if self.criterion is None:
                raise ValueError("criterion: is required for a criterion target")
            if self.members:
                raise ValueError("members: a criterion target has no list; its criterion selects the projects")
        elif self.criterion is not None:
            raise ValueError("criterion: a list target has no criterion; give its members")
        if len(set(self.members)) != len(self.members):
            raise ValueError("members: each project may appear once")
        return self


class TargetUpdate(SQLModel):
    """A partial update. The year, goal and kind of membership stay; a list changes through
    ``POST /targets/{id}/members``."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    title: Name | None = None
    description: Note | None = None
    target_count: StrictInt | None = Field(default=None, ge=0, le=1_000_000)
    target_amount: Money | None = None
    criterion: Criterion | None = None
    plan_rates: dict[CurrencyCode, RateValue] | None = Field(default=None, max_length=50)

    _not_null = reject_null("title", "target_count", "criterion", "plan_rates")

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_plan_rates(self.plan_rates)
        return self


class TargetRead(SQLModel):
    id: int
    year: int
    title: str
    description: str | None
    goal_stage: Stage | None
    goal_designation: Designation | None
    target_count: int
    target_amount: Money | None
    currency: str = Field(description="The target's currency: its amount's, or CNY.")
    membership: TargetMembership
    criterion: Criterion | None
    plan_rates: dict[str, Decimal]
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class MembershipChange(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    add: list[ProjectId] = Field(default_factory=list, max_length=MAX_MEMBERS_PER_CHANGE)
    remove: list[ProjectId] = Field(default_factory=list, max_length=MAX_MEMBERS_PER_CHANGE)
    on: BusinessDate | None = Field(default=None, description="When the change takes effect; today when omitted.")
    note: Note | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.add and not self.remove:
            raise ValueError("add: name projects to add or remove")
        if set(self.add) & set(self.remove):
            raise ValueError("remove: a project cannot be added and removed at once")
        if len(set(self.add)) != len(self.add) or len(set(self.remove)) != len(self.remove):
            raise ValueError("add: each project may appear once")
        return self


class TargetMemberRead(SQLModel):
    id: int
    target_id: int
    project_id: int
    added_on: date
    removed_on: date | None
    added_by: str
    added_at: datetime
    removed_by: str | None
    removed_at: datetime | None
    note: str | None
