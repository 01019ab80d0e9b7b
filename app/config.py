"""Settings, read once from the environment (prefix ``PIPELINE_``)."""

from functools import lru_cache
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIPELINE_", env_file=".env", extra="ignore")

    # The SQLite default lets a newcomer run the service with nothing installed;
    # production uses postgresql+asyncpg://user:pass@host/db.
    database_url: str = "sqlite+aiosqlite:///./pipeline.db"
    pool_size: int = Field(default=10, ge=1)
    max_overflow: int = Field(default=5, ge=0)
    pool_timeout_seconds: float = Field(default=5.0, gt=0)
    statement_timeout_ms: int = Field(default=15_000, ge=100)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)

    # Business dates ("signed on", "today") are dates in the city's own time zone.
    timezone: str = "Asia/Shanghai"
    # Idempotency records are kept at least this long.
    idempotency_ttl_hours: int = Field(default=48, ge=24)
    # API key "last used" is written at most this often per key, to keep reads read-only.
    key_last_used_resolution_seconds: int = Field(default=60, ge=0)

    default_page_size: int = 50
    max_page_size: int = 200

    log_level: str = "INFO"

    # Signed requests (approval events): how far a signature's timestamp may be off.
    signature_tolerance_seconds: int = Field(default=300, ge=1, le=3600)

    # The webhook delivery worker. It runs inside each service process unless turned
    # off here; `pipeline worker` runs it alone. Any number may run against one database.
    webhook_worker_enabled: bool = True
    webhook_poll_interval_seconds: float = Field(default=1.0, gt=0)
    webhook_batch_size: int = Field(default=20, ge=1, le=500)
    webhook_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # A claimed attempt not finished within the lease (a worker died) is tried again.
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_max_attempts: int = Field(default=15, ge=1, le=100)
    webhook_backoff_base_seconds: float = Field(default=10.0, gt=0)
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _lease_outlasts_a_request(self) -> Self:
        if self.webhook_lease_seconds <= self.webhook_connect_timeout_seconds + self.webhook_timeout_seconds:
            raise ValueError("webhook_lease_seconds must exceed the connect and request timeouts together")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
