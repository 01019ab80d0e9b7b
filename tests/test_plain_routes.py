"""GET /projects/{id} is answered by a plain route (``plain_get`` in app/routers/common.py),
outside FastAPI's routing and dependency solving. It must answer exactly what its FastAPI
route answers: here both answer the same requests, whoever asks."""

import asyncio
import logging
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.routing import Match

from app.config import Settings
from app.main import create_app
from app.routers import projects

API = "/api/v1"
# Headers that differ between any two answers, whoever gives them.
PER_REQUEST = {"x-request-id", "date"}


def _match(path: str, method: str = "GET") -> Match:
    route = projects.plain_routes[0]
    return route.matches({"type": "http", "path": path, "method": method, "root_path": "", "headers": []})[0]


def test_the_plain_route_takes_only_ids_certainly_in_range():
    for path in ("/1", "/42", "/999999999"):
        assert _match(f"{API}/projects{path}") == Match.FULL, path
    # Anything else goes on to the FastAPI route, which validates it (422, after 401 and 403).
    for path in ("/0", "/007", "/1234567890", "/2147483647", "/-1", "/1.0", "/abc", "/1/transitions", "/by-code/x"):
        assert _match(f"{API}/projects{path}") == Match.NONE, path
    assert _match(f"{API}/projects/1", "HEAD") == Match.PARTIAL  # HEAD is not GET here: 405, as on every route
    assert _match(f"{API}/projects/1", "PATCH") == Match.PARTIAL


def _without_plain_routes(settings: Settings) -> FastAPI:
    app = create_app(settings)
    app.router.routes[:] = [r for r in app.router.routes if r not in projects.plain_routes]
    return app


def _answer(r: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    body = r.json() if r.content else None
    return r.status_code, body, {k: v for k, v in r.headers.items() if k not in PER_REQUEST}


async def _revoked_key(api: Any) -> dict[str, str]:
    r = await api.client.post(f"{API}/api-keys", headers=api.admin, json={"name": "revoked", "role": "viewer"})
    assert r.status_code == 201, r.text
    assert (await api.client.delete(f"{API}/api-keys/{r.json()['id']}", headers=api.admin)).status_code == 200
    return {"Authorization": f"Bearer {r.json()['key']}"}


async def test_the_plain_route_answers_what_the_fastapi_route_answers(api, settings: Settings):
    leader, unit, other_unit = await api.leader(), await api.unit(), await api.unit()
    theirs = await api.project(leader_id=leader["id"], unit_id=unit["id"],
                               designations=[{"designation": "city_key", "status": "candidate"}])
    archived = await api.project()
    assert (await api.client.delete(f"{API}/projects/{archived['id']}",
                                    headers={**api.admin, "If-Match": f'"{archived["version"]}"'})).status_code == 200
    askers = {
        "admin": api.admin,
        "viewer": await api.key("viewer"),
        "leader": await api.key("leader", leader_id=leader["id"]),
        "its unit": await api.key("unit", unit_id=unit["id"]),
        "another unit": await api.key("unit", unit_id=other_unit["id"]),
        "integration": await api.key("integration"),
        "revoked": await _revoked_key(api),
        "unknown": {"Authorization": "Bearer ipk_nosuchkey_secret"},
        "malformed": {"Authorization": "Basic dXNlcjpwYXNz"},
        "nobody": {},
    }
    missing = archived["id"] + 1000
    requests = [(method, f"{API}/projects/{pid}") for method in ("GET", "HEAD")
                for pid in (theirs["id"], archived["id"], missing)]
    fastapi_only = _without_plain_routes(settings)
    statuses = set()
    async with fastapi_only.router.lifespan_context(fastapi_only), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fastapi_only), base_url="http://test") as reference:
        for asker, headers in askers.items():
            for method, path in requests:
                plain = await api.client.request(method, path, headers=headers)
                expected = await reference.request(method, path, headers=headers)
                assert _answer(plain) == _answer(expected), (asker, method, path)
                statuses.add(plain.status_code)
    # The comparison covered every kind of answer the route gives.
    assert statuses == {200, 401, 403, 404, 405}


async def test_a_key_over_its_rate_limit_is_refused_by_the_plain_route_as_by_any(api, settings: Settings):
    project = await api.project()
    limited = settings.model_copy(update={"rate_limit_per_minute": 2})
    app = create_app(limited)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        viewer = await api.key("viewer")
        statuses = [(await client.get(f"{API}/projects/{project['id']}", headers=viewer)).status_code
                    for _ in range(3)]
        assert statuses == [200, 200, 429]
        # The plain route's requests counted against the same window as the FastAPI routes'.
        assert (await client.get(f"{API}/projects", headers=viewer)).status_code == 429


async def test_a_plain_route_request_is_logged_under_its_route(api, caplog):
    project = await api.project()
    caplog.set_level(logging.INFO, logger="app.access")
    assert (await api.client.get(f"{API}/projects/{project['id']}", headers=api.admin)).status_code == 200
    logged = [r for r in caplog.records if r.name == "app.access"]
    # The same name labels the request's metrics (RequestMiddleware._finish).
    assert logged[-1].fields["route"] == f"{API}/projects/{{project_id}}"  # type: ignore[attr-defined]


async def test_connections_beyond_the_pool_size_are_returned_and_closed_cleanly(api, settings: Settings, backend,
                                                                               caplog):
    """More concurrent requests than the pool holds: the extra (overflow) connections are
    closed when given back, which on PostgreSQL needs SQLAlchemy's async context (outside
    it, the pool logs "Exception closing connection" and the connection is left open)."""
    project = await api.project()
    caplog.set_level(logging.WARNING, logger="sqlalchemy.pool")
    app = create_app(settings.model_copy(update={"pool_size": 1, "max_overflow": 7}))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers=api.admin) as client:
        for _ in range(3):
            answers = await asyncio.gather(
                *(client.get(f"{API}/projects/{project['id']}") for _ in range(4)),
                *(client.get(f"{API}/projects", params={"limit": 5}) for _ in range(4)))
            assert [r.status_code for r in answers] == [200] * 8, [r.text for r in answers if r.status_code != 200]
        if backend == "postgres":
            assert app.state.engine.pool.overflow() <= 0  # the extra connections were closed, not kept
    assert [r.getMessage() for r in caplog.records if r.name.startswith("sqlalchemy.pool")] == []
