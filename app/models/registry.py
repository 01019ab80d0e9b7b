"""City leaders in charge (包项目市领导) and responsible units (责任单位)."""

from datetime import datetime

from pydantic import ConfigDict
from sqlalchemy import Column, Integer, String
from sqlmodel import Field, SQLModel

from app.models.base import utcnow
from app.models.enums import UnitKind
from app.models.fields import ShortText, reject_null
from app.models.types import UTCDateTime


class LeaderBase(SQLModel):
    name: ShortText = Field(sa_column=Column(String(100), nullable=False))
    title: ShortText | None = Field(default=None, sa_column=Column(String(100)))


class LeaderCreate(LeaderBase):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class LeaderUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    name: ShortText | None = None
    title: ShortText | None = None

    _name_not_null = reject_null("name")


_leader_version = Column("version", Integer, nullable=False)  # the optimistic-lock counter behind ETags


class Leader(LeaderBase, table=True):
    __tablename__ = "leaders"
    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1, sa_column=_leader_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    __mapper_args__ = {"version_id_col": _leader_version}


class LeaderRead(LeaderBase):
    id: int
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class UnitBase(SQLModel):
    name: ShortText = Field(sa_column=Column(String(100), nullable=False, unique=True))
    kind: UnitKind = Field(default=UnitKind.department, sa_column=Column(String(16), nullable=False))
    contact: ShortText | None = Field(default=None, sa_column=Column(String(100)))


class UnitCreate(UnitBase):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class UnitUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    name: ShortText | None = None
    kind: UnitKind | None = None
    contact: ShortText | None = None

    _not_null = reject_null("name", "kind")


_unit_version = Column("version", Integer, nullable=False)  # the optimistic-lock counter behind ETags


class Unit(UnitBase, table=True):
    __tablename__ = "units"
    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(default=1, sa_column=_unit_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    __mapper_args__ = {"version_id_col": _unit_version}


class UnitRead(UnitBase):
    id: int
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
