"""Ledger files for the import and export tests: built in memory, read back, sent over HTTP."""

import csv
import io
from typing import Any

import httpx
from openpyxl import Workbook, load_workbook

from tests.factories import Api

Headers = dict[str, str]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

CHINESE_HEADER = ["序号", "项目代码", "项目名称", "投资方", "投资方国别", "统一社会信用代码", "世界500强", "资金来源",
                  "产业类别", "所属区域",
                  "总投资(万元)", "币种", "所处阶段", "进入阶段日期", "包项目市领导", "责任单位", "计划签约日期",
                  "计划开工日期", "计划投产日期", "市重点项目", "重点前期项目", "是否暂缓"]


def ledger_row(n: int, **overrides: Any) -> dict[str, Any]:
    """One ledger row by Chinese header; a valid new domestic project unless overridden."""
    row: dict[str, Any] = {"序号": n, "项目名称": f"台账项目 {n:05d}", "投资方": f"台账投资方 {n:05d}",
                           "资金来源": "内资", "产业类别": "新材料", "所属区域": "滨海新区", "总投资(万元)": "5000",
                           "所处阶段": "在谈", "进入阶段日期": "2022-03-01"}
    row.update(overrides)
    return row


def table(rows: list[dict[str, Any]], header: list[str] | None = None) -> list[list[Any]]:
    header = header or list(dict.fromkeys(k for r in rows for k in r))
    return [header, *[[r.get(h) for h in header] for r in rows]]


def csv_bytes(cells: list[list[Any]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([["" if v is None else v for v in r] for r in cells])
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(cells: list[list[Any]], *, title_row: str | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if title_row:
        sheet.append([title_row])
    for row in cells:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_xlsx(content: bytes) -> list[tuple[Any, ...]]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [tuple(r) for r in sheet.iter_rows(values_only=True)]


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "a CSV export starts with a UTF-8 BOM, for Excel"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


async def upload(api: Api, content: bytes, filename: str = "台账.csv", *, headers: Headers | None = None,
                 **params: Any) -> httpx.Response:
    return await api.client.post("/api/v1/imports/projects", headers=headers or api.admin,
                                 params={k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()},
                                 files={"file": (filename, content, "application/octet-stream")})


async def job_done(api: Api, filed: httpx.Response, *, headers: Headers | None = None) -> dict[str, Any]:
    """Run the job a POST filed (202) as a worker would, then read it back through its Location."""
    from app.services.ledger import jobs

    assert filed.status_code == 202, filed.text
    assert filed.headers["Location"] == f"/api/v1/imports/{filed.json()['id']}"
    while await jobs.run_once(api.app.state.sessionmaker, api.app.state.settings, worker="test worker"):
        pass
    r = await api.client.get(filed.headers["Location"], headers=headers or api.admin)
    assert r.status_code == 200, r.text
    job: dict[str, Any] = r.json()
    assert job["status"] in ("finished", "failed"), job
    return job


async def export(api: Api, fmt: str = "xlsx", *, headers: Headers | None = None, **params: Any) -> httpx.Response:
    return await api.client.get("/api/v1/exports/projects", headers=headers or api.admin,
                                params={"format": fmt, **params})


async def all_projects(api: Api, **params: Any) -> list[dict[str, Any]]:
    r = await api.client.get("/api/v1/projects", headers=api.admin, params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])
