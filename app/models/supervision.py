"""Supervised items (督办事项), decomposed into tasks with deadlines and dated progress reports."""

from datetime import date, datetime
from typing import Annotated, Self

from pydantic import ConfigDict, StrictInt, model_validator
from sqlalchemy import BigInteger, CheckConstraint, Column, Date, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from app.models.base import utcnow
from app.models.enums import SupervisionSource, SupervisionStatus
from app.models.fields import BusinessDate, Name, Note, reject_null
from app.models.types import UTCDateTime

_item_version = Column("version", Integer, nullable=False)  # the optimistic-lock counter behind ETags
_task_version = Column("version", Integer, nullable=False)

MAX_LINKED_PROJECTS = 200


def _bigint_id() -> Column[int]:
    return Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


class SupervisionItem(SQLModel, table=True):
    """An item picked for supervision; its status is rolled up from its tasks."""

    __tablename__ = "supervision_items"
    __table_args__ = (
        Index("ix_supervision_items_created_at_id", "created_at", "id"),
        Index("ix_supervision_items_updated_at_id", "updated_at", "id"),
    )

    id: int | None = Field(default=None, sa_column=_bigint_id())
    title: str = Field(sa_column=Column(String(200), nullable=False))
    source: str = Field(sa_column=Column(String(24), nullable=False, index=True))
    source_ref: str | None = Field(default=None, sa_column=Column(String(200)))
    description: str | None = Field(default=None, sa_column=Column(Text))
    created_by_key_id: int | None = Field(default=None, sa_column=Column(ForeignKey("api_keys.id")))
    created_by: str = Field(sa_column=Column(String(100), nullable=False))
    version: int = Field(default=1, sa_column=_item_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    __mapper_args__ = {"version_id_col": _item_version}


class SupervisionItemProject(SQLModel, table=True):
    """A project an item concerns."""

    __tablename__ = "supervision_item_projects"
    item_id: int = Field(sa_column=Column(ForeignKey("supervision_items.id"), primary_key=True))
    project_id: int = Field(sa_column=Column(ForeignKey("projects.id"), primary_key=True, index=True))


class SupervisionTask(SQLModel, table=True):
    """One task of an item: a responsible unit, a deadline, and its latest reported progress.

    ``percent`` and ``completed_on`` are those of the latest report (the reports are the
    history); a task is done when a report says 100%.
    """

    __tablename__ = "supervision_tasks"
    __table_args__ = (
        Index("ix_supervision_tasks_item_id_id", "item_id", "id"),
        Index("ix_supervision_tasks_unit_id_deadline", "unit_id", "deadline"),
        Index("ix_supervision_tasks_deadline_id", "deadline", "id"),
        CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
    )

    id: int | None = Field(default=None, sa_column=_bigint_id())
    item_id: int = Field(sa_column=Column(ForeignKey("supervision_items.id"), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text))
    unit_id: int = Field(sa_column=Column(ForeignKey("units.id"), nullable=False))
    deadline: date = Field(sa_column=Column(Date, nullable=False))
    percent: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    completed_on: date | None = Field(default=None, sa_column=Column(Date))
    last_reported_on: date | None = Field(default=None, sa_column=Column(Date))
    version: int = Field(default=1, sa_column=_task_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))

    __mapper_args__ = {"version_id_col": _task_version}


class SupervisionProgress(SQLModel, table=True):
    """A dated progress report on a task; append-only."""

    __tablename__ = "supervision_progress_reports"
    __table_args__ = (
        Index("ix_supervision_progress_reports_task_id_id", "task_id", "id"),
        CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
    )

    id: int | None = Field(default=None, sa_column=_bigint_id())
    task_id: int = Field(sa_column=Column(ForeignKey("supervision_tasks.id"), nullable=False))
    reported_on: date = Field(sa_column=Column(Date, nullable=False))
    percent: int = Field(sa_column=Column(Integer, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text))
    actor_key_id: int | None = Field(default=None, sa_column=Column(ForeignKey("api_keys.id")))
    actor_name: str = Field(sa_column=Column(String(100), nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


# --- API schemas -------------------------------------------------------------------------

RefId = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]


def _unique_ids(ids: list[int] | None) -> None:
    if ids is not None and len(set(ids)) != len(ids):
        raise ValueError("project_ids: each project may appear once")


class SupervisionItemCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    title: Name
    source: SupervisionSource
    source_ref: Name | None = Field(default=None, description="e.g. the meeting minutes' or instruction's number.")
    description: Note | None = None
    project_ids: list[RefId] = Field(default_factory=list, max_length=MAX_LINKED_PROJECTS,
                                   description="The projects the item concerns.",
                                   schema_extra={"json_schema_extra": {"uniqueItems": True}})

    @model_validator(mode="after")
    def _check(self) -> Self:
        _unique_ids(self.project_ids)
        return self


class SupervisionItemUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    title: Name | None = None
    source: SupervisionSource | None = None
    source_ref: Name | None = None
    description: Note | None = None
    project_ids: list[RefId] | None = Field(default=None, max_length=MAX_LINKED_PROJECTS,
                                          schema_extra={"json_schema_extra": {"uniqueItems": True}})

    _not_null = reject_null("title", "source", "project_ids")

    @model_validator(mode="after")
    def _check(self) -> Self:
        _unique_ids(self.project_ids)
        return self


class SupervisionItemRead(SQLModel):
    id: int
    title: str
    source: SupervisionSource
    source_ref: str | None
    description: str | None
    project_ids: list[int]
    status: SupervisionStatus = Field(description="Rolled up from the tasks: pending (no tasks yet), "
                                                  "in_progress, overdue (a task is past its deadline), done.")
    task_count: int
    done_count: int
    overdue_count: int
    percent: int = Field(description="The mean progress of its tasks, rounded.")
    created_by: str
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class SupervisionTaskCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    title: Name
    description: Note | None = None
    unit_id: int = Field(ge=1, le=2**31 - 1, description="The responsible unit (责任单位).")
    deadline: BusinessDate


class SupervisionTaskUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    title: Name | None = None
    description: Note | None = None
    unit_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    deadline: BusinessDate | None = None

    _not_null = reject_null("title", "unit_id", "deadline")


class SupervisionTaskRead(SQLModel):
    id: int
    item_id: int
    title: str
    description: str | None
    unit_id: int
    deadline: date
    percent: int
    completed_on: date | None
    last_reported_on: date | None
    done: bool
    overdue: bool = Field(description="Not done and past its deadline, as of today.")
    version: int
    created_at: datetime
    updated_at: datetime


class ProgressReportCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    percent: int = Field(ge=0, le=100, description="How far the task is; 100 marks it done on `reported_on`.")
    reported_on: BusinessDate | None = Field(default=None, description="The business date; today when omitted.")
    note: Note | None = None


class ProgressReportRead(SQLModel):
    id: int
    task_id: int
    reported_on: date
    percent: int
    note: str | None
    actor_key_id: int | None
    actor_name: str
    recorded_at: datetime
