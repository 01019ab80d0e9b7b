"""``/imports/projects`` and ``/exports/projects``: the bureau's ledger (台账) in and out."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

from app.clock import today
from app.config import Settings
from app.deps import Allowed, AppRoute, Session, current_principal, settings_of
from app.models.enums import ImportKind
from app.models.ledger import ImportReport
from app.routers.common import FieldError, Id, Problem, problems
from app.routers.projects import project_filters
from app.services.access.permissions import Action, Principal
from app.services.ledger import columns, exports, jobs, spreadsheets
from app.services.ledger import reports as reports_ledger
from app.services.projects.projects import ProjectFilters

# Room for the multipart envelope around the file itself.


# Upload size: the request layer refuses a body over Settings.body_limit (413) before it is read.
imports_router = APIRouter(prefix="/api/v1/imports", tags=["ledger"], route_class=AppRoute,
                           responses=problems())
exports_router = APIRouter(prefix="/api/v1/exports", tags=["ledger"], route_class=AppRoute, responses=problems())


def _column_table() -> str:
    lines = ["| header | English | notes |", "|---|---|---|"]
    for column in columns.COLUMNS:
        aliases = "、".join(a for a in column.aliases if not a.isascii())
        notes = "; ".join(n for n in (column.note, f"also {aliases}" if aliases else "") if n)
        lines.append(f"| {columns.header_of(column)} | `{column.key}` | {notes} |")
    return "\n".join(lines)


IMPORT_DESCRIPTION = f"""Load a ledger (台账): an `.xlsx` workbook (its first sheet) or a `.csv` file
(UTF-8, with or without BOM, or GB18030/GBK).

The header row (a title row may come before it) names the columns, in Chinese or English,
in any order; unknown columns are ignored. Amounts are in the unit the header says:
`总投资(元)`, `总投资(万元)`, `总投资(亿元)`, `total_investment (10k)`. Rows are matched to
projects by 项目代码, else by 项目名称 and 投资方; leaders and units by name.

With `dry_run=true` nothing is written: the report says, row by row, what is wrong and what
would be created or updated. A real run writes every row or, if any row is invalid, nothing
(422 `ledger_invalid`, with the same report under `report`).

A file of at most `IMPORT_SYNC_MAX_ROWS` rows (500 by default) is imported during the request:
200 with the report. A larger one is filed as an import job: 202 with the job and
`Location: /api/v1/imports/{id}`; poll it until `status` is `finished` (its `report` is the
one a synchronous import answers) or `failed` (its `problem` says why; nothing was written).

{_column_table()}
"""


class LedgerFieldError(FieldError):
    row: int | None = None
    column: str | None = None
    value: str | None = None


class LedgerProblem(Problem):
    """A refused import: ``errors`` names each invalid cell; ``report`` is the whole import report."""

    errors: list[LedgerFieldError] | None = None  # type: ignore[assignment]
    report: ImportReport | None = None


def _accepted(description: str) -> dict[int | str, dict[str, Any]]:
    return {202: {"model": jobs.ImportJobRead, "description": description,
                  "headers": {"Location": {"description": "The job: `/api/v1/imports/{id}`.",
                                           "schema": {"type": "string"}}}}}


def _answer(result: jobs.Report | jobs.ImportJobRead) -> Any:
    """A report as it is (200); a job filed as 202, pointing at it."""
    if isinstance(result, jobs.ImportJobRead):
        return JSONResponse(result.model_dump(mode="json"), status_code=202,
                            headers={"Location": f"{imports_router.prefix}/{result.id}"})
    return result


IMPORT_RESPONSES = {**problems(413), 422: {
    "model": LedgerProblem,
    "description": "Invalid input, an unreadable file (`unsupported_file`, `ledger_header`, `too_many_rows`), "
                   "or invalid rows (`ledger_invalid`, with the report): nothing was written.",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/LedgerProblem"}}}}}


@imports_router.post("/projects", response_model=ImportReport, description=IMPORT_DESCRIPTION,
                     responses={**IMPORT_RESPONSES, **_accepted("A large ledger, filed as an import job.")})
async def import_projects(
    file: Annotated[UploadFile, File(description="The ledger: .xlsx or .csv.")],
    session: Session,
    settings: Annotated[Settings, Depends(settings_of)],
    principal: Principal = Allowed(Action.project_import),
    dry_run: Annotated[bool, Query(description="Check and report only; write nothing.")] = False,
    as_of: Annotated[date | None, Query(
        description="The ledger's date: stage moves of rows without 进入阶段日期 are dated on it; today if omitted.",
    )] = None,
) -> Any:
    """Import projects from a ledger file, all or nothing: at once, or as a job for a large file."""
    work = jobs.Work(kind=ImportKind.projects, actor=principal, content=await file.read(), filename=file.filename,
                     dry_run=dry_run, as_of=as_of)
    return _answer(await jobs.submit(session, work, settings, today=today()))


@imports_router.get("/{job_id}", response_model=jobs.ImportJobRead, responses=problems(404))
async def get_import_job(
    job_id: Id,
    session: Session,
    principal: Annotated[Principal, Depends(current_principal, scope="function")],
) -> jobs.ImportJobRead:
    """An import job: its status, its progress (`rows_done` of `rows_total`) and, once finished, its
    report. The key that filed it, and admin and bureau keys, may read it; to others it is 404."""
    return await jobs.get_job(session, principal, job_id)


@exports_router.get(
    "/projects", response_class=StreamingResponse,
    responses={200: {"description": "The ledger file.",
                     "content": {spreadsheets.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                                 "text/csv": {"schema": {"type": "string", "format": "binary"}}}}})
async def export_projects(
    request: Request,
    session: Session,
    filters: Annotated[ProjectFilters, Depends(project_filters)],
    settings: Annotated[Settings, Depends(settings_of)],
    principal: Principal = Allowed(Action.project_export),
    format: Annotated[Literal["xlsx", "csv"], Query(description="xlsx (default) or csv (UTF-8 with BOM).")] = "xlsx",
) -> StreamingResponse:
    """Export the ledger (台账) of the projects this key may see, with the project list's filters.

    Chinese headers, amounts in 万元, dates as dates, the same columns an import reads: an
    exported ledger imported again changes nothing. Streamed, whatever its size."""
    export = await exports.export_projects(session, request.app.state.sessionmaker, principal, filters=filters,
                                           fmt=format, batch_size=settings.export_batch_size, today=today())
    return StreamingResponse(export.body, media_type=export.media_type,
                             headers={"Content-Disposition": export.content_disposition})


@imports_router.post("/progress-reports", response_model=reports_ledger.ReportImportReport,
                     responses={**IMPORT_RESPONSES, **_accepted("A large ledger, filed as an import job.")})
async def import_progress_reports(
    file: Annotated[UploadFile, File(description="The ledger of monthly reports: .xlsx or .csv.")],
    session: Session,
    settings: Annotated[Settings, Depends(settings_of)],
    principal: Principal = Allowed(Action.report_import),
    dry_run: Annotated[bool, Query(description="Check and report only; write nothing.")] = False,
) -> Any:
    """File monthly reports (月报) from a ledger, all or nothing, as the importing key: 项目代码 (or
    项目名称), 年度, 月份, 本月完成投资(万元), 本月到位资金(万元), 实际使用外资(万美元), 形象进度,
    存在问题, 下月计划 (`docs/PROGRESS.md`). Each row becomes a submitted version, reviewed as any other.
    A file of more than `IMPORT_SYNC_MAX_ROWS` rows is filed as an import job (202)."""
    work = jobs.Work(kind=ImportKind.progress_reports, actor=principal, content=await file.read(),
                     filename=file.filename, dry_run=dry_run, as_of=None)
    return _answer(await jobs.submit(session, work, settings, today=today()))


@exports_router.get(
    "/progress-reports", response_class=StreamingResponse,
    responses={200: {"description": "The ledger of monthly reports.",
                     "content": {spreadsheets.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
                                 "text/csv": {"schema": {"type": "string", "format": "binary"}}}}})
async def export_progress_reports(
    session: Session,
    year: Annotated[int, Query(ge=2000, le=2100)],
    principal: Principal = Allowed(Action.report_export),
    month: Annotated[int | None, Query(ge=1, le=12, description="One month; the whole year if omitted.")] = None,
    format: Annotated[Literal["xlsx", "csv"], Query(description="xlsx (default) or csv (UTF-8 with BOM).")] = "xlsx",
) -> StreamingResponse:
    """The monthly reports the key may see: each project's latest version of each month, with
    the import's Chinese headers, amounts in 万元 (FDI in 万美元), its status and version."""
    export = await reports_ledger.export_reports(session, principal, year=year, month=month, fmt=format,
                                                 today=today())
    ascii_name = f"progress-reports-{year}" + (f"-{month:02d}" if month else "") + f".{format}"
    return StreamingResponse(export.body, media_type=export.media_type, headers={
        "Content-Disposition": spreadsheets.attachment(ascii_name, export.filename)})
