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

    # Ledger (台账) imports: the largest upload; what an .xlsx (a zip) may expand to, and by
    # what ratio, checked before it is opened (zip bombs); the most data rows in one file.
    import_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    import_max_uncompressed_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    import_max_compression_ratio: int = Field(default=100, ge=2)
    import_max_rows: int = Field(default=100_000, ge=1)
    # Row-level problems listed in one import report (the counts are always complete).
    import_max_reported_errors: int = Field(default=1000, ge=1)
    # Created or updated rows listed in one import report.
    import_max_reported_changes: int = Field(default=10_000, ge=0)
    # Ledger exports read the database in keyset batches of this many projects.
    export_batch_size: int = Field(default=1000, ge=1, le=10_000)

    default_page_size: int = 50
    max_page_size: int = 200

    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    return Settings()
