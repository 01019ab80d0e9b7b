"""National project codes (项目代码) as the approval platform issues them, and a project's code history.

The codes these tests use, one of each kind:
- new rules (YYMM, check digit):            2411-370214-04-01-000011 (November 2024)
- new rules, November 2020 (ambiguous 2011): 2011-370211-26-03-654327 (its check digit holds)
- old rules, year 2011 (ambiguous 2011):     2011-370211-26-03-654321 (its check digit does not hold)
- old rules (a year, no check digit):        2019-370211-26-03-654321
"""

import random
from datetime import date, timedelta

import pytest

from app.clock import today
from app.services.projects.codes import CodeError, Rules, mod11_10, mod11_10_holds, read, with_check_digit
from tests.factories import assert_invalid, assert_problem, event_body
from tests.ledger_files import all_projects, csv_bytes, ledger_row, table, upload

PROJECTS = "/api/v1/projects"
NEW = "2411-370214-04-01-000011"
NEW_NOV_2020 = "2011-370211-26-03-654327"
OLD_2011 = "2011-370211-26-03-654321"
OLD = "2019-370211-26-03-654321"


def digits(code: str) -> str:
    return code.replace("-", "")


def recode(code: str, new_digits: str) -> str:
    """``code``'s hyphens around other digits."""
    it = iter(new_digits)
    return "".join(c if c == "-" else next(it) for c in code)


# --- the check digit, from the standard's description -------------------------------------


def test_mod11_10_matches_published_check_digits():
    # Other registries use the same ISO/IEC 7064 MOD 11,10: the German VAT number
    # DE136695976 and the Croatian OIB 69435151530 end in their check digits.
    assert mod11_10("13669597") == 6
    assert mod11_10("6943515153") == 0
    assert mod11_10_holds("136695976") and mod11_10_holds("69435151530")
    assert mod11_10(digits(NEW)[:-1]) == 1
    assert with_check_digit(NEW[:-1]) == NEW


def test_every_single_digit_change_breaks_the_check_digit():
    rng = random.Random(20261201)
    samples = [with_check_digit(f"24{m:02d}-370214-04-01-{rng.randrange(100000):05d}") for m in range(1, 13)]
    for code in [NEW, NEW_NOV_2020, *samples]:
        d = digits(code)
        assert mod11_10_holds(d)
        for i, original in enumerate(d):
            for other in "0123456789".replace(original, ""):
                assert not mod11_10_holds(d[:i] + other + d[i + 1:]), (code, i, other)


def test_most_adjacent_swaps_break_the_check_digit_but_not_all():
    # MOD 11,10 catches most transpositions of neighbours, by design not every one.
    rng = random.Random(7064)
    caught = missed = 0
    for _ in range(3000):
        d = digits(with_check_digit(f"{rng.randrange(21, 27)}{rng.randrange(1, 13):02d}-37{rng.randrange(10000):04d}-"
                                    f"{rng.randrange(100):02d}-{rng.randrange(100):02d}-{rng.randrange(100000):05d}"))
        for i in range(len(d) - 1):
            if d[i] != d[i + 1]:
                swapped = d[:i] + d[i + 1] + d[i] + d[i + 2:]
                if mod11_10_holds(swapped):
                    missed += 1
                else:
                    caught += 1
    assert missed > 0
    assert caught / (caught + missed) > 0.95


def test_each_kind_of_code_is_read_by_its_rules():
    assert read(NEW).rules == Rules.new and (read(NEW).year, read(NEW).month) == (2024, 11)
    assert read(NEW_NOV_2020).rules == Rules.new and (read(NEW_NOV_2020).year, read(NEW_NOV_2020).month) == (2020, 11)
    assert read(OLD_2011).rules == Rules.old and read(OLD_2011).year == 2011
    assert read(OLD).rules == Rules.old and read(OLD).year == 2019


def test_a_digit_changed_outside_the_time_code_of_a_new_code_is_refused():
    d = digits(NEW)
    for i in range(4, len(d)):
        for other in "0123456789".replace(d[i], ""):
            with pytest.raises(CodeError):
                read(recode(NEW, d[:i] + other + d[i + 1:]))


def test_a_digit_changed_in_the_time_code_is_refused_or_read_as_an_old_code():
    d = digits(NEW)
    for i in range(4):
        for other in "0123456789".replace(d[i], ""):
            changed = recode(NEW, d[:i] + other + d[i + 1:])
            try:
                reading = read(changed)
            except CodeError as exc:
                assert exc.part in ("time code", "check digit"), (changed, exc)
            else:
                assert reading.rules == Rules.old and 2011 <= reading.year <= 2020, changed


# --- over HTTP ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [NEW, NEW_NOV_2020, OLD_2011, OLD])
async def test_codes_of_both_rules_are_accepted(api, code):
    p = await api.project(code=code)
    assert p["code"] == code


def _region_only_wrong() -> str:
    return with_check_digit("2411-990214-04-01-00001")


def _next_month_code() -> str:
    ahead = today().replace(day=28) + timedelta(days=7)
    return with_check_digit(f"{ahead.year % 100:02d}{ahead.month:02d}-370214-04-01-00001")


@pytest.mark.parametrize(("label", "code", "part"), [
    ("a year before the platform's codes", "2010-370214-04-01-000001", "time code"),
    ("a month 13", with_check_digit("2413-370214-04-01-00001"), "time code"),
    ("month 00", with_check_digit("2400-370214-04-01-00001"), "time code"),
    ("a month still to come", "NEXT_MONTH", "time code"),
    ("a region that names no province", "REGION", "region"),
    ("a region beginning 00", "2019-000000-04-01-000001", "region"),
    ("a check digit off by one", NEW[:-1] + str((int(NEW[-1]) + 1) % 10), "check digit"),
    ("a check digit off by one the other way", NEW[:-1] + str((int(NEW[-1]) - 1) % 10), "check digit"),
    ("the check digit of another code", "2203-370214-04-01-123450", "check digit"),
    ("letters in the serial", "2411-370214-04-01-00001X", "shape"),
    ("no hyphens", digits(NEW) + "0000", "shape"),
])
async def test_a_code_breaking_a_rule_is_refused_naming_the_part(api, label, code, part):
    code = {"NEXT_MONTH": _next_month_code(), "REGION": _region_only_wrong()}.get(code, code)
    r = await api.client.post(PROJECTS, headers=api.admin, json={
        "code": code, "name": "项目", "investor": "投资方", "investor_country": "CN", "funding_source": "domestic",
        "industry": "new_materials", "zone": "binhai_new_area",
        "total_investment": {"amount": "1.00", "currency": "CNY"}})
    assert_invalid(r, "code")
    if part != "shape":
        assert r.json()["errors"][0]["message"].startswith(part), r.json()
    listed = await api.client.get(PROJECTS, headers=api.admin)
    assert listed.json()["items"] == []


async def test_a_patch_with_a_bad_code_is_refused_and_changes_nothing(api):
    p = await api.project(code=OLD)
    r = await api.client.patch(f"{PROJECTS}/{p['id']}", headers={**api.admin, "If-Match": f'"{p["version"]}"'},
                               json={"code": NEW[:-1] + "2"})
    assert_invalid(r, "code", "check digit")
    assert (await api.get_project(p["id"]))["code"] == OLD


# --- the code history -----------------------------------------------------------------------


async def codes_of(api, project_id, headers=None):
    r = await api.client.get(f"{PROJECTS}/{project_id}/codes", headers=headers or api.admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def patch(api, project, **body):
    current = await api.get_project(project["id"])
    return await api.client.patch(f"{PROJECTS}/{project['id']}",
                                  headers={**api.admin, "If-Match": f'"{current["version"]}"'}, json=body)


async def test_a_new_project_code_opens_its_history(api):
    p = await api.project(code=OLD)
    (entry,) = await codes_of(api, p["id"])
    assert (entry["code"], entry["reason"], entry["valid_from"], entry["current"]) == (
        OLD, "assigned", str(today()), True)
    assert entry["actor_name"] == "test admin"
    assert await codes_of(api, (await api.project())["id"]) == []


async def test_re_approval_gives_a_new_code_and_the_old_one_still_finds_the_project(api):
    p = await api.project(code=OLD)
    r = await patch(api, p, code=NEW, code_reason="re_approved", code_on="2024-11-20")
    assert r.status_code == 200, r.text
    assert r.json()["code"] == NEW
    history = await codes_of(api, p["id"])
    assert [(e["code"], e["reason"], e["valid_from"], e["current"]) for e in history] == [
        (OLD, "assigned", str(today()), False),
        (NEW, "re_approved", "2024-11-20", True)]
    for code in (OLD, NEW):
        found = await api.client.get(f"{PROJECTS}/by-code/{code}", headers=api.admin)
        assert found.status_code == 200, found.text
        assert (found.json()["id"], found.json()["code"]) == (p["id"], NEW)
        assert found.headers["ETag"] == f'"{found.json()["version"]}"'
    (event,) = [e for e in await api.audit(resource_type="project", action="project.update")]
    assert (event["before"]["code"], event["after"]["code"]) == (OLD, NEW)
    assert (event["after"]["code_reason"], event["after"]["code_on"]) == ("re_approved", "2024-11-20")


async def test_a_changed_code_is_a_correction_unless_said_otherwise(api):
    p = await api.project(code=OLD)
    r = await patch(api, p, code=NEW)
    assert r.status_code == 200, r.text
    assert [(e["reason"], e["valid_from"]) for e in await codes_of(api, p["id"])][1] == ("corrected", str(today()))
    # A project without a code that gets one is assigned it.
    q = await api.project()
    assert (await patch(api, q, code=NEW_NOV_2020)).status_code == 200
    assert [e["reason"] for e in await codes_of(api, q["id"])] == ["assigned"]


async def test_a_project_may_go_back_to_a_code_it_had(api):
    p = await api.project(code=OLD)
    assert (await patch(api, p, code=NEW)).status_code == 200
    assert (await patch(api, p, code=OLD, code_reason="corrected")).status_code == 200
    history = await codes_of(api, p["id"])
    assert [(e["code"], e["current"]) for e in history] == [(OLD, False), (NEW, False), (OLD, True)]


@pytest.mark.parametrize(("body", "field"), [
    ({"code_reason": "re_approved"}, "code_reason"),
    ({"code_on": "2024-01-01"}, "code_reason"),
    ({"code": NEW, "code_reason": "assigned"}, "code_reason"),
    ({"code": NEW, "code_reason": "lost"}, "code_reason"),
    ({"code": NEW, "code_on": str(date.today() + timedelta(days=3))}, "code_on"),
    ({"code": NEW, "code_on": "2024-13-01"}, "code_on"),
])
async def test_a_code_change_badly_described_is_refused(api, body, field):
    p = await api.project(code=OLD)
    r = await patch(api, p, **body)
    assert_invalid(r, field)
    assert len(await codes_of(api, p["id"])) == 1
    assert (await api.get_project(p["id"]))["version"] == p["version"]


async def test_a_code_belongs_to_one_project_ever(api):
    a = await api.project(code=OLD)
    assert (await patch(api, a, code=NEW, code_reason="re_approved")).status_code == 200
    b = await api.project()
    for code in (OLD, NEW):  # a's former code and its current one
        r = await patch(api, b, code=code)
        body = assert_problem(r, 409, "code_taken")
        assert body["errors"] == [{"field": "code", "message": "is taken"}]
        r = await api.client.post(PROJECTS, headers=api.admin, json={
            "code": code, "name": "另一个项目", "investor": "投资方", "investor_country": "CN",
            "funding_source": "domestic", "industry": "new_materials", "zone": "binhai_new_area",
            "total_investment": {"amount": "1.00", "currency": "CNY"}})
        assert_problem(r, 409, "code_taken")
    assert await codes_of(api, b["id"]) == []
    assert len((await api.client.get(PROJECTS, headers=api.admin)).json()["items"]) == 2


async def test_a_unit_key_sees_the_codes_of_its_projects_only(api):
    unit = await api.unit()
    mine = await api.project(code=OLD, unit_id=unit["id"])
    other = await api.project(code=NEW)
    key = await api.key("unit", unit_id=unit["id"])
    assert [e["code"] for e in await codes_of(api, mine["id"], key)] == [OLD]
    r = await api.client.get(f"{PROJECTS}/{other['id']}/codes", headers=key)
    assert_problem(r, 404, "not_found")


async def test_an_approval_event_with_a_former_code_reaches_the_project(api):
    p = await api.project(code=OLD)
    assert (await patch(api, p, code=NEW, code_reason="re_approved")).status_code == 200
    system = await api.integration()
    r = await system.post(event_body(project_code=OLD))
    assert r.status_code == 200, r.text
    assert (r.json()["outcome"], r.json()["project_id"]) == ("applied", p["id"])
    (item,) = await api.approvals(p["id"])
    assert (item["kind"], item["status"]) == ("construction_permit", "submitted")


async def test_a_ledger_row_with_a_former_code_updates_the_project(api):
    p = await api.project(code=OLD, name="原项目", investor="甲公司")
    assert (await patch(api, p, code=NEW, code_reason="re_approved")).status_code == 200
    row = ledger_row(1, 项目代码=OLD, 项目名称="改名后的项目", 投资方="甲公司")
    del row["所处阶段"], row["进入阶段日期"]
    r = await upload(api, csv_bytes(table([row])))
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["updated"]) == (0, 1)
    (only,) = await all_projects(api)
    assert (only["id"], only["name"], only["code"]) == (p["id"], "改名后的项目", NEW)


# role -> status of GET /projects/{id}/codes (a unit key on a project of its own unit)
CODES_ROLES = {"admin": 200, "bureau": 200, "leader": 200, "unit": 200, "integration": 403, "viewer": 200}


async def test_who_may_read_a_projects_codes(api):
    leader = await api.leader()
    unit = await api.unit()
    p = await api.project(code=OLD, leader_id=leader["id"], unit_id=unit["id"])
    for role, expected in CODES_ROLES.items():
        headers = api.admin if role == "admin" else await api.key(
            role, leader_id=leader["id"] if role == "leader" else None, unit_id=unit["id"] if role == "unit" else None)
        r = await api.client.get(f"{PROJECTS}/{p['id']}/codes", headers=headers)
        assert r.status_code == expected, (role, r.text)


async def test_a_code_given_on_creation_may_say_when_it_was_issued(api):
    p = await api.project(code=NEW, code_on="2024-11-05")
    assert [(e["code"], e["valid_from"]) for e in await codes_of(api, p["id"])] == [(NEW, "2024-11-05")]
    for body, field in (({"code_on": "2024-11-05"}, "code_on"),
                        ({"code": OLD, "code_on": str(date.today() + timedelta(days=3))}, "code_on")):
        r = await api.client.post(PROJECTS, headers=api.admin, json={
            "name": "项目", "investor": "投资方", "investor_country": "CN", "funding_source": "domestic",
            "industry": "new_materials", "zone": "binhai_new_area",
            "total_investment": {"amount": "1.00", "currency": "CNY"}, **body})
        assert_invalid(r, field)
    assert len((await api.client.get(PROJECTS, headers=api.admin)).json()["items"]) == 1


def test_the_migration_puts_every_stored_code_into_the_history(tmp_path):
    import sqlite3

    from alembic import command
    from app.cli import alembic_config

    path = tmp_path / "before.db"
    config = alembic_config(f"sqlite+aiosqlite:///{path}")
    command.upgrade(config, "0007")
    with sqlite3.connect(path) as db:
        for pid, code, created in ((1, OLD, "2022-03-04 18:00:00.000000"), (2, None, "2022-03-04 10:00:00.000000")):
            db.execute("INSERT INTO projects (id, code, name, investor, investor_country, funding_source, industry, "
                       "zone, total_investment_amount, total_investment_currency, stage, stage_entered_on, on_hold, "
                       "version, created_at, updated_at) VALUES (?, ?, ?, 'b', 'CN', 'domestic', 'other', 'other', "
                       "1, 'CNY', 'signed', '2022-01-01', 0, 1, ?, ?)", (pid, code, f"项目{pid}", created, created))
            db.execute("INSERT INTO stage_transitions (project_id, kind, to_stage, occurred_on, actor_name, "
                       "recorded_at) VALUES (?, 'created', 'signed', '2022-01-01', '招商局', ?)", (pid, created))
    command.upgrade(config, "head")
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT code, project_id, reason, valid_from, actor_name FROM project_codes").fetchall()
        zones = [r[0] for r in db.execute("SELECT key FROM zones ORDER BY id")]
    # 18:00 UTC on 4 March is 5 March in the city's calendar (Asia/Shanghai).
    assert rows == [(OLD, 1, "assigned", "2022-03-05", "招商局")]
    assert "binhai_new_area" in zones and len(zones) == 7
