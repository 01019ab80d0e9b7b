"""``/reports/monthly``: the monthly bulletin workbook, read back with openpyxl and compared,
number by number, with what the statistics endpoints answer for the same ``as_of``."""

import io
import re
import zipfile
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from app.clock import today
from tests.command_line import migrated_sqlite, pipeline
from tests.factories import Api, assert_invalid
from tests.progress.helpers import accepted, building, plan

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEETS = ["封面", "单位排名", "区域排名", "领导排名", "红黄项目", "月报缺报迟报", "逾期事项", "预计未完成", "项目阶段",
          "累计投资"]
WAN, YI = Decimal(10_000), Decimal(100_000_000)


def number(value: Any) -> Decimal | None:
    """A cell's number as openpyxl reads it back (a float or an int), as a Decimal."""
    return None if value is None else Decimal(str(value))


def rate(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def rows(ws: Worksheet) -> list[tuple[Any, ...]]:
    """The data rows under the header row, up to the first empty row."""
    out = []
    for row in ws.iter_rows(min_row=3, values_only=True):
        if row[0] is None:
            break
        out.append(row)
    return out


async def get(api: Api, path: str, **params: Any) -> Any:
    r = await api.client.get(f"/api/v1{path}", headers=api.admin, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def all_pages(api: Api, path: str, **params: Any) -> list[Any]:
    items, cursor = [], None
    while True:
        page = await get(api, path, limit=200, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


async def bulletin(api: Api, year: int, month: int, **params: str) -> bytes:
    r = await api.client.get("/api/v1/reports/monthly", headers=api.admin,
                             params={"year": year, "month": month, "format": "xlsx", **params})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"].startswith(f'attachment; filename="bulletin-{year}-{month:02d}.xlsx"')
    return r.content


def assert_print_ready(content: bytes, as_of: str) -> Any:
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == SHEETS
    for ws in book.worksheets:
        # The lists of missing reports and overdue items exist only as of today.
        on = today().isoformat() if ws.title in ("月报缺报迟报", "逾期事项") else as_of
        assert f"截至 {on}" in ws["A1"].value and ws.title in ws["A1"].value
        assert ws.freeze_panes == "A3"
        assert ws.page_setup.orientation == "landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
        assert ws.page_setup.fitToWidth == 1
        assert ws.print_title_rows == "$1:$2"
        assert all(cell.value for cell in ws[2] if cell.column <= 3), ws.title
    return book


def chart_sheets(content: bytes) -> dict[frozenset[str], set[str]]:
    """For each chart of the workbook (openpyxl does not read charts back), the sheets its
    series read, and its kinds of plot (barChart, lineChart)."""
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        charts = sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n))
        xml = [z.read(n).decode() for n in charts]
    return {frozenset(re.findall(r"<(?:c:)?f>'?([^'!<]+)'?!", x)): set(re.findall(r"<(?:c:)?(\w+Chart)>", x))
            for x in xml}


def by_label(ws: Worksheet) -> dict[str, Any]:
    return {row[0]: row[1] for row in ws.iter_rows(min_row=3, values_only=True) if isinstance(row[0], str)}


async def test_the_demo_bulletin_says_what_the_statistics_say(demo):
    api = demo.api
    as_of = "2022-11-30"
    content = await bulletin(api, 2022, 11)
    book = assert_print_ready(content, as_of)
    charts = chart_sheets(content)
    assert len(charts) == 5
    for sheet in ("单位排名", "区域排名", "领导排名"):
        assert charts[frozenset({sheet})] == {"barChart", "lineChart"}  # the rate as bars, time progress a line
    assert charts[frozenset({"项目阶段"})] == {"barChart"}
    assert charts[frozenset({"累计投资"})] == {"lineChart"}

    targets = await get(api, "/stats/targets", year=2022, as_of=as_of)
    before = await get(api, "/stats/targets", year=2022, as_of="2022-10-31")
    forecast = await get(api, "/stats/forecast", year=2022, as_of=as_of)
    expected_done = {t["target_id"]: t["expected_done"] for t in forecast["targets"]}
    done_before = {t["target"]["id"]: t["done"]["count"] for t in before["items"]}
    cover = book["封面"]
    headline = rows(cover)
    assert len(headline) == len(targets["items"]) == 4
    for row, t in zip(headline, targets["items"], strict=True):
        amount = t["target"]["target_amount"]
        assert row[0] == t["target"]["title"] and row[1] == t["target"]["target_count"]
        assert number(row[2]) == (Decimal(amount["amount"]) / YI if amount else None)
        assert (row[3], row[4]) == (t["done"]["count"], t["late"]["count"])
        assert row[5] == expected_done[t["target"]["id"]]
        assert row[7] == t["done"]["count"] - done_before[t["target"]["id"]]
    november = await get(api, "/stats/investment", year=2022, month=11, as_of=as_of)
    october = await get(api, "/stats/investment", year=2022, month=10, as_of=as_of)
    labels = by_label(cover)
    assert number(labels["年度计划投资(亿元)"]) == Decimal(november["total"]["planned"]["amount"]) / YI
    assert number(labels["本年累计完成投资(亿元)"]) == Decimal(november["total"]["completed_ytd"]["amount"]) / YI
    assert number(labels["完成率"]) == rate(november["total"]["completion_rate"])
    assert number(labels["时间进度"]) == rate(november["time_progress"])
    assert number(labels["本月新增完成投资(亿元)"]) == (Decimal(november["total"]["completed_ytd"]["amount"])
                                                   - Decimal(october["total"]["completed_ytd"]["amount"])) / YI
    assert number(labels["预计全年完成投资(亿元)"]) == Decimal(forecast["total"]["expected_investment"]["amount"]) / YI

    names = {
        "unit": {u["id"]: u["name"] for u in (await get(api, "/units", limit=200))["items"]},
        "leader": {x["id"]: x["name"] for x in (await get(api, "/leaders", limit=200))["items"]},
        "zone": {z["key"]: z["name"] for z in (await get(api, "/zones", limit=200))["items"]},
    }
    for dimension, title in (("unit", "单位排名"), ("zone", "区域排名"), ("leader", "领导排名")):
        grouped = await get(api, "/stats/investment", year=2022, month=11, as_of=as_of, group_by=dimension)
        sheet = {row[0]: row for row in rows(book[title])}
        assert len(sheet) == len(grouped["groups"]) > 1, title
        for g in grouped["groups"]:
            row = sheet[names[dimension][g["key"]] if g["key"] is not None else "无"]
            assert number(row[1]) == Decimal(g["planned"]["amount"]) / WAN
            assert number(row[2]) == Decimal(g["completed_ytd"]["amount"]) / WAN
            assert number(row[3]) == rate(g["completion_rate"]) and number(row[5]) == rate(g["gap_points"])
            assert number(row[4]) == rate(grouped["time_progress"])
            assert (row[6], row[7]) == (g["rank"], g["rank_change"])
            assert (row[8], row[9], row[10]) == (g["health"]["red"], g["health"]["amber"], g["health"]["green"])

    statuses, cursor = [], None
    while True:
        page = await get(api, "/stats/project-health", as_of=as_of, health=["red", "amber"], limit=200,
                         **({"cursor": cursor} if cursor else {}))
        statuses += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    coloured = rows(book["红黄项目"])
    assert len(coloured) == sum(len(s["reasons"]) for s in statuses) > 0
    assert {r[0] for r in coloured} == {s["id"] for s in statuses}

    misses = rows(book["预计未完成"])
    assert [r[0] for r in misses] == [p["project_id"] for p in forecast["projects"]]
    for row, p in zip(misses, forecast["projects"], strict=True):
        assert number(row[6]) == Decimal(p["expected_investment"]["amount"]) / WAN

    pipeline = await get(api, "/stats/pipeline", as_of=as_of, group_by="stage", funnel="false")
    counts = {g["key"]["stage"]: g["count"] for g in pipeline["groups"]}
    assert sum(r[1] for r in rows(book["项目阶段"])) == sum(counts.values()) == pipeline["total"]["count"]

    missing = await get(api, "/progress-reports/missing", year=2022, month=11)
    listed = [(r[2], r[4]) for r in rows(book["月报缺报迟报"])]
    assert listed, "the demo has missing or late reports"
    assert sorted(listed) == sorted([(p["project_id"], "缺报") for u in missing["items"] for p in u["missing"]]
                                    + [(p["project_id"], "迟报") for u in missing["items"] for p in u["late"]])
    overdue = rows(book["逾期事项"])
    difficulties = await all_pages(api, "/difficulties", overdue="true", sort="due_on")
    tasks = await all_pages(api, "/supervision-tasks", overdue="true", sort="deadline")
    assert [(r[0], r[1]) for r in overdue] == [("困难问题", d["id"]) for d in difficulties] + \
        [("督办任务", t["id"]) for t in tasks]

    monthly = rows(book["累计投资"])
    assert len(monthly) == 11
    for m in (1, 6, 11):
        figures = await get(api, "/stats/investment", year=2022, month=m, as_of=as_of)
        assert number(monthly[m - 1][1]) == Decimal(figures["total"]["completed_ytd"]["amount"]) / YI


async def test_a_small_world_bulletin_ranks_its_units(api):
    # Reports count from the day they are accepted (today): this month's bulletin, as of today, reads them.
    year, month = today().year, today().month
    ahead_unit, behind_unit = await api.unit("前进单位"), await api.unit("落后单位")
    ahead = await building(api, unit_id=ahead_unit["id"])
    behind = await building(api, unit_id=behind_unit["id"])
    await plan(api, ahead, year, "1200000.00")
    await plan(api, behind, year, "2400000.00")
    for m in range(1, month + 1):
        await accepted(api, ahead, year, m, "100000.00")
    await accepted(api, behind, year, 1, "12345.67")
    yesterday = today() - timedelta(days=1)
    late_difficulty = await api.difficulty(behind, raised_on=str(yesterday - timedelta(days=9)), due_on=str(yesterday))
    await api.difficulty(ahead)  # not due: not listed
    late_task = await api.task(await api.item(), behind_unit, yesterday)
    content = await bulletin(api, year, month)
    book = assert_print_ready(content, today().isoformat())
    # openpyxl reads a date cell back as a datetime at midnight.
    assert [(r[0], r[1], r[3], r[5].date()) for r in rows(book["逾期事项"])] == [
        ("困难问题", late_difficulty["id"], "落后单位", yesterday),
        ("督办任务", late_task["id"], "落后单位", yesterday)]
    sheet = {row[0]: row for row in rows(book["单位排名"])}
    # The reference, by hand over the rows filed above.
    completed = {"前进单位": Decimal("100000.00") * month, "落后单位": Decimal("12345.67")}
    planned = {"前进单位": Decimal("1200000.00"), "落后单位": Decimal("2400000.00")}
    for name in completed:
        assert number(sheet[name][1]) == planned[name] / WAN
        assert number(sheet[name][2]) == completed[name] / WAN
        assert number(sheet[name][3]) == (completed[name] / planned[name]).quantize(Decimal("0.0001"))
    assert (sheet["前进单位"][6], sheet["落后单位"][6]) == (1, 2)
    stats = await get(api, "/stats/investment", year=year, month=month, as_of=today().isoformat(), group_by="unit")
    groups = {g["key"]: g for g in stats["groups"]}
    assert number(sheet["前进单位"][2]) == Decimal(groups[ahead_unit["id"]]["completed_ytd"]["amount"]) / WAN
    cover = by_label(book["封面"])
    assert number(cover["本年累计完成投资(亿元)"]) == sum(completed.values()) / YI


async def test_the_bulletin_refuses_a_future_month_and_another_format(api):
    r = await api.client.get("/api/v1/reports/monthly", headers=api.admin,
                             params={"year": today().year + 1, "month": 1})
    assert_invalid(r, "month")
    r = await api.client.get("/api/v1/reports/monthly", headers=api.admin,
                             params={"year": 2022, "month": 11, "format": "csv"})
    assert_invalid(r, "format")


async def test_the_bulletin_is_read_by_the_roles_that_read_statistics(api):
    expected = {"admin": 200, "bureau": 200, "leader": 200, "unit": 403, "integration": 403, "viewer": 200}
    got = await api.read_status_by_role("/api/v1/reports/monthly", {"year": 2022, "month": 1})
    assert got == expected


async def test_a_bulletin_made_again_by_an_earlier_knowledge_says_what_the_statistics_said_then(demo):
    api = demo.api
    # The demo's mid-year plan revisions, recorded at seeding: known just before the first, the
    # year's plan is the one first set.
    revisions = await api.audit(resource_type="annual_plan", action="annual_plan.update")
    plans = [await get(api, f"/annual-plans/{e['resource_id']}") for e in revisions]
    before = (min(datetime.fromisoformat(p["updated_at"].replace("Z", "+00:00")) for p in plans)
              - timedelta(microseconds=1)).isoformat()
    then = await get(api, "/stats/investment", year=2022, month=11, as_of="2022-11-30", known_on=before)
    now = await get(api, "/stats/investment", year=2022, month=11, as_of="2022-11-30")
    assert Decimal(then["total"]["planned"]["amount"]) > Decimal(now["total"]["planned"]["amount"])

    book = load_workbook(io.BytesIO(await bulletin(api, 2022, 11, known_on=before)))
    labels = by_label(book["封面"])
    assert number(labels["年度计划投资(亿元)"]) == Decimal(then["total"]["planned"]["amount"]) / YI
    assert number(labels["完成率"]) == rate(then["total"]["completion_rate"])
    forecast = await get(api, "/stats/forecast", year=2022, as_of="2022-11-30", known_on=before)
    assert forecast["known_on"] is not None
    assert number(labels["预计全年完成投资(亿元)"]) == Decimal(forecast["total"]["expected_investment"]["amount"]) / YI
    assert f"以 {before} 前所记为准" in book["封面"]["A1"].value
    assert f"以 {before} 前所记为准" in book["预计未完成"]["A1"].value
    assert f"截至 {today().isoformat()}）" in book["逾期事项"]["A1"].value  # the lists are as recorded now


def test_pipeline_report_monthly_writes_the_workbook_with_progress_on_stderr(tmp_path):
    db = migrated_sqlite(tmp_path)
    year, month = today().year, today().month
    out = tmp_path / "通报.xlsx"
    done = pipeline("report", "monthly", "--year", str(year), "--month", str(month), "-o", str(out), db=db)
    assert done.returncode == 0, done.stderr
    assert "reading" in done.stderr and "writing" in done.stderr
    assert str(out) in done.stdout
    assert load_workbook(out).sheetnames == SHEETS

    again = pipeline("report", "monthly", "--year", str(year), "--month", str(month), "-o", str(out),
                     "--known-on", today().isoformat(), db=db)
    assert again.returncode == 0, again.stderr
    assert "前所记为准" in load_workbook(out)["封面"]["A1"].value
    refused = pipeline("report", "monthly", "--year", str(year), "--month", str(month), "-o", str(out),
                       "--known-on", "yesterday", db=db)
    assert refused.returncode == 2 and "--known-on" in refused.stderr
