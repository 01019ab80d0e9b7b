"""Signed, idempotent status events from approval systems: nothing lost, nothing doubled,
nothing moved back."""

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import event_body, sign

CODE = "2020-370214-04-01-000001"
OTHER_CODE = "2020-370214-04-01-000002"


def at(minutes: int) -> str:
    """An instant ``minutes`` after a fixed morning, as approval systems send them."""
    return (datetime(2022, 7, 1, 1, 0, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()


async def test_an_approval_system_reports_a_status_change_of_a_known_project(api):
    p = await api.project(code=CODE)
    system = await api.integration()
    r = await system.post(event_body(event_id="e-1", occurred_at=at(0), status="submitted",
                                     submitted_on="2022-07-01", reference="SP-0001"))
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert receipt["outcome"] == "applied" and receipt["project_id"] == p["id"]
    [item] = await api.approvals(p["id"])
    assert item["id"] == receipt["approval_item_id"]
    assert (item["kind"], item["status"], item["submitted_on"], item["reference"]) == (
        "construction_permit", "submitted", "2022-07-01", "SP-0001")
    assert item["time_limit_days"] == 7 and item["due_on"] == "2022-07-08"
    assert item["overdue"] is True  # 2022 is long past
    r = await system.post(event_body(event_id="e-2", occurred_at=at(60 * 24 * 5), status="approved",
                                     decided_on="2022-07-06", reference="SP-0001"))
    assert r.status_code == 200 and r.json()["approval_item_id"] == item["id"]
    [item] = await api.approvals(p["id"])
    assert (item["status"], item["days_to_decision"], item["decided_within_limit"], item["overdue"]) == (
        "approved", 5, True, False)
    audit = await api.audit(resource_type="approval_item")
    assert [(e["action"], e["actor_name"]) for e in audit] == [("approval.update", "审批系统"),
                                                               ("approval.create", "审批系统")]


async def test_the_same_event_sent_ten_times_changes_the_item_once_and_gets_one_answer(api):
    p = await api.project(code=CODE)
    system = await api.integration()
    body = json.dumps(event_body(event_id="dup-1", occurred_at=at(0), status="accepted",
                                 submitted_on="2022-06-30")).encode()
    responses = await asyncio.gather(*(system.post_raw(body) for _ in range(10)))
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    [item] = await api.approvals(p["id"])
    assert (item["status"], item["version"]) == ("accepted", 1)
    assert len(await api.audit(resource_type="approval_item")) == 1
    r = await api.client.get("/api/v1/integrations/approval-events", headers=api.admin)
    assert [e["event_id"] for e in r.json()["items"]] == ["dup-1"]
    later = await system.post_raw(body)  # and again, long after
    assert (later.status_code, later.text) == (200, responses[0].text)


async def test_an_event_id_reused_for_another_event_is_refused(api):
    await api.project(code=CODE)
    system = await api.integration()
    assert (await system.post(event_body(event_id="x-1", occurred_at=at(0)))).status_code == 200
    r = await system.post(event_body(event_id="x-1", occurred_at=at(0), status="withdrawn"))
    assert r.status_code == 409 and r.json()["code"] == "event_id_reused"


async def test_an_event_older_than_the_items_latest_does_not_move_its_status_back(api):
    p = await api.project(code=CODE)
    system = await api.integration()
    events = [event_body(event_id="o-1", occurred_at=at(0), status="submitted", submitted_on="2022-07-01"),
              event_body(event_id="o-3", occurred_at=at(300), status="approved", decided_on="2022-07-01"),
              event_body(event_id="o-2", occurred_at=at(100), status="accepted")]  # arrives last
    outcomes = [(await system.post(e)).json()["outcome"] for e in events]
    assert outcomes == ["applied", "applied", "stale"]
    [item] = await api.approvals(p["id"])
    assert (item["status"], item["decided_on"], item["version"]) == ("approved", "2022-07-01", 2)
    assert item["last_event_at"] == at(300).replace("+00:00", "Z")
    stale = await api.client.get("/api/v1/integrations/approval-events", headers=api.admin,
                                 params={"outcome": "stale"})
    assert [e["event_id"] for e in stale.json()["items"]] == ["o-2"]


async def test_an_event_for_an_unknown_project_code_waits_and_applies_when_a_project_gets_it(api):
    system = await api.integration()
    first = await system.post(event_body(event_id="u-1", project_code=CODE, occurred_at=at(0), status="submitted",
                                         submitted_on="2022-07-01"))
    second = await system.post(event_body(event_id="u-2", project_code=CODE, occurred_at=at(10), status="accepted",
                                          submitted_on="2022-07-01"))
    other = await system.post(event_body(event_id="u-3", project_code=OTHER_CODE, occurred_at=at(0),
                                         kind="energy_conservation_review", authority="市发展改革委"))
    assert [r.status_code for r in (first, second, other)] == [202, 202, 202]
    assert first.json()["outcome"] == "unmatched" and first.json()["project_id"] is None
    waiting = await api.client.get("/api/v1/integrations/approval-events?matched=false", headers=api.admin)
    assert {e["event_id"] for e in waiting.json()["items"]} == {"u-1", "u-2", "u-3"}

    p = await api.project(code=CODE)  # the project is registered with its code
    [item] = await api.approvals(p["id"])
    assert (item["status"], item["submitted_on"], item["version"]) == ("accepted", "2022-07-01", 2)

    q = await api.project()  # another gets its code by a later update
    assert await api.approvals(q["id"]) == []
    r = await api.client.patch(f"/api/v1/projects/{q['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"code": OTHER_CODE})
    assert r.status_code == 200, r.text
    [item] = await api.approvals(q["id"])
    assert (item["kind"], item["authority"], item["time_limit_days"]) == ("energy_conservation_review",
                                                                          "市发展改革委", 20)
    waiting = await api.client.get("/api/v1/integrations/approval-events?matched=false", headers=api.admin)
    assert waiting.json()["items"] == []
    # A resent waiting event still gets its first answer, and changes nothing.
    again = await system.post(event_body(event_id="u-1", project_code=CODE, occurred_at=at(0), status="submitted",
                                         submitted_on="2022-07-01"))
    assert (again.status_code, again.json()) == (202, first.json())
    assert (await api.approvals(p["id"]))[0]["status"] == "accepted"


async def test_events_adopt_an_item_the_bureau_recorded_without_a_case_number(api):
    p = await api.project(code=CODE)
    recorded = await api.approval(p, kind="environmental_impact_assessment", authority="市生态环境局")
    system = await api.integration()
    r = await system.post(event_body(kind="environmental_impact_assessment", authority="市生态环境局",
                                     reference="HP-2022-17", status="submitted", submitted_on="2022-06-01",
                                     occurred_at=at(0)))
    assert r.json()["approval_item_id"] == recorded["id"]
    [item] = await api.approvals(p["id"])
    assert (item["reference"], item["time_limit_days"], item["due_on"]) == ("HP-2022-17", 60, "2022-07-31")


async def test_a_second_case_of_one_kind_is_a_second_item(api):
    p = await api.project(code=CODE)
    system = await api.integration()
    for n, ref in enumerate(("SG-1", "SG-2")):
        r = await system.post(event_body(reference=ref, occurred_at=at(n)))
        assert r.status_code == 200
    assert sorted(i["reference"] for i in await api.approvals(p["id"])) == ["SG-1", "SG-2"]


@pytest.mark.parametrize(("field", "value"), [
    ("kind", "no_such_kind"),
    ("status", "done"),
    ("project_code", "2022-37021-04-01-000001"),
    ("occurred_at", "2022-07-01T09:00:00"),  # no time zone
    ("decided_on", "2022-06-01"),  # before submitted_on
    ("authority", ""),
    ("note", "a\x00b"),
])
async def test_a_malformed_event_is_refused_naming_its_field_and_not_kept(api, field, value):
    await api.project(code=CODE)
    system = await api.integration()
    event = event_body(status="approved", submitted_on="2022-06-10", decided_on="2022-06-20", occurred_at=at(0))
    event[field] = value
    r = await system.post(event)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    listed = await api.client.get("/api/v1/integrations/approval-events", headers=api.admin)
    assert listed.json()["items"] == []


async def test_an_event_from_the_future_is_refused(api):
    system = await api.integration()
    future = datetime.now(UTC) + timedelta(hours=1)
    r = await system.post(event_body(occurred_at=future.isoformat()))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "occurred_at"
    r = await system.post(event_body(occurred_at=at(0), submitted_on="2022-07-02"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "submitted_on"


# --- signatures ----------------------------------------------------------------------------


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ (1 << bit)]) + data[index + 1:]


async def _setup(api):
    p = await api.project(code=CODE)
    system = await api.integration()
    body = json.dumps(event_body(event_id="sig-1", occurred_at=at(0), reference="SIG-1")).encode()
    return p, system, body


async def test_a_flipped_byte_in_the_body_is_refused(api):
    p, system, body = await _setup(api)
    tampered = body.replace(b"SIG-1", b"SIG-2")
    r = await system.post_raw(tampered, signature=sign(system.secret, body))
    assert r.status_code == 401 and r.json()["code"] == "signature_mismatch"
    assert await api.approvals(p["id"]) == []


async def test_a_flipped_byte_in_the_signature_is_refused(api):
    p, system, body = await _setup(api)
    good = sign(system.secret, body)
    last = good[-1]
    bad = good[:-1] + ("0" if last != "0" else "1")
    r = await system.post_raw(body, signature=bad)
    assert r.status_code == 401 and r.json()["code"] == "signature_mismatch"
    wrong_secret = sign(system.secret + "x", body)
    assert (await system.post_raw(body, signature=wrong_secret)).status_code == 401
    assert await api.approvals(p["id"]) == []
    assert (await system.post_raw(body, signature=good)).status_code == 200


@pytest.mark.parametrize("offset", [-301, 301, -3600])
async def test_a_stale_or_early_timestamp_is_refused(api, offset):
    p, system, body = await _setup(api)
    r = await system.post_raw(body, timestamp=int(time.time()) + offset)
    assert r.status_code == 401 and r.json()["code"] == "signature_expired"
    assert await api.approvals(p["id"]) == []


@pytest.mark.parametrize(("signature", "code"), [
    ("", "signature_required"),
    ("v1=00", "signature_malformed"),
    ("t=abc,v1=00", "signature_malformed"),
    ("t=1,t=2,v1=00", "signature_malformed"),
    ("sha256=00", "signature_malformed"),
])
async def test_a_missing_or_malformed_signature_is_refused(api, signature, code):
    _, system, body = await _setup(api)
    r = await system.post_raw(body, signature=signature)
    assert r.status_code == 401 and r.json()["code"] == code


async def test_the_signature_of_a_rotated_secret_is_refused(api):
    _, system, body = await _setup(api)
    r = await api.client.put(f"/api/v1/api-keys/{system.key_id}/signing-secret", headers=api.admin, json={})
    assert r.status_code == 200 and r.json()["secret"].startswith("ipsec_")
    assert (await system.post_raw(body)).status_code == 401
    system.secret = r.json()["secret"]
    assert (await system.post_raw(body)).status_code == 200


@pytest.mark.parametrize("role", ["admin", "bureau", "leader", "unit", "viewer"])
async def test_only_integration_keys_post_events(api, role):
    _, system, body = await _setup(api)
    binding = {"leader_id": (await api.leader())["id"]} if role == "leader" else \
        {"unit_id": (await api.unit())["id"]} if role == "unit" else {}
    headers = api.admin if role == "admin" else await api.key(role, **binding)
    r = await system.post_raw(body, headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


async def test_an_integration_key_without_a_secret_cannot_post(api):
    await api.project(code=CODE)
    headers = await api.key("integration")
    body = json.dumps(event_body(occurred_at=at(0))).encode()
    r = await api.client.post("/api/v1/integrations/approval-events", content=body,
                              headers={**headers, "X-Signature": sign("anything-at-all-32-characters-long", body)})
    assert r.status_code == 403 and r.json()["code"] == "signing_secret_not_set"
    unsigned = await api.client.post("/api/v1/integrations/approval-events", content=body)
    assert unsigned.status_code == 401


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_any_single_bit_flip_of_a_signed_body_is_refused(api_once, data):
    api, p, system, body, signature = api_once
    index = data.draw(st.integers(0, len(body) - 1), label="index")
    bit = data.draw(st.integers(0, 7), label="bit")
    r = await system.post_raw(flip(body, index, bit), signature=signature)
    assert r.status_code in (401, 422), r.text  # 422 only where the flip breaks the JSON itself
    assert await api.approvals(p["id"]) == []


@pytest.fixture
async def api_once(api):
    p, system, body = await _setup(api)
    return api, p, system, body, sign(system.secret, body)


# --- signing secrets -----------------------------------------------------------------------


async def test_a_signing_secret_is_shown_once_and_only_for_integration_keys(api):
    system = await api.integration()
    r = await api.client.get(f"/api/v1/api-keys/{system.key_id}/signing-secret", headers=api.admin)
    assert r.status_code == 200 and "secret" not in r.json()
    assert system.secret not in r.text
    bureau_key = await api.client.post("/api/v1/api-keys", headers=api.admin, json={"name": "b", "role": "bureau"})
    r = await api.client.put(f"/api/v1/api-keys/{bureau_key.json()['id']}/signing-secret", headers=api.admin,
                             json={})
    assert r.status_code == 409 and r.json()["code"] == "not_an_integration_key"
    short = await api.client.put(f"/api/v1/api-keys/{system.key_id}/signing-secret", headers=api.admin,
                                 json={"secret": "too-short"})
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "secret"
    audit = await api.audit(action="api_key.set_signing_secret")
    assert len(audit) == 1 and system.secret not in json.dumps(audit)
    assert (await api.client.get("/api/v1/api-keys/999/signing-secret", headers=api.admin)).status_code == 404


# --- properties ------------------------------------------------------------------------------

STORY = ["submitted", "accepted", "accepted", "approved"]
_codes = iter(range(100, 100_000))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(STORY))), resent=st.lists(st.integers(0, len(STORY) - 1), max_size=4))
async def test_in_any_order_and_with_any_repeats_the_latest_event_wins(api_with_system, order, resent):
    api, system = api_with_system
    code = f"2020-370214-04-01-{next(_codes):06d}"
    p = await api.project(code=code)
    events = [event_body(event_id=f"{code}-{n}", project_code=code, occurred_at=at(n * 60), status=status,
                         submitted_on="2022-07-01", **({"decided_on": "2022-07-01"} if status == "approved" else {}))
              for n, status in enumerate(STORY)]
    for n in [*order, *resent]:
        r = await system.post(events[n])
        assert r.status_code == 200, r.text
    [item] = await api.approvals(p["id"])
    assert (item["status"], item["last_event_at"]) == ("approved", at(180).replace("+00:00", "Z"))
    applied = await api.client.get("/api/v1/integrations/approval-events", headers=api.admin,
                                   params={"project_code": code, "outcome": "applied", "limit": 200})
    # Each event is applied at most once; each one applied moved the item forward in time.
    assert item["version"] == len(applied.json()["items"]) <= len(STORY)


@pytest.fixture
async def api_with_system(api):
    return api, await api.integration()


async def test_an_event_racing_its_projects_registration_is_never_stranded(api):
    system = await api.integration()
    codes = [f"2020-370214-04-01-{900 + n:06d}" for n in range(8)]
    await asyncio.gather(*(
        coroutine for n, code in enumerate(codes) for coroutine in (
            api.project(code=code),
            system.post(event_body(event_id=f"race-{n}", project_code=code, occurred_at=at(n))))))
    waiting = await api.client.get("/api/v1/integrations/approval-events?matched=false", headers=api.admin)
    assert waiting.json()["items"] == []
    r = await api.client.get("/api/v1/approvals", headers=api.admin, params={"limit": 200})
    assert len(r.json()["items"]) == len(codes)
