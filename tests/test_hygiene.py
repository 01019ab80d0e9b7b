"""HTTP hygiene and observability: request ids, limits, headers, logs, metrics, CORS."""

import asyncio
import json
import logging
from datetime import UTC, datetime

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from app.observability import JsonFormatter
from tests.factories import project_body


async def test_a_request_id_is_echoed_or_made(api):
    mine = await api.client.get("/healthz", headers={"X-Request-ID": "req-42"})
    assert mine.headers["X-Request-ID"] == "req-42"
    made = await api.client.get("/healthz")
    assert len(made.headers["X-Request-ID"]) == 32
    hostile = await api.client.get("/healthz", headers={"X-Request-ID": "x" * 65})
    assert hostile.headers["X-Request-ID"] != "x" * 65


async def test_responses_carry_security_headers(api):
    r = await api.client.get("/api/v1/projects", headers=api.admin)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-store"


async def test_a_body_over_the_limit_is_413_and_writes_nothing(api):
    body = project_body(name="大" * 10)
    big = json.dumps({**body, "note": "x" * 2_000_000}).encode()
    r = await api.client.post("/api/v1/projects", headers={**api.admin, "Content-Type": "application/json"},
                              content=big)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "payload_too_large"
    listed = await api.client.get("/api/v1/projects", headers=api.admin)
    assert listed.json()["items"] == []


async def test_a_streamed_body_over_the_limit_is_413_without_a_content_length(api):
    async def chunks():
        for _ in range(40):
            yield b"x" * 50_000

    r = await api.client.post("/api/v1/projects", headers={**api.admin, "Content-Type": "application/json"},
                              content=chunks())
    assert r.status_code == 413


async def test_a_single_valued_query_parameter_given_twice_is_refused(api):
    r = await api.client.get("/api/v1/projects?sort=name&sort=-name", headers=api.admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sort"
    many = await api.client.get("/api/v1/projects?stage=signed&stage=registered", headers=api.admin)
    assert many.status_code == 200


async def test_metrics_expose_request_latency_by_route_and_status(api):
    await api.client.get("/api/v1/projects/12345", headers=api.admin)
    r = await api.client.get("/metrics")
    assert r.status_code == 200
    text = r.text
    assert 'pipeline_http_request_duration_seconds_bucket{' in text
    assert 'route="/api/v1/projects/{project_id}"' in text and 'status="404"' in text
    assert 'pipeline_db_pool_connections{state="checked_out"}' in text
    assert 'pipeline_webhook_deliveries{status="pending"} 0.0' in text


async def test_the_access_log_is_one_json_line_without_secrets(api, caplog):
    caplog.set_level(logging.INFO, logger="app.access")
    key = api.admin["Authorization"].removeprefix("Bearer ")
    await api.client.get("/api/v1/projects?limit=1", headers={**api.admin, "X-Request-ID": "log-1"})
    records = [r for r in caplog.records if r.name == "app.access" and r.fields["request_id"] == "log-1"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    document = json.loads(line)
    assert document["method"] == "GET" and document["route"] == "/api/v1/projects" and document["status"] == 200
    assert document["principal_id"] is not None and document["duration_ms"] >= 0
    assert key not in line and "Bearer" not in line


async def test_cors_admits_only_the_configured_front_ends(settings: Settings):
    app = create_app(settings.model_copy(update={"cors_origins": ["https://zsj.example.gov.cn"]}))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        preflight = {"Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "If-Match"}
        ok = await client.options("/api/v1/projects/1", headers={"Origin": "https://zsj.example.gov.cn", **preflight})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://zsj.example.gov.cn"
        other = await client.options("/api/v1/projects/1", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("path", ["/api/v1/projects/9223372036854775808", "/api/v1/projects/-1",
                                  "/api/v1/leaders/99999999999", "/api/v1/projects?limit=100000"])
async def test_integers_out_of_range_are_422_never_500(api, path):
    r = await api.client.get(path, headers=api.admin)
    assert r.status_code == 422


async def _start_of_a_window(needed_seconds: float = 3) -> None:
    """Wait for the next minute when fewer than ``needed_seconds`` are left of this one: the
    rate limit counts in fixed one-minute windows, and requests that straddle a window's end
    start counting again (a run of the suite once saw its sixth request allowed so)."""
    now = datetime.now(UTC)
    left = 60 - now.second - now.microsecond / 1e6
    if left < needed_seconds:
        await asyncio.sleep(left + 0.05)


async def test_a_key_over_its_rate_limit_gets_429_in_every_process(api, settings: Settings):
    # Two applications on one database stand for two service processes.
    limited = settings.model_copy(update={"rate_limit_per_minute": 5})
    one, two = create_app(limited), create_app(limited)
    await _start_of_a_window()
    async with one.router.lifespan_context(one), two.router.lifespan_context(two), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=one), base_url="http://one") as a, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=two), base_url="http://two") as b:
        other = await api.key("viewer")
        statuses = [(await (a if i % 2 else b).get("/api/v1/projects", headers=api.admin)).status_code
                    for i in range(6)]
        assert statuses == [200] * 5 + [429]
        refused = await a.get("/api/v1/projects", headers=api.admin)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 61
        assert (await b.get("/api/v1/projects", headers=other)).status_code == 200
        assert (await a.get("/healthz")).status_code == 200  # no key, not counted


async def test_a_method_a_path_does_not_take_is_405_naming_every_method_it_does(api):
    r = await api.client.request("PUT", "/api/v1/projects", headers=api.admin)
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert r.headers["Allow"] == "GET, POST"
    r = await api.client.request("PUT", "/api/v1/projects/1", headers=api.admin)
    assert r.headers["Allow"] == "DELETE, GET, PATCH"


def test_no_dependency_runs_in_a_worker_thread():
    """FastAPI runs a plain ``def`` dependency in a thread pool: a thread hop per request,
    which halved GET /healthz's throughput (bench/). Every dependency is ``async``."""
    import inspect

    from fastapi.routing import APIRoute

    def calls(dependant):
        for sub in dependant.dependencies:
            yield sub.call
            yield from calls(sub)

    def api_routes(routes):
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):  # an included router
                yield from api_routes(route.original_router.routes)

    app = create_app(Settings(database_url="sqlite+aiosqlite:///unused.db"))
    routes = list(api_routes(app.routes))
    every = [*(d.dependency for d in app.router.dependencies), *(c for r in routes for c in calls(r.dependant))]
    threaded = {call.__name__ for call in every
                if not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call))}
    assert len(routes) > 50 and len(every) > 200 and not threaded, threaded


async def test_a_request_that_fails_still_counts_against_the_limit(api, settings: Settings):
    """The count commits by itself, before the request's own work, which here rolls back;
    a wrong secret with the key's prefix is not the key, and spends none of its budget."""
    limited = settings.model_copy(update={"rate_limit_per_minute": 3})
    app = create_app(limited)
    await _start_of_a_window()
    async with app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://one") as client:
        missing = [(await client.get("/api/v1/projects/999999", headers=api.admin)).status_code for _ in range(3)]
        assert missing == [404] * 3
        assert (await client.get("/api/v1/projects", headers=api.admin)).status_code == 429
        bad_secret = api.admin["Authorization"][:-4] + "xxxx"
        assert (await client.get("/api/v1/projects", headers={"Authorization": bad_secret})).status_code == 401


async def test_a_started_process_sets_its_long_lived_objects_aside_from_the_collector(settings: Settings):
    import gc

    app = create_app(settings.model_copy(update={"gc_freeze": True}))
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
