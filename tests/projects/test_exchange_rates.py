"""``/exchange-rates`` and converting totals: the rate in force on the date asked, named."""

from decimal import Decimal


async def rate(api, currency, rate, valid_from, headers=None):
    r = await api.client.post("/api/v1/exchange-rates", headers=headers or api.admin,
                              json={"currency": currency, "rate": rate, "valid_from": valid_from})
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_rate_is_recorded_and_audited(api):
    bureau = await api.key("bureau")
    created = await rate(api, "usd", "6.7261", "2022-06-01", headers=bureau)
    assert (created["currency"], Decimal(created["rate"]), created["valid_from"]) == (
        "USD", Decimal("6.7261"), "2022-06-01")
    event = (await api.audit(resource_type="exchange_rate"))[0]
    assert event["action"] == "exchange_rate.create" and event["after"]["currency"] == "USD"


async def test_a_rate_is_exact_to_ten_places(api):
    created = await rate(api, "KRW", "0.0051234567", "2022-06-01")
    assert Decimal(created["rate"]) == Decimal("0.0051234567")


async def test_cny_has_no_rate_and_rates_are_positive(api):
    for body, field in (({"currency": "CNY", "rate": "1", "valid_from": "2022-01-01"}, "currency"),
                        ({"currency": "USD", "rate": "0", "valid_from": "2022-01-01"}, "rate"),
                        ({"currency": "XXY", "rate": "1", "valid_from": "2022-01-01"}, "currency")):
        r = await api.client.post("/api/v1/exchange-rates", headers=api.admin, json=body)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text


async def test_one_rate_per_currency_and_date(api):
    await rate(api, "USD", "6.7", "2022-06-01")
    r = await api.client.post("/api/v1/exchange-rates", headers=api.admin,
                              json={"currency": "USD", "rate": "6.8", "valid_from": "2022-06-01"})
    assert r.status_code == 409 and r.json()["code"] == "rate_exists"


async def test_a_rate_is_corrected_with_if_match(api):
    created = await rate(api, "USD", "6.7", "2022-06-01")
    url = f"/api/v1/exchange-rates/{created['id']}"
    r = await api.client.patch(url, headers={**api.admin, "If-Match": '"1"'}, json={"rate": "6.71"})
    assert r.status_code == 200 and Decimal(r.json()["rate"]) == Decimal("6.71") and r.headers["ETag"] == '"2"'
    stale = await api.client.patch(url, headers={**api.admin, "If-Match": '"1"'}, json={"rate": "6.72"})
    assert stale.status_code == 412
    event = (await api.audit(action="exchange_rate.update"))[0]
    assert Decimal(event["before"]["rate"]) == Decimal("6.7") and Decimal(event["after"]["rate"]) == Decimal("6.71")


async def test_the_rates_in_force_on_a_date(api):
    await rate(api, "USD", "6.3", "2022-01-04")
    june = await rate(api, "USD", "6.7", "2022-06-01")
    jpy = await rate(api, "JPY", "0.05", "2022-03-01")
    r = await api.client.get("/api/v1/exchange-rates", headers=api.admin, params={"on": "2022-06-30"})
    assert {e["id"] for e in r.json()["items"]} == {june["id"], jpy["id"]}
    r = await api.client.get("/api/v1/exchange-rates", headers=api.admin, params={"on": "2022-02-01"})
    assert [e["currency"] for e in r.json()["items"]] == ["USD"]
    r = await api.client.get("/api/v1/exchange-rates", headers=api.admin, params={"currency": "JPY"})
    assert [e["id"] for e in r.json()["items"]] == [jpy["id"]]


async def pipeline_total(api, as_of):
    r = await api.client.get("/api/v1/stats/pipeline", headers=api.admin, params={"as_of": as_of})
    assert r.status_code == 200, r.text
    return r.json()["total"]


async def test_a_converted_total_uses_the_rate_in_force_and_names_it(api):
    await api.project(total_investment={"amount": "100.00", "currency": "USD"}, stage_entered_on="2022-01-10")
    await api.project(total_investment={"amount": "50.00", "currency": "CNY"}, stage_entered_on="2022-01-10")
    await rate(api, "USD", "6.3", "2022-01-04")
    await rate(api, "USD", "6.7", "2022-06-01")
    total = await pipeline_total(api, "2022-05-31")
    assert total["total_cny"] == {"amount": "680.00", "currency": "CNY", "missing_rates": [], "rates": [
        {"currency": "USD", "rate": "6.3", "valid_from": "2022-01-04", "source": "exchange_rates"}]}
    assert (await pipeline_total(api, "2022-06-01"))["total_cny"]["amount"] == "720.00"


async def test_a_total_that_needs_a_missing_rate_says_so_instead_of_guessing(api):
    await api.project(total_investment={"amount": "100.00", "currency": "EUR"}, stage_entered_on="2022-01-10")
    await api.project(total_investment={"amount": "50.00", "currency": "CNY"}, stage_entered_on="2022-01-10")
    await rate(api, "EUR", "7.1", "2022-06-01")
    total = await pipeline_total(api, "2022-05-31")
    assert total["totals"] == [{"amount": "50.00", "currency": "CNY"}, {"amount": "100.00", "currency": "EUR"}]
    assert total["total_cny"] == {"amount": None, "currency": "CNY", "rates": [], "missing_rates": ["EUR"]}


async def test_a_targets_plan_rate_counts_dollars_and_yuan_alike_all_year(api):
    usd = await api.project(total_investment={"amount": "100.00", "currency": "USD"}, stage="registered",
                            stage_entered_on="2022-02-01")
    cny = await api.project(total_investment={"amount": "640.00", "currency": "CNY"}, stage="registered",
                            stage_entered_on="2022-02-01")
    await rate(api, "USD", "7.2", "2022-01-04")
    r = await api.client.post("/api/v1/targets", headers=api.admin, json={
        "year": 2022, "title": "签约注册", "goal_stage": "registered", "target_count": 2,
        "target_amount": {"amount": "200.00", "currency": "USD"}, "membership": "list",
        "members": [usd["id"], cny["id"]], "plan_rates": {"USD": "6.4"}})
    assert r.status_code == 201, r.text
    stats = (await api.client.get("/api/v1/stats/targets", headers=api.admin,
                                  params={"year": 2022, "as_of": "2022-06-30"})).json()
    done = stats["items"][0]["done"]
    # ¥640 at the plan's 6.4 is US$100, whatever the table says that day.
    assert done["total"] == {"amount": "200.00", "currency": "USD", "missing_rates": [], "rates": [
        {"currency": "USD", "rate": "6.4", "valid_from": None, "source": "plan_rate"}]}
    assert stats["items"][0]["share_done_amount"] == "1.0000"
