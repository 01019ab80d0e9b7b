"""Settings, read once from the environment (prefix ``PIPELINE_``)."""

from functools import lru_cache

from pydantic import Field
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

    # A project's red/amber/green status (app/services/status.py): for each rule, the days past
    # its measure from which the project is amber, and red; None switches that level off.
    status_sign_overdue_amber_days: int | None = Field(default=1, ge=1)
    status_sign_overdue_red_days: int | None = Field(default=None, ge=1)
    status_start_overdue_amber_days: int | None = Field(default=1, ge=1)
    status_start_overdue_red_days: int | None = Field(default=90, ge=1)  # three months late: red
    status_production_overdue_amber_days: int | None = Field(default=None, ge=1)
    status_production_overdue_red_days: int | None = Field(default=1, ge=1)
    status_stalled_amber_days: int | None = Field(default=180, ge=1)
    status_stalled_red_days: int | None = Field(default=None, ge=1)
    # How many red and amber projects a leader's dashboard lists (the rest are a link away).
    dashboard_attention_limit: int = Field(default=50, ge=0, le=200)

    default_page_size: int = 50
    max_page_size: int = 200

    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    return Settings()
