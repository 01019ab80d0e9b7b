"""``/imports/projects`` and ``/exports/projects``: the bureau's ledger (台账) in and out."""

from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import StreamingResponse

from app.clock import today
from app.config import Settings
from app.deps import Allowed, AppRoute, Session, settings_of
from app.models.ledger import ImportReport
from app.routers.common import FieldError, Problem, problems
from app.routers.projects import project_filters
from app.services.access.permissions import Action, Principal
from app.services.ledger import columns, exports, imports, spreadsheets
from app.services.ledger import reports as reports_ledger
from app.services.progress import rules as report_rules
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


IMPORT_RESPONSES = {**problems(413), 422: {
    "model": LedgerProblem,
    "description": "Invalid input, an unreadable file (`unsupported_file`, `ledger_header`, `too_many_rows`), "
                   "or invalid rows (`ledger_invalid`, with the report): nothing was written.",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/LedgerProblem"}}}}}


@imports_router.post("/projects", response_model=ImportReport, responses=IMPORT_RESPONSES,
                     description=IMPORT_DESCRIPTION)
async def import_projects(
    file: Annotated[UploadFile, File(description="The ledger: .xlsx or .csv.")],
    session: Session,
    settings: Annotated[Settings, Depends(settings_of)],
    principal: Principal = Allowed(Action.project_import),
    dry_run: Annotated[bool, Query(description="Check and report only; write nothing.")] = False,
    as_of: Annotated[date | None, Query(
        description="The ledger's date: stage moves of rows without 进入阶段日期 are dated on it; today if omitted.",
    )] = None,
) -> ImportReport:
    """Import projects from a ledger file, all or nothing."""
    content = await file.read()
    return await imports.import_projects(session, principal, content=content, filename=file.filename,
                                         dry_run=dry_run, today=today(), as_of=as_of,
                                         limits=spreadsheets.Limits.of(settings),
                                         max_errors=settings.import_max_reported_errors,
                                         max_changes=settings.import_max_reported_changes)


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
                     responses=IMPORT_RESPONSES)
async def import_progress_reports(
    file: Annotated[UploadFile, File(description="The ledger of monthly reports: .xlsx or .csv.")],
    session: Session,
    settings: Annotated[Settings, Depends(settings_of)],
    principal: Principal = Allowed(Action.report_import),
    dry_run: Annotated[bool, Query(description="Check and report only; write nothing.")] = False,
) -> reports_ledger.ReportImportReport:
    """File monthly reports (月报) from a ledger, all or nothing, as the importing key: 项目代码 (or
    项目名称), 年度, 月份, 本月完成投资(万元), 本月到位资金(万元), 实际使用外资(万美元), 形象进度,
    存在问题, 下月计划 (`docs/PROGRESS.md`). Each row becomes a submitted version, reviewed as any other."""
    content = await file.read()
    return await reports_ledger.import_reports(session, principal, content=content, filename=file.filename,
                                               dry_run=dry_run, rules=report_rules.rules_of(settings),
                                               today=today(), limits=spreadsheets.Limits.of(settings),
                                               max_errors=settings.import_max_reported_errors)


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
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(export.filename)}"})
