"""The ledger of monthly reports (月报台账): a file of reports in, and out.

It reuses the project ledger's machinery: the same safe readers (``spreadsheets``: size,
zip-bomb and row limits, xlsx or csv, GB18030), the same cell readers (``columns``:
amounts in a header's unit, text, escapes) and the same report pieces (``LedgerIssue``).
Its own is only its column map:

    项目代码 项目名称 年度 月份 本月完成投资(万元) 本月到位资金(万元) 实际使用外资(万美元)
    形象进度 存在问题 下月计划                               (+ 序号, 状态, 版本: ignored)

Rows are matched to projects by 项目代码, else by 项目名称. Every row is checked as the API
checks a filing (the models' validators, the month, FDI only on foreign projects, no
version awaiting review, each month once in the file); a dry run stops there. A real run
with any invalid row answers 422 ``ledger_invalid`` and writes nothing; else every row is
filed through ``reports.file`` as the importing key (submitted, then reviewed like any
other), each with its audit event and webhook, and one ``import`` event records the file.
本月到位资金 is one total: an import files it as source ``other``; an export writes the
sum of the sources.
"""

import hashlib
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import anyio.to_thread
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import AppError, InvalidInput
from app.models import ProgressReport, Project
from app.models.enums import FundingSource, ReportStatus
from app.models.ledger import LedgerColumnRead, LedgerFormat, LedgerIssue
from app.models.progress import FUNDS_COLUMNS, ProgressReportCreate
from app.services.access.permissions import Principal, project_scope
from app.services.common import audit
from app.services.ledger import columns, spreadsheets
from app.services.ledger.columns import WAN, CellError
from app.services.ledger.exports import Export
from app.services.progress import reports
from app.services.progress.rules import ReportingRules

WAN_USD = Decimal(10_000)


def _int(low: int, high: int) -> Callable[[Any], int | None]:
    def read(raw: Any) -> int | None:
        text = columns.read_text(raw)
        if text is None:
            return None
        text = text.removesuffix("年").removesuffix("月")
        if not text.isdigit() or not low <= int(text) <= high:
            raise CellError(f"is not a whole number from {low} to {high}")
        return int(text)
    return read


@dataclass(frozen=True)
class ReportColumn:
    key: str
    header: str
    aliases: tuple[str, ...] = ()
    read: Callable[[Any], Any] = columns.read_text
    width: int = 14


COLUMNS: tuple[ReportColumn, ...] = (
    ReportColumn("row_number", "序号", ("no", "#"), read=lambda raw: None, width=6),
    ReportColumn("code", "项目代码", ("项目编码", "project_code"), read=columns.read_code, width=26),
    ReportColumn("name", "项目名称", ("名称", "project_name"), width=40),
    ReportColumn("year", "年度", ("年份", "year"), read=_int(2000, 2100), width=8),
    ReportColumn("month", "月份", ("月", "month"), read=_int(1, 12), width=8),
    ReportColumn("investment", "本月完成投资(万元)", ("本月完成投资", "investment_completed"),
                 read=lambda raw: columns.read_amount(raw, WAN), width=16),
    ReportColumn("funds", "本月到位资金(万元)", ("本月到位资金", "funds_arrived"),
                 read=lambda raw: columns.read_amount(raw, WAN), width=16),
    ReportColumn("fdi", "实际使用外资(万美元)", ("实际使用外资", "fdi_utilised"),
                 read=lambda raw: columns.read_amount(raw, WAN_USD), width=16),
    ReportColumn("physical_progress", "形象进度", ("physical_progress",), width=30),
    ReportColumn("problems", "存在问题", ("problems",), width=30),
    ReportColumn("next_month_plan", "下月计划", ("next_month_plan",), width=30),
    ReportColumn("status", "状态", ("审核状态",), read=lambda raw: None, width=12),
    ReportColumn("revision", "版本", (), read=lambda raw: None, width=6),
)
_LOOKUP = {columns.comparable(text): c for c in COLUMNS for text in (c.key, c.header, *c.aliases)}
FIELD_COLUMN = {"investment_completed": "investment", "funds_arrived": "funds", "fdi_utilised": "fdi"}


class ReportImportRow(BaseModel):
    row: int
    project_id: int
    year: int
    month: int
    report_id: int | None = Field(description="The version filed; null in a dry run.")


class ReportImportReport(BaseModel):
    """The result of a monthly-report ledger import, or of its dry run."""

    dry_run: bool
    valid: bool
    file_name: str | None
    format: LedgerFormat
    sha256: str
    sheet: str | None
    header_row: int
    columns: list[LedgerColumnRead]
    rows: int
    filed: int = Field(description="Reports filed (or, in a dry run, that would be).")
    invalid: int
    errors: list[LedgerIssue]
    warnings: list[LedgerIssue]
    reports: list[ReportImportRow]


@dataclass
class _Sheet:
    format: LedgerFormat
    name: str | None
    header_row: int
    header: list[tuple[int, str, ReportColumn | None]]
    rows: list[tuple[int, dict[str, Any], list[LedgerIssue]]]


def _read(content: bytes, filename: str | None, limits: spreadsheets.Limits) -> _Sheet:
    """The file's header and rows, read (blocking: run in a worker thread)."""
    sheet = spreadsheets.read(content, filename, limits)
    header: list[tuple[int, str, ReportColumn | None]] | None = None
    header_row = 0
    rows: list[tuple[int, dict[str, Any], list[LedgerIssue]]] = []
    for number, cells in sheet.rows:
        if header is None:
            found = [(i, str(c).strip(), _LOOKUP.get(columns.comparable(str(c)))) for i, c in enumerate(cells)
                     if c is not None and str(c).strip()]
            keys = {c.key for _, _, c in found if c is not None}
            if {"year", "month", "investment"} <= keys and keys & {"code", "name"}:
                header, header_row = found, number
            elif number >= spreadsheets.HEADER_SEARCH_ROWS:
                break
            continue
        if all(c is None or not str(c).strip() for c in cells):
            continue
        if len(rows) >= limits.max_rows:
            raise InvalidInput.field("file", f"has more than {limits.max_rows:,} rows: split the ledger",
                                     code="too_many_rows")
        values: dict[str, Any] = {}
        issues: list[LedgerIssue] = []
        for position, text, column in header:
            if column is None:
                continue
            raw = cells[position] if position < len(cells) else None
            try:
                values[column.key] = column.read(raw)
            except CellError as exc:
                issues.append(LedgerIssue(row=number, column=text, field=column.key, value=columns.shorten(raw),
                                          message=str(exc)))
        if values.get("name") in columns.TOTAL_ROW_NAMES:
            continue
        rows.append((number, values, issues))
    if header is None:
        raise InvalidInput("The ledger cannot be read: no header row naming 项目代码 or 项目名称, 年度, 月份 and "
                           "本月完成投资(万元) in its first rows.", code="ledger_header",
                           errors=[{"field": "file", "message": "no header row found"}])
    return _Sheet(format=sheet.format, name=sheet.name, header_row=header_row, header=header, rows=rows)


def _cny(amount: Decimal | None) -> dict[str, str] | None:
    return None if amount is None else {"amount": str(amount), "currency": "CNY"}


def _body(values: dict[str, Any]) -> dict[str, Any]:
    cny = _cny
    body: dict[str, Any] = {"year": values.get("year"), "month": values.get("month"),
                            "investment_completed": cny(values.get("investment")),
                            "physical_progress": values.get("physical_progress"),
                            "problems": values.get("problems"), "next_month_plan": values.get("next_month_plan")}
    if values.get("funds"):
        body["funds_arrived"] = [{"source": "other", "amount": cny(values["funds"])}]
    if values.get("fdi") is not None:
        body["fdi_utilised"] = {"amount": str(values["fdi"]), "currency": "USD"}
    return {k: v for k, v in body.items() if v is not None}


async def _projects(session: AsyncSession, principal: Principal, rows: list[Any]) -> tuple[
        dict[str, Project], dict[str, list[Project]]]:
    codes = {v["code"] for _, v, _ in rows if v.get("code")}
    names = {v["name"] for _, v, _ in rows if v.get("name") and not v.get("code")}
    found = (await session.execute(select(Project).where(
        project_scope(principal), col(Project.archived_at).is_(None),
        or_(col(Project.code).in_(codes), col(Project.name).in_(names))))).scalars().all()
    by_code = {p.code: p for p in found if p.code}
    by_name: dict[str, list[Project]] = {}
    for p in found:
        by_name.setdefault(p.name, []).append(p)
    return by_code, by_name


async def import_reports(session: AsyncSession, principal: Principal, *, content: bytes, filename: str | None,
                         dry_run: bool, rules: ReportingRules, today: date, limits: spreadsheets.Limits,
                         max_errors: int) -> ReportImportReport:
    """Check a file of monthly reports row by row; unless a dry run, file all of them, or (422) none."""
    sha256 = hashlib.sha256(content).hexdigest()
    sheet = await anyio.to_thread.run_sync(_read, content, filename, limits)
    header_text = {c.key: text for _, text, c in sheet.header if c is not None}
    by_code, by_name = await _projects(session, principal, sheet.rows)
    errors: list[LedgerIssue] = []
    planned: list[tuple[int, Project, ProgressReportCreate]] = []
    seen: dict[tuple[int, int, int], int] = {}
    invalid = 0
    for number, values, issues in sheet.rows:
        issues = list(issues)

        def issue(key: str, message: str, issues: list[LedgerIssue] = issues, number: int = number) -> None:
            issues.append(LedgerIssue(row=number, column=header_text.get(key), field=key, message=message))

        project = None
        if values.get("code"):
            project = by_code.get(values["code"])
            if project is None:
                issue("code", f"no project with code {values['code']} (or not yours to report on)")
        elif values.get("name"):
            matches = by_name.get(values["name"], [])
            if len(matches) != 1:
                issue("name", "no project of that name" if not matches else "several projects have that name: "
                      "give 项目代码")
            else:
                project = matches[0]
        else:
            issue("code", "each row names its project: 项目代码 or 项目名称")
        data = None
        if not any(i.field in ("year", "month", "investment") for i in issues):
            try:
                data = ProgressReportCreate.model_validate(_body(values))
            except ValidationError as exc:
                for e in exc.errors():
                    field = str(e["loc"][0]) if e["loc"] else str(e["msg"]).split(":")[0].removeprefix("Value error, ")
                    issue(FIELD_COLUMN.get(field, field if field in header_text else "investment"),
                          str(e["msg"]).removeprefix("Value error, "))
        if project is not None and data is not None:
            key = (project.id or 0, data.year, data.month)
            if (data.year, data.month) > (today.year, today.month):
                issue("month", f"{data.year}-{data.month:02d} is in the future")
            if data.fdi_utilised is not None and project.funding_source != FundingSource.foreign.value:
                issue("fdi", "only a foreign-funded project utilises foreign investment")
            if key in seen:
                issue("month", f"the same project and month as row {seen[key]}")
            seen.setdefault(key, number)
            pending = (await session.execute(select(func.count()).where(
                col(ProgressReport.project_id) == project.id, col(ProgressReport.year) == data.year,
                col(ProgressReport.month) == data.month,
                col(ProgressReport.status) == ReportStatus.submitted.value))).scalar_one()
            if pending:
                issue("month", "a version of this month awaits review: review it before filing again")
        if issues:
            invalid += 1
            errors.extend(issues[:max(0, max_errors - len(errors))])
        elif project is not None and data is not None:
            planned.append((number, project, data))
    report = ReportImportReport(
        dry_run=dry_run, valid=invalid == 0, file_name=filename, format=sheet.format, sha256=sha256,
        sheet=sheet.name, header_row=sheet.header_row,
        columns=[LedgerColumnRead(header=text, field=c.key if c else None) for _, text, c in sheet.header],
        rows=len(sheet.rows), filed=len(planned), invalid=invalid, errors=errors,
        warnings=[LedgerIssue(row=sheet.header_row, column=text, message="is not a column of the report ledger: "
                              "ignored") for _, text, c in sheet.header if c is None],
        reports=[ReportImportRow(row=n, project_id=p.id or 0, year=d.year, month=d.month, report_id=None)
                 for n, p, d in planned])
    if dry_run:
        return report
    if invalid:
        first = errors[0]
        raise InvalidInput(f"{invalid:,} of {len(sheet.rows):,} rows are invalid; nothing was imported. First: row "
                           f"{first.row}, {first.column}: {first.message}", code="ledger_invalid",
                           errors=[{"field": e.field or "file", "message": e.message, "row": e.row,
                                    "column": e.column, "value": e.value} for e in errors],
                           extensions={"report": report.model_dump(mode="json")})
    for item, (number, project, data) in zip(report.reports, planned, strict=True):
        try:
            filed = await reports.file(session, principal, project.id or 0, data=data, rules=rules, today=today)
        except AppError as exc:
            raise InvalidInput(f"Row {number} was refused: {exc.detail} Nothing was imported.",
                               code="ledger_invalid") from exc
        item.report_id = filed.id
    await audit.record(session, principal, action="import", resource_type="report_ledger", resource_id=sha256,
                       after={"file_name": filename, "format": report.format, "rows": report.rows,
                              "filed": report.filed})
    return report


# --- export -----------------------------------------------------------------------------------

EXPORTED = [c for c in COLUMNS]


async def export_reports(session: AsyncSession, principal: Principal, *, year: int, month: int | None,
                         fmt: LedgerFormat, today: date) -> Export:
    """The latest version of each project's reports of the year (or the month) the key may see."""
    r = ProgressReport
    latest = (select(col(r.project_id), col(r.year), col(r.month), func.max(col(r.revision)).label("revision"))
              .where(col(r.year) == year, *([col(r.month) == month] if month else []))
              .group_by(col(r.project_id), col(r.year), col(r.month)).subquery("latest"))
    rows = (await session.execute(
        select(ProgressReport, col(Project.code), col(Project.name))
        .join(latest, (latest.c.project_id == col(r.project_id)) & (latest.c.year == col(r.year))
              & (latest.c.month == col(r.month)) & (latest.c.revision == col(r.revision)))
        .join(Project, col(Project.id) == col(r.project_id))
        .where(project_scope(principal), col(Project.archived_at).is_(None))
        .order_by(col(r.month), col(Project.id)))).all()
    cells = []
    for number, (report, code, name) in enumerate(rows, start=1):
        funds = [getattr(report, c) for c in FUNDS_COLUMNS.values() if getattr(report, c) is not None]
        values = [number, code, name, report.year, report.month, columns.in_wan(report.investment_amount),
                  columns.in_wan(sum(funds, Decimal(0))) if funds else None,
                  columns.in_wan(report.fdi_utilised_amount) if report.fdi_utilised_amount is not None else None,
                  report.physical_progress, report.problems, report.next_month_plan,
                  ReportStatus(report.status).label, report.revision]
        cells.append([columns.escape(v) if isinstance(v, str) else v for v in values])
    headers = [c.header for c in EXPORTED]
    stem = f"月报台账-{year}" + (f"-{month:02d}" if month else "")
    if fmt == "csv":
        return Export(spreadsheets.CSV_MEDIA_TYPE, f"{stem}.csv", _once(
            spreadsheets.csv_chunk([headers], bom=True) + spreadsheets.csv_chunk(cells)))
    content = await anyio.to_thread.run_sync(_xlsx, headers, [c.width for c in EXPORTED], cells)
    return Export(spreadsheets.XLSX_MEDIA_TYPE, f"{stem}.xlsx", _once(content))


def _xlsx(headers: list[str], widths: list[int], cells: list[list[Any]]) -> bytes:
    book = spreadsheets.XlsxLedger(headers, widths, title="月报台账")
    try:
        book.append(cells)
        with tempfile.TemporaryFile() as out:
            book.save(out)
            out.seek(0)
            return out.read()
    finally:
        book.discard()


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content
