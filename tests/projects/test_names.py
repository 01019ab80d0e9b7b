"""Names that hide what they say are refused; names that look alike are alike.

Names (of projects, investors, leaders, units, keys, difficulties, supervised items ...)
are normalised to NFC and lose their zero-width characters; control characters other
than white space, and the bidirectional controls that reorder what follows them, are
refused, as is a name with nothing visible."""

import pytest

from tests.factories import assert_invalid, assert_problem, project_body

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]


@pytest.mark.parametrize("char", BIDI, ids=[f"U+{ord(c):04X}" for c in BIDI])
async def test_a_bidirectional_control_inside_a_name_is_refused(api, char: str):
    r = await api.client.post("/api/v1/projects", headers=api.admin,
                              json=project_body(name=f"青岛{char}项目exe.txt"))
    assert_invalid(r, "name", f"U+{ord(char):04X}")
    r = await api.client.post("/api/v1/units", headers=api.admin, json={"name": f"市{char}发改委"})
    assert_invalid(r, "name", "bidirectional")


@pytest.mark.parametrize("name", ["\u200b", "\u200b\u200c\u200d", " \u2060 ", "\ufeff\u200b", "\u00ad"])
async def test_a_name_with_nothing_visible_is_refused(api, name: str):
    for path, body, field in (("/api/v1/projects", project_body(investor=name), "investor"),
                              ("/api/v1/leaders", {"name": name}, "name"),
                              ("/api/v1/units", {"name": name}, "name")):
        r = await api.client.post(path, headers=api.admin, json=body)
        assert_invalid(r, field, "visible")


async def test_control_characters_are_refused_but_white_space_is_kept(api):
    r = await api.client.post("/api/v1/projects", headers=api.admin, json=project_body(name="青岛\x1b[31m项目"))
    assert_invalid(r, "name", "U+001B")
    kept = await api.project(investor="投资方\t制表")
    assert kept["investor"] == "投资方\t制表"


@pytest.mark.parametrize("char", ZERO_WIDTH, ids=[f"U+{ord(c):04X}" for c in ZERO_WIDTH])
async def test_two_units_that_differ_only_by_a_zero_width_character_are_one_name(api, char: str):
    unit = await api.unit("市发展和改革委员会")
    r = await api.client.post("/api/v1/units", headers=api.admin, json={"name": f"市发展{char}和改革委员会"})
    assert_problem(r, 409, "name_taken")
    leader = await api.leader(f"张{char}三")
    assert leader["name"] == "张三"
    r = await api.client.patch(f"/api/v1/units/{unit['id']}", headers={**api.admin, "If-Match": f'"{unit["version"]}"'},
                               json={"name": f"{char}市发展和改革委员会{char}"})
    assert r.status_code == 200 and r.json()["name"] == "市发展和改革委员会"


async def test_names_are_stored_in_nfc(api):
    composed = await api.unit("Caf\u00e9 投资促进中心")
    r = await api.client.post("/api/v1/units", headers=api.admin, json={"name": "Cafe\u0301 投资促进中心"})
    assert_problem(r, 409, "name_taken")
    project = await api.project(name="Cafe\u0301 项目")
    assert project["name"] == "Caf\u00e9 项目" and composed["name"] == "Caf\u00e9 投资促进中心"
