"""API keys, the audit trail and idempotency records: who did what, once."""

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, model_validator
from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Text
from sqlmodel import Field, SQLModel

from app.models.base import JSONDocument, utcnow
from app.models.enums import Role
from app.models.fields import ShortText
from app.models.types import UTCDateTime


class ApiKey(SQLModel, table=True):
    """A key's secret is never stored: only its SHA-256, looked up by its public prefix."""

    __tablename__ = "api_keys"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(100), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    leader_id: int | None = Field(default=None, sa_column=Column(ForeignKey("leaders.id")))
    unit_id: int | None = Field(default=None, sa_column=Column(ForeignKey("units.id")))
    prefix: str = Field(sa_column=Column(String(16), nullable=False, unique=True))
    secret_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    created_by: str = Field(sa_column=Column(String(100), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class ApiKeyCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    name: ShortText
    role: Role
    leader_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    unit_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    expires_at: datetime | None = None

    @model_validator(mode="after")
    def _binding(self) -> "ApiKeyCreate":
        if self.role == Role.leader and self.leader_id is None:
            raise ValueError("leader_id: a leader key must be bound to a leader")
        if self.role == Role.unit and self.unit_id is None:
            raise ValueError("unit_id: a unit key must be bound to a unit")
        if self.role != Role.leader and self.leader_id is not None:
            raise ValueError("leader_id: only a leader key is bound to a leader")
        if self.role != Role.unit and self.unit_id is not None:
            raise ValueError("unit_id: only a unit key is bound to a unit")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at: must carry a time zone, e.g. 2027-01-01T00:00:00Z")
        return self


class ApiKeyRead(SQLModel):
    id: int
    name: str
    role: Role
    prefix: str
    leader_id: int | None
    unit_id: int | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str | None = Field(description="The secret key, shown only in this response (null in a replay of it).")


class AuditEvent(SQLModel, table=True):
    """One change, written in the same transaction as the change itself."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_resource", "resource_type", "resource_id", "id"),
        Index("ix_audit_events_actor_key_id_id", "actor_key_id", "id"),
        Index("ix_audit_events_occurred_at_id", "occurred_at", "id"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"),
                                                          primary_key=True, autoincrement=True))
    occurred_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    actor_key_id: int | None = Field(default=None, sa_column=Column(ForeignKey("api_keys.id")))
    actor_name: str = Field(sa_column=Column(String(100), nullable=False))
    action: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    resource_type: str = Field(sa_column=Column(String(40), nullable=False))
    resource_id: str = Field(sa_column=Column(String(64), nullable=False))
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONDocument))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONDocument))
    request_id: str | None = Field(default=None, sa_column=Column(String(64)))


class AuditEventRead(SQLModel):
    id: int
    occurred_at: datetime
    actor_key_id: int | None
    actor_name: str
    action: str
    resource_type: str
    resource_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a POST carrying an ``Idempotency-Key``, per principal."""

    __tablename__ = "idempotency_records"
    __table_args__ = (PrimaryKeyConstraint("actor_key_id", "key"),)
    actor_key_id: int = Field(sa_column=Column(ForeignKey("api_keys.id"), nullable=False))
    key: str = Field(sa_column=Column(String(255), nullable=False))
    request_hash: str = Field(sa_column=Column(String(64), nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(Integer))
    response_body: str | None = Field(default=None, sa_column=Column(Text))
    response_headers: dict[str, str] | None = Field(default=None, sa_column=Column(JSONDocument))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
