"""``pipeline``: the service's command line.

    pipeline migrate                 upgrade the database to the latest migration
    pipeline serve                   run the API with uvicorn
    pipeline seed-demo               load the demo data set into an empty database
    pipeline create-key              issue an API key; the key is the last line printed
    pipeline escalate                escalate overdue difficulties up the ladder (safe to run anywhere, any time)
    pipeline worker                  deliver webhooks and run import jobs (until SIGINT or SIGTERM), without
                                     serving the API
    pipeline import FILE             load a ledger (台账, .xlsx or .csv): all of it, or nothing
    pipeline report monthly --year Y --month M -o FILE [--known-on INSTANT]
                                     write the monthly bulletin (通报) workbook
"""

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TypeVar

from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.db import make_engine, make_sessionmaker
from app.errors import AppError
from app.models.access import ApiKeyCreate
from app.models.enums import Role
from app.services.access.permissions import Principal

T = TypeVar("T")


def _migrations_root() -> Path:
    # The source checkout, or the working directory of an installed service (the image).
    for root in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (root / "alembic.ini").is_file():
            return root
    raise SystemExit("alembic.ini not found: run from the directory that holds it")


def alembic_config(database_url: str | None = None) -> Config:
    root = _migrations_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def migrate(database_url: str | None = None) -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")


async def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    engine = make_engine(get_settings())
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


def _operator(purpose: str) -> Principal:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Principal.operator(f"cli:{purpose}:{user}"[:100])


def _seed_demo(args: argparse.Namespace) -> int:
    from app.clock import today
    from app.demo import seed_demo

    async def work(session: AsyncSession) -> str:
        summary = await seed_demo(session, today=today())
        return (f"demo data loaded: {summary.projects} projects, {summary.transitions} stage moves, "
                f"{summary.leaders} leaders, {summary.units} units, {summary.targets} targets, "
                f"{summary.exchange_rates} exchange rates")

    try:
        print(asyncio.run(_in_transaction(work)))
    except AppError as exc:
        if args.if_empty and exc.code == "database_not_empty":
            print("demo data not loaded: the database already holds projects")
            return 0
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    return 0


def _create_key(args: argparse.Namespace) -> int:
    from app.services.access import keys

    try:
        data = ApiKeyCreate(name=args.name, role=Role(args.role), leader_id=args.leader, unit_id=args.unit)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def work(session: AsyncSession) -> str:
        created = await keys.create_key(session, data=data, actor=_operator("create-key"))
        print(f"created {created.role} key {created.id} ({created.name}); it is shown only now:")
        assert created.key is not None
        return created.key

    try:
        print(asyncio.run(_in_transaction(work)))
    except AppError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    return 0


def _escalate(args: argparse.Namespace) -> int:
    from app.clock import today
    from app.models import utcnow
    from app.services.supervision import escalation

    settings = get_settings()

    async def work() -> escalation.EscalationRun:
        engine = make_engine(settings)
        try:
            return await escalation.run_job(make_sessionmaker(engine), today=args.today or today(), now=utcnow(),
                                            ladder=settings.escalation_ladder,
                                            batch_size=settings.escalation_batch_size,
                                            actor=_operator("escalate"))
        finally:
            await engine.dispose()

    run = asyncio.run(work())
    print(f"escalated {run.escalated} difficulties ({run.steps} steps) of {run.examined} examined")
    return 0


class _ProgressLine:
    """A one-line progress bar on stderr, redrawn in place on a terminal, every 10% elsewhere."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last: tuple[str, int] = ("", -1)

    def __call__(self, phase: str, done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        step = percent if self.tty else percent // 10 * 10
        if (phase, step) == self.last:
            return
        self.last = (phase, step)
        filled = percent // 5
        line = f"{phase:>10} [{'#' * filled}{'.' * (20 - filled)}] {done:,}/{total:,} rows"
        end = "\n" if done >= total or not self.tty else ""
        print(("\r" if self.tty else "") + line, end=end, file=sys.stderr, flush=True)


def _import(args: argparse.Namespace) -> int:
    import datetime as dt
    import json

    from app.clock import today
    from app.services.ledger import imports, spreadsheets

    settings = get_settings()
    path = Path(args.file)
    try:
        size = path.stat().st_size
        if size > settings.import_max_bytes:
            print(f"error: {path} is {size:,} bytes; the limit is {settings.import_max_bytes:,} "
                  "(PIPELINE_IMPORT_MAX_BYTES)", file=sys.stderr)
            return 1
        content = path.read_bytes()
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    limits = spreadsheets.Limits.of(settings)

    async def work(session: AsyncSession) -> imports.ImportReport:
        return await imports.import_projects(
            session, _operator("import"), content=content, filename=path.name, dry_run=args.dry_run, today=today(),
            as_of=as_of, limits=limits, max_errors=settings.import_max_reported_errors,
            max_changes=settings.import_max_reported_changes, progress=_ProgressLine())

    try:
        report = asyncio.run(_in_transaction(work))
    except AppError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        failed = (exc.extensions or {}).get("report")
        for issue in (exc.errors or [])[:50]:
            where = ", ".join(str(x) for x in (f"row {issue.get('row')}" if issue.get("row") else None,
                                               issue.get("column")) if x)
            value = f" = {issue['value']!r}" if issue.get("value") is not None else ""
            print(f"  {where}{value}: {issue['message']}", file=sys.stderr)
        if args.json and failed:
            print(json.dumps(failed, ensure_ascii=False, indent=2))
        return 1
    if args.json:
        print(report.model_dump_json(indent=2))
        return 0 if report.valid else 1
    verb = "would be" if report.dry_run else "were"
    print(f"{path.name}: {report.rows:,} rows; {report.created:,} {verb} created, {report.updated:,} updated, "
          f"{report.unchanged:,} unchanged, {report.invalid:,} invalid" + (" (dry run: nothing written)"
                                                                              if report.dry_run else ""))
    for error in report.errors[:50]:
        value = f" = {error.value!r}" if error.value is not None else ""
        print(f"  row {error.row}, {error.column}{value}: {error.message}", file=sys.stderr)
    return 0 if report.valid else 1


def _import_reports(args: argparse.Namespace) -> int:
    from app.clock import today
    from app.services.ledger import reports, spreadsheets
    from app.services.progress import rules

    settings = get_settings()
    path = Path(args.file)
    try:
        content = path.read_bytes()
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def work(session: AsyncSession) -> reports.ReportImportReport:
        return await reports.import_reports(
            session, _operator("import-reports"), content=content, filename=path.name, dry_run=args.dry_run,
            rules=rules.rules_of(settings), today=today(), limits=spreadsheets.Limits.of(settings),
            max_errors=settings.import_max_reported_errors)

    try:
        report = asyncio.run(_in_transaction(work))
    except AppError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        for issue in (exc.errors or [])[:50]:
            where = ", ".join(str(x) for x in (f"row {issue.get('row')}" if issue.get("row") else None,
                                               issue.get("column")) if x)
            print(f"  {where}: {issue['message']}", file=sys.stderr)
        return 1
    if args.json:
        print(report.model_dump_json(indent=2))
        return 0 if report.valid else 1
    verb = "would be" if report.dry_run else "were"
    print(f"{path.name}: {report.rows:,} rows; {report.filed:,} reports {verb} filed, {report.invalid:,} invalid"
          + (" (dry run: nothing written)" if report.dry_run else ""))
    for error in report.errors[:50]:
        print(f"  row {error.row}, {error.column}: {error.message}", file=sys.stderr)
    return 0 if report.valid else 1


def _report_monthly(args: argparse.Namespace) -> int:
    from app.clock import today
    from app.services.stats import bulletin, timeline

    settings = get_settings()
    progress = _ProgressLine()
    try:
        known_on = timeline.known_by(args.known_on, settings.timezone) if args.known_on else None
    except (ValueError, OverflowError):
        print(f"error: --known-on {args.known_on!r} is not an ISO 8601 date or date and time", file=sys.stderr)
        return 2

    async def work(session: AsyncSession) -> bulletin.Figures:
        return await bulletin.gather(session, _operator("report"), year=args.year, month=args.month,
                                     settings=settings, today=today(), progress=progress, known_on=known_on)

    try:
        figures = asyncio.run(_in_transaction(work))
    except AppError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    progress("writing", 0, 1)
    try:
        with open(args.output, "wb") as out:
            bulletin.save(figures, out)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    progress("writing", 1, 1)
    print(f"{args.output}: the bulletin of {args.year}-{args.month:02d} as of {figures.as_of} "
          f"({len(bulletin.SHEETS)} sheets)")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.observability import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                proxy_headers=True, log_config=None, access_log=False,
                timeout_graceful_shutdown=settings.graceful_shutdown_seconds)
    return 0


def _worker(args: argparse.Namespace) -> int:
    import logging
    import signal
    from contextlib import suppress

    from app.services.ledger import jobs
    from app.worker import Worker, make_http_client, worker_name

    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def run() -> None:
        engine = make_engine(settings)
        client = make_http_client(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sessionmaker = make_sessionmaker(engine)
        importer = asyncio.create_task(jobs.periodic(sessionmaker, settings, worker=worker_name()))
        try:
            # An attempt under way when the signal comes is finished and recorded first; an
            # import job under way is handed back, for this or another process to take up.
            await Worker(sessionmaker, client, settings).run(stop)
        finally:
            importer.cancel()
            with suppress(asyncio.CancelledError):
                await importer
            await client.aclose()
            await engine.dispose()

    asyncio.run(run())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipeline", description="The investment-project pipeline service.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database to the latest migration")
    serve = sub.add_parser("serve", help="run the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    seed = sub.add_parser("seed-demo", help="load the demo data set into an empty database")
    seed.add_argument("--if-empty", action="store_true", help="do nothing (and succeed) if projects exist")
    key = sub.add_parser("create-key", help="issue an API key; the key is printed alone on the last line")
    key.add_argument("--role", required=True, choices=[r.value for r in Role])
    key.add_argument("--name", required=True)
    binding = key.add_mutually_exclusive_group()
    binding.add_argument("--leader", type=int, help="the leader a leader key acts for")
    binding.add_argument("--unit", type=int, help="the unit a unit key acts for")
    esc = sub.add_parser("escalate", help="escalate overdue difficulties up the ladder")
    esc.add_argument("--today", type=date.fromisoformat, default=None,
                     help="the business date to judge overdue by (YYYY-MM-DD); the city's today by default")
    sub.add_parser("worker", help="deliver webhooks and run import jobs (until SIGINT or SIGTERM) without serving "
                                  "the API")
    ledger = sub.add_parser("import", help="load a ledger (台账): every row, or (on any invalid row) nothing")
    ledger.add_argument("file", help="an .xlsx workbook or a .csv file")
    ledger.add_argument("--dry-run", action="store_true", help="check and report only; write nothing")
    ledger.add_argument("--as-of", help="the ledger's date (YYYY-MM-DD) for stage moves without one; today if omitted")
    ledger.add_argument("--json", action="store_true", help="print the full report as JSON")
    monthly = sub.add_parser("import-reports", help="file monthly reports (月报) from a ledger: all rows, or none")
    monthly.add_argument("file", help="an .xlsx workbook or a .csv file")
    monthly.add_argument("--dry-run", action="store_true", help="check and report only; write nothing")
    monthly.add_argument("--json", action="store_true", help="print the full report as JSON")
    report = sub.add_parser("report", help="write a report file")
    kinds = report.add_subparsers(dest="report", required=True)
    bulletin = kinds.add_parser("monthly", help="the monthly bulletin (通报) workbook")
    bulletin.add_argument("--year", type=int, required=True)
    bulletin.add_argument("--month", type=int, required=True, choices=range(1, 13), metavar="1-12")
    bulletin.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
    bulletin.add_argument("--known-on", help="read the statistics by what had been recorded by this instant "
                                             "(ISO 8601; a date is its end in the city's time zone): a past "
                                             "bulletin made again")
    args = parser.parse_args(argv)

    if args.command == "migrate":
        migrate()
        print("database is at the latest migration")
        return 0
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "serve": _serve, "seed-demo": _seed_demo, "create-key": _create_key, "escalate": _escalate,
        "worker": _worker, "import": _import, "import-reports": _import_reports,
        "report": _report_monthly}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
