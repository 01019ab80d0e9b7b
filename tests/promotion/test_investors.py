"""Investors (客商): the registry, credit codes, and how projects name their investor."""

import random

import pytest
import sqlalchemy as sa

from alembic import command
from app.cli import alembic_config, migrate
from app.services.promotion import credit_code
from tests.factories import assert_invalid, assert_problem

INVESTORS = "/api/v1/investors"
PROJECTS = "/api/v1/projects"

# Real codes as companies print them (the check character computed by their registries).
VALID_CODES = ["91350100M000100Y43", "91110000802100433B", "91440300708461136T"]


def made_code(rng: random.Random) -> str:
    body = "91" + "".join(rng.choice("0123456789") for _ in range(6)) + "".join(
        rng.choice(credit_code.ALPHABET) for _ in range(9))
    return body + credit_code.check_character(body)


# --- the check character, both ways ---------------------------------------------------------


@pytest.mark.parametrize("code", VALID_CODES)
def test_published_codes_pass_the_check(code):
    assert credit_code.check_character(code[:17]) == code[17]
    assert credit_code.problem(code) is None


def test_the_weights_are_powers_of_three_mod_31_over_a_31_character_alphabet():
    assert credit_code.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(credit_code.ALPHABET) == 31 and not set("IOSVZ") & set(credit_code.ALPHABET)


@pytest.mark.parametrize("code", VALID_CODES)
def test_every_other_check_character_is_refused(code):
    for wrong in credit_code.ALPHABET:
        if wrong != code[17]:
            assert "check character" in (credit_code.problem(code[:17] + wrong) or "")


def test_changing_any_one_character_breaks_the_check():
    rng = random.Random(18)
    for _ in range(200):
        code = made_code(rng)
        assert credit_code.problem(code) is None
        i = rng.randrange(17)
        other = rng.choice([c for c in credit_code.ALPHABET if c != code[i]])
        assert credit_code.problem(code[:i] + other + code[i + 1:]) is not None


def test_a_check_value_of_31_is_written_0():
    # 31 - (sum mod 31) is 31 exactly when the sum is a multiple of 31: the alphabet's 0.
    body = "0" * 17
    assert credit_code.check_character(body) == "0"


@pytest.mark.parametrize(("code", "says"), [("9135010", "18 characters"), ("91350100M000100YI3", "not I"),
                                            ("91350100M000100Y4O", "not O")])
def test_malformed_codes_say_what_is_wrong(code, says):
    assert says in (credit_code.problem(code) or "")


# --- the registry over HTTP --------------------------------------------------------------


async def test_an_investor_is_created_read_listed_updated_and_archived_with_audit(api):
    r = await api.client.post(INVESTORS, headers=api.admin, json={
        "name": "日本电产株式会社", "country": "jp", "fortune_global_500": False, "group_name": "Nidec Group"})
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["country"] == "JP" and inv["credit_code"] is None and r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"{INVESTORS}/{inv['id']}"

    r = await api.client.get(f"{INVESTORS}/{inv['id']}", headers=api.admin)
    assert r.json() == inv and r.headers["ETag"] == '"1"'

    r = await api.client.patch(f"{INVESTORS}/{inv['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"fortune_global_500": True})
    assert r.status_code == 200 and r.json()["fortune_global_500"] is True and r.headers["ETag"] == '"2"'
    r = await api.client.patch(f"{INVESTORS}/{inv['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"group_name": "x"})
    assert_problem(r, 412, "version_mismatch")
    r = await api.client.patch(f"{INVESTORS}/{inv['id']}", headers=api.admin, json={"group_name": "x"})
    assert_problem(r, 428, "if_match_required")

    listed = (await api.client.get(INVESTORS, headers=api.admin, params={"fortune_global_500": "true"})).json()
    assert [i["id"] for i in listed["items"]] == [inv["id"]] and listed["next_cursor"] is None

    r = await api.client.delete(f"{INVESTORS}/{inv['id']}", headers={**api.admin, "If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["archived_at"] is not None
    assert (await api.client.get(INVESTORS, headers=api.admin)).json()["items"] == []
    archived = (await api.client.get(INVESTORS, headers=api.admin, params={"archived": "true"})).json()["items"]
    assert [i["id"] for i in archived] == [inv["id"]]

    events = await api.audit(resource_type="investor", resource_id=str(inv["id"]))
    assert sorted(e["action"] for e in events) == ["investor.archive", "investor.create", "investor.update"]
    update = next(e for e in events if e["action"] == "investor.update")
    assert update["before"] == {"fortune_global_500": False, "version": 1}
    assert update["after"] == {"fortune_global_500": True, "version": 2}


async def test_the_list_pages_by_keyset_and_filters_by_country(api):
    for n in range(5):
        r = await api.client.post(INVESTORS, headers=api.admin,
                                  json={"name": f"客商{n}", "country": "KR" if n % 2 else "CN"})
        assert r.status_code == 201
    seen, cursor = [], None
    while True:
        page = (await api.client.get(INVESTORS, headers=api.admin,
                                     params={"limit": 2, **({"cursor": cursor} if cursor else {})})).json()
        seen += [i["name"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"客商{n}" for n in range(5)]
    korean = (await api.client.get(INVESTORS, headers=api.admin, params={"country": "KR"})).json()["items"]
    assert [i["name"] for i in korean] == ["客商1", "客商3"]


async def test_a_credit_code_with_a_wrong_check_character_is_422_naming_it_and_writes_nothing(api):
    good = VALID_CODES[0]
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    r = await api.client.post(INVESTORS, headers=api.admin, json={"name": "某公司", "country": "CN",
                                                                 "credit_code": wrong})
    assert_invalid(r, "credit_code", "check character")
    assert (await api.client.get(INVESTORS, headers=api.admin)).json()["items"] == []
    assert await api.audit(resource_type="investor") == []


async def test_a_credit_code_is_stored_upper_case(api):
    r = await api.client.post(INVESTORS, headers=api.admin, json={"name": "某公司", "country": "CN",
                                                                 "credit_code": VALID_CODES[0].lower()})
    assert r.status_code == 201 and r.json()["credit_code"] == VALID_CODES[0]


async def test_two_investors_with_one_credit_code_is_409_naming_it(api):
    body = {"name": "甲公司", "country": "CN", "credit_code": VALID_CODES[1]}
    assert (await api.client.post(INVESTORS, headers=api.admin, json=body)).status_code == 201
    r = await api.client.post(INVESTORS, headers=api.admin, json={**body, "name": "乙公司"})
    problem = assert_problem(r, 409, "credit_code_taken")
    assert problem["errors"][0]["field"] == "credit_code"
    other = (await api.client.post(INVESTORS, headers=api.admin, json={"name": "丙公司", "country": "CN"})).json()
    r = await api.client.patch(f"{INVESTORS}/{other['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"credit_code": VALID_CODES[1]})
    assert_problem(r, 409, "credit_code_taken")
    assert len((await api.client.get(INVESTORS, headers=api.admin)).json()["items"]) == 2


async def test_only_admin_and_bureau_write_investors_and_the_others_read(api):
    leader = await api.leader()
    unit = await api.unit()
    keys = {"bureau": await api.key("bureau"), "leader": await api.key("leader", leader_id=leader["id"]),
            "unit": await api.key("unit", unit_id=unit["id"]), "viewer": await api.key("viewer"),
            "integration": await api.key("integration")}
    for role, headers in keys.items():
        r = await api.client.post(INVESTORS, headers=headers, json={"name": f"{role}客商", "country": "CN"})
        assert r.status_code == (201 if role == "bureau" else 403), (role, r.text)
        r = await api.client.get(INVESTORS, headers=headers)
        assert r.status_code == (403 if role == "integration" else 200), role


# --- projects and their investor ------------------------------------------------------------


async def test_a_project_written_with_investor_text_is_linked_to_a_matching_or_new_investor(api):
    first = await api.project(investor="三井物产", investor_country="JP", funding_source="foreign")
    assert first["investor_id"] is not None and first["investor"] == "三井物产"
    second = await api.project(investor="三井物产", investor_country="JP", funding_source="foreign")
    assert second["investor_id"] == first["investor_id"]
    other_country = await api.project(investor="三井物产", investor_country="KR", funding_source="foreign")
    assert other_country["investor_id"] != first["investor_id"]
    inv = (await api.client.get(f"{INVESTORS}/{first['investor_id']}", headers=api.admin)).json()
    assert (inv["name"], inv["country"]) == ("三井物产", "JP")
    assert len(await api.audit(resource_type="investor", action="investor.create")) == 2


async def test_a_project_names_its_investor_by_id_and_shows_its_name(api):
    inv = (await api.client.post(INVESTORS, headers=api.admin, json={
        "name": "LG化学", "country": "KR", "fortune_global_500": True})).json()
    body = {"name": "新材料项目", "investor_id": inv["id"], "funding_source": "foreign", "industry": "new_materials",
            "zone": "binhai_new_area", "total_investment": {"amount": "1000.00", "currency": "USD"}}
    r = await api.client.post(PROJECTS, headers=api.admin, json=body)
    assert r.status_code == 201, r.text
    p = r.json()
    assert (p["investor_id"], p["investor"], p["investor_country"]) == (inv["id"], "LG化学", "KR")

    r = await api.client.post(PROJECTS, headers=api.admin, json={**body, "investor": "别的名字"})
    assert_invalid(r, "investor")
    r = await api.client.post(PROJECTS, headers=api.admin, json={**body, "investor_id": inv["id"] + 100})
    assert_invalid(r, "investor_id")
    del body["investor_id"]
    r = await api.client.post(PROJECTS, headers=api.admin, json=body)
    assert_invalid(r, "investor")


async def test_renaming_an_investor_renames_it_on_its_projects_with_new_versions(api):
    p = await api.project(investor="旧名称", investor_country="CN")
    r = await api.client.patch(f"{INVESTORS}/{p['investor_id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"name": "新名称"})
    assert r.status_code == 200
    now = await api.get_project(p["id"])
    assert now["investor"] == "新名称" and now["version"] == p["version"] + 1
    found = (await api.client.get(PROJECTS, headers=api.admin, params={"q": "新名称"})).json()["items"]
    assert [x["id"] for x in found] == [p["id"]]


async def test_a_project_update_moves_it_to_another_investor(api):
    p = await api.project(investor="甲", investor_country="CN")
    inv = (await api.client.post(INVESTORS, headers=api.admin, json={"name": "乙", "country": "CN"})).json()
    r = await api.client.patch(f"{PROJECTS}/{p['id']}", headers={**api.admin, "If-Match": f'"{p["version"]}"'},
                               json={"investor_id": inv["id"]})
    assert r.status_code == 200 and (r.json()["investor_id"], r.json()["investor"]) == (inv["id"], "乙")
    r = await api.client.patch(f"{PROJECTS}/{p['id']}", headers={**api.admin, "If-Match": r.headers["ETag"]},
                               json={"investor": "丙"})
    assert r.json()["investor"] == "丙" and r.json()["investor_id"] not in (inv["id"], p["investor_id"])


async def test_the_project_list_filters_by_investor_and_fortune_global_500(api):
    big = (await api.client.post(INVESTORS, headers=api.admin, json={
        "name": "大众汽车", "country": "DE", "fortune_global_500": True})).json()
    a = await api.project(investor_id=big["id"], investor=None, investor_country=None, funding_source="foreign")
    b = await api.project()
    listed = (await api.client.get(PROJECTS, headers=api.admin, params={"investor_id": big["id"]})).json()["items"]
    assert [x["id"] for x in listed] == [a["id"]]
    top = (await api.client.get(PROJECTS, headers=api.admin, params={"fortune_global_500": "true"})).json()["items"]
    assert [x["id"] for x in top] == [a["id"]]
    rest = (await api.client.get(PROJECTS, headers=api.admin, params={"fortune_global_500": "false"})).json()["items"]
    assert [x["id"] for x in rest] == [b["id"]]


# --- the migration --------------------------------------------------------------------------


def test_the_migration_makes_one_investor_per_distinct_name_and_country(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "0007")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    rows = [("A", "JP"), ("A", "JP"), ("A", "KR"), ("B", "CN")]
    with engine.begin() as conn:
        for i, (investor, country) in enumerate(rows, start=1):
            conn.execute(sa.text(
                "INSERT INTO projects (id, name, investor, investor_country, funding_source, industry, zone, "
                "total_investment_amount, total_investment_currency, stage, stage_entered_on, on_hold, version, "
                "created_at, updated_at) VALUES (:id, :name, :inv, :c, 'foreign', 'electronics', 'other', 100, "
                "'USD', 'negotiating', '2022-01-01', 0, 1, '2022-01-01 00:00:00', '2022-01-01 00:00:00')"),
                {"id": i, "name": f"p{i}", "inv": investor, "c": country})
    migrate(url)
    with engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT id, name, country FROM investors"))
        investors = {(r.name, r.country): r.id for r in rows}
        links = dict(conn.execute(sa.text("SELECT id, investor_id FROM projects")).all())
    assert set(investors) == {("A", "JP"), ("A", "KR"), ("B", "CN")}
    assert links == {1: investors[("A", "JP")], 2: investors[("A", "JP")], 3: investors[("A", "KR")],
                     4: investors[("B", "CN")]}
    engine.dispose()


async def test_the_pipeline_groups_by_investor_country_with_links_to_the_projects(api):
    for country, amount in (("JP", "100.00"), ("JP", "50.00"), ("KR", "70.00")):
        await api.project(investor_country=country, funding_source="foreign", stage_entered_on="2022-01-01",
                          total_investment={"amount": amount, "currency": "USD"})
    await api.project(investor_country="CN", stage_entered_on="2022-01-01")
    r = await api.client.get("/api/v1/stats/pipeline", headers=api.admin,
                             params={"group_by": "investor_country", "funding_source": "foreign", "funnel": "false"})
    assert r.status_code == 200, r.text
    groups = {g["key"]["investor_country"]: g for g in r.json()["groups"]}
    assert set(groups) == {"JP", "KR"}
    assert groups["JP"]["count"] == 2 and groups["JP"]["totals"] == [{"amount": "150.00", "currency": "USD"}]
    linked = await api.client.get(groups["KR"]["projects"], headers=api.admin)
    assert linked.status_code == 200 and len(linked.json()["items"]) == 1
