"""Settings, read once from the environment (prefix ``PIPELINE_``)."""

from functools import lru_cache
from itertools import pairwise
from typing import Annotated, Literal, Self

from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.models.enums import ESCALATION_ORDER, Designation, EscalationLevel, Stage

FollowUpStage = Literal["negotiating", "signed"]  # the stages the no_follow_up rule measures


class EscalationRung(BaseModel):
    """A rung of the escalation ladder: an unresolved difficulty this many days past its
    due date climbs to ``level``."""

    level: EscalationLevel
    after_days: int = Field(ge=1, le=3650)


def _health_env(setting: str) -> AliasChoices:
    """The environment names of a health threshold: ``PIPELINE_HEALTH_…``, and the name it had
    before the red/amber/green status was called health (``PIPELINE_STATUS_…``, deprecated)."""
    return AliasChoices(f"PIPELINE_HEALTH_{setting.upper()}", f"PIPELINE_STATUS_{setting.upper()}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIPELINE_", env_file=".env", extra="ignore", populate_by_name=True)

    # The SQLite default lets a newcomer run the service with nothing installed;
    # production uses postgresql+asyncpg://user:pass@host/db.
    database_url: str = "sqlite+aiosqlite:///./pipeline.db"
    # A read-only replica for the statistics and the project list, which then may trail the
    # primary by the replica's lag; unset, everything reads the primary.
    database_read_url: str | None = None
    pool_size: int = Field(default=10, ge=1)
    max_overflow: int = Field(default=5, ge=0)
    pool_timeout_seconds: float = Field(default=5.0, gt=0)
    # A pooled connection idle longer than this is checked with a round trip before use.
    pool_ping_after_idle_seconds: float = Field(default=1.0, ge=0)
    statement_timeout_ms: int = Field(default=15_000, ge=100)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)

    # Business dates ("signed on", "today") are dates in the city's own time zone.
    timezone: str = "Asia/Shanghai"
    # Idempotency records are kept at least this long.
    idempotency_ttl_hours: int = Field(default=48, ge=24)
    # API key "last used" is written at most this often per key, to keep reads read-only.
    key_last_used_resolution_seconds: int = Field(default=60, ge=0)

    # Overdue difficulties climb this ladder (from the responsible unit, where they start).
    # As JSON: PIPELINE_ESCALATION_LADDER='[{"level": "leader", "after_days": 1}, ...]'.
    escalation_ladder: list[EscalationRung] = Field(default_factory=lambda: [
        EscalationRung(level=EscalationLevel.leader, after_days=1),
        EscalationRung(level=EscalationLevel.supervision_office, after_days=15),
    ])
    # Each service process runs the escalation job this often; concurrent runs are safe.
    escalation_job_enabled: bool = True
    escalation_interval_seconds: float = Field(default=900.0, ge=0.01)
    escalation_batch_size: int = Field(default=200, ge=1, le=10_000)

    # A project's red/amber/green health (app/services/stats/health.py): for each rule, the days past
    # its measure from which the project is amber, and red; None switches that level off.
    health_sign_overdue_amber_days: int | None = Field(
        default=1, ge=1, validation_alias=_health_env("sign_overdue_amber_days"))
    health_sign_overdue_red_days: int | None = Field(
        default=None, ge=1, validation_alias=_health_env("sign_overdue_red_days"))
    health_start_overdue_amber_days: int | None = Field(
        default=1, ge=1, validation_alias=_health_env("start_overdue_amber_days"))
    health_start_overdue_red_days: int | None = Field(
        default=90, ge=1, validation_alias=_health_env("start_overdue_red_days"))  # three months late: red
    health_production_overdue_amber_days: int | None = Field(
        default=None, ge=1, validation_alias=_health_env("production_overdue_amber_days"))
    health_production_overdue_red_days: int | None = Field(
        default=1, ge=1, validation_alias=_health_env("production_overdue_red_days"))
    health_stalled_amber_days: int | None = Field(
        default=180, ge=1, validation_alias=_health_env("stalled_amber_days"))
    health_stalled_red_days: int | None = Field(
        default=None, ge=1, validation_alias=_health_env("stalled_red_days"))
    # no_follow_up: days a negotiating or signed project may go without a follow-up (amber
    # past them, red past twice them), per stage; e.g. '{"negotiating": 14, "signed": 30}'.
    follow_up_max_days: dict[FollowUpStage, Annotated[int, Field(ge=1, le=3650)]] = Field(
        default_factory=lambda: dict.fromkeys(("negotiating", "signed"), 30))  # type: ignore[arg-type]
    # Monthly reports (月报): the day of the next month by which a month's report is due (the
    # 5th: March's report is due on 5 April); a report filed after it is late.
    progress_report_due_day: int = Field(default=5, ge=1, le=28)
    # Which projects must report a month: those in these stages on the month's last day, and
    # those in preliminary work holding a granted designation named here.
    progress_report_stages: list[Stage] = Field(default_factory=lambda: [Stage.under_construction])
    progress_report_designations: list[Designation] = Field(
        default_factory=lambda: [Designation.city_key, Designation.key_preliminary])
    # Investment behind time progress (时间进度): a project whose completion rate is this many
    # percentage points or more behind the share of the year elapsed is amber, then red.
    health_investment_behind_amber_points: int | None = Field(
        default=10, ge=1, le=100, validation_alias=_health_env("investment_behind_amber_points"))
    health_investment_behind_red_points: int | None = Field(
        default=30, ge=1, le=100, validation_alias=_health_env("investment_behind_red_points"))
    # A project that must report and has not filed the last due month's report by its due
    # day is amber; this many due months unfiled in a row, red.
    health_report_missing_amber_months: int | None = Field(
        default=1, ge=1, le=12, validation_alias=_health_env("report_missing_amber_months"))
    health_report_missing_red_months: int | None = Field(
        default=2, ge=1, le=12, validation_alias=_health_env("report_missing_red_months"))
    # The forecast of the year's end (/stats/forecast): a project, group or target whose
    # expected figure falls more than this many percent below its plan is expected to miss.
    forecast_miss_tolerance_percent: int = Field(default=10, ge=0, le=100)
    # How many red and amber projects a leader's dashboard lists (the rest are a link away).
    dashboard_attention_limit: int = Field(default=50, ge=0, le=200)

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
    # A ledger of at most this many rows is imported during its request (200 with the report);
    # a larger one becomes an import job (202) that the job worker of any process runs.
    import_sync_max_rows: int = Field(default=500, ge=0)
    # The job worker in each process (``pipeline worker`` runs one too); a job's lease, renewed
    # while it runs, after which another process takes it up again; the tries before it fails.
    import_job_worker_enabled: bool = True
    import_job_poll_interval_seconds: float = Field(default=1.0, gt=0)
    import_job_lease_seconds: float = Field(default=60.0, ge=3)
    import_job_max_attempts: int = Field(default=3, ge=1, le=100)
    # Ledger exports read the database in keyset batches of this many projects.
    export_batch_size: int = Field(default=1000, ge=1, le=10_000)

    log_level: str = "INFO"

    # Browser front ends allowed to call the API (CORS), e.g. ["https://zsj.example.gov.cn"].
    cors_origins: list[str] = Field(default_factory=list)
    # Request bodies above these sizes are refused with 413 before they are read.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Each process drops expired idempotency records and old rate-limit windows hourly.
    housekeeping_enabled: bool = True
    # Requests one API key may make per minute, counted across every process (0: no limit).
    rate_limit_per_minute: int = Field(default=1200, ge=0)
    # Failed authentications one client address may make per minute before 429, counted in
    # each process's memory (0: no limit). Keys that authenticate are never refused by it.
    auth_failures_per_minute: int = Field(default=30, ge=0)
    # At start, set what exists aside from the garbage collector (gc.freeze): it lives as
    # long as the process. Off in the tests, which start many applications in one process.
    gc_freeze: bool = True
    # On SIGTERM, requests in flight get this long to finish.
    graceful_shutdown_seconds: int = Field(default=30, ge=0)

    def body_limit(self, path: str) -> int:
        # A ledger upload is a multipart form: the file plus its part headers.
        return self.import_max_bytes + 65_536 if path.startswith("/api/v1/imports/") else self.max_body_bytes

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
    # Webhooks go to public addresses only (app/services/events/destinations.py); hosts named
    # here (names or IP literals, as written in the URL) are internal receivers allowed on
    # purpose. As JSON: PIPELINE_WEBHOOK_ALLOWED_HOSTS='["hooks.internal.example"]'.
    webhook_allowed_hosts: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _lease_outlasts_a_request(self) -> Self:
        if self.webhook_lease_seconds <= self.webhook_connect_timeout_seconds + self.webhook_timeout_seconds:
            raise ValueError("webhook_lease_seconds must exceed the connect and request timeouts together")
        return self

    @field_validator("database_read_url")
    @classmethod
    def _replica_is_postgres(cls, url: str | None) -> str | None:
        # SQLite has one file and one writer: a second engine on it would only wait for the first.
        if url and not url.startswith("postgresql"):
            raise ValueError("a read replica is a PostgreSQL database (postgresql+asyncpg://...)")
        return url or None

    @field_validator("escalation_ladder")
    @classmethod
    def _ladder_climbs(cls, ladder: list[EscalationRung]) -> list[EscalationRung]:
        ranks = [ESCALATION_ORDER.index(r.level) for r in ladder]
        if any(rank == 0 for rank in ranks):
            raise ValueError("difficulties start with the responsible unit; the ladder lists the rungs above it")
        for (a, ra), (b, rb) in pairwise(zip(ladder, ranks, strict=True)):
            if rb <= ra or b.after_days < a.after_days:
                raise ValueError("each rung must be above the previous one and not sooner")
        return ladder


@lru_cache
def get_settings() -> Settings:
    return Settings()
