"""The ledger of monthly reports (月报台账): import with a dry run, all or nothing, row by row;
export with the same Chinese headers; and ``pipeline import-reports FILE``."""

import csv
import io

from openpyxl import load_workbook

from tests.command_line import migrated_sqlite, pipeline
from tests.factories import assert_problem
from tests.ledger_files import csv_bytes, table, xlsx_bytes
from tests.progress.helpers import accepted, building, file, review

IMPORT = "/api/v1/imports/progress-reports"
EXPORT = "/api/v1/exports/progress-reports"
HEADER = ["项目代码", "项目名称", "年度", "月份", "本月完成投资(万元)", "本月到位资金(万元)", "实际使用外资(万美元)",
          "形象进度", "存在问题", "下月计划"]


async def upload(api, content: bytes, name: str, **params):
    return await api.client.post(IMPORT, headers=api.admin, params=params, files={"file": (name, content)})


async def test_a_ledger_files_every_row_as_the_importing_key_or_nothing(api):
    a = await building(api, code="2020-370214-04-01-000017", funding_source="foreign", investor_country="JP")
    b = await building(api, name="胶东新材料产业园")
    rows = [
        {"项目代码": a["code"], "年度": 2022, "月份": 3, "本月完成投资(万元)": "120.5", "本月到位资金(万元)": "80",
         "实际使用外资(万美元)": "10", "形象进度": "主体结构施工", "存在问题": "用工紧张", "下月计划": "主体封顶"},
        {"项目名称": "胶东新材料产业园", "年度": 2022, "月份": 3, "本月完成投资(万元)": "300"},
    ]
    content = xlsx_bytes(table(rows, HEADER))
    dry = await upload(api, content, "月报.xlsx", dry_run="true")
    assert dry.status_code == 200, dry.text
    assert (dry.json()["rows"], dry.json()["filed"], dry.json()["invalid"]) == (2, 2, 0)
    r = await api.client.get("/api/v1/progress-reports", headers=api.admin)
    assert r.json()["items"] == []

    done = await upload(api, content, "月报.xlsx")
    assert done.status_code == 200, done.text
    [ra, rb] = done.json()["reports"]
    r = await api.client.get(f"/api/v1/progress-reports/{ra['report_id']}", headers=api.admin)
    report = r.json()
    assert report["status"] == "submitted" and report["filed_by"] == "test admin"
    assert report["investment_completed"] == {"amount": "1205000.00", "currency": "CNY"}
    assert report["funds_arrived"] == [{"source": "other", "amount": {"amount": "800000.00", "currency": "CNY"}}]
    assert report["fdi_utilised"] == {"amount": "100000.00", "currency": "USD"}
    assert report["physical_progress"] == "主体结构施工"
    assert rb["project_id"] == b["id"]
    imports = await api.audit(action="import")
    assert imports[0]["resource_type"] == "report_ledger" and imports[0]["after"]["filed"] == 2


async def test_one_bad_row_refuses_the_file_naming_the_row_and_column(api):
    domestic = await building(api, code="2020-370214-04-01-000018")
    pending = await building(api, code="2020-370214-04-01-000019")
    await file(api, pending, 2022, 4)
    rows = [
        {"项目代码": domestic["code"], "年度": 2022, "月份": 4, "本月完成投资(万元)": "10"},
        {"项目代码": domestic["code"], "年度": 2022, "月份": 5, "本月完成投资(万元)": "-3"},
        {"项目代码": domestic["code"], "年度": 2022, "月份": 6, "本月完成投资(万元)": "1", "实际使用外资(万美元)": "1"},
        {"项目代码": "2020-370214-04-01-999999", "年度": 2022, "月份": 4, "本月完成投资(万元)": "1"},
        {"项目代码": pending["code"], "年度": 2022, "月份": 4, "本月完成投资(万元)": "1"},
        {"项目代码": domestic["code"], "年度": 2022, "月份": 4, "本月完成投资(万元)": "2"},
        {"项目代码": domestic["code"], "年度": 2099, "月份": 1, "本月完成投资(万元)": "2"},
    ]
    r = await upload(api, csv_bytes(table(rows, HEADER), "gbk"), "坏月报.csv")
    body = assert_problem(r, 422, "ledger_invalid")
    problems = {(e["row"], e["column"]) for e in body["errors"]}
    assert problems == {(3, "本月完成投资(万元)"), (4, "实际使用外资(万美元)"), (5, "项目代码"), (6, "月份"),
                        (7, "月份"), (8, "月份")}
    assert body["report"]["invalid"] == 6 and body["report"]["filed"] == 1
    r = await api.client.get("/api/v1/progress-reports", headers=api.admin, params={"limit": 200})
    assert [i["project_id"] for i in r.json()["items"]] == [pending["id"]]


async def test_the_export_writes_each_months_latest_version_with_chinese_headers(api):
    a = await building(api, code="2020-370214-04-01-000020", name="=SUM(A1)")
    b = await building(api)
    await accepted(api, a, 2022, 1, "1234567.89", funds_arrived=[
        {"source": "own_funds", "amount": {"amount": "10000", "currency": "CNY"}},
        {"source": "bank_loans", "amount": {"amount": "20000", "currency": "CNY"}}])
    first = await file(api, a, 2022, 2, 100)
    await review(api, first, "return", reason="重报")
    await file(api, a, 2022, 2, 200)
    await accepted(api, b, 2022, 2, 50000)

    r = await api.client.get(EXPORT, headers=api.admin, params={"year": 2022, "format": "csv"})
    assert r.status_code == 200, r.text
    assert "progress-reports-2022.csv" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:11] == ["序号", *HEADER] and rows[0][11:] == ["状态", "版本"]
    assert rows[1][1:8] == ["2020-370214-04-01-000020", "'=SUM(A1)", "2022", "1", "123.456789", "3", ""]
    assert rows[1][11:] == ["审核通过", "1"]
    assert [(row[4], row[5], row[11], row[12]) for row in rows[2:]] == [
        ("2", "0.02", "已填报待审核", "2"), ("2", "5", "审核通过", "1")]

    r = await api.client.get(EXPORT, headers=api.admin, params={"year": 2022, "month": 2})
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert [c.value for c in next(sheet.iter_rows(max_row=1))][:5] == ["序号", "项目代码", "项目名称", "年度", "月份"]
    assert sheet.max_row == 3


async def test_units_may_export_their_own_reports_but_not_import(api):
    unit = await api.unit()
    own = await building(api, unit_id=unit["id"])
    other = await building(api)
    await file(api, own, 2022, 1)
    await file(api, other, 2022, 1)
    key = await api.key("unit", unit_id=unit["id"])
    r = await api.client.get(EXPORT, headers=key, params={"year": 2022, "format": "csv"})
    assert len(list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))) == 2
    r = await api.client.post(IMPORT, headers=key, files={"file": ("x.csv", csv_bytes(table([], HEADER)))})
    assert_problem(r, 403, "forbidden")


def test_pipeline_import_reports_files_a_ledger(tmp_path):
    db = migrated_sqlite(tmp_path)
    projects = tmp_path / "台账.csv"
    projects.write_bytes(csv_bytes(table([{"项目代码": "2020-370214-04-01-000021", "项目名称": "台账在建项目",
                                           "投资方": "某公司", "资金来源": "内资", "产业类别": "新材料",
                                           "所属区域": "滨海新区", "总投资(万元)": "5000", "所处阶段": "在建",
                                           "进入阶段日期": "2021-03-01"}])))
    assert pipeline("import", str(projects), db=db).returncode == 0
    ledger = tmp_path / "月报.csv"
    ledger.write_bytes(csv_bytes(table([{"项目代码": "2020-370214-04-01-000021", "年度": 2022, "月份": 1,
                                         "本月完成投资(万元)": "12"}], HEADER)))
    dry = pipeline("import-reports", str(ledger), "--dry-run", db=db)
    assert dry.returncode == 0, dry.stderr
    assert "1 rows; 1 reports would be filed, 0 invalid (dry run" in dry.stdout
    done = pipeline("import-reports", str(ledger), db=db)
    assert done.returncode == 0 and "1 reports were filed" in done.stdout
    again = pipeline("import-reports", str(ledger), db=db)
    assert again.returncode == 1 and "awaits review" in again.stderr
