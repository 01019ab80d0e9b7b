"""Leaders in charge and responsible units over HTTP, the enum labels, and the health checks."""

import base64
import json
from datetime import datetime
from typing import Any

import pytest

from app.models.enums import ENUMS
from tests.factories import assert_invalid, assert_problem, project_body

LEADERS = "/api/v1/leaders"
UNITS = "/api/v1/units"
REGISTRIES = [LEADERS, UNITS]


def if_match(headers: dict[str, str], version: int | str) -> dict[str, str]:
    return {**headers, "If-Match": f'"{version}"' if isinstance(version, int) else version}


async def walk(api: Any, path: str, params: dict[str, Any] | None = None, *, limit: int = 50) -> list[dict[str, Any]]:
    """Every item of a listing, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {**(params or {}), "limit": limit, **({"cursor": cursor} if cursor else {})}
        r = await api.client.get(path, headers=api.admin, params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        cursor = page["next_cursor"]
        assert len(page["items"]) == limit if cursor else len(page["items"]) <= limit
        items.extend(page["items"])
        if cursor is None:
            return items
    raise AssertionError("the listing never ended")


async def counts(api: Any, path: str) -> tuple[int, int]:
    """How many entries (current and archived) the registry holds, and how many audit events exist."""
    current = await walk(api, path, limit=200)
    archived = await walk(api, path, {"archived": "true"}, limit=200)
    events = await walk(api, "/api/v1/audit-events", limit=200)
    return len(current) + len(archived), len(events)


async def names(api: Any, path: str, **params: Any) -> list[str]:
    return [e["name"] for e in await walk(api, path, params, limit=200)]


def new_body(path: str, name: str) -> dict[str, Any]:
    return {"name": name, "title": "副市长"} if path == LEADERS else {"name": name, "kind": "district"}


# --- leaders -------------------------------------------------------------------------------


async def test_a_leader_is_created_read_changed_and_archived_with_etags(api):
    r = await api.client.post(LEADERS, headers=api.admin, json={"name": "  王建国  ", "title": "副市长"})
    assert r.status_code == 201, r.text
    leader = r.json()
    assert r.headers["Location"] == f"{LEADERS}/{leader['id']}" and r.headers["ETag"] == '"1"'
    assert (leader["name"], leader["title"], leader["version"], leader["archived_at"]) == ("王建国", "副市长", 1, None)
    datetime.fromisoformat(leader["created_at"].replace("Z", "+00:00"))

    r = await api.client.get(r.headers["Location"], headers=api.admin)
    assert r.status_code == 200 and r.headers["ETag"] == '"1"' and r.json() == leader

    r = await api.client.patch(f"{LEADERS}/{leader['id']}", headers=if_match(api.admin, 1), json={"title": "市长"})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    assert (r.json()["name"], r.json()["title"], r.json()["version"]) == ("王建国", "市长", 2)

    r = await api.client.patch(f"{LEADERS}/{leader['id']}", headers=if_match(api.admin, 2), json={"title": None})
    assert r.status_code == 200 and r.json()["title"] is None, "an optional field clears with null"

    r = await api.client.delete(f"{LEADERS}/{leader['id']}", headers=if_match(api.admin, 3))
    assert r.status_code == 200, r.text
    assert r.json()["archived_at"] is not None and r.headers["ETag"] == '"4"'
    assert await names(api, LEADERS) == []
    assert await names(api, LEADERS, archived="true") == ["王建国"]
    r = await api.client.get(f"{LEADERS}/{leader['id']}", headers=api.admin)
    assert r.status_code == 200 and r.json()["archived_at"] is not None

    actions = [e["action"] for e in await api.audit(resource_type="leader", resource_id=str(leader["id"]))]
    assert actions == ["leader.archive", "leader.update", "leader.update", "leader.create"]


async def test_two_leaders_may_share_a_name(api):
    a = await api.leader("张伟")
    b = await api.leader("张伟")
    assert a["id"] != b["id"]


async def test_an_archived_leader_keeps_its_projects_but_takes_no_new_ones(api):
    leader = await api.leader()
    p = await api.project(leader_id=leader["id"])
    r = await api.client.delete(f"{LEADERS}/{leader['id']}", headers=if_match(api.admin, 1))
    assert r.status_code == 200
    assert (await api.get_project(p["id"]))["leader_id"] == leader["id"]
    r = await api.client.post("/api/v1/projects", headers=api.admin, json=project_body(leader_id=leader["id"]))
    assert_invalid(r, "leader_id")


# --- units ---------------------------------------------------------------------------------


async def test_a_unit_is_created_read_changed_and_archived_with_etags(api):
    r = await api.client.post(UNITS, headers=api.admin, json={"name": "市商务局", "kind": "department",
                                                              "contact": "0532-85911111"})
    assert r.status_code == 201, r.text
    unit = r.json()
    assert r.headers["Location"] == f"{UNITS}/{unit['id']}" and r.headers["ETag"] == '"1"'
    assert (unit["name"], unit["kind"], unit["contact"], unit["version"]) == ("市商务局", "department",
                                                                               "0532-85911111", 1)
    r = await api.client.get(f"{UNITS}/{unit['id']}", headers=api.admin)
    assert r.status_code == 200 and r.headers["ETag"] == '"1"' and r.json() == unit

    r = await api.client.patch(f"{UNITS}/{unit['id']}", headers=if_match(api.admin, 1),
                               json={"name": "市投资促进局", "kind": "other"})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["kind"], r.json()["contact"], r.json()["version"]) == (
        "市投资促进局", "other", "0532-85911111", 2)
    assert r.headers["ETag"] == '"2"'

    r = await api.client.delete(f"{UNITS}/{unit['id']}", headers=if_match(api.admin, 2))
    assert r.status_code == 200 and r.json()["archived_at"] is not None
    assert await names(api, UNITS) == []
    assert await names(api, UNITS, archived="true") == ["市投资促进局"]


async def test_a_unit_defaults_to_a_department(api):
    unit = await api.unit("西海岸新区管委")
    assert unit["kind"] == "department" and unit["contact"] is None


async def test_a_duplicate_unit_name_is_409_and_writes_nothing(api):
    await api.unit("市发展改革委")
    before = await counts(api, UNITS)
    for name in ("市发展改革委", "  市发展改革委 "):
        r = await api.client.post(UNITS, headers=api.admin, json={"name": name})
        assert_problem(r, 409, "name_taken")
    assert await counts(api, UNITS) == before


async def test_renaming_a_unit_to_a_taken_name_is_409_and_changes_nothing(api):
    await api.unit("市工业和信息化局")
    other = await api.unit("市自然资源和规划局")
    r = await api.client.patch(f"{UNITS}/{other['id']}", headers=if_match(api.admin, 1),
                               json={"name": "市工业和信息化局"})
    assert_problem(r, 409, "name_taken")
    r = await api.client.get(f"{UNITS}/{other['id']}", headers=api.admin)
    assert r.json() == other


async def test_an_archived_units_name_stays_taken(api):
    unit = await api.unit("市生态环境局")
    r = await api.client.delete(f"{UNITS}/{unit['id']}", headers=if_match(api.admin, 1))
    assert r.status_code == 200
    r = await api.client.post(UNITS, headers=api.admin, json={"name": "市生态环境局"})
    assert_problem(r, 409, "name_taken")


# --- shared: concurrency, validation, search, pagination -----------------------------------


@pytest.mark.parametrize("path", REGISTRIES)
@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_a_registry_change_without_if_match_is_428(api, path, method):
    r = await api.client.post(path, headers=api.admin, json=new_body(path, "甲"))
    entry = r.json()
    r = await api.client.request(method, f"{path}/{entry['id']}", headers=api.admin,
                                 json={"name": "乙"} if method == "PATCH" else None)
    assert_problem(r, 428, "if_match_required")
    assert (await api.client.get(f"{path}/{entry['id']}", headers=api.admin)).json() == entry


@pytest.mark.parametrize("path", REGISTRIES)
async def test_a_stale_registry_write_is_412_and_the_winner_stays(api, path):
    entry = (await api.client.post(path, headers=api.admin, json=new_body(path, "原名"))).json()
    r = await api.client.patch(f"{path}/{entry['id']}", headers=if_match(api.admin, 1), json={"name": "先到者"})
    assert r.status_code == 200
    before = await counts(api, path)
    r = await api.client.patch(f"{path}/{entry['id']}", headers=if_match(api.admin, 1), json={"name": "后到者"})
    assert_problem(r, 412, "version_mismatch")
    r = await api.client.delete(f"{path}/{entry['id']}", headers=if_match(api.admin, 1))
    assert_problem(r, 412, "version_mismatch")
    assert await counts(api, path) == before
    got = (await api.client.get(f"{path}/{entry['id']}", headers=api.admin)).json()
    assert (got["name"], got["version"], got["archived_at"]) == ("先到者", 2, None)


@pytest.mark.parametrize("path", REGISTRIES)
async def test_archiving_an_archived_entry_is_409(api, path):
    entry = (await api.client.post(path, headers=api.admin, json=new_body(path, "甲"))).json()
    assert (await api.client.delete(f"{path}/{entry['id']}", headers=if_match(api.admin, 1))).status_code == 200
    r = await api.client.delete(f"{path}/{entry['id']}", headers=if_match(api.admin, 2))
    assert_problem(r, 409, "already_archived")


@pytest.mark.parametrize("path", REGISTRIES)
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_an_unknown_entry_is_404_and_an_out_of_range_id_is_422(api, path, method):
    kw: dict[str, Any] = {"headers": if_match(api.admin, 1), "json": {"name": "x"} if method == "PATCH" else None}
    assert_problem(await api.client.request(method, f"{path}/424242", **kw), 404, "not_found")
    field = "leader_id" if path == LEADERS else "unit_id"
    for bad in ("99999999999999999999", "0", "abc"):
        assert_invalid(await api.client.request(method, f"{path}/{bad}", **kw), field)


BAD_CREATES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("missing name", {}, "name", None),
    ("blank name", {"name": "   "}, "name", None),
    ("null name", {"name": None}, "name", None),
    ("name of 101 characters", {"name": "名" * 101}, "name", None),
    ("NUL byte in the name", {"name": "市\x00局"}, "name", "NUL"),
    ("unknown field", {"name": "甲", "email": "a@b.c"}, "email", "not a known field"),
    ("read-only id", {"name": "甲", "id": 7}, "id", "read-only"),
    ("read-only version", {"name": "甲", "version": 7}, "version", "read-only"),
    ("name not a string", {"name": 5}, "name", None),
]


@pytest.mark.parametrize("path", REGISTRIES)
@pytest.mark.parametrize(("body", "field", "message"), [pytest.param(b, f, m, id=case)
                                                        for case, b, f, m in BAD_CREATES])
async def test_a_registry_create_with_bad_input_is_422_and_writes_nothing(api, path, body, field, message):
    before = await counts(api, path)
    r = await api.client.post(path, headers=api.admin, json=body)
    assert_invalid(r, field, message)
    assert await counts(api, path) == before


@pytest.mark.parametrize(("path", "body", "field"), [
    (LEADERS, {"name": "甲", "title": "长" * 101}, "title"),
    (LEADERS, {"name": "甲", "title": "\x00"}, "title"),
    (UNITS, {"name": "甲", "kind": "ministry"}, "kind"),
    (UNITS, {"name": "甲", "contact": "x" * 101}, "contact"),
])
async def test_a_registry_specific_field_is_validated(api, path, body, field):
    before = await counts(api, path)
    assert_invalid(await api.client.post(path, headers=api.admin, json=body), field)
    assert await counts(api, path) == before


BAD_PATCHES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("null name", {"name": None}, "name", "null"),
    ("name of 101 characters", {"name": "名" * 101}, "name", None),
    ("NUL byte in the name", {"name": "\x00"}, "name", "NUL"),
    ("unknown field", {"phone": "110"}, "phone", "not a known field"),
    *[(f"read-only {f}", {f: v}, f, "read-only") for f, v in [
        ("id", 3), ("version", 3), ("created_at", "2022-01-01T00:00:00Z"), ("updated_at", "2022-01-01T00:00:00Z"),
        ("archived_at", "2022-01-01T00:00:00Z")]],
]


@pytest.mark.parametrize("path", REGISTRIES)
@pytest.mark.parametrize(("patch", "field", "message"), [pytest.param(p, f, m, id=case)
                                                         for case, p, f, m in BAD_PATCHES])
async def test_a_registry_patch_with_bad_input_is_422_and_changes_nothing(api, path, patch, field, message):
    entry = (await api.client.post(path, headers=api.admin, json=new_body(path, "原名"))).json()
    before = await counts(api, path)
    r = await api.client.patch(f"{path}/{entry['id']}", headers=if_match(api.admin, 1), json=patch)
    assert_invalid(r, field, message)
    assert await counts(api, path) == before
    assert (await api.client.get(f"{path}/{entry['id']}", headers=api.admin)).json() == entry


async def test_a_unit_patch_may_not_null_its_kind(api):
    unit = await api.unit()
    r = await api.client.patch(f"{UNITS}/{unit['id']}", headers=if_match(api.admin, 1), json={"kind": None})
    assert_invalid(r, "kind", "null")


@pytest.mark.parametrize("path", REGISTRIES)
async def test_q_searches_names_case_insensitively_with_wildcards_taken_literally(api, path):
    for name in ("Qingdao Port Group", "青岛港集团", "100% Owned Sub", "a_b office", "axb office"):
        r = await api.client.post(path, headers=api.admin, json=new_body(path, name))
        assert r.status_code == 201, r.text
    cases = {
        "qingdao": ["Qingdao Port Group"],
        "PORT": ["Qingdao Port Group"],
        "港": ["青岛港集团"],
        "%": ["100% Owned Sub"],
        "_": ["a_b office"],
        "a_b": ["a_b office"],
        "office": ["a_b office", "axb office"],
        "nowhere": [],
    }
    for q, expected in cases.items():
        assert await names(api, path, q=q) == expected, q
    assert_invalid(await api.client.get(path, headers=api.admin, params={"q": "a\x00"}), "q")
    assert_invalid(await api.client.get(path, headers=api.admin, params={"q": ""}), "q")


@pytest.mark.parametrize("path", REGISTRIES)
async def test_q_is_case_insensitive_beyond_ascii(api, path, backend, request):
    r = await api.client.post(path, headers=api.admin, json=new_body(path, "ÉCOLE MÜLLER"))
    assert r.status_code == 201, r.text
    assert await names(api, path, q="école müller") == ["ÉCOLE MÜLLER"]


def sort_value(entry: dict[str, Any], key: str) -> Any:
    if key == "created_at":
        return datetime.fromisoformat(entry[key].replace("Z", "+00:00"))
    return entry[key]


@pytest.mark.parametrize("path", REGISTRIES)
async def test_every_registry_sort_pages_through_each_entry_exactly_once_in_order(api, path):
    pool = ["周", "Alpha", "alpha", "李", "王", "Beta"]
    made = []
    for i in range(13):
        # Unit names are unique; leader names repeat to exercise the id tie-breaker.
        name = pool[i % len(pool)] if path == LEADERS else f"{pool[i % len(pool)]} {i // len(pool)}"
        r = await api.client.post(path, headers=api.admin, json=new_body(path, name))
        assert r.status_code == 201, r.text
        made.append(r.json())
    for key in ("name", "created_at", "id"):
        for descending in (False, True):
            sort = f"-{key}" if descending else key
            walked = await walk(api, path, {"sort": sort}, limit=5)
            expected = sorted(made, key=lambda e, k=key: (sort_value(e, k), e["id"]), reverse=descending)
            assert [e["id"] for e in walked] == [e["id"] for e in expected], sort


@pytest.mark.parametrize("path", REGISTRIES)
async def test_registry_listing_rejects_bad_sorts_limits_and_cursors(api, path):
    for _ in range(3):
        await api.client.post(path, headers=api.admin, json=new_body(path, f"名 {_}"))
    r = await api.client.get(path, headers=api.admin, params={"limit": 1})
    cursor = r.json()["next_cursor"]
    assert cursor
    other = UNITS if path == LEADERS else LEADERS
    assert_invalid(await api.client.get(other, headers=api.admin, params={"limit": 1, "cursor": cursor}),
                   "cursor", code="invalid_cursor")
    assert_invalid(await api.client.get(path, headers=api.admin, params={"sort": "-name", "cursor": cursor}),
                   "cursor", code="invalid_cursor")
    assert_invalid(await api.client.get(path, headers=api.admin, params={"cursor": "garbage"}), "cursor",
                   code="invalid_cursor")
    assert_invalid(await api.client.get(path, headers=api.admin, params={"sort": "title"}), "sort")
    assert_invalid(await api.client.get(path, headers=api.admin, params={"limit": 201}), "limit")
    assert_invalid(await api.client.get(path, headers=api.admin, params={"limit": 0}), "limit")


@pytest.mark.parametrize("path", REGISTRIES)
async def test_a_registry_cursor_with_an_id_beyond_the_column_is_never_a_500(api, path, backend, request):
    await api.client.post(path, headers=api.admin, json=new_body(path, "甲"))
    resource = "leader" if path == LEADERS else "unit"
    raw = json.dumps([f"{resource}:id", 2**40, 2**40]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    r = await api.client.get(path, headers=api.admin, params={"sort": "id", "cursor": cursor})
    if r.status_code == 200:
        assert r.json() == {"items": [], "next_cursor": None}, "the cursor is merely past the end"
    else:
        assert_invalid(r, "cursor", code="invalid_cursor")


# --- enums and health ----------------------------------------------------------------------


async def test_meta_enums_gives_every_value_a_chinese_label(api):
    r = await api.client.get("/api/v1/meta/enums", headers=api.admin)
    assert r.status_code == 200, r.text
    enums = r.json()
    assert set(enums) == set(ENUMS) | {"zone", "industry"}  # those two from /zones and /industries
    for name, enum in ENUMS.items():
        assert [v["value"] for v in enums[name]] == [m.value for m in enum], name
        for v in enums[name]:
            assert v["labels"]["zh-CN"].strip(), (name, v)
    labels = {name: {v["value"]: v["labels"]["zh-CN"] for v in values} for name, values in enums.items()}
    assert labels["stage"]["negotiating"] == "在谈"
    assert labels["stage"]["in_production"] == "投产"
    assert labels["funding_source"] == {"foreign": "外资", "domestic": "内资"}
    assert labels["designation"]["city_key"] == "市重点项目"
    assert labels["unit_kind"]["district"] == "区政府"
    assert labels["zone"]["binhai_new_area"] == "滨海新区"
    assert labels["industry"]["automotive"] == "汽车及零部件"


async def test_meta_enums_needs_a_key_but_any_role_may_read_it(api):
    assert_problem(await api.client.get("/api/v1/meta/enums"), 401, "unauthorized")
    viewer = await api.key("viewer")
    assert (await api.client.get("/api/v1/meta/enums", headers=viewer)).status_code == 200


async def test_a_viewer_may_read_the_registries_but_not_change_them(api):
    viewer = await api.key("viewer")
    unit = await api.unit()
    assert (await api.client.get(UNITS, headers=viewer)).status_code == 200
    before = await counts(api, UNITS)
    assert_problem(await api.client.post(UNITS, headers=viewer, json={"name": "新单位"}), 403, "forbidden")
    r = await api.client.patch(f"{UNITS}/{unit['id']}", headers=if_match(viewer, 1), json={"name": "改"})
    assert_problem(r, 403, "forbidden")
    assert await counts(api, UNITS) == before


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_health_endpoints_answer_ok_without_a_key(api, path):
    r = await api.client.get(path)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
