"""Foreign investment: contracted (合同外资) on the project, utilised (实际使用外资) from receipts,
and both beside total investment in the pipeline and the targets."""

from datetime import timedelta
from decimal import Decimal

from app.clock import today
from tests.factories import assert_invalid, assert_problem

API = "/api/v1"


def usd(amount):
    return {"amount": amount, "currency": "USD"}


async def foreign(api, **fields):
    return await api.project(funding_source="foreign", investor_country="JP", stage_entered_on="2022-01-01",
                             total_investment=usd("1000.00"), **fields)


async def receipt(api, project, on, amount, **extra):
    r = await api.client.post(f"{API}/projects/{project['id']}/fdi-receipts", headers=api.admin,
                              json={"received_on": on, "amount": usd(amount), **extra})
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_foreign_project_carries_contracted_fdi_and_registered_capital(api):
    p = await foreign(api, contracted_fdi=usd("600.00"), registered_capital={"amount": "200.00", "currency": "JPY"})
    assert p["contracted_fdi"] == usd("600.00")
    assert p["registered_capital"] == {"amount": "200.00", "currency": "JPY"}
    r = await api.client.patch(f"{API}/projects/{p['id']}", headers={**api.admin, "If-Match": f'"{p["version"]}"'},
                               json={"contracted_fdi": None})
    assert r.status_code == 200 and r.json()["contracted_fdi"] is None
    [event] = await api.audit(resource_type="project", action="project.update")
    assert event["before"]["contracted_fdi"] == usd("600.00") and event["after"]["contracted_fdi"] is None


async def test_contracted_fdi_on_a_domestic_project_is_422_naming_it(api):
    r = await api.client.post(f"{API}/projects", headers=api.admin, json={
        "name": "内资项目", "investor": "某公司", "investor_country": "CN", "funding_source": "domestic",
        "industry": "new_materials", "zone": "other", "total_investment": {"amount": "1.00", "currency": "CNY"},
        "contracted_fdi": usd("1.00")})
    assert_invalid(r, "contracted_fdi", "foreign")
    assert (await api.client.get(f"{API}/projects", headers=api.admin)).json()["items"] == []
    p = await api.project()
    r = await api.client.patch(f"{API}/projects/{p['id']}", headers={**api.admin, "If-Match": f'"{p["version"]}"'},
                               json={"contracted_fdi": usd("1.00")})
    assert_invalid(r, "contracted_fdi", "foreign")
    f = await foreign(api, contracted_fdi=usd("5.00"))
    r = await api.client.patch(f"{API}/projects/{f['id']}", headers={**api.admin, "If-Match": f'"{f["version"]}"'},
                               json={"funding_source": "domestic"})
    assert_invalid(r, "contracted_fdi", "foreign")
    assert (await api.get_project(f["id"]))["funding_source"] == "foreign"


async def test_contracted_fdi_not_in_usd_is_422_naming_it(api):
    r = await api.client.post(f"{API}/projects", headers=api.admin, json={
        "name": "外资项目", "investor": "某会社", "investor_country": "JP", "funding_source": "foreign",
        "industry": "electronics", "zone": "other", "total_investment": usd("1.00"),
        "contracted_fdi": {"amount": "1.00", "currency": "JPY"}})
    assert_invalid(r, "contracted_fdi", "USD")


async def test_receipts_are_dated_in_usd_audited_and_a_correction_replaces_one(api):
    p = await foreign(api, contracted_fdi=usd("600.00"))
    first = await receipt(api, p, "2022-03-01", "100.00", note="首笔注资")
    fixed = await receipt(api, p, "2022-03-01", "150.00", corrects_id=first["id"])
    listed = (await api.client.get(f"{API}/projects/{p['id']}/fdi-receipts", headers=api.admin)).json()["items"]
    assert [(x["id"], x["corrected_by_id"]) for x in listed] == [(first["id"], fixed["id"]), (fixed["id"], None)]
    assert [e["action"] for e in await api.audit(resource_type="fdi_receipt")] == ["fdi_receipt.create"] * 2
    r = await api.client.post(f"{API}/projects/{p['id']}/fdi-receipts", headers=api.admin,
                              json={"received_on": "2022-03-02", "amount": usd("1.00"), "corrects_id": first["id"]})
    assert_problem(r, 409, "already_corrected")


async def test_bad_receipts_are_refused_and_write_nothing(api):
    p = await foreign(api)
    url = f"{API}/projects/{p['id']}/fdi-receipts"
    r = await api.client.post(url, headers=api.admin, json={"received_on": "2022-03-01",
                                                            "amount": {"amount": "1.00", "currency": "EUR"}})
    assert_invalid(r, "amount.currency", "USD")
    r = await api.client.post(url, headers=api.admin, json={"received_on": str(today() + timedelta(days=1)),
                                                            "amount": usd("1.00")})
    assert_invalid(r, "received_on", "future")
    domestic = await api.project()
    r = await api.client.post(f"{API}/projects/{domestic['id']}/fdi-receipts", headers=api.admin,
                              json={"received_on": "2022-03-01", "amount": usd("1.00")})
    assert_problem(r, 409, "not_foreign_funded")
    assert (await api.client.get(url, headers=api.admin)).json()["items"] == []


async def test_the_pipeline_gives_contracted_and_utilised_fdi_of_its_foreign_projects(api):
    a = await foreign(api, contracted_fdi=usd("600.00"), zone="binhai_new_area")
    b = await foreign(api, contracted_fdi=usd("400.00"), zone="other")
    await api.project(zone="binhai_new_area", stage_entered_on="2022-01-01")
    await receipt(api, a, "2022-03-01", "100.00")
    await receipt(api, a, "2022-05-01", "50.00")
    await receipt(api, b, "2022-04-01", "40.00")

    async def stats(as_of):
        r = await api.client.get(f"{API}/stats/pipeline", headers=api.admin,
                                 params={"as_of": as_of, "group_by": "zone", "funnel": "false"})
        assert r.status_code == 200, r.text
        return r.json()

    now = await stats("2022-06-01")
    assert now["total"]["fdi"] == {"foreign_projects": 2, "contracted": usd("1000.00"), "utilised": usd("190.00"),
                                   "share_utilised": "0.1900"}
    zones = {g["key"]["zone"]: g["fdi"] for g in now["groups"]}
    assert zones["binhai_new_area"]["utilised"] == usd("150.00")
    assert zones["binhai_new_area"]["foreign_projects"] == 1
    assert zones["other"]["contracted"] == usd("400.00")
    before = await stats("2022-03-15")
    assert before["total"]["fdi"]["utilised"] == usd("100.00")


async def test_the_targets_give_members_and_done_fdi(api):
    a = await foreign(api, contracted_fdi=usd("600.00"))
    b = await foreign(api, contracted_fdi=usd("400.00"))
    await receipt(api, a, "2022-03-01", "100.00")
    r = await api.client.post(f"{API}/targets", headers=api.admin, json={
        "year": 2022, "title": "外资项目签约", "goal_stage": "signed", "target_count": 2,
        "target_amount": usd("1000.00"), "membership": "list", "members": [a["id"], b["id"]],
        "members_since": "2022-01-01"})
    assert r.status_code == 201, r.text
    a = await api.get_project(a["id"])
    assert (await api.move(a, "signed", "2022-04-01")).status_code == 201
    r = await api.client.get(f"{API}/stats/targets", headers=api.admin, params={"year": 2022, "as_of": "2022-06-01"})
    [item] = r.json()["items"]
    assert item["members"]["fdi"]["contracted"] == usd("1000.00")
    assert item["members"]["fdi"]["utilised"] == usd("100.00")
    assert item["done"]["fdi"] == {"foreign_projects": 1, "contracted": usd("600.00"), "utilised": usd("100.00"),
                                   "share_utilised": str((Decimal(100) / Decimal(600)).quantize(Decimal("0.0001")))}
