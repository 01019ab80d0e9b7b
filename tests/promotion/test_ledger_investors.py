"""Ledger (台账) columns 投资方, 统一社会信用代码 and 世界500强: they create or match investors."""

from tests.ledger_files import all_projects, csv_bytes, export, ledger_row, read_csv, table, upload

CODE = "91350100M000100Y43"
WRONG = "91350100M000100Y44"


async def investors(api, **params):
    r = await api.client.get("/api/v1/investors", headers=api.admin, params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_an_imported_row_creates_its_investor_with_its_credit_code_and_fortune_global_500(api):
    rows = [ledger_row(1, 投资方="鑫源稀土电缆集团", 统一社会信用代码=CODE, 世界500强="是"),
            ledger_row(2, 投资方="鑫源稀土电缆集团")]
    r = await upload(api, csv_bytes(table(rows)))
    assert r.status_code == 200 and r.json()["created"] == 2, r.text
    [investor] = await investors(api)
    assert (investor["name"], investor["credit_code"], investor["fortune_global_500"]) == (
        "鑫源稀土电缆集团", CODE, True)
    assert {p["investor_id"] for p in await all_projects(api)} == {investor["id"]}


async def test_a_credit_code_with_a_wrong_check_character_is_a_row_error_and_nothing_is_written(api):
    r = await upload(api, csv_bytes(table([ledger_row(1, 统一社会信用代码=WRONG)])))
    assert r.status_code == 422, r.text
    [error] = r.json()["report"]["errors"]
    assert (error["field"], error["column"]) == ("credit_code", "统一社会信用代码")
    assert "check character" in error["message"]
    assert await all_projects(api) == [] and await investors(api) == []


async def test_a_credit_code_of_another_investor_is_a_row_error(api):
    r = await api.client.post("/api/v1/investors", headers=api.admin,
                              json={"name": "甲公司", "country": "CN", "credit_code": CODE})
    assert r.status_code == 201
    r = await upload(api, csv_bytes(table([ledger_row(1, 投资方="乙公司", 统一社会信用代码=CODE)])))
    assert r.status_code == 422, r.text
    assert "甲公司" in r.json()["report"]["errors"][0]["message"]


async def test_an_exported_ledger_carries_the_investors_code_and_imports_again_unchanged(api):
    r = await upload(api, csv_bytes(table([ledger_row(1, 投资方="丙公司", 统一社会信用代码=CODE)])))
    assert r.status_code == 200, r.text
    exported = await export(api, "csv")
    cells = read_csv(exported.content)
    row = dict(zip(cells[0], cells[1], strict=True))
    assert (row["统一社会信用代码"], row["世界500强"]) == (CODE, "否")
    again = await upload(api, exported.content, "台账.csv")
    assert again.status_code == 200, again.text
    assert (again.json()["unchanged"], again.json()["updated"]) == (1, 0)
