"""Import jobs: a ledger too large to import during its request, run by the job worker of any process.

    POST /imports/projects (or /imports/progress-reports) with more than IMPORT_SYNC_MAX_ROWS rows
      → the job, the file kept in its row → 202, Location: /api/v1/imports/{id}
    the job worker of any process: claim the oldest queued job, or a running one whose lease
      has run out (FOR UPDATE SKIP LOCKED on PostgreSQL), and take its lease
      → run the import as its filer, in one transaction, while another connection renews
        the lease and writes the progress (``rows_done`` of ``rows_total``)
      → in that same transaction, mark the job finished with its report, if the lease is
        still this process's; if another has taken the job, the whole import rolls back
      → a refusal (422 ``ledger_invalid`` with the report, ``too_many_rows`` …) ends it
        ``failed`` with the problem document; nothing is written

A process that dies mid-import leaves nothing written (its transaction never commits) and
a lease that runs out; the next claim takes the job up again, up to
IMPORT_JOB_MAX_ATTEMPTS tries, after which the job ends ``failed`` (``import_interrupted``).
A process that is stopped hands its job back at once. On SQLite the one process runs its
jobs one at a time; the import's transaction holds the database's write lock, so the
progress is written only when the job ends.
"""

import asyncio
import hashlib
import logging
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any, Literal

import anyio.to_thread
from pydantic import BaseModel, Field
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import defer
from sqlmodel import col

from app import context
from app.clock import today as city_today
from app.config import Settings
from app.db import claim_rows, is_sqlite
from app.errors import TYPE_BASE, AppError, InvalidInput, NotFound
from app.models import ImportJob, utcnow
from app.models.enums import ImportJobStatus, ImportKind, Role
from app.models.ledger import ImportReport
from app.services.access.permissions import Principal
from app.services.ledger import imports, reports, spreadsheets
from app.services.ledger.reports import ReportImportReport
from app.services.progress import rules as report_rules

log = logging.getLogger("app.imports")

Report = ImportReport | ReportImportReport
# Who reads any job; a key of another role reads only the jobs it filed.
READ_ALL = frozenset({Role.admin, Role.bureau})


class JobIssue(BaseModel):
    field: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None


class JobProblem(BaseModel):
    """Why a job failed: the problem+json a synchronous import would have answered."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[JobIssue] | None = None


class ImportJobRead(BaseModel):
    """A ledger import running as a job: where it is, how far, and once done its report."""

    id: int
    kind: ImportKind
    status: ImportJobStatus
    dry_run: bool
    as_of: date | None = Field(description="The ledger's date (stage moves without 进入阶段日期); projects only.")
    file_name: str | None
    sha256: str = Field(description="The SHA-256 of the uploaded file.")
    phase: Literal["validating", "importing"] | None = Field(
        description="While running: checking every row, then writing them; null otherwise.")
    rows_done: int = Field(description="Rows of the phase done so far (on SQLite, written when the job ends).")
    rows_total: int | None = Field(description="Rows of the phase: the file's rows while validating, the rows "
                                                "to write while importing; when finished, the report's `rows`.")
    attempts: int = Field(description="Times a process has taken the job up (more than 1 after a restart).")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    report: ImportReport | ReportImportReport | None = Field(
        description="When finished: the import's report, as a synchronous import answers it; when failed on "
                    "invalid rows, the report that lists them.")
    problem: JobProblem | None = Field(description="When failed: why, as problem+json; nothing was written.")


def to_read(job: ImportJob) -> ImportJobRead:
    assert job.id is not None
    report: Report | None = None
    if job.report is not None:
        model = ImportReport if job.kind == ImportKind.projects else ReportImportReport
        report = model.model_validate(job.report)
    phase = job.phase if job.status == ImportJobStatus.running and job.phase in ("validating", "importing") else None
    return ImportJobRead(id=job.id, kind=ImportKind(job.kind), status=ImportJobStatus(job.status), dry_run=job.dry_run,
                         as_of=job.as_of, file_name=job.file_name, sha256=job.sha256, phase=phase,
                         rows_done=job.rows_done, rows_total=job.rows_total, attempts=job.attempts,
                         created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
                         report=report, problem=JobProblem.model_validate(job.problem) if job.problem else None)


def problem_of(exc: AppError) -> dict[str, Any]:
    """The problem document of a refusal, as the error handler answers it."""
    document: dict[str, Any] = {"type": TYPE_BASE + exc.code, "title": exc.title, "status": exc.status,
                                "detail": exc.detail, "code": exc.code}
    if exc.errors is not None:
        document["errors"] = exc.errors
    return document


# --- running an import ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Work:
    """What to import, as whom: a request's upload or a job's row."""

    kind: ImportKind
    actor: Principal
    content: bytes
    filename: str | None
    dry_run: bool
    as_of: date | None


async def execute(session: AsyncSession, work: Work, settings: Settings, *, today: date,
                  progress: imports.Progress | None = None) -> Report:
    """Run one import in the session's transaction: its report, or a refusal (nothing written)."""
    limits = spreadsheets.Limits.of(settings)
    if work.kind == ImportKind.projects:
        return await imports.import_projects(session, work.actor, content=work.content, filename=work.filename,
                                             dry_run=work.dry_run, today=today, as_of=work.as_of, limits=limits,
                                             max_errors=settings.import_max_reported_errors,
                                             max_changes=settings.import_max_reported_changes, progress=progress)
    return await reports.import_reports(session, work.actor, content=work.content, filename=work.filename,
                                        dry_run=work.dry_run, rules=report_rules.rules_of(settings), today=today,
                                        limits=limits, max_errors=settings.import_max_reported_errors)


def _size(content: bytes, filename: str | None, limits: spreadsheets.Limits, small: int) -> tuple[bool, int | None]:
    """Whether the file has at most ``small`` rows below its header, and the rows it declares
    (blocking). The file's kind and size are checked on the way."""
    sheet = spreadsheets.read(content, filename, limits)
    # Counted, not trusted from the declaration (a streamed .xlsx declares none), as far as needed.
    upto = small + spreadsheets.HEADER_SEARCH_ROWS + 1
    seen = sum(1 for _ in islice(sheet.rows, upto))
    declared = None if sheet.size is None else max(sheet.size - 1, 0)
    return seen < upto and seen <= small + 1, declared


async def submit(session: AsyncSession, work: Work, settings: Settings, *, today: date) -> Report | ImportJobRead:
    """Import a small file at once (its report); file a larger one as a job, for a worker to run."""
    if work.as_of is not None and work.as_of > today:
        raise InvalidInput.field("as_of", f"must not be in the future (today is {today})")
    # An unreadable file is refused now, rather than by the job.
    small, declared = await anyio.to_thread.run_sync(_size, work.content, work.filename,
                                                     spreadsheets.Limits.of(settings), settings.import_sync_max_rows)
    if small:
        return await execute(session, work, settings, today=today)
    job = ImportJob(kind=work.kind, dry_run=work.dry_run,
                    as_of=(work.as_of or today) if work.kind == ImportKind.projects else None,
                    file_name=imports.clean_filename(work.filename), sha256=hashlib.sha256(work.content).hexdigest(),
                    content=work.content, actor_key_id=work.actor.key_id, actor_name=work.actor.name,
                    actor_role=work.actor.role, request_id=context.request_id.get(), rows_total=declared)
    session.add(job)
    await session.flush()
    return to_read(job)


async def get_job(session: AsyncSession, principal: Principal, job_id: int) -> ImportJobRead:
    """A job, to the key that filed it and to admin and bureau keys; to others, 404."""
    without_file = defer(ImportJob.content)  # type: ignore[arg-type]
    stmt = select(ImportJob).options(without_file).where(col(ImportJob.id) == job_id)
    job = (await session.execute(stmt)).scalar_one_or_none()
    if job is None or not (principal.role in READ_ALL or
                           (principal.key_id is not None and principal.key_id == job.actor_key_id)):
        raise NotFound(f"No import job with id {job_id}.")
    return to_read(job)


# --- the worker ------------------------------------------------------------------------------


@dataclass
class Claimed:
    job_id: int
    work: Work
    request_id: str | None
    attempt: int


async def claim(session: AsyncSession, *, worker: str, settings: Settings, now: datetime) -> Claimed | None:
    """Take the oldest job waiting, or running on a lease that has run out, for ``worker`` (the
    caller commits). A job cut off ``import_job_max_attempts`` times ends failed instead."""
    lease = timedelta(seconds=settings.import_job_lease_seconds)
    while True:
        stmt = (select(ImportJob)
                .where(or_(col(ImportJob.status) == ImportJobStatus.queued,
                           and_(col(ImportJob.status) == ImportJobStatus.running,
                                col(ImportJob.lease_expires_at) < now)))
                .order_by(col(ImportJob.id)).limit(1))
        job = (await session.execute(claim_rows(stmt, ImportJob))).scalar_one_or_none()
        if job is None:
            return None
        assert job.id is not None
        if job.attempts >= settings.import_job_max_attempts:
            job.status, job.finished_at, job.worker, job.lease_expires_at = ImportJobStatus.failed, now, None, None
            job.problem = problem_of(AppError(
                f"The import was cut off {job.attempts} times (the process running it stopped); nothing was "
                "imported. File it again.", code="import_interrupted"))
            await session.flush()
            continue
        job.status, job.worker, job.lease_expires_at = ImportJobStatus.running, worker, now + lease
        job.attempts += 1
        job.started_at = job.started_at or now
        job.rows_done, job.phase = 0, None
        await session.flush()
        actor = Principal(key_id=job.actor_key_id, name=job.actor_name, role=Role(job.actor_role))
        return Claimed(job_id=job.id, request_id=job.request_id, attempt=job.attempts,
                       work=Work(kind=ImportKind(job.kind), actor=actor, content=job.content, filename=job.file_name,
                                 dry_run=job.dry_run, as_of=job.as_of))


def _ours(job_id: int, worker: str) -> Any:
    return and_(col(ImportJob.id) == job_id, col(ImportJob.worker) == worker,
                col(ImportJob.status) == ImportJobStatus.running)


async def _end(session: AsyncSession, job_id: int, worker: str, *, status: ImportJobStatus,
               report: dict[str, Any] | None, problem: dict[str, Any] | None) -> bool:
    """Mark the job done, if it is still this worker's; whether it was."""
    rows = report.get("rows") if report else None
    values: dict[str, Any] = {"status": status, "report": report, "problem": problem, "finished_at": utcnow(),
                              "lease_expires_at": None, "phase": None}
    if rows is not None:
        values.update(rows_done=rows, rows_total=rows)
    result = await session.execute(update(ImportJob).where(_ours(job_id, worker)).values(**values))
    return bool(getattr(result, "rowcount", 0))


class LeaseLost(Exception):
    """Another process took the job up: this run's writes must not commit."""


@dataclass
class Heartbeat:
    """Renews a running job's lease and writes its progress, from a connection of its own."""

    sessionmaker: async_sessionmaker[AsyncSession]
    job_id: int
    worker: str
    settings: Settings
    phase: str | None = None
    done: int = 0
    total: int | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, phase: str, done: int, total: int) -> None:
        self.phase, self.done, self.total = phase, done, total

    async def run(self) -> None:
        interval = self.settings.import_job_lease_seconds / 3
        while not self.stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=min(interval, 2.0))
            if self.stop.is_set():
                return
            try:
                await self.beat()
            except Exception:  # the database away for a moment: the lease has room for it
                log.warning("import job %s: the lease could not be renewed", self.job_id, exc_info=True)

    async def beat(self) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.execute(update(ImportJob).where(_ours(self.job_id, self.worker)).values(
                lease_expires_at=utcnow() + timedelta(seconds=self.settings.import_job_lease_seconds),
                phase=self.phase, rows_done=self.done, rows_total=self.total))


async def run_claimed(sessionmaker: async_sessionmaker[AsyncSession], claimed: Claimed, settings: Settings, *,
                      worker: str, today: date | None = None) -> ImportJobStatus | None:
    """Run a claimed job to its end; the status it ended in, or None if it is left to be taken up again."""
    heartbeat = Heartbeat(sessionmaker, claimed.job_id, worker, settings)
    # On SQLite the import holds the one write lock: nothing else could be written meanwhile.
    beating = None if is_sqlite(settings.database_url) else asyncio.create_task(heartbeat.run())
    token = context.request_id.set(claimed.request_id)
    try:
        async with sessionmaker() as session:
            try:
                async with session.begin():
                    report = await execute(session, claimed.work, settings, today=today or city_today(),
                                           progress=heartbeat)
                    await _stop(heartbeat, beating)
                    if not await _end(session, claimed.job_id, worker, status=ImportJobStatus.finished,
                                      report=report.model_dump(mode="json"), problem=None):
                        raise LeaseLost
                return ImportJobStatus.finished
            except LeaseLost:
                log.warning("import job %s was taken up by another process: this run's writes are rolled back",
                            claimed.job_id)
                return None
            except AppError as exc:  # refused: nothing was written; the job says why
                await _stop(heartbeat, beating)
                async with session.begin():
                    await _end(session, claimed.job_id, worker, status=ImportJobStatus.failed,
                               report=(exc.extensions or {}).get("report"), problem=problem_of(exc))
                return ImportJobStatus.failed
    except asyncio.CancelledError:
        # Stopped: hand the job back now rather than at the lease's end; this try does not count.
        with suppress(Exception):
            await asyncio.shield(_release(sessionmaker, claimed.job_id, worker, queued=True))
        raise
    except Exception:
        log.exception("import job %s: the run failed; it will be taken up again", claimed.job_id)
        with suppress(Exception):
            await _release(sessionmaker, claimed.job_id, worker, queued=False)
        return None
    finally:
        context.request_id.reset(token)
        await _stop(heartbeat, beating)


async def _stop(heartbeat: Heartbeat, task: asyncio.Task[None] | None) -> None:
    heartbeat.stop.set()
    if task is not None and not task.done():
        with suppress(Exception):
            await task


async def _release(sessionmaker: async_sessionmaker[AsyncSession], job_id: int, worker: str, *, queued: bool) -> None:
    """Give the job up: queued again (a stop), or running on a lease that has run out (a failure)."""
    values: dict[str, Any] = {"worker": None, "lease_expires_at": utcnow()}
    if queued:
        values.update(status=ImportJobStatus.queued, attempts=col(ImportJob.attempts) - 1, lease_expires_at=None)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(ImportJob).where(_ours(job_id, worker)).values(**values))


async def run_once(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *, worker: str,
                   today: date | None = None, now: datetime | None = None) -> int | None:
    """Claim one job and run it; its id, or None when no job was waiting."""
    async with sessionmaker() as session, session.begin():
        claimed = await claim(session, worker=worker, settings=settings, now=now or utcnow())
    if claimed is None:
        return None
    await run_claimed(sessionmaker, claimed, settings, worker=worker, today=today)
    return claimed.job_id


async def periodic(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *, worker: str) -> None:
    """Run jobs, one at a time, until cancelled; look for one every poll interval when none waits."""
    while True:
        try:
            ran = await run_once(sessionmaker, settings, worker=worker)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be away for a while: keep trying
            log.exception("import job worker %s: a round failed", worker)
            ran = None
        if ran is None:
            await asyncio.sleep(settings.import_job_poll_interval_seconds)
