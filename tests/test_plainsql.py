"""The hot reads' plain SQL (app/plainsql.py) gives what SQLAlchemy gives, and the bodies
the hot routes encode themselves are what their response models say."""

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from app import plainsql
from app.models.project import ProjectRead
from app.services.access import auth
from app.services.common.pagination import Page
from app.services.projects import projects


async def _project_with_everything(api):
    leader, unit = await api.leader(), await api.unit()
    return await api.project(code="2017-370214-04-01-000123", leader_id=leader["id"], unit_id=unit["id"],
                             planned_sign_on="2024-03-01", planned_start_on="2024-05-01",
                             total_investment={"amount": "1234567.89", "currency": "USD"},
                             designations=[{"designation": "key_preliminary", "status": "applied", "year": 2024,
                                            "decided_on": "2024-02-03"},
                                           {"designation": "city_key", "status": "candidate"}])


async def test_plain_rows_equal_sqlalchemys_rows(api):
    made = await _project_with_everything(api)
    bare = await api.project()
    async with api.app.state.sessionmaker() as session:
        for project_id in (made["id"], bare["id"]):
            plain = await projects.PROJECT_BY_ID.first(session, id=project_id)
            statement = projects.PROJECT_BY_ID.build(session.bind.dialect.name)
            through_sqlalchemy = (await session.execute(statement, {"id": project_id})).mappings().one()
            assert plain is not None
            assert dict(plain.items()) == dict(through_sqlalchemy)
        prefix = api.admin["Authorization"].removeprefix("Bearer ipk_").partition("_")[0]
        key = await auth.KEY_BY_PREFIX.first(session, prefix=prefix)
        assert key is not None and key["role"] == "admin"
        assert await auth.KEY_BY_PREFIX.first(session, prefix="nosuchprefix") is None
        # The row types are what the column types promise, on both databases.
        row = await projects.PROJECT_BY_ID.first(session, id=made["id"])
        assert row is not None and row["created_at"].tzinfo is not None
        assert str(row["total_investment_amount"]) == "1234567.89"
        assert (await session.execute(select(1))).scalar_one() == 1
    # A connection of its own (``plainsql.connect``: bare on PostgreSQL) gives the same rows.
    async with plainsql.connect(api.app.state.engine) as connection:
        plain = await projects.PROJECT_BY_ID.first(connection, id=made["id"])
        assert plain is not None and dict(plain.items()) == dict(row.items())


async def test_the_hot_bodies_are_what_their_models_say(api):
    made = await _project_with_everything(api)
    bare = await api.project()
    one = await api.client.get(f"/api/v1/projects/{made['id']}", headers=api.admin)
    assert one.status_code == 200 and one.headers["content-type"] == "application/json"
    assert one.headers["ETag"] == f'"{made["version"]}"'
    assert ProjectRead.model_validate(one.json()).model_dump(mode="json") == one.json()
    # The body a write answers (built through the model) equals the one a read answers.
    assert one.json() == made
    assert [d["designation"] for d in one.json()["designations"]] == ["city_key", "key_preliminary"]
    page = await api.client.get("/api/v1/projects?limit=1", headers=api.admin)
    assert page.status_code == 200
    assert Page[ProjectRead].model_validate(page.json()).model_dump(mode="json") == page.json()
    assert page.json()["next_cursor"] is not None
    rest = await api.client.get(f"/api/v1/projects?limit=1&cursor={page.json()['next_cursor']}", headers=api.admin)
    assert {page.json()["items"][0]["id"], rest.json()["items"][0]["id"]} == {made["id"], bare["id"]}


async def test_one_list_shape_serves_every_value(api):
    """The list statement, compiled once per shape by SQLAlchemy, takes each request's own values."""
    a, b = await api.leader(), await api.leader()
    mine = {leader["id"]: {(await api.project(leader_id=leader["id"]))["id"] for _ in range(2)} for leader in (a, b)}
    for leader_id, expected in [*mine.items(), *mine.items()]:
        r = await api.client.get(f"/api/v1/projects?leader_id={leader_id}", headers=api.admin)
        assert {p["id"] for p in r.json()["items"]} == expected
    both = await api.client.get(f"/api/v1/projects?leader_id={a['id']}&leader_id={b['id']}&limit=3",
                                headers=api.admin)
    rest = await api.client.get(f"/api/v1/projects?leader_id={a['id']}&leader_id={b['id']}&limit=3"
                                f"&cursor={both.json()['next_cursor']}", headers=api.admin)
    assert {p["id"] for p in both.json()["items"] + rest.json()["items"]} == mine[a["id"]] | mine[b["id"]]
    assert (await api.client.get(f"/api/v1/projects?leader_id={a['id']}&stage=signed",
                                 headers=api.admin)).json()["items"] == []


async def test_a_statement_cut_short_takes_its_bare_connection_out_of_the_pool(api, backend):
    if backend != "postgres":
        pytest.skip("the bare pooled connection is PostgreSQL's")
    engine = api.app.state.engine
    sleep = plainsql.Query(lambda _dialect_name: select(func.pg_sleep(30).label("slept")))
    lent: list[Any] = []

    async def sleeper() -> None:
        async with plainsql.connect(engine) as connection:
            assert isinstance(connection, plainsql.Pooled)
            lent.append(connection.connection.driver_connection)
            await sleep.rows(connection)

    task = asyncio.create_task(sleeper())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Mid-statement, the connection may be in any state: it is discarded, never lent again.
    assert lent[0].is_closed()
    async with plainsql.connect(engine) as connection:
        assert (await projects.PROJECT_BY_ID.first(connection, id=(await api.project())["id"])) is not None
