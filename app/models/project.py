"""The project registry: projects, their designations and their stage history."""

from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Self

from pydantic import ConfigDict, StrictBool, model_validator
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlmodel import Field, SQLModel

from app.models.base import utcnow
from app.models.enums import Designation, DesignationStatus, FundingSource, Industry, Stage, TransitionKind, Zone
from app.models.fields import (
    BusinessDate,
    CountryCode,
    Money,
    Name,
    Note,
    ProjectCode,
    Reason,
    reject_null,
)
from app.models.types import Amount, UTCDateTime

_project_version = Column("version", Integer, nullable=False)  # the optimistic-lock counter behind ETags


class Project(SQLModel, table=True):
    __tablename__ = "projects"
    __table_args__ = (
        # Keyset pagination: each sort key with the id as tie-breaker.
        Index("ix_projects_name_id", "name", "id"),
        Index("ix_projects_total_investment_amount_id", "total_investment_amount", "id"),
        Index("ix_projects_stage_entered_on_id", "stage_entered_on", "id"),
        Index("ix_projects_created_at_id", "created_at", "id"),
        Index("ix_projects_updated_at_id", "updated_at", "id"),
        # A leader's projects in a stage (their dashboard, the list filtered by both): at
        # 10^6 projects the two single-column indexes ANDed read some 50,000 entries for
        # 700 rows.
        Index("ix_projects_leader_id_stage", "leader_id", "stage"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    code: str | None = Field(default=None, sa_column=Column(String(24), unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    investor: str = Field(sa_column=Column(String(200), nullable=False))
    investor_country: str = Field(sa_column=Column(String(2), nullable=False))
    funding_source: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    industry: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    zone: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    total_investment_amount: Decimal = Field(sa_column=Column(Amount, nullable=False))
    total_investment_currency: str = Field(sa_column=Column(String(3), nullable=False))
    stage: str = Field(sa_column=Column(String(24), nullable=False, index=True))
    stage_entered_on: date = Field(sa_column=Column(Date, nullable=False))
    leader_id: int | None = Field(default=None, sa_column=Column(ForeignKey("leaders.id"), index=True))
    unit_id: int | None = Field(default=None, sa_column=Column(ForeignKey("units.id"), index=True))
    planned_sign_on: date | None = Field(default=None, sa_column=Column(Date))
    planned_start_on: date | None = Field(default=None, sa_column=Column(Date))
    planned_production_on: date | None = Field(default=None, sa_column=Column(Date))
    on_hold: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    version: int = Field(default=1, sa_column=_project_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    __mapper_args__ = {"version_id_col": _project_version}


class ProjectDesignation(SQLModel, table=True):
    """A designation (city key project, key preliminary project) sought or held by a project."""

    __tablename__ = "project_designations"
    project_id: int = Field(sa_column=Column(ForeignKey("projects.id"), primary_key=True))
    designation: str = Field(sa_column=Column(String(24), primary_key=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    year: int | None = Field(default=None, sa_column=Column(Integer))
    decided_on: date | None = Field(default=None, sa_column=Column(Date))

    __table_args__ = (Index("ix_project_designations_designation_status", "designation", "status"),)


class StageTransition(SQLModel, table=True):
    """One entry of a project's stage history; append-only.

    ``left_on`` is the ``occurred_on`` of the next entry (null while current), so the
    stage on any date D is the one entry with ``occurred_on <= D < left_on``.
    """

    __tablename__ = "stage_transitions"
    __table_args__ = (
        Index("ix_stage_transitions_project_id_id", "project_id", "id"),
        Index("ix_stage_transitions_occurred_on_left_on", "occurred_on", "left_on"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    project_id: int = Field(sa_column=Column(ForeignKey("projects.id"), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    from_stage: str | None = Field(default=None, sa_column=Column(String(24)))
    to_stage: str = Field(sa_column=Column(String(24), nullable=False))
    occurred_on: date = Field(sa_column=Column(Date, nullable=False))
    left_on: date | None = Field(default=None, sa_column=Column(Date))
    note: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    actor_key_id: int | None = Field(default=None, sa_column=Column(ForeignKey("api_keys.id")))
    actor_name: str = Field(sa_column=Column(String(100), nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


# --- API schemas -------------------------------------------------------------------------


class DesignationEntry(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    designation: Designation
    status: DesignationStatus = DesignationStatus.candidate
    year: int | None = Field(default=None, ge=2000, le=2100)
    decided_on: BusinessDate | None = None


def _unique_designations(entries: list[DesignationEntry] | None) -> None:
    if entries is not None and len({e.designation for e in entries}) != len(entries):
        raise ValueError("designations: each designation may appear once")


def _planned_dates_in_order(sign: date | None, start: date | None, production: date | None) -> None:
    present = [(n, d) for n, d in (("planned_sign_on", sign), ("planned_start_on", start),
                                   ("planned_production_on", production)) if d is not None]
    for (a_name, a), (b_name, b) in pairwise(present):
        if a > b:
            raise ValueError(f"{b_name}: must not be before {a_name}")


class ProjectWritable(SQLModel):
    """The fields a client sets; shared by create and update."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    code: ProjectCode | None = None
    name: Name
    investor: Name
    investor_country: CountryCode
    funding_source: FundingSource
    industry: Industry
    zone: Zone
    total_investment: Money
    leader_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    unit_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    planned_sign_on: BusinessDate | None = None
    planned_start_on: BusinessDate | None = None
    planned_production_on: BusinessDate | None = None
    designations: list[DesignationEntry] = Field(default_factory=list, max_length=len(Designation))
    on_hold: StrictBool = False


class ProjectCreate(ProjectWritable):
    """A new project. It may start in any stage, since ledgers are imported mid-life."""

    stage: Stage = Stage.negotiating
    stage_entered_on: BusinessDate | None = Field(
        default=None, description="When the project entered its starting stage; today when omitted."
    )
    note: Note | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        _unique_designations(self.designations)
        _planned_dates_in_order(self.planned_sign_on, self.planned_start_on, self.planned_production_on)
        return self


class ProjectUpdate(SQLModel):
    """A partial update: only the fields present change. ``stage`` changes through transitions."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    code: ProjectCode | None = None
    name: Name | None = None
    investor: Name | None = None
    investor_country: CountryCode | None = None
    funding_source: FundingSource | None = None
    industry: Industry | None = None
    zone: Zone | None = None
    total_investment: Money | None = None
    leader_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    unit_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    planned_sign_on: BusinessDate | None = None
    planned_start_on: BusinessDate | None = None
    planned_production_on: BusinessDate | None = None
    designations: list[DesignationEntry] | None = Field(default=None, max_length=len(Designation))
    on_hold: StrictBool | None = None

    _not_null = reject_null("name", "investor", "investor_country", "funding_source", "industry", "zone",
                            "total_investment", "designations", "on_hold")

    @model_validator(mode="after")
    def _check(self) -> Self:
        _unique_designations(self.designations)
        return self


class ProjectRead(SQLModel):
    id: int
    code: str | None
    name: str
    investor: str
    investor_country: str
    funding_source: FundingSource
    industry: Industry
    zone: Zone
    total_investment: Money
    stage: Stage
    stage_entered_on: date
    leader_id: int | None
    unit_id: int | None
    planned_sign_on: date | None
    planned_start_on: date | None
    planned_production_on: date | None
    designations: list[DesignationEntry]
    on_hold: bool
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class TransitionCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    to: Stage
    occurred_on: BusinessDate
    note: Note | None = None
    reason: Reason | None = Field(
        default=None, description="Required to terminate a project and for an admin's correction."
    )


class TransitionRead(SQLModel):
    id: int
    project_id: int
    kind: TransitionKind
    from_stage: Stage | None
    to_stage: Stage
    occurred_on: date
    note: str | None
    reason: str | None
    actor_key_id: int | None
    actor_name: str
    recorded_at: datetime
