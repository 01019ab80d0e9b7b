"""Zones (/zones) and industries (/industries): reference data the bureau keeps, and what
projects, statistics, ledgers and exports make of them."""

from collections import Counter
from decimal import Decimal

import pytest

from app.models.enums import Industry, Zone
from tests.factories import assert_invalid, assert_problem
from tests.ledger_files import all_projects, csv_bytes, ledger_row, read_csv, table, upload

API = "/api/v1"
ZONES, INDUSTRIES = f"{API}/zones", f"{API}/industries"


async def create(api, path, headers=None, **body):
    r = await api.client.post(path, headers=headers or api.admin, json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def everything(api, path, **params):
    r = await api.client.get(path, headers=api.admin, params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def by_key(api, path, key):
    (entry,) = [e for e in await everything(api, path) + await everything(api, path, archived="true")
                if e["key"] == key]
    return entry


async def change(api, path, entry, **body):
    current = await api.client.get(f"{path}/{entry['id']}", headers=api.admin)
    return await api.client.patch(f"{path}/{entry['id']}", headers={**api.admin, "If-Match": current.headers["ETag"]},
                                  json=body)


async def archive(api, path, entry):
    current = await api.client.get(f"{path}/{entry['id']}", headers=api.admin)
    r = await api.client.delete(f"{path}/{entry['id']}", headers={**api.admin, "If-Match": current.headers["ETag"]})
    assert r.status_code == 200, r.text
    return r.json()


# --- the registries -------------------------------------------------------------------------


async def test_the_enum_era_values_are_seeded_with_their_keys_and_names(api):
    zones = await everything(api, ZONES)
    industries = await everything(api, INDUSTRIES)
    assert [z["key"] for z in zones] == [z.value for z in Zone]
    assert [i["key"] for i in industries] == [i.value for i in Industry]
    assert {z["key"]: z["name"] for z in zones}["yinglan_tech_city"] == "英蓝国际金融服务外包科技城"
    assert {i["key"]: i["name"] for i in industries}["logistics"] == "现代物流"
    assert all(e["parent_key"] is None and e["archived_at"] is None for e in zones + industries)


async def test_a_zone_lives_like_a_unit(api):
    r = await api.client.post(ZONES, headers=api.admin, json={
        "key": "sino_german_ecopark", "name": "中德生态园", "name_en": "Sino-German Ecopark",
        "parent_key": "binhai_new_area", "region_code": "370211"})
    assert r.status_code == 201, r.text
    park = r.json()
    assert r.headers["Location"] == f"{ZONES}/{park['id']}" and r.headers["ETag"] == '"1"'
    assert (park["key"], park["parent_key"], park["region_code"], park["version"]) == (
        "sino_german_ecopark", "binhai_new_area", "370211", 1)
    read = await api.client.get(f"{ZONES}/{park['id']}", headers=api.admin)
    assert read.json() == park and read.headers["ETag"] == '"1"'

    no_match = await api.client.patch(f"{ZONES}/{park['id']}", headers=api.admin, json={"name_en": "Ecopark"})
    assert_problem(no_match, 428, "if_match_required")
    stale = await api.client.patch(f"{ZONES}/{park['id']}", headers={**api.admin, "If-Match": '"7"'},
                                   json={"name_en": "Ecopark"})
    assert_problem(stale, 412, "version_mismatch")
    changed = await change(api, ZONES, park, name_en="Sino-German Ecopark, Qingdao")
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name_en"], changed.json()["version"]) == ("Sino-German Ecopark, Qingdao", 2)
    assert changed.headers["ETag"] == '"2"'

    gone = await archive(api, ZONES, park)
    assert gone["archived_at"] is not None
    assert "sino_german_ecopark" not in [z["key"] for z in await everything(api, ZONES)]
    assert [z["key"] for z in await everything(api, ZONES, archived="true")] == ["sino_german_ecopark"]
    again = await api.client.delete(f"{ZONES}/{park['id']}", headers={**api.admin, "If-Match": '"3"'})
    assert_problem(again, 409, "already_archived")

    events = await api.audit(resource_type="zone", resource_id=park["id"])
    assert [e["action"] for e in events] == ["zone.archive", "zone.update", "zone.create"]
    assert events[1]["before"] == {"name_en": "Sino-German Ecopark", "version": 1}
    assert events[2]["actor_name"] == "test admin"


async def test_lists_filter_by_parent_and_text_and_page_by_keyset(api):
    await create(api, ZONES, key="sino_german_ecopark", name="中德生态园", parent_key="binhai_new_area")
    await create(api, ZONES, key="qianwan_port", name="前湾港区", name_en="Qianwan port area",
                 parent_key="binhai_new_area")
    children = await everything(api, ZONES, parent_key="binhai_new_area", sort="key")
    assert [z["key"] for z in children] == ["qianwan_port", "sino_german_ecopark"]
    assert [z["key"] for z in await everything(api, ZONES, q="QIANWAN")] == ["qianwan_port"]
    seen, cursor = [], None
    while True:
        page = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        r = await api.client.get(ZONES, headers=api.admin, params=page)
        seen += [z["key"] for z in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [z["key"] for z in await everything(api, ZONES)] and len(seen) == len(Zone) + 2


async def test_an_industry_chain_and_its_national_category(api):
    chain = await create(api, INDUSTRIES, key="new_energy_vehicle_chain", name="新能源汽车产业链", national_code="C36")
    link = await create(api, INDUSTRIES, key="power_batteries", name="动力电池", parent_key=chain["key"],
                        national_code="C3841")
    assert (link["parent_key"], link["national_code"]) == ("new_energy_vehicle_chain", "C3841")
    r = await change(api, INDUSTRIES, await by_key(api, INDUSTRIES, "automotive"), parent_key=chain["key"])
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("path", "body", "field"), [
    (ZONES, {"key": "Binhai_New_Area", "name": "滨海新区二"}, "key"),
    (ZONES, {"key": "binhai__area", "name": "新区"}, "key"),
    (ZONES, {"key": "1st_park", "name": "一号园"}, "key"),
    (ZONES, {"key": "k" * 33, "name": "长键"}, "key"),
    (ZONES, {"key": "long_name", "name": "园" * 101}, "name"),
    (ZONES, {"key": "blank_name", "name": "   "}, "name"),
    (ZONES, {"key": "letters", "name": "字母区", "region_code": "37021A"}, "region_code"),
    (ZONES, {"key": "short_region", "name": "短码区", "region_code": "37021"}, "region_code"),
    (ZONES, {"key": "no_province", "name": "无省区", "region_code": "990211"}, "region_code"),
    (ZONES, {"key": "orphan", "name": "孤园", "parent_key": "no_such_zone"}, "parent_key"),
    (ZONES, {"key": "extra", "name": "多字段", "national_code": "C38"}, "national_code"),
    (INDUSTRIES, {"key": "bad_category", "name": "坏门类", "national_code": "38"}, "national_code"),
    (INDUSTRIES, {"key": "bad_letter", "name": "坏字母", "national_code": "Z38"}, "national_code"),
    (INDUSTRIES, {"key": "too_long", "name": "太长", "national_code": "C38411"}, "national_code"),
    (INDUSTRIES, {"key": "extra", "name": "多字段", "region_code": "370211"}, "region_code"),
])
async def test_bad_reference_data_is_refused_naming_the_field(api, path, body, field):
    before = await everything(api, path)
    r = await api.client.post(path, headers=api.admin, json=body)
    assert_invalid(r, field)
    assert await everything(api, path) == before


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"key": "binhai_new_area", "name": "另一个滨海新区"}, "key", "key_taken"),
    ({"key": "another_binhai", "name": "滨海新区"}, "name", "name_taken"),
])
async def test_a_key_or_name_taken_is_a_conflict(api, body, field, code):
    r = await api.client.post(ZONES, headers=api.admin, json=body)
    problem = assert_problem(r, 409, code)
    assert problem["errors"] == [{"field": field, "message": "is taken"}]


async def test_parents_never_make_a_cycle(api):
    district = await create(api, ZONES, key="west_coast", name="西海岸新区")
    park = await create(api, ZONES, key="ecopark", name="生态园", parent_key="west_coast")
    lot = await create(api, ZONES, key="ecopark_lot_a", name="生态园A地块", parent_key="ecopark")
    for entry, parent in ((district, "ecopark_lot_a"), (district, "ecopark"), (park, "ecopark")):
        r = await change(api, ZONES, entry, parent_key=parent)
        assert_invalid(r, "parent_key", "cycle")
    assert (await by_key(api, ZONES, "west_coast"))["parent_key"] is None
    assert (await by_key(api, ZONES, "ecopark"))["version"] == park["version"]
    assert (await by_key(api, ZONES, "ecopark_lot_a"))["parent_key"] == lot["parent_key"]


async def test_a_key_is_immutable_once_a_project_or_a_child_uses_it(api):
    unused = await create(api, ZONES, key="new_park", name="新园区")
    r = await change(api, ZONES, unused, key="renamed_park")
    assert r.status_code == 200 and r.json()["key"] == "renamed_park"
    used = await create(api, ZONES, key="used_park", name="已用园区")
    await api.project(zone="used_park")
    r = await change(api, ZONES, used, key="other_key")
    problem = assert_problem(r, 409, "key_in_use")
    assert problem["errors"][0]["field"] == "key"
    parent = await create(api, ZONES, key="parent_area", name="上级区域")
    await create(api, ZONES, key="child_area", name="下级区域", parent_key="parent_area")
    assert_problem(await change(api, ZONES, parent, key="moved_area"), 409, "key_in_use")
    assert (await by_key(api, ZONES, "used_park"))["version"] == 1


async def test_an_archived_zone_stays_on_its_projects_but_no_project_may_take_it(api):
    park = await create(api, ZONES, key="closing_park", name="撤并园区")
    kept = await api.project(zone="closing_park")
    await archive(api, ZONES, park)
    assert (await api.get_project(kept["id"]))["zone"] == "closing_park"
    r = await api.client.patch(f"{API}/projects/{kept['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"name": "改名不改区域", "zone": "closing_park"})
    assert r.status_code == 200, r.text
    r = await api.client.post(f"{API}/projects", headers=api.admin, json={
        "name": "新项目", "investor": "投资方", "investor_country": "CN", "funding_source": "domestic",
        "industry": "new_materials", "zone": "closing_park", "total_investment": {"amount": "1.00", "currency": "CNY"}})
    assert_invalid(r, "zone", "archived")
    other = await api.project()
    r = await api.client.patch(f"{API}/projects/{other['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"zone": "closing_park"})
    assert_invalid(r, "zone", "archived")
    assert (await api.get_project(other["id"]))["zone"] == "binhai_new_area"


@pytest.mark.parametrize(("field", "value"), [("zone", "atlantis"), ("industry", "alchemy")])
async def test_a_project_with_an_unknown_key_is_refused_naming_the_field(api, field, value):
    r = await api.client.post(f"{API}/projects", headers=api.admin, json={
        "name": "新项目", "investor": "投资方", "investor_country": "CN", "funding_source": "domestic",
        "industry": "new_materials", "zone": "binhai_new_area",
        "total_investment": {"amount": "1.00", "currency": "CNY"}, field: value})
    assert_invalid(r, field, "no ")
    assert await all_projects(api) == []


async def test_meta_enums_lists_the_zones_and_industries_of_the_tables(api):
    await create(api, ZONES, key="sino_german_ecopark", name="中德生态园", name_en="Sino-German Ecopark")
    r = await api.client.get(f"{API}/meta/enums", headers=api.admin)
    zones = {v["value"]: v["labels"] for v in r.json()["zone"]}
    assert zones["sino_german_ecopark"] == {"zh-CN": "中德生态园", "en": "Sino-German Ecopark"}
    assert zones["binhai_new_area"]["zh-CN"] == "滨海新区"
    assert [v["value"] for v in r.json()["industry"]] == [i.value for i in Industry]


# --- what projects, statistics and ledgers make of them -----------------------------------


async def test_projects_in_a_zone_made_through_the_api_are_filtered_and_counted_by_it(api):
    await create(api, ZONES, key="sino_german_ecopark", name="中德生态园", parent_key="binhai_new_area")
    await create(api, ZONES, key="ecopark_lot_a", name="生态园A地块", parent_key="sino_german_ecopark")
    await create(api, INDUSTRIES, key="nev_chain", name="新能源汽车产业链")
    await create(api, INDUSTRIES, key="power_batteries", name="动力电池", parent_key="nev_chain")
    made = []
    for zone, industry, amount in [("sino_german_ecopark", "power_batteries", "100.00"),
                                   ("ecopark_lot_a", "power_batteries", "200.00"),
                                   ("binhai_new_area", "new_materials", "400.00"),
                                   ("dagu_river_belt", "power_batteries", "800.00"),
                                   ("ecopark_lot_a", "nev_chain", "1600.00")]:
        made.append(await api.project(zone=zone, industry=industry,
                                      total_investment={"amount": amount, "currency": "CNY"}))
    listed = await api.client.get(f"{API}/projects", headers=api.admin, params={"zone": "ecopark_lot_a"})
    assert {p["id"] for p in listed.json()["items"]} == {p["id"] for p in made if p["zone"] == "ecopark_lot_a"}

    # The brute-force reference: each project's root by walking its parents.
    zone_parent = {z["key"]: z["parent_key"] for z in await everything(api, ZONES)}
    industry_parent = {i["key"]: i["parent_key"] for i in await everything(api, INDUSTRIES)}

    def root(parents, key):
        while parents[key] is not None:
            key = parents[key]
        return key

    zone_names = {z["key"]: z["name"] for z in await everything(api, ZONES)}
    industry_names = {i["key"]: i["name"] for i in await everything(api, INDUSTRIES)}
    for group_by, of, names in [("zone", lambda p: p["zone"], zone_names),
                                ("industry", lambda p: p["industry"], industry_names),
                                ("zone_root", lambda p: root(zone_parent, p["zone"]), zone_names),
                                ("industry_root", lambda p: root(industry_parent, p["industry"]), industry_names)]:
        r = await api.client.get(f"{API}/stats/pipeline", headers=api.admin,
                                 params={"group_by": group_by, "funnel": "false"})
        assert r.status_code == 200, r.text
        groups = {g["key"][group_by]: g for g in r.json()["groups"]}
        expected = Counter(of(p) for p in made)
        assert {k: g["count"] for k, g in groups.items()} == dict(expected), group_by
        for key, g in groups.items():
            assert g["names"] == {group_by: names[key]}
            total = sum(Decimal(p["total_investment"]["amount"]) for p in made if of(p) == key)
            assert [Decimal(t["amount"]) for t in g["totals"]] == [total]
            behind = await api.client.get(g["projects"], headers=api.admin)
            assert {p["id"] for p in behind.json()["items"]} == {p["id"] for p in made if of(p) == key}

    # A chain as a filter, with the funnel (which filters in every part of its union).
    r = await api.client.get(f"{API}/stats/pipeline", headers=api.admin,
                             params={"group_by": "industry_root,zone_root", "industry_root": "nev_chain"})
    assert r.status_code == 200, r.text
    in_chain = [p for p in made if root(industry_parent, p["industry"]) == "nev_chain"]
    assert r.json()["total"]["count"] == len(in_chain)
    assert sum(f["entered"] for f in r.json()["funnel"] if f["stage"] == "negotiating") == len(in_chain)
    assert {g["key"]["zone_root"]: g["count"] for g in r.json()["groups"]} == dict(
        Counter(root(zone_parent, p["zone"]) for p in in_chain))


async def test_a_ledger_names_zones_and_industries_by_chinese_name_english_name_or_key(api):
    await create(api, ZONES, key="sino_german_ecopark", name="中德生态园", name_en="Sino-German Ecopark")
    rows = [ledger_row(1, 所属区域="中德生态园"), ledger_row(2, 所属区域="Sino-German Ecopark", 产业类别="Logistics"),
            ledger_row(3, 所属区域="sino_german_ecopark", 产业类别="digital_economy")]
    r = await upload(api, csv_bytes(table(rows)))
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 3
    got = sorted(await all_projects(api), key=lambda p: p["name"])
    assert [(p["zone"], p["industry"]) for p in got] == [
        ("sino_german_ecopark", "new_materials"), ("sino_german_ecopark", "logistics"),
        ("sino_german_ecopark", "digital_economy")]

    exported = await api.client.get(f"{API}/exports/projects", headers=api.admin, params={"format": "csv"})
    cells = read_csv(exported.content)
    zone_at, industry_at = cells[0].index("所属区域"), cells[0].index("产业类别")
    assert sorted((row[zone_at], row[industry_at]) for row in cells[1:]) == sorted(
        [("中德生态园", "新材料"), ("中德生态园", "现代物流"), ("中德生态园", "数字经济")])


async def test_an_unknown_or_archived_zone_in_a_ledger_is_an_error_of_its_row(api):
    park = await create(api, ZONES, key="closing_park", name="撤并园区")
    await archive(api, ZONES, park)
    rows = [ledger_row(1), ledger_row(2, 所属区域="火星基地"), ledger_row(3, 所属区域="撤并园区"),
            ledger_row(4, 产业类别="炼金术")]
    r = await upload(api, csv_bytes(table(rows)))
    assert r.status_code == 422, r.text
    issues = {(e["row"], e["field"]): e["message"] for e in r.json()["errors"]}
    assert set(issues) == {(3, "zone"), (4, "zone"), (5, "industry")}
    assert "is not a zone" in issues[(3, "zone")] and "archived" in issues[(4, "zone")]
    assert await all_projects(api) == []


# --- who may do what --------------------------------------------------------------------------

# endpoint                   admin bureau leader unit integration viewer
ROLES = ("admin", "bureau", "leader", "unit", "integration", "viewer")
TABLE = {
    "POST":   (201, 201, 403, 403, 403, 403),
    "GET":    (200, 200, 200, 200, 403, 200),
    "GET id": (200, 200, 200, 200, 403, 200),
    "PATCH":  (200, 200, 403, 403, 403, 403),
    "DELETE": (200, 200, 403, 403, 403, 403),
}  # fmt: skip


@pytest.mark.parametrize("path", [ZONES, INDUSTRIES])
async def test_admin_and_bureau_write_reference_data_and_whoever_reads_projects_reads_it(api, path):
    leader, unit = await api.leader(), await api.unit()
    for i, role in enumerate(ROLES):
        headers = api.admin if role == "admin" else await api.key(
            role, leader_id=leader["id"] if role == "leader" else None, unit_id=unit["id"] if role == "unit" else None)
        target = await create(api, path, key=f"entry_{i}", name=f"条目{i}")
        calls = {
            "POST": api.client.post(path, headers=headers, json={"key": f"made_by_{i}", "name": f"新条目{i}"}),
            "GET": api.client.get(path, headers=headers),
            "GET id": api.client.get(f"{path}/{target['id']}", headers=headers),
            "PATCH": api.client.patch(f"{path}/{target['id']}", headers={**headers, "If-Match": '"1"'},
                                      json={"name_en": "changed"}),
        }
        for name, call in calls.items():
            r = await call
            assert r.status_code == TABLE[name][i], (path, role, name, r.text)
        r = await api.client.delete(f"{path}/{target['id']}", headers={**headers, "If-Match": "*"})
        assert r.status_code == TABLE["DELETE"][i], (path, role, "DELETE", r.text)


async def test_a_ledger_code_naming_a_zones_region_suggests_that_zone_without_changing_anything(api):
    await create(api, ZONES, key="huangdao_park", name="黄岛园区", region_code="370211")
    rows = [ledger_row(1, 项目代码="2019-370211-26-03-000001", 所属区域="其他"),
            ledger_row(2, 项目代码="2019-370211-26-03-000002", 所属区域="黄岛园区"),
            ledger_row(3, 项目代码="2019-370214-26-03-000003", 所属区域="其他")]
    r = await upload(api, csv_bytes(table(rows)))
    assert r.status_code == 200, r.text
    (warning,) = [w for w in r.json()["warnings"] if w["field"] == "zone"]
    assert warning["row"] == 2 and "黄岛园区 (huangdao_park)" in warning["message"]
    by_code = {p["code"]: p["zone"] for p in await all_projects(api)}
    assert by_code == {"2019-370211-26-03-000001": "other", "2019-370211-26-03-000002": "huangdao_park",
                       "2019-370214-26-03-000003": "other"}
