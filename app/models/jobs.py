"""Import jobs: a large ledger filed over HTTP, run in the background by any process."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlmodel import Field, SQLModel

from app.models.base import JSONDocument, utcnow
from app.models.enums import ImportJobStatus
from app.models.types import UTCDateTime


class ImportJob(SQLModel, table=True):
    """A ledger import filed over HTTP and run by the job worker of any process.

    The uploaded file is kept in the row (``content``), so that whichever process claims the
    job can read it: processes share no disk. The filer is kept as the principal the import
    acts as. A running job holds a lease (``worker``, ``lease_expires_at``) that its process
    renews; once it has expired, another process takes the job up again. ``report`` is the
    import's report, and ``problem`` the refusal (problem+json) of a job that failed.
    """

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_status_id", "status", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    status: str = Field(default=ImportJobStatus.queued, sa_column=Column(String(16), nullable=False))
    dry_run: bool = Field(sa_column=Column(Boolean, nullable=False))
    as_of: date | None = Field(default=None, sa_column=Column(Date))
    file_name: str | None = Field(default=None, sa_column=Column(String(200)))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    actor_key_id: int | None = Field(default=None, sa_column=Column(ForeignKey("api_keys.id")))
    actor_name: str = Field(sa_column=Column(String(100), nullable=False))
    actor_role: str = Field(sa_column=Column(String(16), nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(64)))
    phase: str | None = Field(default=None, sa_column=Column(String(16)))
    rows_done: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    rows_total: int | None = Field(default=None, sa_column=Column(Integer))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    worker: str | None = Field(default=None, sa_column=Column(String(100)))
    lease_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONDocument))
    problem: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONDocument))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
