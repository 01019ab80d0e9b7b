"""Ledger (台账) exports through GET /api/v1/exports/projects, and the round trip back in."""

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from tests.ledger_files import CHINESE_HEADER, XLSX, all_projects, export, read_csv, read_xlsx, upload


async def a_varied_registry(api):
    """Projects that exercise every column: codes, references, designations, currencies, odd text."""
    leader = await api.leader("王建国")
    retiring = await api.leader("赵退休")
    unit = await api.unit("市商务局")
    projects = [
        await api.project(code="2020-370214-04-01-123456", name="稀土电缆项目", investor="某某电缆集团",
                          total_investment={"amount": "14600000000.00", "currency": "CNY"}, leader_id=leader["id"],
                          unit_id=unit["id"], stage="signed", stage_entered_on="2022-06-05",
                          planned_sign_on="2022-06-01", planned_start_on="2022-09-01",
                          planned_production_on="2024-12-31", on_hold=True,
                          designations=[{"designation": "city_key", "status": "granted", "year": 2022,
                                         "decided_on": "2022-03-15"},
                                        {"designation": "key_preliminary", "status": "candidate"}]),
        await api.project(name='=HYPERLINK("http://example.com","点我")', investor="-日本电产株式会社",
                          investor_country="JP", funding_source="foreign", industry="automotive",
                          zone="international_land_port", stage="in_production", stage_entered_on="2021-01-04",
                          total_investment={"amount": "3260000000.00", "currency": "USD"}),
        await api.project(name="@提及 项目", investor="'引号开头的投资方", stage="terminated",
                          stage_entered_on="2022-02-01", total_investment={"amount": "0.01", "currency": "JPY"}),
        await api.project(name="+86 电话项目", investor="投资方\t制表", zone="other", industry="other",
                          total_investment={"amount": "9999999999999.99", "currency": "EUR"}),
        await api.project(name="领导已退休的项目", investor="某公司", leader_id=retiring["id"],
                          total_investment={"amount": "123456789.01", "currency": "CNY"}),
    ]
    archived = await api.project(name="已归档项目", investor="某公司")
    r = await api.client.delete(f"/api/v1/projects/{archived['id']}", headers={**api.admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    r = await api.client.delete(f"/api/v1/leaders/{retiring['id']}", headers={**api.admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    return projects


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
async def test_an_exported_ledger_imported_again_changes_nothing(api, fmt):
    before = await a_varied_registry(api)
    r = await export(api, fmt)
    assert r.status_code == 200, r.text
    seen = len(await api.audit())

    again = await upload(api, r.content, f"台账.{fmt}")
    assert again.status_code == 200, again.text
    report = again.json()
    assert (report["rows"], report["created"], report["updated"], report["unchanged"]) == (5, 0, 0, 5), report
    assert report["errors"] == [] and report["warnings"] == []
    after = await all_projects(api)
    assert sorted(after, key=lambda p: p["id"]) == sorted(
        [await api.get_project(p["id"]) for p in before], key=lambda p: p["id"])
    assert all(p["version"] == 1 for p in after)
    new_events = (await api.audit())[:len(await api.audit()) - seen]
    assert [e["action"] for e in new_events] == ["import"]


async def test_the_xlsx_has_chinese_headers_a_frozen_header_row_widths_dates_and_amounts_in_wan(api):
    await a_varied_registry(api)
    r = await export(api, "xlsx")
    assert r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"].startswith('attachment; filename="projects-')
    assert "filename*=UTF-8''%E9%A1%B9%E7%9B%AE%E5%8F%B0%E8%B4%A6-" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert sheet.title == "项目台账"
    assert [c.value for c in sheet[1]] == CHINESE_HEADER
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:V1"
    assert sheet.column_dimensions["C"].width == 40 and sheet.column_dimensions["A"].width == 6
    assert sheet["A1"].font.bold
    cable = next(row for row in sheet.iter_rows(min_row=2) if row[2].value == "稀土电缆项目")
    by_header = dict(zip(CHINESE_HEADER, cable, strict=True))
    assert by_header["总投资(万元)"].value == 1460000 and by_header["总投资(万元)"].data_type == "n"
    assert by_header["进入阶段日期"].is_date and by_header["进入阶段日期"].value == datetime(2022, 6, 5)
    assert by_header["进入阶段日期"].number_format == "yyyy-mm-dd"
    assert (by_header["所处阶段"].value, by_header["资金来源"].value, by_header["所属区域"].value) == (
        "签约", "内资", "滨海新区")
    assert (by_header["包项目市领导"].value, by_header["责任单位"].value) == ("王建国", "市商务局")
    assert (by_header["市重点项目"].value, by_header["重点前期项目"].value, by_header["是否暂缓"].value) == (
        "已列入", "争取列入", "是")
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == [1, 2, 3, 4, 5]


async def test_the_csv_is_utf8_with_a_bom_and_exact_amounts_in_wan(api):
    await a_varied_registry(api)
    r = await export(api, "csv")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = read_csv(r.content)
    assert rows[0] == CHINESE_HEADER
    amounts = {row[2]: (row[10], row[11], row[13]) for row in rows[1:]}
    assert amounts["稀土电缆项目"] == ("1460000", "CNY", "2022-06-05")
    assert amounts["'@提及 项目"] == ("0.000001", "JPY", "2022-02-01")
    assert amounts["'+86 电话项目"][0:2] == ("999999999.999999", "EUR")
    assert amounts["领导已退休的项目"][0] == "12345.678901"


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
async def test_text_a_spreadsheet_would_run_as_a_formula_is_escaped(api, fmt):
    await a_varied_registry(api)
    r = await export(api, fmt)
    rows = read_xlsx(r.content) if fmt == "xlsx" else read_csv(r.content)
    names = {row[2]: row[3] for row in rows[1:]}
    assert names == {
        "稀土电缆项目": "某某电缆集团",
        "'=HYPERLINK(\"http://example.com\",\"点我\")": "'-日本电产株式会社",
        "'@提及 项目": "''引号开头的投资方",
        "'+86 电话项目": "投资方\t制表",
        "领导已退休的项目": "某公司",
    }
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


async def test_an_export_takes_the_project_lists_filters(api):
    await a_varied_registry(api)
    r = await export(api, "csv", stage=["signed", "in_production"])
    assert sorted(row[12] for row in read_csv(r.content)[1:]) == ["投产", "签约"]
    r = await export(api, "csv", q="电缆")
    assert [row[2] for row in read_csv(r.content)[1:]] == ["稀土电缆项目"]
    r = await export(api, "csv", archived="true")
    assert [row[2] for row in read_csv(r.content)[1:]] == ["已归档项目"]
    r = await export(api, "csv", stage="nonsense")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "stage.0"
    r = await export(api, "pdf")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "format"


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
async def test_a_large_export_is_read_in_batches_and_keeps_every_row_once(api, monkeypatch, fmt):
    monkeypatch.setattr(api.app.state.settings, "export_batch_size", 7)
    created = [await api.project(name=f"批量项目 {n:03d}") for n in range(23)]
    r = await export(api, fmt)
    rows = read_xlsx(r.content) if fmt == "xlsx" else read_csv(r.content)
    assert [row[2] for row in rows[1:]] == [p["name"] for p in created]
    assert [int(row[0]) for row in rows[1:]] == list(range(1, 24))


async def test_an_empty_export_is_a_ledger_template(api):
    for fmt in ("xlsx", "csv"):
        r = await export(api, fmt)
        rows = read_xlsx(r.content) if fmt == "xlsx" else read_csv(r.content)
        assert [list(row) for row in rows] == [CHINESE_HEADER]


@pytest.mark.parametrize(("role", "status", "sees"), [
    ("admin", 200, 3), ("bureau", 200, 3), ("leader", 200, 3), ("viewer", 200, 3), ("unit", 200, 1),
    ("integration", 403, 0)])
async def test_who_may_export_and_what_they_see(api, role, status, sees):
    unit = await api.unit("市发展改革委")
    leader = await api.leader()
    await api.project(name="本单位项目", unit_id=unit["id"])
    await api.project(name="他单位项目一")
    await api.project(name="他单位项目二")
    binding = {"leader": {"leader_id": leader["id"]}, "unit": {"unit_id": unit["id"]}}.get(role, {})
    headers = api.admin if role == "admin" else await api.key(role, **binding)
    r = await export(api, "csv", headers=headers)
    assert r.status_code == status, r.text
    if status == 200:
        names = [row[2] for row in read_csv(r.content)[1:]]
        assert len(names) == sees
        if role == "unit":
            assert names == ["本单位项目"]


async def test_an_export_without_a_key_is_401(api):
    r = await api.client.get("/api/v1/exports/projects", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


async def test_a_ledger_edited_in_a_spreadsheet_updates_what_changed(api):
    """The meeting's ledger comes back with a new amount and a later stage: exactly that changes."""
    p = await api.project(name="会议项目", investor="某公司", stage_entered_on="2022-01-10")
    r = await export(api, "xlsx")
    book = load_workbook(io.BytesIO(r.content))
    sheet = book.worksheets[0]
    sheet["K2"] = 20000  # 总投资(万元)
    sheet["M2"] = "签约"
    sheet["N2"] = date(2022, 7, 1)
    out = io.BytesIO()
    book.save(out)
    again = await upload(api, out.getvalue(), "会议台账.xlsx")
    assert again.status_code == 200, again.text
    (change,) = again.json()["changes"]
    assert (change["fields"], change["stage_moves"]) == (["total_investment"], ["signed"])
    after = await api.get_project(p["id"])
    assert after["total_investment"]["amount"] == "200000000.00"
    assert (after["stage"], after["stage_entered_on"]) == ("signed", "2022-07-01")


def test_the_documented_column_map_is_the_one_the_code_reads_and_writes():
    from pathlib import Path

    from app.services.ledger import columns

    doc = (Path(__file__).resolve().parents[2] / "docs" / "LEDGER.md").read_text()
    for column in columns.COLUMNS:
        line = next((x for x in doc.splitlines() if x.startswith(f"| {columns.header_of(column)} | `{column.key}` |")),
                    None)
        assert line is not None, f"docs/LEDGER.md does not list {column.header}"
        for alias in column.aliases:
            assert alias in line, f"docs/LEDGER.md does not list {alias} for {column.header}"
    assert columns.export_headers() == CHINESE_HEADER
