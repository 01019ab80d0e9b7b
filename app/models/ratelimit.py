"""Request counts per API key and minute, shared by every service process."""

from datetime import datetime

from sqlalchemy import Column, Integer, PrimaryKeyConstraint, String
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class RateLimitWindow(SQLModel, table=True):
    """How many requests one key (by its public prefix) made in one fixed window."""

    __tablename__ = "rate_limit_windows"
    __table_args__ = (PrimaryKeyConstraint("bucket", "window_start"),)
    bucket: str = Field(sa_column=Column(String(64), nullable=False))
    window_start: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    count: int = Field(sa_column=Column(Integer, nullable=False))
