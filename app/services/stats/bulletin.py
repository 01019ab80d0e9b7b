"""The monthly bulletin (通报): one print-ready workbook of the month's statistics.

Every figure is read from the service functions the statistics endpoints answer with, for
the same ``as_of`` (the month's last day, or today if earlier), so the workbook can never
say something ``/stats/*`` does not. Amounts are converted only for display, exactly
(Decimal), into the unit each header names. Sheets are listed in ``docs/BULLETIN.md``.

With ``known_on`` the statistics are read by what had been recorded by that instant, as
the same endpoints read them with it: last month's bulletin made again, the corrections
recorded since left out. The lists of missing reports and overdue items take no
``known_on``: their sheets say they are read as recorded now.
"""

import calendar
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import Settings
from app.errors import InvalidInput
from app.models import Leader, Unit, ZoneEntry
from app.models.enums import InvestmentDimension, PipelineDimension, ProjectHealth, Stage
from app.models.forecast import ForecastStats
from app.models.investment import InvestmentStats
from app.models.progress import MissingReports
from app.models.stats import PipelineStats, ProjectHealthRead, TargetStats
from app.services.access.permissions import Principal
from app.services.common import pagination
from app.services.ledger import spreadsheets
from app.services.progress import missing as missing_reports
from app.services.progress import rules as report_rules
from app.services.stats import forecast as forecast_stats
from app.services.stats import health, target_progress
from app.services.stats import investment as investment_stats
from app.services.stats import pipeline as pipeline_stats
from app.services.supervision import difficulties, items

WAN = Decimal(10_000)
YI = Decimal(100_000_000)
PAGE = 200

RANKED = ((InvestmentDimension.unit, "单位排名", "责任单位"), (InvestmentDimension.zone, "区域排名", "区(市)"),
          (InvestmentDimension.leader, "领导排名", "包挂领导"))
SHEETS = ("封面", *(name for _, name, _ in RANKED), "红黄项目", "月报缺报迟报", "逾期事项", "预计未完成",
          "项目阶段", "累计投资")

Progress = Callable[[str, int, int], None]


def wan(amount: Decimal) -> Decimal:
    """An amount in yuan, in 万元 (exact)."""
    return amount / WAN


def yi(amount: Decimal) -> Decimal:
    """An amount in yuan, in 亿元 (exact)."""
    return amount / YI


def bulletin_dates(year: int, month: int, today: date) -> tuple[date, date]:
    """The bulletin's ``as_of`` (the month's last day, or today if earlier) and the previous
    month's last day, which "changed since last month" compares with."""
    if (year, month) > (today.year, today.month):
        raise InvalidInput.field("month", f"{year}-{month:02d} is in the future (today is {today})")
    as_of = min(date(year, month, calendar.monthrange(year, month)[1]), today)
    prev_year, prev_month = (year, month - 1) if month > 1 else (year - 1, 12)
    previous = date(prev_year, prev_month, calendar.monthrange(prev_year, prev_month)[1])
    return as_of, previous


@dataclass
class Figures:
    """What the bulletin shows, each as the endpoint named in its comment answers it."""

    year: int
    month: int
    as_of: date
    previous_as_of: date
    # The lists of missing reports and of overdue items exist only as of today (their
    # endpoints take no as_of): their sheets say so in their titles.
    read_on: date
    known_on: datetime | None  # the statistics by what had been recorded by then (None: now)
    targets: TargetStats                                 # /stats/targets?as_of
    previous_targets: TargetStats                        # /stats/targets?as_of=previous
    investment: InvestmentStats                          # /stats/investment?month
    previous_investment: InvestmentStats | None          # /stats/investment?month=month-1 (None in January)
    ranked: dict[InvestmentDimension, InvestmentStats]   # /stats/investment?group_by
    monthly: list[InvestmentStats]                       # /stats/investment?month=1..month
    pipeline: PipelineStats                              # /stats/pipeline?group_by=stage&funnel=false
    statuses: list[ProjectHealthRead]                    # /stats/project-health?health=red&health=amber
    missing: MissingReports                              # /progress-reports/missing
    difficulties: list[Any]                              # /difficulties?overdue=true
    tasks: list[Any]                                     # /supervision-tasks?overdue=true
    forecast: ForecastStats | None                       # /stats/forecast (None before a month is due)
    names: dict[str, dict[Any, str]] = field(default_factory=dict)


async def _names(session: AsyncSession) -> dict[str, dict[Any, str]]:
    units = (await session.execute(select(col(Unit.id), col(Unit.name)))).all()
    leaders = (await session.execute(select(col(Leader.id), col(Leader.name)))).all()
    zones = (await session.execute(select(col(ZoneEntry.key), col(ZoneEntry.name)))).all()
    return {"unit": dict(units), "leader": dict(leaders), "zone": dict(zones)}


async def gather(session: AsyncSession, principal: Principal, *, year: int, month: int, settings: Settings,
                 today: date, progress: Progress | None = None, known_on: datetime | None = None) -> Figures:
    """Read every figure of the bulletin, in ``session``; the statistics by what had been recorded
    by ``known_on`` (None: now)."""
    as_of, previous = bulletin_dates(year, month, today)
    steps = 9 + month
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress("reading", done, steps)

    inv_rules = investment_stats.rules_of(settings)

    async def investment(m: int, group_by: InvestmentDimension | None) -> InvestmentStats:
        return await investment_stats.investment(session, year=year, month=m, as_of=as_of, group_by=group_by,
                                                 rules=inv_rules, today=today, known_on=known_on)

    targets = await target_progress.target_stats(session, year=year, as_of=as_of, today=today, known_on=known_on)
    previous_targets = await target_progress.target_stats(session, year=year, as_of=previous, today=today,
                                                          known_on=known_on)
    step()
    monthly = []
    for m in range(1, month + 1):
        monthly.append(await investment(m, None))
        step()
    ranked = {}
    for dimension, _, _ in RANKED:
        ranked[dimension] = await investment(month, dimension)
        step()
    pipeline = await pipeline_stats.pipeline(session, as_of=as_of, group_by=[PipelineDimension.stage],
                                             filters=pipeline_stats.PipelineFilters(), with_funnel=False,
                                             today=today, known_on=known_on)
    step()
    statuses: list[ProjectHealthRead] = await pagination.every_item(lambda cursor: health.list_health(
        session, as_of=as_of, rules=health.rules_of(settings), leader_id=[], unit_id=[],
        health=[ProjectHealth.red, ProjectHealth.amber], late=None, cursor=cursor, limit=PAGE, today=today,
        known_on=known_on))
    step()
    missing = await missing_reports.missing(session, principal, year=year, month=month,
                                            rules=report_rules.rules_of(settings), today=today)
    step()
    overdue_difficulties = await pagination.every_item(lambda cursor: difficulties.list_difficulties(
        session, principal, filters=difficulties.DifficultyFilters(overdue=True), sort="due_on", cursor=cursor,
        limit=PAGE, today=today))
    overdue_tasks = await pagination.every_item(lambda cursor: items.list_tasks(
        session, principal, filters=items.TaskFilters(overdue=True), sort="deadline", cursor=cursor, limit=PAGE,
        today=today))
    step()
    forecast: ForecastStats | None = None
    with contextlib.suppress(InvalidInput):  # no month of the year was due yet: nothing to forecast from
        forecast = await forecast_stats.forecast(
            session, year=year, as_of=as_of, group_by=None, tolerance=settings.forecast_miss_tolerance_percent,
            due_day=settings.progress_report_due_day, projects="expected_to_miss", today=today, known_on=known_on)
    step()
    names = await _names(session)
    step()
    return Figures(year=year, month=month, as_of=as_of, previous_as_of=previous, read_on=today, known_on=known_on,
                   targets=targets,
                   previous_targets=previous_targets, investment=monthly[-1],
                   previous_investment=monthly[-2] if month > 1 else None, ranked=ranked, monthly=monthly,
                   pipeline=pipeline, statuses=statuses, missing=missing, difficulties=overdue_difficulties,
                   tasks=overdue_tasks, forecast=forecast, names=names)


# --- the workbook ---------------------------------------------------------------------------

TITLE_FONT = Font(bold=True, size=14)
HEADER_FONT = Font(bold=True)
PERCENT = "0.00%"
AMOUNT = "#,##0.0000"


def _sheet(book: Workbook, name: str, f: Figures, headers: list[str], widths: list[int] | None = None, *,
           on: date | None = None) -> Worksheet:
    """A sheet with its title (naming the date its figures are as of: ``as_of`` unless ``on``
    says otherwise, and the knowledge they are read by) on row 1, headers on row 2, set up for print."""
    ws: Worksheet = book.create_sheet(name)
    # By an earlier knowledge, the statistics' sheets say which; the lists (``on``) are as recorded now.
    known = f"，以 {f.known_on.isoformat()} 前所记为准" if f.known_on is not None and on is None else ""
    title = f"{f.year}年{f.month}月 重点项目推进通报 · {name}（截至 {(on or f.as_of).isoformat()}{known}）"
    ws.cell(1, 1, title).font = TITLE_FONT
    for i, header in enumerate(headers, start=1):
        cell = ws.cell(2, i, header)
        cell.font = HEADER_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(i)].width = (widths[i - 1] if widths else max(12, len(header) * 2 + 2))
    ws.freeze_panes = "A3"
    ws.print_title_rows = "1:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    return ws


def _rows(ws: Worksheet, rows: list[list[Any]], formats: dict[int, str] | None = None) -> None:
    for r, values in enumerate(rows, start=3):
        for c, value in enumerate(values, start=1):
            cell = ws.cell(r, c, value)
            if formats and c in formats and isinstance(value, Decimal):
                cell.number_format = formats[c]


def _cover(book: Workbook, f: Figures) -> None:
    ws = _sheet(book, "封面", f, ["项目", "目标数", "目标金额(亿元)", "已完成数", "滞后数", "预计完成数",
                                 "上月已完成数", "较上月"], [34, 10, 14, 10, 10, 12, 12, 10])
    expected = {t.target_id: t.expected_done for t in (f.forecast.targets if f.forecast else [])}
    before = {t.target.id: t.done.count for t in f.previous_targets.items}
    rows: list[list[Any]] = []
    for t in f.targets.items:
        amount = t.target.target_amount
        rows.append([t.target.title, t.target.target_count,
                     yi(amount.amount) if amount is not None else None, t.done.count, t.late.count,
                     expected.get(t.target.id), before.get(t.target.id, 0),
                     t.done.count - before.get(t.target.id, 0)])
    _rows(ws, rows, {3: AMOUNT})
    r = len(rows) + 4
    total, prev = f.investment.total, f.previous_investment.total if f.previous_investment else None
    ws.cell(r, 1, "投资完成情况").font = HEADER_FONT
    lines: list[tuple[str, Any, str | None]] = [
        ("年度计划投资(亿元)", yi(total.planned.amount), AMOUNT),
        ("本年累计完成投资(亿元)", yi(total.completed_ytd.amount), AMOUNT),
        ("完成率", total.completion_rate, PERCENT),
        ("时间进度", f.investment.time_progress, PERCENT),
        ("较时间进度(百分点)", total.gap_points, None),
        ("上月累计完成投资(亿元)", yi(prev.completed_ytd.amount) if prev else None, AMOUNT),
        ("本月新增完成投资(亿元)",
         yi(total.completed_ytd.amount - prev.completed_ytd.amount) if prev else None, AMOUNT),
        ("上月完成率", prev.completion_rate if prev else None, PERCENT),
    ]
    if f.forecast:
        lines += [("预计全年完成投资(亿元)", yi(f.forecast.total.expected_investment.amount), AMOUNT),
                  ("预计未完成计划项目数", f.forecast.total.projects_expected_to_miss, None)]
    for i, (label, value, fmt) in enumerate(lines, start=r + 1):
        ws.cell(i, 1, label)
        cell = ws.cell(i, 2, value)
        if fmt:
            cell.number_format = fmt


def _ranking(book: Workbook, f: Figures, dimension: InvestmentDimension, name: str, label: str) -> None:
    stats = f.ranked[dimension]
    ws = _sheet(book, name, f, [label, "年度计划投资(万元)", "本年累计完成投资(万元)", "完成率", "时间进度",
                                "较时间进度(百分点)", "排名", "排名变化", "红", "黄", "绿"],
                [22, 16, 18, 10, 10, 14, 8, 10, 6, 6, 6])
    names = f.names.get(dimension.value, {})
    rows = [[names.get(g.key, str(g.key)) if g.key is not None else "无", wan(g.planned.amount),
             wan(g.completed_ytd.amount), g.completion_rate, stats.time_progress, g.gap_points, g.rank,
             g.rank_change, g.health.red, g.health.amber, g.health.green]
            for g in sorted(stats.groups, key=lambda g: (g.rank is None, g.rank or 0))]
    _rows(ws, rows, {2: AMOUNT, 3: AMOUNT, 4: PERCENT, 5: PERCENT})
    if rows:
        bars = BarChart()
        bars.title = f"{label}投资完成率与时间进度"
        bars.y_axis.title = "完成率"
        bars.y_axis.number_format = "0%"
        bars.add_data(Reference(ws, min_col=4, min_row=2, max_row=len(rows) + 2), titles_from_data=True)
        bars.set_categories(Reference(ws, min_col=1, min_row=3, max_row=len(rows) + 2))
        line = LineChart()
        line.add_data(Reference(ws, min_col=5, min_row=2, max_row=len(rows) + 2), titles_from_data=True)
        bars += line
        bars.width, bars.height = 24, 10
        ws.add_chart(bars, f"A{len(rows) + 5}")


def _statuses(book: Workbook, f: Figures) -> None:
    ws = _sheet(book, "红黄项目", f, ["项目ID", "项目名称", "颜色", "阶段", "包挂领导", "责任单位", "规则", "规则颜色",
                                   "天数", "百分点", "月数", "依据"], [8, 30, 6, 10, 10, 16, 20, 8, 6, 8, 6, 50])
    rows = []
    for s in sorted(f.statuses, key=lambda s: (s.health != ProjectHealth.red, s.id)):
        for reason in s.reasons:
            rows.append([s.id, s.name, s.health.label, s.stage.label,
                         f.names["leader"].get(s.leader_id), f.names["unit"].get(s.unit_id), reason.rule.label,
                         reason.health.label, reason.days, reason.points, reason.months,
                         "; ".join(f"{k}={v}" for k, v in reason.inputs.items())])
    _rows(ws, rows)


def _missing(book: Workbook, f: Figures) -> None:
    ws = _sheet(book, "月报缺报迟报", f, ["责任单位", "应报项目数", "项目ID", "项目名称", "情况", "首次报送日期"],
                [20, 12, 8, 30, 10, 14], on=f.read_on)
    rows: list[list[Any]] = []
    for unit in f.missing.items:
        for p in unit.missing:
            rows.append([unit.unit_name, unit.required, p.project_id, p.name, "缺报", p.filed_on])
        for p in unit.late:
            rows.append([unit.unit_name, unit.required, p.project_id, p.name, "迟报", p.filed_on])
    _rows(ws, rows)


def _overdue(book: Workbook, f: Figures) -> None:
    ws = _sheet(book, "逾期事项", f, ["类别", "ID", "事项", "责任单位", "包挂领导", "期限", "状态/进度"],
                [12, 8, 36, 18, 10, 12, 12], on=f.read_on)
    rows: list[list[Any]] = [["困难问题", d.id, d.title, f.names["unit"].get(d.unit_id),
                              f.names["leader"].get(d.leader_id), d.due_on, d.status.label] for d in f.difficulties]
    rows += [["督办任务", t.id, t.title, f.names["unit"].get(t.unit_id), None, t.deadline, f"{t.percent}%"]
             for t in f.tasks]
    _rows(ws, rows)


def _expected_to_miss(book: Workbook, f: Figures) -> None:
    ws = _sheet(book, "预计未完成", f, ["项目ID", "项目名称", "包挂领导", "责任单位", "年度计划投资(万元)",
                                    "本年累计完成投资(万元)", "预计全年完成投资(万元)", "预计完成率", "方法"],
                [8, 30, 10, 16, 16, 18, 18, 10, 16])
    rows = [[p.project_id, p.name, f.names["leader"].get(p.leader_id), f.names["unit"].get(p.unit_id),
             wan(p.planned.amount), wan(p.completed_ytd.amount), wan(p.expected_investment.amount), p.expected_rate,
             p.method] for p in (f.forecast.projects if f.forecast else [])]
    _rows(ws, rows, {5: AMOUNT, 6: AMOUNT, 7: AMOUNT, 8: PERCENT})
    if f.forecast:
        start = len(rows) + 4
        ws.cell(start, 1, "目标").font = HEADER_FONT
        for i, t in enumerate(f.forecast.targets, start=start + 1):
            ws.cell(i, 1, t.title)
            ws.cell(i, 2, t.target_count)
            ws.cell(i, 3, t.expected_done)
            ws.cell(i, 4, "预计未完成" if t.expected_to_miss else "预计完成")


def _pipeline(book: Workbook, f: Figures) -> None:
    ws = _sheet(book, "项目阶段", f, ["阶段", "项目数", "总投资(亿元)"], [14, 10, 16])
    by_stage = {g.key.get("stage"): g for g in f.pipeline.groups}
    rows = [[s.label, by_stage[s.value].count if s.value in by_stage else 0,
             yi(by_stage[s.value].total_cny.amount or Decimal(0)) if s.value in by_stage else Decimal(0)]
            for s in Stage]
    _rows(ws, rows, {3: AMOUNT})
    chart = BarChart()
    chart.title = "项目阶段分布"
    chart.y_axis.title = "项目数"
    chart.add_data(Reference(ws, min_col=2, min_row=2, max_row=len(rows) + 2), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=3, max_row=len(rows) + 2))
    ws.add_chart(chart, "E3")


def _monthly(book: Workbook, f: Figures) -> None:
    ws = _sheet(book, "累计投资", f, ["月份", "本年累计完成投资(亿元)", "年度计划投资(亿元)", "完成率", "时间进度"],
                [8, 20, 18, 10, 10])
    rows = [[f"{m.month}月", yi(m.total.completed_ytd.amount), yi(m.total.planned.amount), m.total.completion_rate,
             m.time_progress] for m in f.monthly]
    _rows(ws, rows, {2: AMOUNT, 3: AMOUNT, 4: PERCENT, 5: PERCENT})
    chart = LineChart()
    chart.title = "累计完成投资与年度计划"
    chart.y_axis.title = "亿元"
    chart.add_data(Reference(ws, min_col=2, max_col=3, min_row=2, max_row=len(rows) + 2), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=3, max_row=len(rows) + 2))
    ws.add_chart(chart, "G3")


def workbook(f: Figures) -> Workbook:
    """The bulletin's workbook, its sheets in ``SHEETS`` order."""
    book = Workbook()
    default = book.active
    _cover(book, f)
    for dimension, name, label in RANKED:
        _ranking(book, f, dimension, name, label)
    _statuses(book, f)
    _missing(book, f)
    _overdue(book, f)
    _expected_to_miss(book, f)
    _pipeline(book, f)
    _monthly(book, f)
    if default is not None:
        book.remove(default)
    return book


def filename(year: int, month: int) -> str:
    return f"重点项目推进通报-{year}-{month:02d}.xlsx"


def content_disposition(year: int, month: int) -> str:
    return spreadsheets.attachment(f"bulletin-{year}-{month:02d}.xlsx", filename(year, month))


def save(f: Figures, out: Any) -> None:
    workbook(f).save(out)


async def stream(f: Figures) -> AsyncIterator[bytes]:
    """The workbook's bytes, built off the event loop and sent in chunks."""
    async for chunk in spreadsheets.saved_chunks(lambda out: save(f, out)):
        yield chunk
