"""Approval items (审批事项), their catalogue of kinds, the status events approval systems
push, and the secrets those systems sign them with."""

from datetime import date, datetime
from typing import Annotated, Self

from pydantic import AwareDatetime, ConfigDict, StrictInt, StringConstraints, model_validator
from sqlalchemy import BigInteger, Column, Date, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from app.models.base import utcnow
from app.models.enums import APPROVAL_DECIDED, APPROVAL_PENDING, ApprovalEventOutcome, ApprovalStatus
from app.models.fields import BusinessDate, Note, ProjectCode, ShortText, SigningSecret, reject_null
from app.models.types import UTCDateTime

KindCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,47}$", min_length=2, max_length=48)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                                             pattern=r"^[^\x00]*$")]
TimeLimit = Annotated[StrictInt, Field(ge=1, le=3650, description="Calendar days the authority has to decide.")]

EventId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,100}$", min_length=1, max_length=100)]


# --- the catalogue of kinds --------------------------------------------------------------

_kind_version = Column("version", Integer, nullable=False)  # the optimistic-lock counter behind ETags


class ApprovalKind(SQLModel, table=True):
    """A kind of approval item, e.g. 施工许可; seeded by the migration, extended by admins."""

    __tablename__ = "approval_kinds"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(48), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    default_time_limit_days: int | None = Field(default=None, sa_column=Column(Integer))
    version: int = Field(default=1, sa_column=_kind_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    __mapper_args__ = {"version_id_col": _kind_version}


# The catalogue a fresh database starts with; the migration holds a frozen copy of it.
# Time limits are the usual statutory ones, in calendar days.
CATALOGUE: tuple[tuple[str, str, int | None], ...] = (
    ("project_approval_filing", "项目核准/备案", 20),
    ("land_pre_review_siting", "用地预审与选址", 20),
    ("land_use_planning_permit", "建设用地规划许可", 20),
    ("construction_planning_permit", "建设工程规划许可", 20),
    ("environmental_impact_assessment", "环境影响评价", 60),
    ("energy_conservation_review", "节能审查", 20),
    ("fire_protection_design_review", "消防设计审查", 15),
    ("water_soil_conservation", "水土保持方案审批", 20),
    ("construction_permit", "施工许可", 7),
)


class ApprovalKindCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    code: KindCode = Field(description="Stable snake_case identifier, e.g. `construction_permit`.")
    name: ShortText = Field(description="The Chinese name shown to people, e.g. 施工许可.")
    default_time_limit_days: TimeLimit | None = None


class ApprovalKindUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    name: ShortText | None = None
    default_time_limit_days: TimeLimit | None = None

    _not_null = reject_null("name")


class ApprovalKindRead(SQLModel):
    id: int
    code: str
    name: str
    default_time_limit_days: int | None
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


# --- approval items ----------------------------------------------------------------------

_item_version = Column("version", Integer, nullable=False)


class ApprovalItem(SQLModel, table=True):
    """One approval a project needs.

    ``due_on`` (submitted_on + time limit) and ``decision_days`` (decided_on −
    submitted_on) are kept with the row, so that overdue lists and the statistics are
    plain comparisons and aggregates on both databases.
    """

    __tablename__ = "approval_items"
    __table_args__ = (
        Index("ix_approval_items_project_id_id", "project_id", "id"),
        Index("ix_approval_items_kind_authority", "kind", "authority"),
        Index("ix_approval_items_status_due_on", "status", "due_on"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    project_id: int = Field(sa_column=Column(ForeignKey("projects.id"), nullable=False))
    kind: str = Field(sa_column=Column(ForeignKey("approval_kinds.code"), nullable=False))
    authority: str = Field(sa_column=Column(String(100), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    submitted_on: date | None = Field(default=None, sa_column=Column(Date))
    decided_on: date | None = Field(default=None, sa_column=Column(Date))
    time_limit_days: int | None = Field(default=None, sa_column=Column(Integer))
    due_on: date | None = Field(default=None, sa_column=Column(Date))
    decision_days: int | None = Field(default=None, sa_column=Column(Integer))
    reference: str | None = Field(default=None, sa_column=Column(String(100)))
    note: str | None = Field(default=None, sa_column=Column(Text))
    last_event_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    version: int = Field(default=1, sa_column=_item_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    __mapper_args__ = {"version_id_col": _item_version}


def check_status_dates(status: ApprovalStatus, submitted_on: date | None, decided_on: date | None) -> None:
    """The dates each status needs or forbids (raises ``ValueError`` naming the field)."""
    if status == ApprovalStatus.not_started and submitted_on is not None:
        raise ValueError("submitted_on: an item not started has not been submitted")
    if status in APPROVAL_PENDING and submitted_on is None:
        raise ValueError(f"submitted_on: is required for status {status}")
    if status in APPROVAL_DECIDED and decided_on is None:
        raise ValueError(f"decided_on: is required for status {status}")
    if status not in APPROVAL_DECIDED and decided_on is not None:
        raise ValueError(f"decided_on: only an approved or rejected item has a decision date, not {status}")
    if submitted_on is not None and decided_on is not None and decided_on < submitted_on:
        raise ValueError("decided_on: must not be before submitted_on")


class ApprovalItemCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    kind: KindCode = Field(description="A code of the catalogue, `/api/v1/approval-kinds`.")
    authority: ShortText = Field(description="The approving authority, e.g. 市行政审批服务局.")
    status: ApprovalStatus = ApprovalStatus.not_started
    submitted_on: BusinessDate | None = None
    decided_on: BusinessDate | None = None
    time_limit_days: TimeLimit | None = Field(
        default=None, description="Omitted: the kind's default time limit. Null: no time limit.")
    reference: Reference | None = Field(default=None, description="The approval system's case number.")
    note: Note | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_status_dates(self.status, self.submitted_on, self.decided_on)
        return self


class ApprovalItemUpdate(SQLModel):
    """A partial update; the fields present change (dates are checked against the result)."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    authority: ShortText | None = None
    status: ApprovalStatus | None = None
    submitted_on: BusinessDate | None = None
    decided_on: BusinessDate | None = None
    time_limit_days: TimeLimit | None = None
    reference: Reference | None = None
    note: Note | None = None

    _not_null = reject_null("authority", "status")


class ApprovalItemRead(SQLModel):
    id: int
    project_id: int
    kind: str
    authority: str
    status: ApprovalStatus
    submitted_on: date | None
    decided_on: date | None
    time_limit_days: int | None
    due_on: date | None = Field(description="submitted_on + time_limit_days: the decision is due by this day.")
    days_to_decision: int | None = Field(description="Days from submission to decision, once decided.")
    overdue: bool = Field(description="Submitted or accepted, and past its due day today.")
    decided_within_limit: bool | None = Field(
        description="For a decided item with a time limit, whether it was decided by its due day.")
    reference: str | None
    note: str | None
    last_event_at: datetime | None = Field(description="occurred_at of the latest event applied to the item.")
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


# --- events pushed by approval systems ---------------------------------------------------


class ApprovalEvent(SQLModel, table=True):
    """A status event received from an approval system, kept whether or not it applied.

    ``event_id`` makes a resent event a replay: it changes nothing and gets the stored
    answer. An event whose project code is unknown waits (``project_id`` null) until a
    project gets that code.
    """

    __tablename__ = "approval_events"
    __table_args__ = (
        Index("ix_approval_events_project_code_id", "project_code", "id"),
        Index("ix_approval_events_project_id_id", "project_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    event_id: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    api_key_id: int = Field(sa_column=Column(ForeignKey("api_keys.id"), nullable=False))
    source_name: str = Field(sa_column=Column(String(100), nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    project_code: str = Field(sa_column=Column(String(24), nullable=False))
    kind: str = Field(sa_column=Column(ForeignKey("approval_kinds.code"), nullable=False))
    authority: str = Field(sa_column=Column(String(100), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    submitted_on: date | None = Field(default=None, sa_column=Column(Date))
    decided_on: date | None = Field(default=None, sa_column=Column(Date))
    time_limit_days: int | None = Field(default=None, sa_column=Column(Integer))
    reference: str | None = Field(default=None, sa_column=Column(String(100)))
    note: str | None = Field(default=None, sa_column=Column(Text))
    payload_hash: str = Field(sa_column=Column(String(64), nullable=False))
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    project_id: int | None = Field(default=None, sa_column=Column(ForeignKey("projects.id")))
    approval_item_id: int | None = Field(default=None, sa_column=Column(ForeignKey("approval_items.id")))
    applied_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    response_body: str | None = Field(default=None, sa_column=Column(Text))


class ApprovalEventIn(SQLModel):
    """One status change of one approval item, as an approval system reports it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{  # type: ignore[assignment]
        "event_id": "tzxm-2022-000123-0003",
        "occurred_at": "2022-07-01T09:30:00+08:00",
        "project_code": "2020-370214-04-01-123456",
        "kind": "construction_permit",
        "authority": "市行政审批服务局",
        "status": "approved",
        "submitted_on": "2022-06-24",
        "decided_on": "2022-07-01",
        "reference": "SP-2022-0001",
    }]})
    event_id: EventId = Field(description="Unique per event; a resent event carries the same id.")
    occurred_at: AwareDatetime = Field(description="When the change happened in the approval system.")
    project_code: ProjectCode
    kind: KindCode
    authority: ShortText
    status: ApprovalStatus
    submitted_on: BusinessDate | None = None
    decided_on: BusinessDate | None = None
    time_limit_days: TimeLimit | None = None
    reference: Reference | None = Field(default=None, description="The approval system's case number.")
    note: Note | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.submitted_on is not None and self.decided_on is not None and self.decided_on < self.submitted_on:
            raise ValueError("decided_on: must not be before submitted_on")
        if self.status == ApprovalStatus.not_started and self.submitted_on is not None:
            raise ValueError("submitted_on: an item not started has not been submitted")
        if self.status not in APPROVAL_DECIDED and self.decided_on is not None:
            raise ValueError(f"decided_on: only an approved or rejected item has a decision date, not {self.status}")
        return self


class ApprovalEventReceipt(SQLModel):
    """The answer to a posted event; a resent event gets the same answer."""

    event_id: str
    outcome: ApprovalEventOutcome = Field(
        description="`applied`; `stale` (older than the item's latest applied event: changes nothing); "
                    "`unmatched` (no project has the code yet: kept, applied when one gets it).")
    project_id: int | None
    approval_item_id: int | None
    received_at: datetime


class ApprovalEventRead(SQLModel):
    id: int
    event_id: str
    api_key_id: int
    source_name: str
    received_at: datetime
    occurred_at: datetime
    project_code: str
    kind: str
    authority: str
    status: ApprovalStatus
    submitted_on: date | None
    decided_on: date | None
    time_limit_days: int | None
    reference: str | None
    note: str | None
    outcome: ApprovalEventOutcome
    project_id: int | None
    approval_item_id: int | None
    applied_at: datetime | None


# --- integration secrets -----------------------------------------------------------------


class IntegrationSecret(SQLModel, table=True):
    """The secret an integration key signs its requests with.

    Kept as given, not hashed: verifying an HMAC needs the secret itself. It is shown
    only in the answer that sets it, and never read back through the API.
    """

    __tablename__ = "integration_secrets"
    api_key_id: int = Field(sa_column=Column(ForeignKey("api_keys.id"), primary_key=True))
    secret: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    created_by: str = Field(sa_column=Column(String(100), nullable=False))


class SigningSecretSet(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    secret: SigningSecret | None = Field(
        default=None, description="At least 32 printable ASCII characters; omitted: the service makes one.")


class SigningSecretRead(SQLModel):
    api_key_id: int
    created_at: datetime
    created_by: str


class SigningSecretCreated(SigningSecretRead):
    secret: str = Field(description="The signing secret. It is shown only in this response.")
