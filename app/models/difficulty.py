"""Difficulties (困难问题) raised on projects, and each one's timeline of events."""

from datetime import date, datetime

from pydantic import ConfigDict
from sqlalchemy import BigInteger, Column, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import utcnow
from app.models.enums import DifficultyCategory, DifficultyEventKind, DifficultyStatus, EscalationLevel
from app.models.fields import BusinessDate, Name, Note, Reason, reject_null
from app.models.types import UTCDateTime

_difficulty_version = Column("version", Integer, nullable=False)  # the optimistic-lock counter behind ETags


class Difficulty(SQLModel, table=True):
    """A problem blocking a project, who must clear it, by when, and how far it has escalated."""

    __tablename__ = "difficulties"
    __table_args__ = (
        Index("ix_difficulties_due_on_id", "due_on", "id"),
        Index("ix_difficulties_status_due_on", "status", "due_on"),  # overdue lists and the escalation job
        Index("ix_difficulties_project_id_id", "project_id", "id"),
        Index("ix_difficulties_created_at_id", "created_at", "id"),
        Index("ix_difficulties_updated_at_id", "updated_at", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    project_id: int = Field(sa_column=Column(ForeignKey("projects.id"), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text))
    category: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    unit_id: int = Field(sa_column=Column(ForeignKey("units.id"), nullable=False, index=True))
    leader_id: int | None = Field(default=None, sa_column=Column(ForeignKey("leaders.id"), index=True))
    raised_on: date = Field(sa_column=Column(Date, nullable=False))
    raised_by_key_id: int | None = Field(default=None, sa_column=Column(ForeignKey("api_keys.id")))
    raised_by: str = Field(sa_column=Column(String(100), nullable=False))
    due_on: date = Field(sa_column=Column(Date, nullable=False))
    escalation_level: str = Field(default=EscalationLevel.unit,
                                  sa_column=Column(String(24), nullable=False, index=True))
    escalated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    resolution: str | None = Field(default=None, sa_column=Column(Text))
    resolved_on: date | None = Field(default=None, sa_column=Column(Date))
    closed_on: date | None = Field(default=None, sa_column=Column(Date))
    version: int = Field(default=1, sa_column=_difficulty_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))

    __mapper_args__ = {"version_id_col": _difficulty_version}


class DifficultyEvent(SQLModel, table=True):
    """One entry of a difficulty's timeline; append-only.

    Escalation entries carry ``to_level``; the unique constraint makes a second climb to
    the same rung impossible even if two escalation jobs raced past every other guard
    (other entries leave ``to_level`` null, and nulls never collide).
    """

    __tablename__ = "difficulty_events"
    __table_args__ = (
        Index("ix_difficulty_events_difficulty_id_id", "difficulty_id", "id"),
        UniqueConstraint("difficulty_id", "to_level"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    difficulty_id: int = Field(sa_column=Column(ForeignKey("difficulties.id"), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    occurred_on: date = Field(sa_column=Column(Date, nullable=False))
    from_status: str | None = Field(default=None, sa_column=Column(String(16)))
    to_status: str | None = Field(default=None, sa_column=Column(String(16)))
    from_level: str | None = Field(default=None, sa_column=Column(String(24)))
    to_level: str | None = Field(default=None, sa_column=Column(String(24)))
    days_overdue: int | None = Field(default=None, sa_column=Column(Integer))
    note: str | None = Field(default=None, sa_column=Column(Text))
    actor_key_id: int | None = Field(default=None, sa_column=Column(ForeignKey("api_keys.id")))
    actor_name: str = Field(sa_column=Column(String(100), nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


# --- API schemas -------------------------------------------------------------------------

class DifficultyCreate(SQLModel):
    """A new difficulty on a project. The unit and leader default to the project's."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    title: Name
    description: Note | None = None
    category: DifficultyCategory
    unit_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                description="The responsible unit (责任单位); the project's when omitted.")
    leader_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                  description="The leader in charge; the project's leader when omitted.")
    due_on: BusinessDate = Field(description="The date by which the responsible unit must resolve it.")
    raised_on: BusinessDate | None = Field(default=None, description="When it was raised; today when omitted.")


class DifficultyUpdate(SQLModel):
    """A partial update: only the fields present change. ``status`` changes through transitions."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    title: Name | None = None
    description: Note | None = None
    category: DifficultyCategory | None = None
    unit_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    leader_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    due_on: BusinessDate | None = None

    _not_null = reject_null("title", "category", "unit_id", "due_on")


class DifficultyRead(SQLModel):
    id: int
    project_id: int
    title: str
    description: str | None
    category: DifficultyCategory
    status: DifficultyStatus
    unit_id: int
    leader_id: int | None
    raised_on: date
    raised_by: str
    raised_by_key_id: int | None
    due_on: date
    overdue: bool = Field(description="Not resolved and past its due date, as of today.")
    escalation_level: EscalationLevel
    escalated_at: datetime | None
    resolution: str | None
    resolved_on: date | None
    closed_on: date | None
    version: int
    created_at: datetime
    updated_at: datetime


class DifficultyTransition(SQLModel):
    """A status move: ``open → in_progress → resolved → closed``, or ``resolved → in_progress``
    when the resolution is rejected."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    to: DifficultyStatus
    occurred_on: BusinessDate | None = Field(default=None, description="The business date; today when omitted.")
    resolution: Reason | None = Field(default=None, description="Required to move to `resolved`: what was done.")
    reason: Reason | None = Field(default=None, description="Required to reject a resolution.")
    note: Note | None = None


class DifficultyNoteCreate(SQLModel):
    """A dated progress note on the timeline."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    note: Reason
    occurred_on: BusinessDate | None = Field(default=None, description="The business date; today when omitted.")


class DifficultyEventRead(SQLModel):
    id: int
    difficulty_id: int
    kind: DifficultyEventKind
    occurred_on: date
    from_status: DifficultyStatus | None
    to_status: DifficultyStatus | None
    from_level: EscalationLevel | None
    to_level: EscalationLevel | None
    days_overdue: int | None
    note: str | None
    actor_key_id: int | None
    actor_name: str
    recorded_at: datetime
