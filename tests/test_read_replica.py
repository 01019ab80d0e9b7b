"""An optional read replica (``PIPELINE_DATABASE_READ_URL``) serves the statistics and the
project list; changes and everything else go to the primary."""

from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import event

from app import plainsql
from app.config import Settings
from app.main import create_app
from tests.factories import Api


def test_a_replica_must_be_postgresql() -> None:
    with pytest.raises(ValidationError):
        Settings(database_read_url="sqlite+aiosqlite:///./replica.db")


def test_without_a_replica_reads_use_the_primary(api: Api) -> None:
    assert api.app.state.read_sessionmaker is None


async def test_the_list_and_the_statistics_read_the_replica(api: Api, settings: Settings, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("a replica is a PostgreSQL database")
    await api.project(name="经由主库写入")
    # The primary itself stands in for its replica: what matters is which engine is asked.
    app = create_app(settings.model_copy(update={"database_read_url": settings.database_url}))
    asked: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        asked.append(statement)

    def record_plain(connection: Any, statement: str, _arguments: Any) -> None:  # app/plainsql.py
        if connection.engine.sync_engine is app.state.read_engine.sync_engine:
            asked.append(statement)

    async with app.router.lifespan_context(app):
        event.listen(app.state.read_engine.sync_engine, "before_cursor_execute", record)
        plainsql.observers.append(record_plain)
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                         headers=api.admin) as client:
                listed = await client.get("/api/v1/projects")
                assert listed.status_code == 200
                assert [p["name"] for p in listed.json()["items"]] == ["经由主库写入"]
                assert any("FROM projects" in s for s in asked)
                asked.clear()
                assert (await client.get("/api/v1/stats/pipeline")).status_code == 200
                assert any("stage_transitions" in s for s in asked)
                asked.clear()
                one = await client.get(f"/api/v1/projects/{listed.json()['items'][0]['id']}")
                assert one.status_code == 200
                assert asked == []  # a single project (and its ETag) comes from the primary
        finally:
            plainsql.observers.remove(record_plain)
