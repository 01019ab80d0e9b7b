"""A request is authenticated before anything is counted or written: an unknown key
writes nothing, a wrong secret never spends a real key's budget, and a burst of failed
authentications from one address is answered 429 without a write."""

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, text
from sqlmodel import SQLModel

from app.config import Settings
from app.main import create_app
from app.models import RateLimitWindow
from app.services.access.ratelimit import FailedAuthentication
from tests.factories import assert_problem


@asynccontextmanager
async def service(settings: Settings, *, client_address: str = "203.0.113.7",
                  **overrides: object) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    app = create_app(settings.model_copy(update=overrides))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(client_address, 50000)), base_url="http://one") as client:
        yield client, app


async def _row_counts(app) -> dict[str, int]:
    async with app.state.engine.connect() as conn:
        return {t.name: (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                for t in SQLModel.metadata.sorted_tables}


def _random_tokens(admin_header: str) -> list[str]:
    prefix = admin_header.removeprefix("Bearer ipk_").partition("_")[0]
    return [*(f"Bearer ipk_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}" for _ in range(10)),
            *(f"Bearer {secrets.token_urlsafe(24)}" for _ in range(5)),  # tokens of another shape
            *(f"Bearer ipk_{prefix}_{secrets.token_urlsafe(32)}" for _ in range(10))]  # a real prefix


async def test_a_request_with_an_unknown_key_writes_nothing(api, settings):
    async with service(settings, rate_limit_per_minute=1000, auth_failures_per_minute=1000) as (client, app):
        await client.get("/api/v1/projects", headers=api.admin)  # the admin's window exists already
        before = await _row_counts(app)
        for token in _random_tokens(api.admin["Authorization"]):
            for method, path in (("GET", "/api/v1/projects"), ("GET", "/api/v1/projects/1"),
                                 ("POST", "/api/v1/projects")):
                r = await client.request(method, path, headers={"Authorization": token, "Idempotency-Key": "k-1"},
                                         json={})
                assert_problem(r, 401, "unauthorized")
        assert await _row_counts(app) == before


async def test_a_wrong_secret_with_a_real_prefix_never_locks_the_key_out(api, settings):
    victim = api.admin["Authorization"]
    wrong = victim[:-6] + ("AAAAAA" if not victim.endswith("AAAAAA") else "BBBBBB")
    async with service(settings, rate_limit_per_minute=5, auth_failures_per_minute=0) as (client, app):
        statuses = {(await client.get("/api/v1/projects", headers={"Authorization": wrong})).status_code
                    for _ in range(40)}
        assert statuses == {401}
        ok = [(await client.get("/api/v1/projects", headers=api.admin)).status_code for _ in range(6)]
        assert ok == [200] * 5 + [429]  # the key's own budget, untouched by the 40 failures
        async with app.state.engine.connect() as conn:
            counts = (await conn.execute(select(RateLimitWindow.count))).scalars().all()  # type: ignore[call-overload]
        assert counts == [6]


async def test_a_burst_of_failed_authentications_from_one_address_is_throttled(api, settings):
    async with service(settings, auth_failures_per_minute=10, client_address="198.51.100.20") as (client, app):
        before = await _row_counts(app)
        bad = {"Authorization": f"Bearer ipk_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"}
        statuses = [(await client.get("/api/v1/projects", headers=bad)).status_code for _ in range(15)]
        assert statuses == [401] * 10 + [429] * 5
        r = await client.get("/api/v1/projects", headers=bad)
        body = assert_problem(r, 429, "authentication_throttled")
        assert 1 <= int(r.headers["Retry-After"]) <= 61 and "10" in body["detail"]
        assert (await client.get("/api/v1/projects")).status_code == 429  # no key at all is a failure too
        # A valid key from the same address (a shared proxy) is not refused.
        assert (await client.get("/api/v1/projects", headers=api.admin)).status_code == 200
        assert await _row_counts(app) == {**before, "rate_limit_windows": before["rate_limit_windows"]}
        # Another address has its own count, in the same process.
        other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("198.51.100.21", 1)),
                                  base_url="http://one")
        async with other:
            assert (await other.get("/api/v1/projects", headers=bad)).status_code == 401


def test_the_failure_table_forgets_old_windows_and_stays_bounded() -> None:
    failures = FailedAuthentication(limit=2, capacity=3)
    t0 = datetime(2026, 3, 1, 8, 0, 10, tzinfo=UTC)
    assert [failures.fail("a", now=t0).allowed for _ in range(3)] == [True, True, False]
    assert failures.fail("a", now=t0 + timedelta(minutes=1)).allowed  # a new window
    for address in ("b", "c", "d", "e"):
        failures.fail(address, now=t0)
    assert len(failures._windows) == 3 and "a" not in failures._windows  # the least recent went first
    assert failures.fail("x", now=t0).retry_after_seconds == 51


async def test_the_database_stays_reachable_for_an_authenticated_rate_limit(api, settings):
    """The per-key count is still shared by every process through the database."""
    async with service(settings, rate_limit_per_minute=2) as (one, _), service(settings, rate_limit_per_minute=2) as (
            two, app):
        assert [(await c.get("/api/v1/projects", headers=api.admin)).status_code for c in (one, two, one)] == [
            200, 200, 429]
        async with app.state.engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM rate_limit_windows"))).scalar_one() == 1
