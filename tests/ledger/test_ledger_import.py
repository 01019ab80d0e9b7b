"""Ledger (台账) imports through POST /api/v1/imports/projects: validated row by row, all or nothing."""

import io
import struct
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from tests.ledger_files import all_projects, csv_bytes, job_done, ledger_row, table, upload, xlsx_bytes


async def changes_written(api):
    """Audit events other than the keys the test made: anything the import wrote."""
    return [e for e in await api.audit() if not e["action"].startswith("api_key.")]


async def test_a_ledger_with_chinese_headers_creates_its_projects(api):
    leader = await api.leader("王建国")
    unit = await api.unit("市商务局")
    rows = [
        ledger_row(1, 项目名称="稀土电缆项目", 投资方="某某电缆集团", **{"总投资(万元)": "146000"}, 所处阶段="签约",
                   进入阶段日期="2022/6/5", 包项目市领导="王建国", 责任单位="市商务局", 计划开工日期="2023年3月",
                   市重点项目="已申报", 是否暂缓="否"),
        ledger_row(2, 项目代码="2020-370214-04-01-123456", 项目名称="日本电产新能源汽车驱动电机项目",
                   投资方="日本电产株式会社", 投资方国别="日本", 资金来源="外资", 产业类别="汽车及零部件",
                   所属区域="国际陆港", **{"总投资(万元)": "32600"}, 币种="美元", 所处阶段="注册/落地"),
    ]
    r = await upload(api, csv_bytes(table(rows)))
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["valid"], report["dry_run"], report["rows"]) == (True, False, 2)
    assert (report["created"], report["updated"], report["unchanged"], report["invalid"]) == (2, 0, 0, 0)
    assert [c["row"] for c in report["changes"]] == [2, 3]

    cable, nidec = sorted(await all_projects(api), key=lambda p: p["name"], reverse=True)
    assert cable["name"] == "稀土电缆项目" and cable["investor"] == "某某电缆集团"
    assert cable["total_investment"] == {"amount": "1460000000.00", "currency": "CNY"}
    assert (cable["investor_country"], cable["funding_source"], cable["industry"], cable["zone"]) == (
        "CN", "domestic", "new_materials", "binhai_new_area")
    assert (cable["stage"], cable["stage_entered_on"]) == ("signed", "2022-06-05")
    assert (cable["leader_id"], cable["unit_id"]) == (leader["id"], unit["id"])
    assert cable["planned_start_on"] == "2023-03-01"
    assert cable["designations"] == [{"designation": "city_key", "status": "applied", "year": None,
                                      "decided_on": None}]
    assert nidec["code"] == "2020-370214-04-01-123456"
    assert nidec["total_investment"] == {"amount": "326000000.00", "currency": "USD"}
    assert (nidec["investor_country"], nidec["funding_source"], nidec["stage"]) == ("JP", "foreign", "registered")


async def test_english_headers_are_read_and_amounts_without_a_unit_are_in_yuan(api):
    cells = [["name", "investor", "investor_country", "funding_source", "industry", "zone", "total_investment",
              "currency", "stage", "stage_entered_on", "on_hold"],
             ["Nidec motor plant", "Nidec Corporation", "JP", "foreign", "electronics", "international_land_port",
              "3260000000", "USD", "signed", "2022-06-05", "yes"]]
    r = await upload(api, csv_bytes(cells, "utf-8"), "ledger.csv")
    assert r.status_code == 200, r.text
    (p,) = await all_projects(api)
    assert p["total_investment"] == {"amount": "3260000000.00", "currency": "USD"}
    assert (p["stage"], p["on_hold"], p["industry"]) == ("signed", True, "electronics")


@pytest.mark.parametrize(("header", "cell", "amount", "currency"), [
    ("总投资(万元)", "5000", "50000000.00", "CNY"),
    ("总投资（亿元）", "3.26", "326000000.00", "CNY"),
    ("总投资(亿元)", "146", "14600000000.00", "CNY"),
    ("总投资(元)", "1,234,567.891", "1234567.89", "CNY"),
    ("总投资万元", "0.5", "5000.00", "CNY"),
    ("总投资(万美元)", "32600", "326000000.00", "USD"),
    ("total_investment (10k)", "12.345678", "123456.78", "CNY"),
    ("总投资(万元)", "3.26亿", "326000000.00", "CNY"),  # a unit in the cell wins over the header's
])
async def test_amounts_are_read_in_the_unit_the_header_names(api, header, cell, amount, currency):
    rows = [{k if k != "总投资(万元)" else header: v for k, v in ledger_row(1, **{"总投资(万元)": cell}).items()}]
    r = await upload(api, csv_bytes(table(rows)))
    assert r.status_code == 200, r.text
    (p,) = await all_projects(api)
    assert p["total_investment"] == {"amount": amount, "currency": currency}


async def test_amounts_in_an_xlsx_are_numbers_in_the_headers_unit(api):
    rows = [ledger_row(1, **{"总投资(万元)": 32600.5}), ledger_row(2, **{"总投资(万元)": 7})]
    r = await upload(api, xlsx_bytes(table(rows)), "台账.xlsx")
    assert r.status_code == 200, r.text
    amounts = sorted(p["total_investment"]["amount"] for p in await all_projects(api))
    assert amounts == ["326005000.00", "70000.00"]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig", "utf-16"])
async def test_a_csv_in_gbk_gb18030_or_utf8_is_read(api, encoding):
    rows = [ledger_row(1, 项目名称="青岛港综合物流园项目", 投资方="山东省港口集团", 产业类别="现代物流",
                       所属区域="大沽河生态产业带")]
    r = await upload(api, csv_bytes(table(rows), encoding))
    assert r.status_code == 200, r.text
    (p,) = await all_projects(api)
    assert (p["name"], p["investor"], p["industry"], p["zone"]) == (
        "青岛港综合物流园项目", "山东省港口集团", "logistics", "dagu_river_belt")


async def test_a_dry_run_reports_what_it_would_do_and_writes_nothing(api):
    existing = await api.project(name="已在库项目", investor="老投资方")
    rows = [ledger_row(1), ledger_row(2, 项目名称="已在库项目", 投资方="老投资方", **{"总投资(万元)": "20000"}),
            ledger_row(3, 资金来源="内外资")]
    r = await upload(api, csv_bytes(table(rows)), dry_run=True)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["dry_run"], report["valid"]) == (True, False)
    assert (report["created"], report["updated"], report["unchanged"], report["invalid"]) == (1, 1, 0, 1)
    assert report["changes"] == [
        {"row": 2, "action": "create", "project_id": None, "code": None, "name": "台账项目 00001", "fields": [],
         "stage_moves": []},
        {"row": 3, "action": "update", "project_id": existing["id"], "code": None, "name": "已在库项目",
         "fields": ["total_investment"], "stage_moves": []},
    ]
    assert report["errors"] == [{"row": 4, "column": "资金来源", "field": "funding_source", "value": "内外资",
                                 "message": "is not one of 外资、内资"}]
    assert [p["id"] for p in await all_projects(api)] == [existing["id"]]
    assert (await api.get_project(existing["id"]))["version"] == 1
    # The test's own project (and the investor it named); the dry run wrote nothing.
    assert sorted(e["action"] for e in await changes_written(api)) == ["investor.create", "project.create"]


async def test_one_bad_row_among_a_thousand_writes_nothing_and_is_named(api):
    rows = [ledger_row(n) for n in range(1, 1001)]
    rows[736]["总投资(万元)"] = "约五千"  # spreadsheet row 738: the header is row 1
    # More rows than are imported during the request: a job, which fails as the request would have.
    job = await job_done(api, await upload(api, xlsx_bytes(table(rows)), "台账.xlsx"))
    assert job["status"] == "failed"
    problem = {**job["problem"], "report": job["report"]}
    assert problem["status"] == 422
    assert problem["code"] == "ledger_invalid"
    assert problem["errors"] == [{"field": "total_investment", "message": "is not a number", "row": 738,
                                  "column": "总投资(万元)", "value": "约五千"}]
    assert "row 738" in problem["detail"] and "nothing was imported" in problem["detail"]
    assert (problem["report"]["rows"], problem["report"]["invalid"], problem["report"]["created"]) == (1000, 1, 999)
    assert await all_projects(api) == []
    assert await changes_written(api) == []


async def test_a_real_import_records_one_import_event_beside_each_projects_own(api):
    r = await upload(api, csv_bytes(table([ledger_row(1), ledger_row(2)])), "2022年台账.csv")
    assert r.status_code == 200, r.text
    events = await changes_written(api)
    imports = [e for e in events if e["action"] == "import"]
    assert len(imports) == 1
    event = imports[0]
    assert (event["resource_type"], event["resource_id"], event["actor_name"]) == (
        "ledger", r.json()["sha256"], "test admin")
    assert event["after"] == {"file_name": "2022年台账.csv", "format": "csv", "rows": 2, "created": 2, "updated": 0,
                              "unchanged": 0, "as_of": event["after"]["as_of"]}
    # Each row names a new investor, created with its project.
    assert sorted(e["action"] for e in events) == ["import", "investor.create", "investor.create", "project.create",
                                                   "project.create"]
    assert len({e["request_id"] for e in events}) == 1


async def test_rows_are_matched_by_code_else_by_name_and_investor(api):
    by_code = await api.project(code="2019-370281-36-03-000001", name="旧名称", investor="甲公司")
    by_name = await api.project(name="乙项目", investor="乙公司")
    same = await api.project(name="丙项目", investor="丙公司")
    gains_code = await api.project(name="丁项目", investor="丁公司")
    rows = [
        ledger_row(1, 项目代码="2019-370281-36-03-000001", 项目名称="新名称", 投资方="甲公司",
                   **{"总投资(万元)": "10000"}),
        ledger_row(2, 项目名称="乙项目", 投资方="乙公司", **{"总投资(万元)": "25000.5"}),
        ledger_row(3, 项目名称="丙项目", 投资方="丙公司", **{"总投资(万元)": "10000"}),
        ledger_row(4, 项目代码="2019-370281-36-03-000004", 项目名称="丁项目", 投资方="丁公司",
                   **{"总投资(万元)": "10000"}),
    ]
    for row in rows:
        del row["所处阶段"], row["进入阶段日期"]
    r = await upload(api, csv_bytes(table(rows)))
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 3, 1)
    assert {c["project_id"]: c["fields"] for c in report["changes"]} == {
        by_code["id"]: ["name"], by_name["id"]: ["total_investment"], gains_code["id"]: ["code"]}
    assert (await api.get_project(by_code["id"]))["name"] == "新名称"
    assert (await api.get_project(by_name["id"]))["total_investment"]["amount"] == "250005000.00"
    assert (await api.get_project(same["id"]))["version"] == 1
    assert (await api.get_project(gains_code["id"]))["code"] == "2019-370281-36-03-000004"
    updates = [e for e in await changes_written(api) if e["action"] == "project.update"]
    assert len(updates) == 3


async def test_leaders_and_units_are_matched_by_name_and_unknown_ones_reported(api):
    await api.leader("李市长")
    rows = [ledger_row(1, 包项目市领导="李市长", 责任单位="不存在的局"), ledger_row(2, 包项目市领导="张三")]
    r = await upload(api, csv_bytes(table(rows)), dry_run=True)
    assert r.status_code == 200, r.text
    assert [(e["row"], e["column"], e["value"], e["message"]) for e in r.json()["errors"]] == [
        (2, "责任单位", "不存在的局", "is not a known responsible unit: add the unit first"),
        (3, "包项目市领导", "张三", "is not a known leader: add the leader first"),
    ]


async def test_a_ledger_stage_ahead_moves_the_project_forward_one_stage_at_a_time(api):
    p = await api.project(name="推进项目", investor="推进公司", stage_entered_on="2022-01-10")
    rows = [ledger_row(1, 项目名称="推进项目", 投资方="推进公司", 所处阶段="前期", 进入阶段日期="2022-05-01")]
    r = await upload(api, csv_bytes(table(rows)), "进度台账.csv")
    assert r.status_code == 200, r.text
    assert r.json()["changes"][0]["stage_moves"] == ["signed", "registered", "preliminary"]
    history = (await api.client.get(f"/api/v1/projects/{p['id']}/transitions", headers=api.admin)).json()["items"]
    assert [(e["kind"], e["to_stage"], e["occurred_on"], e["note"]) for e in history[1:]] == [
        ("advance", "signed", "2022-05-01", "台账导入: 进度台账.csv"),
        ("advance", "registered", "2022-05-01", "台账导入: 进度台账.csv"),
        ("advance", "preliminary", "2022-05-01", "台账导入: 进度台账.csv"),
    ]
    after = await api.get_project(p["id"])
    assert (after["stage"], after["stage_entered_on"]) == ("preliminary", "2022-05-01")
    transitions = [e for e in await changes_written(api) if e["action"] == "project.transition"]
    assert len(transitions) == 3


async def test_stage_moves_without_a_date_are_dated_on_the_ledgers_as_of_date(api):
    p = await api.project(name="无日期项目", investor="某公司", stage_entered_on="2022-01-10")
    rows = [{"项目名称": "无日期项目", "投资方": "某公司", "所处阶段": "签约"}]
    r = await upload(api, csv_bytes(table(rows)), as_of="2022-02-01")
    assert r.status_code == 200, r.text
    assert (await api.get_project(p["id"]))["stage_entered_on"] == "2022-02-01"


async def test_a_ledger_stage_behind_the_project_is_invalid_even_for_an_admin(api):
    await api.project(name="倒退项目", investor="某公司", stage="under_construction", stage_entered_on="2022-01-10")
    rows = [ledger_row(1, 项目名称="倒退项目", 投资方="某公司", 所处阶段="签约")]
    r = await upload(api, csv_bytes(table(rows)))
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert (error["row"], error["column"], error["value"]) == (2, "所处阶段", "signed")
    assert "only moves projects forward" in error["message"]


async def test_a_ledger_can_terminate_a_project_with_its_reason_in_the_note(api):
    p = await api.project(name="终止项目", investor="某公司", stage_entered_on="2022-01-10")
    row = ledger_row(1, 项目名称="终止项目", 投资方="某公司", 所处阶段="终止", 进入阶段日期="2022-04-01")
    refused = await upload(api, csv_bytes(table([row])))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["column"] == "备注"
    r = await upload(api, csv_bytes(table([{**row, "备注": "投资方撤资"}])))
    assert r.status_code == 200, r.text
    history = (await api.client.get(f"/api/v1/projects/{p['id']}/transitions", headers=api.admin)).json()["items"]
    assert (history[-1]["kind"], history[-1]["reason"]) == ("terminate", "投资方撤资")


async def test_a_move_dated_before_the_projects_last_move_is_invalid(api):
    await api.project(name="早日期项目", investor="某公司", stage_entered_on="2022-03-01")
    rows = [ledger_row(1, 项目名称="早日期项目", 投资方="某公司", 所处阶段="签约", 进入阶段日期="2022-02-01")]
    r = await upload(api, csv_bytes(table(rows)), dry_run=True)
    (error,) = r.json()["errors"]
    assert error["column"] == "进入阶段日期" and "2022-03-01" in error["message"]


async def test_the_same_project_twice_in_one_file_is_invalid(api):
    rows = [ledger_row(1, 项目代码="2020-370214-04-01-000009"), ledger_row(2, 项目代码="2020-370214-04-01-000009"),
            ledger_row(3, 项目名称="重复", 投资方="同一家"), ledger_row(4, 项目名称="重复", 投资方="同一家")]
    r = await upload(api, csv_bytes(table(rows)), dry_run=True)
    assert [(e["row"], e["column"], e["message"]) for e in r.json()["errors"]] == [
        (3, "项目代码", "is the same 项目代码 as row 2"),
        (5, "项目名称", "has the same 项目名称 and 投资方 as row 4: give each its 项目代码"),
    ]


async def test_cell_errors_name_the_row_column_and_value(api):
    rows = [ledger_row(1, 项目代码="2022-12", 进入阶段日期="2022-13-45", 计划签约日期="明年", 是否暂缓="也许",
                       **{"总投资(万元)": "-5"})]
    r = await upload(api, csv_bytes(table(rows)), dry_run=True)
    assert {(e["column"], e["value"]) : e["message"] for e in r.json()["errors"]} == {
        ("进入阶段日期", "2022-13-45"): "is not a real date",
        ("计划签约日期", "明年"): "is not a date: write it like 2022-06-05",
        ("是否暂缓", "也许"): "must be 是 or 否",
        ("总投资(万元)", "-5"): "must not be negative",
    }
    # the code is checked once the cells read: a separate run shows it
    r = await upload(api, csv_bytes(table([ledger_row(1, 项目代码="2022-12")])), dry_run=True)
    (error,) = r.json()["errors"]
    assert (error["column"], error["value"]) == ("项目代码", "2022-12")


async def test_a_title_row_a_total_row_and_unknown_columns_are_skipped(api):
    rows = [ledger_row(1, 联系人="张科长"), ledger_row(2), {"项目名称": "合计", "总投资(万元)": "10000"},
            {"序号": "小 计", "总投资(万元)": "10000"}]
    r = await upload(api, xlsx_bytes(table(rows), title_row="2022年重点招商项目台账"), "台账.xlsx")
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["header_row"], report["rows"], report["created"]) == (2, 2, 2)
    assert {(w["row"], w["column"], w["message"]) for w in report["warnings"]} == {
        (2, "联系人", "is not a ledger column: ignored"), (5, None, "is a total row (合计): skipped"),
        (6, None, "is a total row (合计): skipped")}


async def test_formula_escaped_text_loses_its_quote(api):
    rows = [ledger_row(1, 项目名称="'=SUM(A1:A9) 项目", 投资方="'+86 投资")]
    assert (await upload(api, csv_bytes(table(rows)))).status_code == 200
    (p,) = await all_projects(api)
    assert (p["name"], p["investor"]) == ("=SUM(A1:A9) 项目", "+86 投资")


async def test_a_ledger_without_a_header_row_is_refused(api):
    r = await upload(api, csv_bytes([["a", "b"], ["1", "2"]]))
    assert r.status_code == 422 and r.json()["code"] == "ledger_header"
    assert "no header row" in r.json()["detail"]


async def test_a_ledger_without_match_columns_is_refused(api):
    r = await upload(api, csv_bytes([["项目名称", "总投资(万元)", "所处阶段"], ["x", "1", "在谈"]]))
    assert r.status_code == 422 and r.json()["code"] == "ledger_header"
    assert "项目代码" in r.json()["detail"]


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.mark.parametrize(("filename", "content", "says"), [
    ("台账.xlsx", PNG, "is named .xlsx but is not an Excel workbook"),
    ("台账.csv", PNG, "binary"),
    ("scan.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "is a .pdf file"),
    ("台账.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old binary spreadsheet"),
    ("台账.xlsx", _zip({"word/document.xml": b"<w/>"}), "not an Excel workbook"),
    ("台账.xlsx", b"PK\x03\x04 truncated", "broken"),
    ("台账.xlsx", _zip({"xl/workbook.xml": b"<not a workbook", "[Content_Types].xml": b"<x/>"}), "not a readable"),
    ("台账.csv", b"", "is empty"),
    ("台账.csv", "名称\x07,投资方\n".encode(), "control characters"),
    ("台账.csv", b"\x80 not text \xff", "not text in UTF-8 or GB18030"),
])
async def test_a_file_that_is_not_a_spreadsheet_is_refused_and_nothing_written(api, filename, content, says):
    r = await upload(api, content, filename)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "unsupported_file"
    assert r.json()["errors"][0]["field"] == "file" and says in r.json()["detail"]
    assert await changes_written(api) == []


async def test_an_upload_over_the_size_limit_is_refused_with_413(api, monkeypatch):
    monkeypatch.setattr(api.app.state.settings, "import_max_bytes", 4096)
    rows = [ledger_row(n) for n in range(1, 2000)]
    content = csv_bytes(table(rows))
    assert len(content) > 4096 + 64 * 1024
    r = await upload(api, content)
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "payload_too_large" and "limit" in r.json()["detail"]
    just_over = csv_bytes(table([ledger_row(n) for n in range(1, 60)]))
    assert 4096 < len(just_over) < 8192
    r = await upload(api, just_over)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"

    async def chunks():  # no Content-Length: the body is counted as it arrives
        boundary = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n"
        yield boundary
        for start in range(0, len(content), 8192):
            yield content[start:start + 8192]
        yield b"\r\n--b--\r\n"

    r = await api.client.post("/api/v1/imports/projects", content=chunks(),
                              headers={**api.admin, "Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413, r.text
    assert await all_projects(api) == []


def _with_declared_size(content: bytes, size: int) -> bytes:
    """The same zip, its central directory declaring every entry ``size`` bytes once inflated."""
    data = bytearray(content)
    at = data.find(b"PK\x01\x02")
    while at != -1:
        data[at + 24:at + 28] = struct.pack("<I", size)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


async def test_a_zip_bomb_is_refused_from_its_declared_sizes_before_it_is_opened(api):
    bomb = _with_declared_size(xlsx_bytes(table([ledger_row(1)])), 0xFFFFFFF0)
    r = await upload(api, bomb, "台账.xlsx")
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "expanded_size_too_large" and "expand" in r.json()["detail"]
    assert await all_projects(api) == []


async def test_a_zip_bomb_is_refused_by_its_compression_ratio(api, monkeypatch):
    # 9 MiB of one byte compresses about a thousand times: no ledger does that.
    bomb = _zip({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"0" * (9 * 1024 * 1024)})
    r = await upload(api, bomb, "台账.xlsx")
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "expanded_size_too_large" and "zip bomb" in r.json()["detail"]
    monkeypatch.setattr(api.app.state.settings, "import_max_uncompressed_bytes", 1024 * 1024)
    r = await upload(api, _zip({"xl/workbook.xml": b"<workbook/>" * 200_000}), "台账.xlsx")
    assert r.status_code == 413 and "limit is 1 MiB" in r.json()["detail"]


async def test_a_ledger_over_the_row_limit_is_refused(api, monkeypatch):
    monkeypatch.setattr(api.app.state.settings, "import_max_rows", 50)
    r = await upload(api, csv_bytes(table([ledger_row(n) for n in range(1, 80)])))
    assert r.status_code == 422 and r.json()["code"] == "too_many_rows"


async def test_an_import_retried_with_its_idempotency_key_returns_the_first_report(api):
    headers = {**api.admin, "Idempotency-Key": "ledger-2022-06"}
    request = api.client.build_request("POST", "/api/v1/imports/projects", headers=headers,
                                       files={"file": ("台账.csv", csv_bytes(table([ledger_row(1)])), "text/csv")})
    await request.aread()
    first = await api.client.send(request)
    again = await api.client.send(request)
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert len(await all_projects(api)) == 1
    dry = api.client.build_request("POST", "/api/v1/imports/projects", headers=headers, params={"dry_run": "true"},
                                   content=request.content)
    dry.headers["Content-Type"] = request.headers["Content-Type"]
    reused = await api.client.send(dry)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(("role", "status"), [
    ("admin", 200), ("bureau", 200), ("leader", 403), ("unit", 403), ("integration", 403), ("viewer", 403)])
async def test_who_may_import_a_ledger(api, role, status):
    binding = {}
    if role == "leader":
        binding = {"leader_id": (await api.leader())["id"]}
    elif role == "unit":
        binding = {"unit_id": (await api.unit())["id"]}
    headers = api.admin if role == "admin" else await api.key(role, **binding)
    r = await upload(api, csv_bytes(table([ledger_row(1)])), headers=headers)
    assert r.status_code == status, r.text
    assert len(await all_projects(api)) == (1 if status == 200 else 0)


async def test_an_import_without_a_key_is_401(api):
    r = await upload(api, csv_bytes(table([ledger_row(1)])), headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


async def test_amounts_keep_their_cents(api):
    r = await upload(api, csv_bytes(table([ledger_row(1, **{"总投资(万元)": "1.23456789"})])))
    assert r.status_code == 200
    (p,) = await all_projects(api)
    assert Decimal(p["total_investment"]["amount"]) == Decimal("12345.68")


async def test_a_report_lists_at_most_the_configured_errors_and_changes_but_counts_them_all(api, monkeypatch):
    monkeypatch.setattr(api.app.state.settings, "import_max_reported_errors", 2)
    monkeypatch.setattr(api.app.state.settings, "import_max_reported_changes", 3)
    rows = [ledger_row(n) for n in range(1, 8)] + [ledger_row(n, 资金来源="?") for n in range(8, 12)]
    report = (await upload(api, csv_bytes(table(rows)), dry_run=True)).json()
    assert (report["created"], len(report["changes"]), report["changes_truncated"]) == (7, 3, True)
    assert (report["invalid"], len(report["errors"]), report["errors_truncated"]) == (4, 2, True)


async def test_new_projects_written_together_apply_the_approval_events_waiting_for_their_codes(api):
    from tests.factories import event_body

    code = "2020-370214-04-01-654321"
    system = await api.integration()
    r = await system.post(event_body(event_id="w-1", project_code=code, status="submitted",
                                     submitted_on="2022-07-01"))
    assert (r.status_code, r.json()["outcome"]) == (202, "unmatched")
    rows = [ledger_row(1), ledger_row(2, 项目代码=code), ledger_row(3)]
    r = await upload(api, csv_bytes(table(rows)))
    assert (r.status_code, r.json()["created"]) == (200, 3)
    by_name = {p["name"]: p for p in await all_projects(api)}
    [item] = await api.approvals(by_name["台账项目 00002"]["id"])
    assert (item["status"], item["submitted_on"]) == ("submitted", "2022-07-01")
    assert await api.approvals(by_name["台账项目 00001"]["id"]) == []
    history = await api.client.get(f"/api/v1/projects/{by_name['台账项目 00002']['id']}/codes", headers=api.admin)
    assert [(c["code"], c["reason"]) for c in history.json()["items"]] == [(code, "assigned")]


async def test_a_code_another_project_took_meanwhile_refuses_its_row_and_writes_nothing(api, monkeypatch):
    from app.services.ledger import imports

    code = "2020-370214-04-01-777777"
    plan_chunk = imports._plan_chunk
    calls = []

    async def plan_then_take_the_code(session, ctx, rows):
        plans = await plan_chunk(session, ctx, rows)
        calls.append(1)
        if len(calls) == 2:  # between checking the rows and writing them, another project takes the code
            from sqlalchemy import update

            from app.models import Project
            await session.execute(update(Project).where(Project.name == "已有项目").values(code=code))
        return plans

    await api.project(name="已有项目")
    monkeypatch.setattr(imports, "_plan_chunk", plan_then_take_the_code)
    rows = [ledger_row(1), ledger_row(2, 项目代码=code), ledger_row(3)]
    r = await upload(api, csv_bytes(table(rows)))
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "ledger_invalid" and "Row 3 was refused" in problem["detail"], problem
    assert [p["name"] for p in await all_projects(api)] == ["已有项目"]


async def test_a_ledgers_changes_write_what_the_same_changes_through_the_api_write(api):
    """The import writes its updates and moves set-based: the same versions, history, audit
    events and outbox events as PATCH and POST /transitions make, one by one."""
    from sqlalchemy import select

    from app.models import OutboxEvent, StageTransition

    first, second = await api.leader("旧领导"), await api.leader("新领导")
    old_unit, new_unit = await api.unit("旧单位"), await api.unit("新单位")
    common = {"leader_id": first["id"], "unit_id": old_unit["id"], "stage_entered_on": "2022-01-10",
              "planned_sign_on": "2022-06-01"}
    by_api = await api.project(name="接口项目", investor="接口公司", **common)
    by_ledger = await api.project(name="台账项目", investor="台账公司", **common)
    note = "台账导入: 台账.csv"

    r = await api.client.patch(f"/api/v1/projects/{by_api['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"leader_id": second["id"], "unit_id": new_unit["id"],
                                     "total_investment": {"amount": "60000000.00", "currency": "CNY"},
                                     "planned_sign_on": "2022-07-01"})
    assert r.status_code == 200, r.text
    moved = r.json()
    for stage in ("signed", "registered"):
        r = await api.move(moved, stage, "2022-05-01", note=note)
        assert r.status_code == 201, r.text
        moved = await api.get_project(by_api["id"])
    rows = [ledger_row(1, 项目名称="台账项目", 投资方="台账公司", 包项目市领导="新领导", 责任单位="新单位",
                       所处阶段="注册/落地", 进入阶段日期="2022-05-01", 计划签约日期="2022-07-01",
                       **{"总投资(万元)": "6000"})]
    r = await upload(api, csv_bytes(table(rows)), "台账.csv")
    assert r.status_code == 200, r.text
    assert (r.json()["updated"], r.json()["changes"][0]["stage_moves"]) == (1, ["signed", "registered"])

    own = {"id", "name", "investor", "investor_id", "created_at", "updated_at"}

    def project(p):
        return {k: v for k, v in p.items() if k not in own}

    assert project(await api.get_project(by_ledger["id"])) == project(await api.get_project(by_api["id"]))
    assert (await api.get_project(by_ledger["id"]))["version"] == 4

    async def history(p):
        r = await api.client.get(f"/api/v1/projects/{p['id']}/transitions", headers=api.admin)
        return [{k: v for k, v in e.items() if k not in ("id", "project_id", "recorded_at")}
                for e in r.json()["items"]]

    assert await history(by_ledger) == await history(by_api)

    events = await api.audit()

    def audited(p):
        return [(e["action"], e["before"], e["after"]) for e in reversed(events)
                if e["resource_type"] == "project" and e["resource_id"] == str(p["id"])]

    assert audited(by_ledger)[1:] == audited(by_api)[1:]  # after their creation, which names each
    assert [a for a, _, _ in audited(by_ledger)] == ["project.create", "project.update", "project.transition",
                                                     "project.transition"]

    async with api.app.state.sessionmaker() as session:
        outbox = (await session.execute(select(OutboxEvent).order_by(OutboxEvent.id))).scalars().all()
        left = {p["id"]: (await session.execute(select(StageTransition.left_on).where(
            StageTransition.project_id == p["id"]).order_by(StageTransition.id))).scalars().all()
            for p in (by_api, by_ledger)}
    assert left[by_ledger["id"]] == left[by_api["id"]] == [date(2022, 5, 1), date(2022, 5, 1), None]

    def emitted(p):
        out = []
        for e in outbox:
            if e.payload["project"]["id"] != p["id"]:
                continue
            payload = {**e.payload, "project": project(e.payload["project"])}
            if "transition" in payload:
                payload["transition"] = {k: v for k, v in payload["transition"].items()
                                         if k not in ("id", "project_id", "recorded_at")}
            out.append((e.type, payload))
        return out

    assert emitted(by_ledger) == emitted(by_api)
    assert [t for t, _ in emitted(by_ledger)] == ["project.created", "project.updated", "project.stage_changed",
                                                  "project.stage_changed"]
