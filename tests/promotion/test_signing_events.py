"""Signing events (签约活动), the moves that name them, and conversion per cohort."""

from datetime import timedelta

from app.clock import today
from tests.factories import assert_invalid, assert_problem
from tests.progress.helpers import accepted, file, review

API = "/api/v1"


def usd(amount):
    return {"amount": amount, "currency": "USD"}


async def event(api, **fields):
    body = {"name": "2022中国（青岛）投资推介会", "held_on": "2022-05-20", "organiser": "市投资促进局",
            "zone": "binhai_new_area", **fields}
    r = await api.client.post(f"{API}/signing-events", headers=api.admin, json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def signed(api, on, event_id=None, **fields):
    p = await api.project(stage_entered_on="2021-01-01", **fields)
    extra = {"signing_event_id": event_id} if event_id else {}
    r = await api.move(p, "signed", on, **extra)
    assert r.status_code == 201, r.text
    assert r.json()["signing_event_id"] == event_id
    return await api.get_project(p["id"])


async def walk(api, p, *steps):
    for stage, on in steps:
        r = await api.move(p, stage, on, **({"reason": "投资方撤回"} if stage == "terminated" else {}))
        assert r.status_code == 201, r.text
        p = await api.get_project(p["id"])
    return p


async def test_a_signing_event_is_created_read_updated_and_archived_with_audit(api):
    e = await event(api)
    r = await api.client.get(f"{API}/signing-events/{e['id']}", headers=api.admin)
    assert r.json() == e and r.headers["ETag"] == '"1"'
    r = await api.client.patch(f"{API}/signing-events/{e['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"organiser": "市商务局"})
    assert r.status_code == 200 and r.json()["organiser"] == "市商务局"
    listed = (await api.client.get(f"{API}/signing-events", headers=api.admin, params={"year": 2022})).json()
    assert [x["id"] for x in listed["items"]] == [e["id"]]
    assert (await api.client.get(f"{API}/signing-events", headers=api.admin, params={"year": 2021})).json()[
        "items"] == []
    r = await api.client.delete(f"{API}/signing-events/{e['id']}", headers={**api.admin, "If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["archived_at"] is not None
    actions = sorted(x["action"] for x in await api.audit(resource_type="signing_event"))
    assert actions == ["signing_event.archive", "signing_event.create", "signing_event.update"]


async def test_a_move_to_signed_names_its_event_and_the_audit_keeps_it(api):
    e = await event(api)
    p = await signed(api, "2022-05-20", e["id"])
    history = (await api.client.get(f"{API}/projects/{p['id']}/transitions", headers=api.admin)).json()["items"]
    assert [(h["to_stage"], h["signing_event_id"]) for h in history] == [("negotiating", None), ("signed", e["id"])]
    [moved] = await api.audit(resource_type="project", action="project.transition")
    assert moved["after"]["signing_event_id"] == e["id"]


async def test_a_signing_event_on_a_move_not_to_signed_is_422_and_moves_nothing(api):
    e = await event(api)
    p = await signed(api, "2022-05-20")
    r = await api.move(p, "registered", "2022-06-01", signing_event_id=e["id"])
    assert_invalid(r, "signing_event_id", "only a move to signed")
    assert (await api.get_project(p["id"]))["stage"] == "signed"
    q = await api.project(stage_entered_on="2022-01-01")
    r = await api.move(q, "signed", "2022-05-20", signing_event_id=e["id"] + 99)
    assert_invalid(r, "signing_event_id", "no current signing event")
    assert (await api.get_project(q["id"]))["stage"] == "negotiating"


async def test_an_events_stats_count_what_its_projects_became_with_links(api):
    e = await event(api)
    a = await signed(api, "2022-05-20", e["id"], funding_source="foreign", investor_country="JP",
                     total_investment=usd("1000.00"), contracted_fdi=usd("800.00"))
    b = await signed(api, "2022-05-20", e["id"], total_investment={"amount": "500.00", "currency": "CNY"})
    c = await signed(api, "2022-05-20", e["id"])
    await signed(api, "2022-05-21")  # signed elsewhere
    await walk(api, a, ("registered", "2022-06-01"), ("preliminary", "2022-07-01"),
               ("under_construction", "2022-08-01"))
    await walk(api, b, ("registered", "2022-06-15"))
    await walk(api, c, ("terminated", "2022-07-01"))
    await accepted(api, a, 2022, 9, 0, fdi_utilised=usd("200.00"))

    # The report was accepted today: the figures of today count it.
    r = await api.client.get(f"{API}/stats/signing-events/{e['id']}", headers=api.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    f = body["figures"]
    assert body["event"]["id"] == e["id"] and f["name"] == e["name"]
    assert f["signed"]["count"] == 3
    assert {m["currency"]: m["amount"] for m in f["signed"]["totals"]} == {"USD": "1000.00", "CNY": "100000500.00"}
    assert (f["registered"]["count"], f["registered"]["share"]) == (2, "0.6667")
    assert (f["under_construction"]["count"], f["in_production"]["count"], f["terminated"]["count"]) == (1, 0, 1)
    assert f["fdi"] == {"foreign_projects": 1, "contracted": usd("800.00"), "utilised": usd("200.00"),
                        "share_utilised": "0.2500"}
    linked = (await api.client.get(f["registered"]["projects"], headers=api.admin)).json()["items"]
    assert sorted(x["id"] for x in linked) == sorted([a["id"], b["id"]])
    everyone = (await api.client.get(f["signed"]["projects"], headers=api.admin)).json()["items"]
    assert sorted(x["id"] for x in everyone) == sorted([a["id"], b["id"], c["id"]])

    # On the day after the event, nothing had moved on yet.
    early = (await api.client.get(f"{API}/stats/signing-events/{e['id']}", headers=api.admin,
                                  params={"as_of": "2022-05-21"})).json()["figures"]
    assert (early["signed"]["count"], early["registered"]["count"], early["terminated"]["count"]) == (3, 0, 0)
    assert early["fdi"]["utilised"] == usd("0.00")
    r = await api.client.get(f"{API}/stats/signing-events/{e['id'] + 99}", headers=api.admin)
    assert_problem(r, 404, "not_found")


async def test_cohorts_by_signed_year_and_by_event(api):
    e = await event(api)
    a = await signed(api, "2022-05-20", e["id"])
    await signed(api, "2021-03-01")
    await walk(api, a, ("registered", "2022-06-01"))
    by_year = (await api.client.get(f"{API}/stats/cohorts", headers=api.admin,
                                    params={"by": "signed_year", "as_of": "2022-12-31"})).json()
    assert [(c["key"], c["signed"]["count"], c["registered"]["count"]) for c in by_year["items"]] == [
        ({"signed_year": 2021}, 1, 0), ({"signed_year": 2022}, 1, 1)]
    by_event = (await api.client.get(f"{API}/stats/cohorts", headers=api.admin,
                                     params={"by": "signing_event", "as_of": "2022-12-31"})).json()
    assert [(c["key"], c["name"]) for c in by_event["items"]] == [({"signing_event_id": e["id"]}, e["name"])]
    before = (await api.client.get(f"{API}/stats/cohorts", headers=api.admin,
                                   params={"by": "signed_year", "as_of": "2021-12-31"})).json()
    assert [c["key"] for c in before["items"]] == [{"signed_year": 2021}]


async def test_a_cohorts_funds_arrived_are_its_accepted_reports_against_the_amount_agreed(api):
    a = await signed(api, "2022-05-20")  # ¥100,000,000 agreed
    b = await signed(api, "2022-06-01", total_investment={"amount": "300000000.00", "currency": "CNY"})
    await signed(api, "2021-03-01")
    funds = [{"source": "own_funds", "amount": {"amount": "30000000", "currency": "CNY"}},
             {"source": "bank_loans", "amount": {"amount": "10000000", "currency": "CNY"}}]
    await accepted(api, a, 2022, 6, 0, funds_arrived=funds)
    await accepted(api, b, 2022, 7, 0, funds_arrived=[
        {"source": "special_bonds", "amount": {"amount": "20000000", "currency": "CNY"}}])
    returned = await file(api, b, 2022, 8, 0, funds_arrived=funds)
    await review(api, returned, "return", reason="到位资金有误")
    await file(api, a, 2022, 7, 0, funds_arrived=funds)  # awaits review

    async def cohorts(**params):
        r = await api.client.get(f"{API}/stats/cohorts", headers=api.admin, params={"by": "signed_year", **params})
        assert r.status_code == 200, r.text
        return {c["key"]["signed_year"]: c["funds"] for c in r.json()["items"]}

    now = await cohorts()
    assert now[2022] == {"arrived": {"amount": "60000000.00", "currency": "CNY"},
                         "agreed": now[2022]["agreed"] | {"amount": "400000000.00", "currency": "CNY"},
                         "share_arrived": "0.1500"}
    assert now[2021]["arrived"]["amount"] == "0.00" and now[2021]["share_arrived"] == "0.0000"
    # The reports were accepted today: the day before, no funds had arrived as the bureau saw it.
    before = await cohorts(as_of=str(today() - timedelta(days=1)))
    assert before[2022]["arrived"]["amount"] == "0.00"
