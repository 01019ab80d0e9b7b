"""The project registry over HTTP: create, read, update, archive, validation, conflicts,
keyset pagination and filters, against the real (migrated) database."""

import base64
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from app.clock import today
from tests.factories import assert_invalid, assert_problem, project_body

PROJECTS = "/api/v1/projects"


# --- helpers -------------------------------------------------------------------------------


def if_match(headers: dict[str, str], version: int | str) -> dict[str, str]:
    return {**headers, "If-Match": f'"{version}"' if isinstance(version, int) else version}


async def walk(api: Any, path: str, params: dict[str, Any] | None = None, *, limit: int = 50) -> list[dict[str, Any]]:
    """Every item of a listing, following next_cursor; checks each page's size on the way."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {**(params or {}), "limit": limit, **({"cursor": cursor} if cursor else {})}
        r = await api.client.get(path, headers=api.admin, params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        cursor = page["next_cursor"]
        if cursor is not None:
            assert len(page["items"]) == limit, "only the last page may be short"
        else:
            assert len(page["items"]) <= limit
        items.extend(page["items"])
        if cursor is None:
            return items
    raise AssertionError("the listing never ended")


async def counts(api: Any) -> tuple[int, int]:
    """How many projects (current and archived) and audit events exist."""
    current = await walk(api, PROJECTS, limit=200)
    archived = await walk(api, PROJECTS, {"archived": "true"}, limit=200)
    events = await walk(api, "/api/v1/audit-events", limit=200)
    return len(current) + len(archived), len(events)


async def listed_ids(api: Any, **params: Any) -> set[int]:
    return {p["id"] for p in await walk(api, PROJECTS, params, limit=200)}


def cursor_of(*parts: Any) -> str:
    raw = json.dumps(list(parts)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Two days ahead, so a run across the city's midnight still means "in the future".
FUTURE = today() + timedelta(days=2)


# --- create, read, update, archive ---------------------------------------------------------


async def test_creating_a_project_answers_201_with_location_etag_and_every_field(api):
    leader = await api.leader()
    unit = await api.unit()
    body = project_body(
        code="2020-370214-04-01-123456", name="  青岛国际新材料产业园  ", investor="Mitsui & Co., Ltd.",
        investor_country="jp", funding_source="foreign", industry="new_materials", zone="international_land_port",
        total_investment={"amount": "3260000000.00", "currency": "usd"}, stage="signed",
        stage_entered_on="2022-03-15", leader_id=leader["id"], unit_id=unit["id"],
        planned_sign_on="2022-03-15", planned_start_on="2022-09-01", planned_production_on="2024-12-31",
        designations=[{"designation": "key_preliminary", "status": "applied", "year": 2023},
                      {"designation": "city_key", "status": "granted", "year": 2022, "decided_on": "2022-06-30"}],
        on_hold=True, note="首次建档")
    r = await api.client.post(PROJECTS, headers=api.admin, json=body)
    assert r.status_code == 201, r.text
    p = r.json()
    assert r.headers["Location"] == f"{PROJECTS}/{p['id']}"
    assert r.headers["ETag"] == '"1"'
    assert p["code"] == "2020-370214-04-01-123456"
    assert p["name"] == "青岛国际新材料产业园", "surrounding whitespace is trimmed"
    assert p["investor"] == "Mitsui & Co., Ltd."
    assert p["investor_country"] == "JP" and p["total_investment"] == {"amount": "3260000000.00", "currency": "USD"}
    assert (p["funding_source"], p["industry"], p["zone"]) == ("foreign", "new_materials", "international_land_port")
    assert (p["stage"], p["stage_entered_on"]) == ("signed", "2022-03-15")
    assert (p["leader_id"], p["unit_id"]) == (leader["id"], unit["id"])
    assert (p["planned_sign_on"], p["planned_start_on"], p["planned_production_on"]) == (
        "2022-03-15", "2022-09-01", "2024-12-31")
    assert p["designations"] == [
        {"designation": "city_key", "status": "granted", "year": 2022, "decided_on": "2022-06-30"},
        {"designation": "key_preliminary", "status": "applied", "year": 2023, "decided_on": None},
    ]
    assert p["on_hold"] is True and p["version"] == 1 and p["archived_at"] is None
    for instant in ("created_at", "updated_at"):
        parsed = datetime.fromisoformat(p[instant].replace("Z", "+00:00"))
        assert parsed.utcoffset() == timedelta(0), f"{instant} must be UTC"
        assert abs(parsed - datetime.now(UTC)) < timedelta(minutes=5)

    r = await api.client.get(r.headers["Location"], headers=api.admin)
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'
    assert r.json() == p


async def test_a_new_project_defaults_to_negotiating_since_today_with_no_designations(api):
    p = await api.project()
    assert (p["stage"], p["stage_entered_on"]) == ("negotiating", today().isoformat())
    assert p["designations"] == [] and p["on_hold"] is False and p["code"] is None
    assert p["leader_id"] is None and p["unit_id"] is None and p["planned_sign_on"] is None


@pytest.mark.parametrize("amount", ["0.00", "0.01", "0.10", "1.00", "999999999999.99", "3260000000.00",
                                    "999999999999999.99"])
async def test_money_amounts_round_trip_exactly_as_decimal_strings(api, amount):
    p = await api.project(total_investment={"amount": amount, "currency": "EUR"})
    assert p["total_investment"] == {"amount": amount, "currency": "EUR"}
    assert (await api.get_project(p["id"]))["total_investment"] == {"amount": amount, "currency": "EUR"}
    listed = await walk(api, PROJECTS)
    assert [x["total_investment"] for x in listed] == [{"amount": amount, "currency": "EUR"}]


@pytest.mark.parametrize(("given", "stored"), [("5", "5.00"), ("12.3", "12.30"), ("0", "0.00"), ("1E+3", "1000.00")])
async def test_money_amounts_are_normalised_to_two_decimal_places(api, given, stored):
    p = await api.project(total_investment={"amount": given, "currency": "CNY"})
    assert p["total_investment"]["amount"] == stored
    assert (await api.get_project(p["id"]))["total_investment"]["amount"] == stored


async def test_a_negative_zero_amount_reads_back_as_zero(api):
    p = await api.project(total_investment={"amount": "-0.00", "currency": "CNY"})
    assert (await api.get_project(p["id"]))["total_investment"]["amount"] == "0.00"
    assert p["total_investment"]["amount"] == "0.00", "the create response must say what was stored"


async def test_business_dates_round_trip_as_plain_dates(api):
    p = await api.project(stage_entered_on="2020-02-29", planned_sign_on="2024-02-29",
                          planned_start_on="2024-03-01", planned_production_on="2100-12-31")
    got = await api.get_project(p["id"])
    assert (got["stage_entered_on"], got["planned_sign_on"], got["planned_start_on"],
            got["planned_production_on"]) == ("2020-02-29", "2024-02-29", "2024-03-01", "2100-12-31")


async def test_a_patch_changes_only_the_fields_sent_and_bumps_version_and_etag(api):
    leader = await api.leader()
    p = await api.project(planned_sign_on="2023-01-01")
    r = await api.client.patch(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, 1),
                               json={"name": "改名后的项目", "total_investment": {"amount": "0.01", "currency": "HKD"},
                                     "leader_id": leader["id"], "on_hold": True, "code": "2018-370200-35-03-000001",
                                     "designations": [{"designation": "city_key"}]})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    changed = r.json()
    assert changed["version"] == 2
    assert changed["name"] == "改名后的项目"
    assert changed["total_investment"] == {"amount": "0.01", "currency": "HKD"}
    assert changed["leader_id"] == leader["id"] and changed["on_hold"] is True
    assert changed["code"] == "2018-370200-35-03-000001"
    assert changed["designations"] == [{"designation": "city_key", "status": "candidate", "year": None,
                                        "decided_on": None}]
    untouched = {k: v for k, v in p.items() if k not in {"name", "total_investment", "leader_id", "on_hold", "code",
                                                        "designations", "version", "updated_at"}}
    assert {k: changed[k] for k in untouched} == untouched
    assert changed["updated_at"] >= p["updated_at"]
    r = await api.client.get(f"{PROJECTS}/{p['id']}", headers=api.admin)
    assert r.headers["ETag"] == '"2"' and r.json() == changed

    events = await api.audit(resource_type="project", resource_id=str(p["id"]), action="project.update")
    assert len(events) == 1
    assert events[0]["before"]["name"] == p["name"] and events[0]["after"]["name"] == "改名后的项目"


async def test_a_patch_can_clear_optional_fields_with_null(api):
    leader = await api.leader()
    p = await api.project(code="2020-370214-04-01-000777", leader_id=leader["id"], planned_sign_on="2023-01-01",
                          designations=[{"designation": "city_key"}])
    r = await api.client.patch(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, 1),
                               json={"code": None, "leader_id": None, "planned_sign_on": None, "designations": []})
    assert r.status_code == 200, r.text
    got = await api.get_project(p["id"])
    assert (got["code"], got["leader_id"], got["planned_sign_on"], got["designations"]) == (None, None, None, [])


async def test_if_match_accepts_weak_tags_lists_and_star(api):
    p = await api.project()
    for n, tag in enumerate(['W/"1"', '"7", "2"', "*"], start=1):
        r = await api.client.patch(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, tag),
                                   json={"name": f"名称 {n}"})
        assert r.status_code == 200, (tag, r.text)
        assert r.json()["version"] == n + 1


async def test_archiving_keeps_the_project_readable_but_out_of_the_default_list(api):
    kept = await api.project()
    p = await api.project()
    r = await api.client.delete(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, 1))
    assert r.status_code == 200, r.text
    archived = r.json()
    assert archived["archived_at"] is not None and archived["version"] == 2
    assert r.headers["ETag"] == '"2"'
    got = await api.get_project(p["id"])
    assert got["archived_at"] == archived["archived_at"] and got["name"] == p["name"]
    assert await listed_ids(api) == {kept["id"]}
    assert await listed_ids(api, archived="true") == {p["id"]}
    events = await api.audit(resource_type="project", resource_id=str(p["id"]), action="project.archive")
    assert len(events) == 1 and events[0]["before"] == {"archived_at": None}


async def test_archiving_an_archived_project_is_a_conflict(api):
    p = await api.project()
    r = await api.client.delete(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, 1))
    assert r.status_code == 200
    r = await api.client.delete(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, 2))
    assert_problem(r, 409, "project_archived")


async def test_an_unknown_project_is_404_problem(api):
    for method in ("GET", "PATCH", "DELETE"):
        r = await api.client.request(method, f"{PROJECTS}/424242", headers=if_match(api.admin, 1),
                                     json={"name": "x"} if method == "PATCH" else None)
        assert_problem(r, 404, "not_found")


async def test_a_project_is_found_by_its_code(api):
    p = await api.project(code="2019-370211-26-03-654321")
    r = await api.client.get(f"{PROJECTS}/by-code/2019-370211-26-03-654321", headers=api.admin)
    assert r.status_code == 200 and r.json()["id"] == p["id"] and r.headers["ETag"] == '"1"'
    r = await api.client.get(f"{PROJECTS}/by-code/2019-370211-26-03-000000", headers=api.admin)
    assert_problem(r, 404, "not_found")


async def test_requests_without_a_key_are_401_and_write_nothing(api):
    before = await counts(api)
    r = await api.client.post(PROJECTS, json=project_body())
    assert_problem(r, 401, "unauthorized")
    r = await api.client.get(PROJECTS, headers={"Authorization": "Bearer not-a-real-key"})
    assert_problem(r, 401, "unauthorized")
    assert await counts(api) == before


# --- validation: 422 naming the field, and nothing written ---------------------------------

LONG = "项" * 201

BAD_CREATES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("unknown stage", {"stage": "approved"}, "stage", None),
    ("negative amount", {"total_investment": {"amount": "-0.01", "currency": "CNY"}}, "total_investment.amount",
     None),
    ("amount with a thousands separator", {"total_investment": {"amount": "1,000", "currency": "CNY"}},
     "total_investment.amount", None),
    ("amount not a number", {"total_investment": {"amount": "abc", "currency": "CNY"}}, "total_investment.amount",
     None),
    ("amount with three decimals", {"total_investment": {"amount": "1.001", "currency": "CNY"}},
     "total_investment.amount", None),
    ("amount NaN", {"total_investment": {"amount": "NaN", "currency": "CNY"}}, "total_investment.amount", None),
    ("amount Infinity", {"total_investment": {"amount": "Infinity", "currency": "CNY"}}, "total_investment.amount",
     None),
    ("amount of 10^15 or more", {"total_investment": {"amount": "1000000000000000.00", "currency": "CNY"}},
     "total_investment.amount", None),
    ("amount empty", {"total_investment": {"amount": "", "currency": "CNY"}}, "total_investment.amount", None),
    ("amount missing", {"total_investment": {"currency": "CNY"}}, "total_investment.amount", None),
    ("unknown currency", {"total_investment": {"amount": "1.00", "currency": "XYZ"}}, "total_investment.currency",
     None),
    ("currency too long", {"total_investment": {"amount": "1.00", "currency": "USDX"}},
     "total_investment.currency", None),
    ("extra field in money", {"total_investment": {"amount": "1.00", "currency": "USD", "rate": "7.1"}},
     "total_investment.rate", "not a known field"),
    ("unknown country", {"investor_country": "XX"}, "investor_country", None),
    ("alpha-3 country", {"investor_country": "CHN"}, "investor_country", None),
    ("unknown funding source", {"funding_source": "mixed"}, "funding_source", None),
    ("unknown zone", {"zone": "moon_base"}, "zone", None),
    ("unknown industry", {"industry": "mining"}, "industry", None),
    ("impossible date", {"planned_sign_on": "2022-02-30"}, "planned_sign_on", None),
    ("date in another format", {"planned_sign_on": "2022/03/01"}, "planned_sign_on", None),
    ("stage entered in the future", {"stage_entered_on": FUTURE.isoformat()}, "stage_entered_on", None),
    ("name of 201 characters", {"name": LONG}, "name", None),
    ("investor of 201 characters", {"investor": "x" * 201}, "investor", None),
    ("blank name", {"name": "   "}, "name", None),
    ("NUL byte in the name", {"name": "青岛\x00项目"}, "name", "NUL"),
    ("NUL byte in the investor", {"investor": "\x00"}, "investor", "NUL"),
    ("NUL byte in the note", {"note": "备注\x00"}, "note", "NUL"),
    ("unknown field", {"colour": "red"}, "colour", "not a known field"),
    ("read-only id", {"id": 5}, "id", "read-only"),
    ("read-only version", {"version": 3}, "version", "read-only"),
    ("malformed project code", {"code": "2022-37021-04-01-12345"}, "code", None),
    ("project code with letters", {"code": "2020-370214-04-01-12345X"}, "code", None),
    ("project code with an impossible year", {"code": "1899-370214-04-01-123456"}, "code", "time code"),
    ("planned start before signing", {"planned_sign_on": "2023-06-01", "planned_start_on": "2023-05-31"},
     "planned_start_on", None),
    ("planned production before start", {"planned_start_on": "2023-06-01", "planned_production_on": "2023-01-01"},
     "planned_production_on", None),
    ("unknown leader", {"leader_id": 987654}, "leader_id", None),
    ("unknown unit", {"unit_id": 987654}, "unit_id", None),
    ("leader id zero", {"leader_id": 0}, "leader_id", None),
    ("leader id beyond int32", {"unit_id": 2**31}, "unit_id", None),
    ("leader id not a number", {"leader_id": "abc"}, "leader_id", None),
    ("on_hold not a boolean", {"on_hold": "maybe"}, "on_hold", None),
    ("unknown designation", {"designations": [{"designation": "national_key"}]}, "designations.0.designation",
     None),
    ("a designation twice", {"designations": [{"designation": "city_key"}, {"designation": "city_key"}]},
     "designations", None),
    ("designation year out of range", {"designations": [{"designation": "city_key", "year": 1900}]},
     "designations.0.year", None),
    ("null name", {"name": None}, "name", None),
]
BAD_CREATE_MISSING = ["name", "investor", "investor_country", "funding_source", "industry", "zone",
                      "total_investment"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [pytest.param(o, f, m, id=case) for case, o, f, m in BAD_CREATES])
async def test_a_create_with_bad_input_is_422_naming_the_field_and_writes_nothing(api, overrides, field, message):
    await api.leader()  # references exist, but not the ones named
    before = await counts(api)
    r = await api.client.post(PROJECTS, headers=api.admin, json=project_body(**overrides))
    assert_invalid(r, field, message)
    assert await counts(api) == before


@pytest.mark.parametrize("missing", BAD_CREATE_MISSING)
async def test_a_create_missing_a_required_field_is_422_naming_it(api, missing):
    body = project_body()
    del body[missing]
    before = await counts(api)
    r = await api.client.post(PROJECTS, headers=api.admin, json=body)
    assert_invalid(r, missing)
    assert await counts(api) == before


async def test_a_name_of_exactly_200_characters_is_accepted(api):
    p = await api.project(name="项" * 200, investor="x" * 200)
    assert len((await api.get_project(p["id"]))["name"]) == 200


async def test_a_create_citing_an_archived_leader_is_422(api):
    leader = await api.leader()
    r = await api.client.delete(f"/api/v1/leaders/{leader['id']}", headers=if_match(api.admin, 1))
    assert r.status_code == 200, r.text
    before = await counts(api)
    r = await api.client.post(PROJECTS, headers=api.admin, json=project_body(leader_id=leader["id"]))
    assert_invalid(r, "leader_id")
    assert await counts(api) == before


BAD_PATCHES: list[tuple[str, dict[str, Any], str, str | None]] = [
    *[(f"read-only {f}", {f: v}, f, "read-only") for f, v in [
        ("id", 99), ("stage", "signed"), ("stage_entered_on", "2022-01-01"), ("version", 9),
        ("created_at", "2022-01-01T00:00:00Z"), ("updated_at", "2022-01-01T00:00:00Z"),
        ("archived_at", "2022-01-01T00:00:00Z")]],
    *[(f"null {f}", {f: None}, f, "null") for f in [
        "name", "investor", "investor_country", "funding_source", "industry", "zone", "total_investment",
        "designations", "on_hold"]],
    ("unknown field", {"colour": "red"}, "colour", "not a known field"),
    ("negative amount", {"total_investment": {"amount": "-5.00", "currency": "CNY"}}, "total_investment.amount",
     None),
    ("amount with three decimals", {"total_investment": {"amount": "0.001", "currency": "CNY"}},
     "total_investment.amount", None),
    ("unknown currency", {"total_investment": {"amount": "5.00", "currency": "XYZ"}}, "total_investment.currency",
     None),
    ("unknown country", {"investor_country": "XX"}, "investor_country", None),
    ("impossible date", {"planned_production_on": "2023-02-30"}, "planned_production_on", None),
    ("name of 201 characters", {"name": LONG}, "name", None),
    ("NUL byte in the name", {"name": "a\x00"}, "name", "NUL"),
    ("malformed project code", {"code": "2022-37021-04-01-12345"}, "code", None),
    ("planned start before the stored signing date", {"planned_start_on": "2022-12-31"}, "planned_start_on",
     None),
    ("unknown leader", {"leader_id": 987654}, "leader_id", None),
    ("unknown unit", {"unit_id": 987654}, "unit_id", None),
]


@pytest.mark.parametrize(("patch", "field", "message"), [pytest.param(p, f, m, id=case)
                                                         for case, p, f, m in BAD_PATCHES])
async def test_a_patch_with_bad_input_is_422_naming_the_field_and_changes_nothing(api, patch, field, message):
    p = await api.project(planned_sign_on="2023-01-01")
    before = await counts(api)
    r = await api.client.patch(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, 1), json=patch)
    assert_invalid(r, field, message)
    assert await counts(api) == before
    assert await api.get_project(p["id"]) == p


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("project_id", ["99999999999999999999", "2147483648", "0", "-1", "abc"])
async def test_an_out_of_range_or_malformed_path_id_is_422_not_500(api, method, project_id):
    r = await api.client.request(method, f"{PROJECTS}/{project_id}", headers=if_match(api.admin, 1),
                                 json={"name": "x"} if method == "PATCH" else None)
    assert_invalid(r, "project_id")


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("raw", [
    pytest.param(b'{"name": "x",', id="truncated"),
    pytest.param(b"not json", id="not-json"),
    pytest.param(b"", id="empty"),
    pytest.param(b"[1, 2]", id="array"),
    pytest.param(b'"a string"', id="string"),
])
async def test_a_malformed_json_body_is_422_naming_the_body_and_writes_nothing(api, method, raw):
    p = await api.project()
    before = await counts(api)
    url = PROJECTS if method == "POST" else f"{PROJECTS}/{p['id']}"
    r = await api.client.request(method, url, content=raw,
                                 headers={**if_match(api.admin, 1), "Content-Type": "application/json"})
    assert await counts(api) == before
    assert await api.get_project(p["id"]) == p
    body = assert_problem(r, 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["body"], body["errors"]


@pytest.mark.parametrize(("param", "value"), [
    ("stage", "approved"), ("funding_source", "mixed"), ("zone", "Moon"), ("industry", "mining-2"),
    ("designation", "national_key"), ("leader_id", "0"), ("unit_id", "99999999999999999999"),
    ("code", "2022-37021-04-01-12345"), ("q", "a\x00b"), ("q", "x" * 101), ("on_hold", "maybe"),
    ("archived", "perhaps"), ("limit", "0"), ("limit", "201"), ("limit", "abc")])
async def test_a_bad_list_parameter_is_422_naming_it(api, param, value):
    r = await api.client.get(PROJECTS, headers=api.admin, params={param: value})
    body = assert_problem(r, 422, "validation_error")
    # A repeatable filter names the offending value's position: stage.0
    assert [e["field"].split(".")[0] for e in body["errors"]] == [param], body["errors"]


# --- conflicts and optimistic concurrency --------------------------------------------------


async def test_a_duplicate_project_code_is_409_code_taken_and_writes_nothing(api):
    await api.project(code="2020-370214-04-01-123456")
    before = await counts(api)
    r = await api.client.post(PROJECTS, headers=api.admin, json=project_body(code="2020-370214-04-01-123456"))
    assert_problem(r, 409, "code_taken")
    assert await counts(api) == before


async def test_patching_a_project_to_another_projects_code_is_409_code_taken(api):
    await api.project(code="2020-370214-04-01-123456")
    p = await api.project(code="2020-370214-04-01-654321")
    r = await api.client.patch(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, 1),
                               json={"code": "2020-370214-04-01-123456"})
    assert_problem(r, 409, "code_taken")
    assert await api.get_project(p["id"]) == p


async def test_patching_a_project_to_its_own_code_is_allowed(api):
    p = await api.project(code="2020-370214-04-01-123456")
    r = await api.client.patch(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, 1),
                               json={"code": "2020-370214-04-01-123456", "name": "同码改名"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_a_change_without_if_match_is_428_and_changes_nothing(api, method):
    p = await api.project()
    before = await counts(api)
    r = await api.client.request(method, f"{PROJECTS}/{p['id']}", headers=api.admin,
                                 json={"name": "无条件修改"} if method == "PATCH" else None)
    assert_problem(r, 428, "if_match_required")
    assert await counts(api) == before
    assert await api.get_project(p["id"]) == p


async def test_a_stale_patch_is_412_and_the_winners_value_stays(api):
    p = await api.project()
    winner = await api.client.patch(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, 1),
                                    json={"name": "先到者", "total_investment": {"amount": "7.77", "currency": "CNY"}})
    assert winner.status_code == 200 and winner.headers["ETag"] == '"2"'
    before = await counts(api)
    r = await api.client.patch(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, 1),
                               json={"name": "后到者", "total_investment": {"amount": "1.00", "currency": "CNY"}})
    assert_problem(r, 412, "version_mismatch")
    assert await counts(api) == before
    got = await api.get_project(p["id"])
    assert got["name"] == "先到者" and got["total_investment"]["amount"] == "7.77" and got["version"] == 2


async def test_a_stale_archive_is_412_and_the_project_stays_current(api):
    p = await api.project()
    r = await api.client.patch(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, 1), json={"on_hold": True})
    assert r.status_code == 200
    r = await api.client.delete(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, 1))
    assert_problem(r, 412, "version_mismatch")
    got = await api.get_project(p["id"])
    assert got["archived_at"] is None and got["on_hold"] is True and got["version"] == 2


async def test_a_malformed_if_match_is_412(api):
    p = await api.project()
    r = await api.client.patch(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, "1"), json={"name": "x"})
    assert_problem(r, 412, "version_mismatch")
    assert (await api.get_project(p["id"]))["version"] == 1


# --- keyset pagination ---------------------------------------------------------------------

SORTS = ["name", "total_investment", "stage_entered_on", "created_at", "updated_at"]


def sort_value(project: dict[str, Any], key: str) -> Any:
    if key == "total_investment":
        return Decimal(project["total_investment"]["amount"])
    if key in ("created_at", "updated_at"):
        return datetime.fromisoformat(project[key].replace("Z", "+00:00"))
    return project[key]


async def make_pipeline(api: Any, n: int = 37) -> list[dict[str, Any]]:
    """n projects whose names, amounts and dates repeat, so ties need the id to break them."""
    names = ["滨海新材料", "Alpha Park", "alpha park", "中日产业园", "Zeta", "滨海新材料", "Beta 2", "Beta 10"]
    amounts = ["0.00", "0.01", "100000000.00", "999999999999.99", "25.50", "100000000.00", "3260000000.00"]
    days = [date(2020, 1, 1) + timedelta(days=d) for d in (0, 0, 45, 400, 400, 1000, 7)]
    made = []
    for i in range(n):
        made.append(await api.project(
            name=names[i % len(names)], total_investment={"amount": amounts[i % len(amounts)], "currency": "CNY"},
            stage_entered_on=days[i % len(days)].isoformat()))
    # Touch some so updated_at order differs from created_at order.
    for p in made[::4]:
        r = await api.client.patch(f"{PROJECTS}/{p['id']}", headers=if_match(api.admin, 1), json={"on_hold": True})
        assert r.status_code == 200, r.text
    return [await api.get_project(p["id"]) for p in made]


async def test_every_sort_pages_through_each_project_exactly_once_in_order(api):
    projects = await make_pipeline(api)
    for key in SORTS:
        for descending in (False, True):
            sort = f"-{key}" if descending else key
            walked = await walk(api, PROJECTS, {"sort": sort}, limit=5)
            ids = [p["id"] for p in walked]
            assert len(ids) == len(set(ids)) == len(projects), f"{sort}: a project repeated or went missing"
            expected = sorted(projects, key=lambda p, k=key: (sort_value(p, k), p["id"]), reverse=descending)
            assert ids == [p["id"] for p in expected], f"{sort}: out of order"
            assert len(walked) == 37


async def test_the_default_sort_is_by_name_and_the_default_page_is_50(api):
    for i in range(52):
        await api.project(name=f"项目 {51 - i:03d}")
    r = await api.client.get(PROJECTS, headers=api.admin)
    page = r.json()
    assert len(page["items"]) == 50 and page["next_cursor"]
    assert [p["name"] for p in page["items"]] == [f"项目 {i:03d}" for i in range(50)]


async def test_a_listing_that_fills_its_last_page_exactly_has_no_empty_extra_page(api):
    for _ in range(10):
        await api.project()
    r = await api.client.get(PROJECTS, headers=api.admin, params={"limit": 5})
    r = await api.client.get(PROJECTS, headers=api.admin, params={"limit": 5, "cursor": r.json()["next_cursor"]})
    assert len(r.json()["items"]) == 5 and r.json()["next_cursor"] is None


async def test_a_page_of_200_is_allowed_and_201_is_not(api):
    await api.project()
    assert (await api.client.get(PROJECTS, headers=api.admin, params={"limit": 200})).status_code == 200
    assert_invalid(await api.client.get(PROJECTS, headers=api.admin, params={"limit": 201}), "limit")


@pytest.mark.parametrize("sort", ["stage", "id", "--name", "name-", "Name", "", "-"])
async def test_an_unknown_sort_is_422(api, sort):
    assert_invalid(await api.client.get(PROJECTS, headers=api.admin, params={"sort": sort}), "sort")


@pytest.mark.parametrize(("sort", "cursor"), [
    ("name", "garbage"), ("name", "!!!!"), ("name", "e30"), ("name", "x" * 512), ("name", cursor_of("name")),
    ("name", cursor_of("name", "x", "1")), ("name", cursor_of("name", "x", 0)), ("name", cursor_of("name", 5, 1)),
    ("name", cursor_of("name", "x", 2**63)), ("name", cursor_of("name", "x", 1.5)),
    ("total_investment", cursor_of("total_investment", "abc", 1)),
    ("total_investment", cursor_of("total_investment", "NaN", 1)),
    ("created_at", cursor_of("created_at", "2022-01-01T00:00:00", 1)),
    ("created_at", cursor_of("created_at", 20220101, 1)),
    ("stage_entered_on", cursor_of("stage_entered_on", "2022-02-30", 1)),
])
async def test_a_garbage_cursor_is_422_invalid_cursor(api, sort, cursor):
    r = await api.client.get(PROJECTS, headers=api.admin, params={"cursor": cursor, "sort": sort})
    assert_invalid(r, "cursor", code="invalid_cursor")


@pytest.mark.parametrize(("sort", "cursor"), [
    pytest.param("name", cursor_of("name", "a\x00b", 1), id="NUL in a name cursor"),
    pytest.param("total_investment", cursor_of("total_investment", "1e999999", 1), id="huge amount cursor"),
    pytest.param("created_at", cursor_of("created_at", "0001-01-01T00:00:00+14:00", 1),
                 id="instant before year 1 in UTC"),
])
async def test_a_tampered_cursor_is_422_never_500(api, sort, cursor):
    await api.project()
    r = await api.client.get(PROJECTS, headers=api.admin, params={"cursor": cursor, "sort": sort})
    assert_invalid(r, "cursor", code="invalid_cursor")


async def test_a_cursor_is_refused_under_another_sort(api):
    for _ in range(3):
        await api.project()
    r = await api.client.get(PROJECTS, headers=api.admin, params={"limit": 1, "sort": "name"})
    cursor = r.json()["next_cursor"]
    assert cursor
    for other in ("-name", "created_at", "total_investment"):
        r = await api.client.get(PROJECTS, headers=api.admin, params={"limit": 1, "sort": other, "cursor": cursor})
        assert_invalid(r, "cursor", code="invalid_cursor")
    r = await api.client.get("/api/v1/leaders", headers=api.admin, params={"cursor": cursor})
    assert_invalid(r, "cursor", code="invalid_cursor")


async def test_a_cursor_keeps_working_after_its_last_row_is_archived(api):
    ps = [await api.project(name=f"项目 {i}") for i in range(4)]
    r = await api.client.get(PROJECTS, headers=api.admin, params={"limit": 2})
    cursor = r.json()["next_cursor"]
    r = await api.client.delete(f"{PROJECTS}/{ps[1]['id']}", headers=if_match(api.admin, 1))
    assert r.status_code == 200
    r = await api.client.get(PROJECTS, headers=api.admin, params={"limit": 2, "cursor": cursor})
    assert [p["id"] for p in r.json()["items"]] == [ps[2]["id"], ps[3]["id"]]


# --- filters -------------------------------------------------------------------------------


async def test_each_filter_lists_exactly_the_matching_projects(api):
    l1, l2 = await api.leader(), await api.leader()
    u1, u2 = await api.unit(), await api.unit()
    a = await api.project(stage="signed", stage_entered_on="2022-01-01", funding_source="foreign",
                          investor_country="JP", zone="international_land_port", industry="electronics",
                          leader_id=l1["id"], unit_id=u1["id"], designations=[{"designation": "city_key"}],
                          code="2020-370214-04-01-000001")
    b = await api.project(stage="registered", stage_entered_on="2022-01-01", zone="dagu_river_belt",
                          industry="biomedicine", leader_id=l2["id"], unit_id=u1["id"], on_hold=True,
                          designations=[{"designation": "key_preliminary", "status": "granted"}])
    c = await api.project(stage="negotiating", leader_id=l1["id"], unit_id=u2["id"],
                          designations=[{"designation": "city_key"}, {"designation": "key_preliminary"}])
    d = await api.project()
    everything = {a["id"], b["id"], c["id"], d["id"]}
    expectations: list[tuple[dict[str, Any], set[int]]] = [
        ({}, everything),
        ({"stage": "signed"}, {a["id"]}),
        ({"stage": ["signed", "registered"]}, {a["id"], b["id"]}),
        ({"stage": "in_production"}, set()),
        ({"funding_source": "foreign"}, {a["id"]}),
        ({"funding_source": ["foreign", "domestic"]}, everything),
        ({"zone": "binhai_new_area"}, {c["id"], d["id"]}),
        ({"zone": ["international_land_port", "dagu_river_belt"]}, {a["id"], b["id"]}),
        ({"industry": "biomedicine"}, {b["id"]}),
        ({"industry": ["electronics", "new_materials"]}, {a["id"], c["id"], d["id"]}),
        ({"leader_id": l1["id"]}, {a["id"], c["id"]}),
        ({"leader_id": [l1["id"], l2["id"]]}, {a["id"], b["id"], c["id"]}),
        ({"unit_id": u1["id"]}, {a["id"], b["id"]}),
        ({"unit_id": [u2["id"], 424242]}, {c["id"]}),
        ({"designation": "city_key"}, {a["id"], c["id"]}),
        ({"designation": "key_preliminary"}, {b["id"], c["id"]}),
        ({"designation": ["city_key", "key_preliminary"]}, {a["id"], b["id"], c["id"]}),
        ({"on_hold": "true"}, {b["id"]}),
        ({"on_hold": "false"}, {a["id"], c["id"], d["id"]}),
        ({"code": "2020-370214-04-01-000001"}, {a["id"]}),
        ({"code": "2020-370214-04-01-000002"}, set()),
        ({"leader_id": l1["id"], "designation": "key_preliminary"}, {c["id"]}),
        ({"stage": "registered", "on_hold": "false"}, set()),
    ]
    for params, expected in expectations:
        assert await listed_ids(api, **params) == expected, params
    c_listed = await walk(api, PROJECTS, {"designation": "city_key", "stage": "negotiating"})
    assert [x["designations"] for x in c_listed] == [c["designations"]], "designations are listed in full"


async def test_archived_projects_are_excluded_by_default_and_listed_only_with_archived_true(api):
    live = await api.project(stage="signed", stage_entered_on="2022-01-01")
    gone = await api.project(stage="signed", stage_entered_on="2022-01-01")
    r = await api.client.delete(f"{PROJECTS}/{gone['id']}", headers=if_match(api.admin, 1))
    assert r.status_code == 200
    assert await listed_ids(api) == {live["id"]}
    assert await listed_ids(api, stage="signed") == {live["id"]}
    assert await listed_ids(api, archived="true") == {gone["id"]}
    assert await listed_ids(api, archived="true", stage="signed") == {gone["id"]}
    assert await listed_ids(api, archived="false") == {live["id"]}


async def test_q_searches_name_and_investor_case_insensitively_with_wildcards_taken_literally(api):
    acme = await api.project(name="Acme Solar Plant", investor="青岛投资")
    holding = await api.project(name="滨海新材料", investor="ACME Holdings Ltd")
    percent = await api.project(name="Growth 100% Fund", investor="x")
    under = await api.project(name="data_center", investor="y")
    plain = await api.project(name="datazcenter 1000 Fund", investor="z")
    slash = await api.project(name="A\\B 项目", investor="w")
    cases = {
        "acme": {acme["id"], holding["id"]},
        "ACME": {acme["id"], holding["id"]},
        "aCmE hOLD": {holding["id"]},
        "青岛": {acme["id"]},
        "新材": {holding["id"]},
        "100%": {percent["id"]},
        "%": {percent["id"]},
        "0% f": {percent["id"]},
        "_": {under["id"]},
        "a_c": {under["id"]},
        "\\": {slash["id"]},
        "a\\b": {slash["id"]},
        "fund": {percent["id"], plain["id"]},
        "nothing like this": set(),
    }
    for q, expected in cases.items():
        assert await listed_ids(api, q=q) == expected, q


async def test_q_is_case_insensitive_beyond_ascii(api, backend, request):
    p = await api.project(name="Usine ÉLECTRIQUE", investor="MÜLLER GmbH")
    assert await listed_ids(api, q="müller") == {p["id"]}
    assert await listed_ids(api, q="électrique") == {p["id"]}


async def test_filters_combine_with_sort_and_pagination(api):
    made = [await api.project(zone="western_district", name=f"西部 {i:02d}",
                              total_investment={"amount": f"{(i * 7) % 5}.00", "currency": "CNY"})
            for i in range(12)]
    await api.project(zone="other")
    walked = await walk(api, PROJECTS, {"zone": "western_district", "sort": "-total_investment"}, limit=5)
    expected = sorted(made, key=lambda p: (Decimal(p["total_investment"]["amount"]), p["id"]), reverse=True)
    assert [p["id"] for p in walked] == [p["id"] for p in expected]
