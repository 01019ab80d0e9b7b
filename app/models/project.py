"""The project registry: projects, their designations and their stage history."""

from collections.abc import Mapping
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
from app.models.enums import (
    CodeReason,
    Designation,
    DesignationStatus,
    FundingSource,
    Stage,
    TransitionKind,
)
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
from app.models.reference import ReferenceKey
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
    # The investor's name and country, kept equal to its record's (``investors``) by the service:
    # the list, its text search and the ledger read them without a join.
    investor: str = Field(sa_column=Column(String(200), nullable=False))
    investor_country: str = Field(sa_column=Column(String(2), nullable=False))
    investor_id: int | None = Field(default=None, sa_column=Column(ForeignKey("investors.id"), index=True))
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
    contracted_fdi_amount: Decimal | None = Field(default=None, sa_column=Column(Amount))  # 合同外资, always USD
    registered_capital_amount: Decimal | None = Field(default=None, sa_column=Column(Amount))
    registered_capital_currency: str | None = Field(default=None, sa_column=Column(String(3)))
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
    stage on any date D is the one entry with ``occurred_on <= D < left_on``;
    ``left_recorded_at`` is when the next entry was recorded, so that the history as known
    at an instant reads without looking for it.
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
    left_recorded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    note: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    actor_key_id: int | None = Field(default=None, sa_column=Column(ForeignKey("api_keys.id")))
    actor_name: str = Field(sa_column=Column(String(100), nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    # The signing event (签约活动) a move to ``signed`` was made at.
    signing_event_id: int | None = Field(default=None, sa_column=Column(ForeignKey("signing_events.id"), index=True))


class ProjectVersion(SQLModel, table=True):
    """The attributes of a project that the aggregates group, filter and judge by, as they were
    from ``valid_from`` until ``valid_to`` (business dates; null: since ever, and still; whether
    the project existed on a date is its stage history's to say), by what was recorded
    from ``recorded_at`` until ``superseded_at`` (instants; null: still believed). Rows are
    never changed but to be superseded: a change dated in the past supersedes the rows it
    overlaps and records their corrected copies, so that both what was true on a date and what
    had been recorded by an instant can be read back (``app.services.projects.history``).
    """

    __tablename__ = "project_versions"
    __table_args__ = (
        Index("ix_project_versions_project_id_valid_from", "project_id", "valid_from"),
        Index("ix_project_versions_valid_from_valid_to", "valid_from", "valid_to"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    project_id: int = Field(sa_column=Column(ForeignKey("projects.id"), nullable=False))
    valid_from: date | None = Field(default=None, sa_column=Column(Date))
    valid_to: date | None = Field(default=None, sa_column=Column(Date))
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    superseded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    investor_id: int | None = Field(default=None, sa_column=Column(ForeignKey("investors.id")))
    funding_source: str = Field(sa_column=Column(String(16), nullable=False))
    industry: str = Field(sa_column=Column(String(32), nullable=False))
    zone: str = Field(sa_column=Column(String(32), nullable=False))
    total_investment_amount: Decimal = Field(sa_column=Column(Amount, nullable=False))
    total_investment_currency: str = Field(sa_column=Column(String(3), nullable=False))
    leader_id: int | None = Field(default=None, sa_column=Column(ForeignKey("leaders.id")))
    unit_id: int | None = Field(default=None, sa_column=Column(ForeignKey("units.id")))
    planned_sign_on: date | None = Field(default=None, sa_column=Column(Date))
    planned_start_on: date | None = Field(default=None, sa_column=Column(Date))
    planned_production_on: date | None = Field(default=None, sa_column=Column(Date))
    on_hold: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    contracted_fdi_amount: Decimal | None = Field(default=None, sa_column=Column(Amount))
    archived: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))


# The project's own columns that ``ProjectVersion`` keeps the history of (and ``archived``).
HISTORISED = ("investor_id", "funding_source", "industry", "zone", "total_investment_amount",
              "total_investment_currency", "leader_id", "unit_id", "planned_sign_on", "planned_start_on",
              "planned_production_on", "on_hold", "contracted_fdi_amount")


class ProjectCodeRecord(SQLModel, table=True):
    """A national project code a project has had; append-only. The project's current code
    is ``projects.code``; every code it has had, that one included, is a row here, and a
    code leads to one project only, ever."""

    __tablename__ = "project_codes"
    __table_args__ = (Index("ix_project_codes_project_id_id", "project_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    code: str = Field(sa_column=Column(String(24), nullable=False, index=True))
    project_id: int = Field(sa_column=Column(ForeignKey("projects.id"), nullable=False))
    reason: str = Field(sa_column=Column(String(16), nullable=False))
    valid_from: date = Field(sa_column=Column(Date, nullable=False))
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


INVESTOR_TEXT = ("The investor's name. Without `investor_id`, the project is linked to the current investor "
                 "of this name and `investor_country`, created when there is none; with it, it must be that "
                 "investor's name, or be left out.")
CONTRACTED_FDI = "合同外资: foreign investment contracted, in USD; foreign-funded projects only."


def _check_fdi(funding_source: FundingSource | None, contracted: "Money | None") -> None:
    if contracted is None:
        return
    if contracted.currency != "USD":
        raise ValueError("contracted_fdi: must be in USD (合同外资 is counted in US dollars)")
    if funding_source is not None and funding_source != FundingSource.foreign:
        raise ValueError("contracted_fdi: only a foreign-funded project has contracted foreign investment")


PLANNED_DATES = ("planned_sign_on", "planned_start_on", "planned_production_on")


def planned_dates_out_of_order(dates: Mapping[str, date | None]) -> tuple[str, str, date] | None:
    """The rule every write of planned dates keeps: sign, start and production in that order.
    Answers the first date set before the one it follows: (its name, that one's name and date)."""
    present = [(name, day) for name in PLANNED_DATES if (day := dates.get(name)) is not None]
    for (a_name, a), (b_name, b) in pairwise(present):
        if a > b:
            return b_name, a_name, a
    return None


def _planned_dates_in_order(sign: date | None, start: date | None, production: date | None) -> None:
    wrong = planned_dates_out_of_order(dict(zip(PLANNED_DATES, (sign, start, production), strict=True)))
    if wrong is not None:
        raise ValueError(f"{wrong[0]}: must not be before {wrong[1]}")


class ProjectWritable(SQLModel):
    """The fields a client sets; shared by create and update."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    code: ProjectCode | None = None
    name: Name
    investor: Name | None = Field(default=None, description=INVESTOR_TEXT)
    investor_country: CountryCode | None = Field(default=None, description="The investor's country; with "
                                                 "`investor`, when `investor_id` is not given.")
    investor_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="The investor (`/investors`).")
    funding_source: FundingSource
    industry: ReferenceKey = Field(description="An industry's key (`/industries`).")
    zone: ReferenceKey = Field(description="A zone's key (`/zones`).")
    total_investment: Money
    leader_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    unit_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    planned_sign_on: BusinessDate | None = None
    planned_start_on: BusinessDate | None = None
    planned_production_on: BusinessDate | None = None
    designations: list[DesignationEntry] = Field(default_factory=list, max_length=len(Designation))
    on_hold: StrictBool = False
    contracted_fdi: Money | None = Field(default=None, description=CONTRACTED_FDI)
    registered_capital: Money | None = Field(default=None, description="注册资本: the registered capital.")


class ProjectCreate(ProjectWritable):
    """A new project. It may start in any stage, since ledgers are imported mid-life."""

    stage: Stage = Stage.negotiating
    stage_entered_on: BusinessDate | None = Field(
        default=None, description="When the project entered its starting stage; today when omitted."
    )
    note: Note | None = None
    code_on: BusinessDate | None = Field(default=None, description=(
        "The business date `code` holds from (when it was issued); today when omitted. Only with `code`."))

    @model_validator(mode="after")
    def _check(self) -> Self:
        _unique_designations(self.designations)
        _planned_dates_in_order(self.planned_sign_on, self.planned_start_on, self.planned_production_on)
        if self.investor_id is None:
            for name in ("investor", "investor_country"):
                if getattr(self, name) is None:
                    raise ValueError(f"{name}: required unless investor_id names the investor")
        _check_fdi(self.funding_source, self.contracted_fdi)
        if self.code_on is not None and self.code is None:
            raise ValueError("code_on: only with a code")
        return self


class ProjectUpdate(SQLModel):
    """A partial update: only the fields present change. ``stage`` changes through transitions."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    code: ProjectCode | None = Field(default=None, description=(
        "A new code is added to the project's code history (`/projects/{id}/codes`); the old one "
        "still finds the project."))
    code_reason: CodeReason | None = Field(default=None, description=(
        "Why the code changes: `re_approved` (a new approval issued a new code) or `corrected` (the "
        "old one was wrong); `corrected` when omitted. Only with `code`."))
    code_on: BusinessDate | None = Field(default=None, description=(
        "The business date the new code holds from; today when omitted. Only with `code`."))
    name: Name | None = None
    investor: Name | None = Field(default=None, description=INVESTOR_TEXT)
    investor_country: CountryCode | None = None
    investor_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    funding_source: FundingSource | None = None
    industry: ReferenceKey | None = Field(default=None, description="A current industry's key (`/industries`).")
    zone: ReferenceKey | None = Field(default=None, description="A current zone's key (`/zones`).")
    total_investment: Money | None = None
    leader_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    unit_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    planned_sign_on: BusinessDate | None = None
    planned_start_on: BusinessDate | None = None
    planned_production_on: BusinessDate | None = None
    designations: list[DesignationEntry] | None = Field(default=None, max_length=len(Designation))
    on_hold: StrictBool | None = None
    contracted_fdi: Money | None = Field(default=None, description=CONTRACTED_FDI + " null removes it.")
    registered_capital: Money | None = None
    effective_on: BusinessDate | None = Field(default=None, description=(
        "The business date the changes take effect on: today when omitted, never in the future, and not "
        "before a later change of the same field to another value (409 `later_change`). The aggregates "
        "`as_of` an earlier date keep the values before it (docs/STATS.md)."))

    _not_null = reject_null("name", "investor", "investor_country", "investor_id", "funding_source", "industry",
                            "zone", "total_investment", "designations", "on_hold", "code_reason", "code_on",
                            "effective_on")

    @model_validator(mode="after")
    def _check(self) -> Self:
        _unique_designations(self.designations)
        _check_fdi(None, self.contracted_fdi)
        if self.code is None and ({"code_reason", "code_on"} & self.model_fields_set):
            raise ValueError("code_reason: only with a new code")
        if self.code_reason == CodeReason.assigned:
            raise ValueError("code_reason: a changed code is re_approved or corrected")
        return self


class ProjectRead(SQLModel):
    id: int
    code: str | None
    name: str
    investor: str
    investor_country: str
    investor_id: int | None
    funding_source: FundingSource
    industry: str
    zone: str
    total_investment: Money
    contracted_fdi: Money | None
    registered_capital: Money | None
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


class ProjectCodeRead(SQLModel):
    """One code of a project's history: which, from when, why, recorded by whom and when."""

    code: str
    reason: CodeReason
    valid_from: date
    current: bool
    actor_name: str
    recorded_at: datetime


class TransitionCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    to: Stage
    occurred_on: BusinessDate
    note: Note | None = None
    reason: Reason | None = Field(
        default=None, description="Required to terminate a project and for an admin's correction."
    )
    signing_event_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                         description="The signing event (签约活动) of a move to `signed`.")


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
    signing_event_id: int | None
