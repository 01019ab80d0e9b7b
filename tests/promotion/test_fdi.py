"""Foreign investment: contracted (合同外资) on the project, utilised (实际使用外资) from the accepted
monthly reports, and both beside total investment in the pipeline and the targets."""

import asyncio
from datetime import date, timedelta
from decimal import Decimal

from app.clock import today
from tests.factories import assert_invalid, assert_problem
from tests.progress.helpers import accepted, file, review

API = "/api/v1"


def usd(amount):
    return {"amount": amount, "currency": "USD"}


async def foreign(api, **fields):
    return await api.project(funding_source="foreign", investor_country="JP", stage_entered_on="2022-01-01",
                             total_investment=usd("1000.00"), **fields)


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


async def test_a_new_receipt_is_gone_pointing_at_the_monthly_reports(api):
    p = await foreign(api)
    url = f"{API}/projects/{p['id']}/fdi-receipts"
    r = await api.client.post(url, headers=api.admin, json={"received_on": "2022-03-01", "amount": usd("1.00")})
    body = assert_problem(r, 410, "fdi_receipts_retired")
    assert f"/api/v1/projects/{p['id']}/progress-reports" in body["detail"]
    assert r.headers["Link"] == f'</api/v1/projects/{p["id"]}/progress-reports>; rel="successor-version"'
    assert (await api.client.get(url, headers=api.admin)).json()["items"] == []
    assert await api.audit(resource_type="fdi_receipt") == []
    operation = (await api.client.get("/openapi.json")).json()["paths"]["/api/v1/projects/{project_id}/fdi-receipts"]
    assert operation["post"]["deprecated"] is True and "410" in operation["post"]["responses"]
    assert operation["get"]["deprecated"] is True


async def test_utilised_fdi_is_the_accepted_monthly_reports_from_the_day_each_is_accepted(api):
    a = await foreign(api, contracted_fdi=usd("600.00"), zone="binhai_new_area")
    b = await foreign(api, contracted_fdi=usd("400.00"), zone="other")
    await api.project(zone="binhai_new_area", stage_entered_on="2022-01-01")
    march = await accepted(api, a, 2022, 3, 0, fdi_utilised=usd("100.00"))
    await accepted(api, a, 2022, 5, 0, fdi_utilised=usd("50.00"))
    await accepted(api, b, 2022, 4, 0, fdi_utilised=usd("40.00"))
    await file(api, b, 2022, 6, 0, fdi_utilised=usd("999.00"))  # awaits review: not yet counted
    returned = await file(api, b, 2022, 7, 0, fdi_utilised=usd("888.00"))
    await review(api, returned, "return", reason="外资金额有误")
    await file(api, a, 2022, 3, 0, fdi_utilised=usd("120.00"))  # a correction awaiting review

    async def stats(as_of):
        r = await api.client.get(f"{API}/stats/pipeline", headers=api.admin,
                                 params={"as_of": as_of, "group_by": "zone", "funnel": "false"})
        assert r.status_code == 200, r.text
        return r.json()

    now = await stats(str(today()))
    assert now["total"]["fdi"] == {"foreign_projects": 2, "contracted": usd("1000.00"), "utilised": usd("190.00"),
                                   "share_utilised": "0.1900"}
    zones = {g["key"]["zone"]: g["fdi"] for g in now["groups"]}
    assert zones["binhai_new_area"]["utilised"] == usd("150.00")
    assert zones["binhai_new_area"]["foreign_projects"] == 1
    assert zones["other"]["contracted"] == usd("400.00")
    # The reports were accepted today: the day before, nothing had been utilised as far as
    # the bureau could see.
    before = await stats(str(today() - timedelta(days=1)))
    assert before["total"]["fdi"]["utilised"] == usd("0.00")

    [correction] = [v for v in (await api.client.get(f"{API}/progress-reports/{march['id']}/versions",
                                                     headers=api.admin)).json() if v["status"] == "submitted"]
    await review(api, correction)
    assert (await stats(str(today())))["total"]["fdi"]["utilised"] == usd("210.00")


async def test_utilised_fdi_in_the_pipeline_is_stats_investments_year_to_date(api):
    a = await foreign(api, contracted_fdi=usd("600.00"))
    await accepted(api, a, 2022, 3, 1000, fdi_utilised=usd("100.00"))
    await accepted(api, a, 2022, 11, 1000, fdi_utilised=usd("25.50"))
    await accepted(api, a, 2021, 12, 1000, fdi_utilised=usd("7.00"))
    pipeline = (await api.client.get(f"{API}/stats/pipeline", headers=api.admin,
                                     params={"funnel": "false"})).json()["total"]["fdi"]["utilised"]
    years = []
    for year in (2021, 2022):
        r = await api.client.get(f"{API}/stats/investment", headers=api.admin, params={"year": year, "month": 12})
        years.append(Decimal(r.json()["total"]["fdi_utilised_ytd"]["amount"]))
    assert pipeline == usd(str(sum(years))) == usd("132.50")


async def test_the_targets_give_members_and_done_fdi(api):
    on = today()
    a = await foreign(api, contracted_fdi=usd("600.00"))
    b = await foreign(api, contracted_fdi=usd("400.00"))
    await accepted(api, a, on.year, on.month, 0, fdi_utilised=usd("100.00"))
    r = await api.client.post(f"{API}/targets", headers=api.admin, json={
        "year": on.year, "title": "外资项目签约", "goal_stage": "signed", "target_count": 2,
        "target_amount": usd("1000.00"), "membership": "list", "members": [a["id"], b["id"]],
        "members_since": f"{on.year}-01-01"})
    assert r.status_code == 201, r.text
    a = await api.get_project(a["id"])
    assert (await api.move(a, "signed", on)).status_code == 201
    r = await api.client.get(f"{API}/stats/targets", headers=api.admin, params={"year": on.year})
    [item] = r.json()["items"]
    assert item["members"]["fdi"]["contracted"] == usd("1000.00")
    assert item["members"]["fdi"]["utilised"] == usd("100.00")
    assert item["done"]["fdi"] == {"foreign_projects": 1, "contracted": usd("600.00"), "utilised": usd("100.00"),
                                   "share_utilised": str((Decimal(100) / Decimal(600)).quantize(Decimal("0.0001")))}


def _rerun_0012(database_url: str) -> None:
    """Migration 0012 once more, on the rows the test made: down to its parent and up again."""
    from alembic.script import ScriptDirectory

    from alembic import command
    from app.cli import alembic_config

    config = alembic_config(database_url)
    parent = ScriptDirectory.from_config(config).get_revision("0012").down_revision
    command.downgrade(config, str(parent))
    command.upgrade(config, "head")


async def test_migration_0012_moves_the_receipts_into_the_monthly_reports_losing_nothing(api, database_url):
    from app.models import FdiReceipt

    only_receipts = await foreign(api)
    reported = await foreign(api)
    reported_fdi = await foreign(api)
    await accepted(api, reported, 2022, 4, 500)
    await accepted(api, reported_fdi, 2022, 5, 700, fdi_utilised=usd("70.00"))
    async with api.app.state.sessionmaker() as session, session.begin():
        first = FdiReceipt(project_id=only_receipts["id"], received_on=date(2022, 3, 1), amount=Decimal(100),
                           currency="USD", actor_name="招商局")
        wrong = FdiReceipt(project_id=only_receipts["id"], received_on=date(2022, 3, 10), amount=Decimal(50),
                           currency="USD", actor_name="招商局")
        session.add_all([first, wrong])
        await session.flush()
        session.add_all([
            FdiReceipt(project_id=only_receipts["id"], received_on=date(2022, 3, 12), amount=Decimal(60),
                       currency="USD", corrects_id=wrong.id, actor_name="招商局"),
            FdiReceipt(project_id=reported["id"], received_on=date(2022, 4, 2), amount=Decimal(30), currency="USD",
                       actor_name="招商局"),
            FdiReceipt(project_id=reported_fdi["id"], received_on=date(2022, 5, 3), amount=Decimal(30),
                       currency="USD", actor_name="招商局")])

    async def utilised(on):
        r = await api.client.get(f"{API}/stats/pipeline", headers=api.admin,
                                 params={"as_of": str(on), "funnel": "false"})
        return r.json()["total"]["fdi"]["utilised"]["amount"]

    async def versions(project, month):
        reports = (await api.client.get(f"{API}/projects/{project['id']}/progress-reports", headers=api.admin,
                                        params={"year": 2022})).json()["items"]
        return sorted((v["revision"], v["status"], v["accepted_on"], v["superseded_on"],
                        v["fdi_utilised"] and v["fdi_utilised"]["amount"], v["investment_completed"]["amount"])
                       for v in reports if v["month"] == month)

    for _ in range(2):  # a second run adds nothing
        await asyncio.to_thread(_rerun_0012, database_url)
        # A month of receipts only: a version per receipt day, the corrected receipt left out,
        # so utilised FDI on every past day is what the receipts gave.
        assert await versions(only_receipts, 3) == [
            (1, "accepted", "2022-03-01", "2022-03-12", "100.00", "0.00"),
            (2, "accepted", "2022-03-12", None, "160.00", "0.00")]
        assert [await utilised(d) for d in (date(2022, 2, 28), date(2022, 3, 5), date(2022, 3, 31))] == [
            "0.00", "100.00", "160.00"]
        # A reported month without FDI: a new version with its figures and the receipt,
        # from today (the report's past stays); one with FDI stands as the unit reported it.
        now = str(today())
        assert await versions(reported, 4) == [(1, "accepted", now, now, None, "500.00"),
                                               (2, "accepted", now, None, "30.00", "500.00")]
        assert await versions(reported_fdi, 5) == [(1, "accepted", now, None, "70.00", "700.00")]
        assert await utilised(today()) == "260.00"
    events = [e["after"] for e in await api.audit(action="progress_report.file")
              if e["actor_name"] == "migration 0012"]
    assert sorted((e["project_id"], e["revision"], len(e["from_fdi_receipts"]), e["supersedes"] is not None)
                  for e in events) == [(only_receipts["id"], 1, 1, False), (only_receipts["id"], 2, 2, False),
                                       (reported["id"], 2, 1, True)]
    listed = (await api.client.get(f"{API}/projects/{only_receipts['id']}/fdi-receipts", headers=api.admin)).json()
    assert len(listed["items"]) == 3  # the receipts stay, read-only
