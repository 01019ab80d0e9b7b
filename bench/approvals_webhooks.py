"""How fast signed approval events are taken in, and webhooks delivered, on one database.

    python -m bench.approvals_webhooks                          # a fresh SQLite file
    python -m bench.approvals_webhooks --database-url postgresql+asyncpg://.../bench_db

The PostgreSQL database must be migrated (``pipeline migrate``) and is written to (its
own keys, project, webhook and events; nothing is cleaned up). Inbound: N signed
events over HTTP (in process, ASGI), one at a time and 10 at a time. Outbound: N
events delivered to a local HTTP receiver by one worker, then by two (each with its
own engine, as two processes would). Everything shares one process and event loop, so
the two-worker figure shows that they do not get in each other's way, not how they
scale across processes.
"""

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from app.cli import migrate
from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.models import WebhookDelivery
from app.models.access import ApiKeyCreate
from app.models.enums import DeliveryStatus, Role
from app.services.access import keys
from app.services.access.permissions import Principal
from app.services.events import outbox
from app.worker import Worker, make_http_client
from tests.factories import sign
from tests.receiver import Receiver

FAST = {"webhook_poll_interval_seconds": 0.05, "webhook_batch_size": 50}


async def inbound(client: httpx.AsyncClient, admin: dict[str, str], n: int, concurrency: int) -> float:
    run = uuid.uuid4().hex[:6]
    r = await client.post("/api/v1/api-keys", headers=admin, json={"name": f"bench {run}", "role": "integration"})
    key_id, key = r.json()["id"], r.json()["key"]
    secret = "bench-secret-" + "x" * 32
    await client.put(f"/api/v1/api-keys/{key_id}/signing-secret", headers=admin, json={"secret": secret})
    code = f"2020-370214-04-01-{int(run, 16) % 1_000_000:06d}"
    r = await client.post("/api/v1/projects", headers=admin, json={
        "code": code, "name": f"bench {run}", "investor": "bench", "investor_country": "CN",
        "funding_source": "domestic", "industry": "logistics", "zone": "other",
        "total_investment": {"amount": "1.00", "currency": "CNY"}})
    assert r.status_code == 201, r.text
    start = datetime(2022, 1, 1, tzinfo=UTC)
    bodies = [json.dumps({
        "event_id": f"bench-{run}-{i}", "occurred_at": (start + timedelta(minutes=i)).isoformat(),
        "project_code": code, "kind": "construction_permit", "authority": "市行政审批服务局",
        "status": "submitted" if i % 2 else "accepted", "submitted_on": "2022-01-01",
        "reference": f"SG-{i % 20}"}).encode() for i in range(n)]
    semaphore = asyncio.Semaphore(concurrency)

    async def post(body: bytes) -> None:
        async with semaphore:
            r = await client.post("/api/v1/integrations/approval-events", content=body, headers={
                "Authorization": f"Bearer {key}", "Content-Type": "application/json",
                "X-Signature": sign(secret, body)})
            assert r.status_code == 200, r.text

    t = time.perf_counter()
    await asyncio.gather(*(post(b) for b in bodies))
    return n / (time.perf_counter() - t)


async def outbound(app: object, settings: Settings, admin: dict[str, str], client: httpx.AsyncClient,
                   n: int, workers: int) -> float:
    async with Receiver() as receiver:
        r = await client.post("/api/v1/webhooks", headers=admin, json={"url": receiver.url, "event_types": ["*"]})
        hook_id = r.json()["id"]
        sessionmaker = app.state.sessionmaker  # type: ignore[attr-defined]
        async with sessionmaker() as session, session.begin():
            for i in range(n):
                await outbox.emit(session, "difficulty.benchmarked", {"n": i})
        config = settings.model_copy(update=FAST)
        engines = [make_engine(config) for _ in range(workers)]
        clients = [make_http_client(config) for _ in range(workers)]
        stop = asyncio.Event()
        t = time.perf_counter()
        tasks = [asyncio.create_task(Worker(make_sessionmaker(e), c, config).run(stop))
                 for e, c in zip(engines, clients, strict=True)]
        while True:
            async with sessionmaker() as session:
                pending = (await session.execute(
                    select(func.count()).select_from(WebhookDelivery)
                    .where(WebhookDelivery.subscription_id == hook_id,  # type: ignore[arg-type]
                           WebhookDelivery.status != DeliveryStatus.delivered))).scalar_one()  # type: ignore[arg-type]
            if pending == 0:
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - t
        stop.set()
        await asyncio.gather(*tasks)
        for c in clients:
            await c.aclose()
        for e in engines:
            await e.dispose()
        await client.patch(f"/api/v1/webhooks/{hook_id}", headers={**admin, "If-Match": '"1"'},
                           json={"active": False})
        assert len(receiver.delivered_ids()) == n and set(receiver.delivered_ids().values()) == {1}
        return n / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    if url.startswith("sqlite"):
        await asyncio.to_thread(migrate, url)
    settings = Settings(database_url=url, webhook_worker_enabled=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        async with app.state.sessionmaker() as session, session.begin():
            created = await keys.create_key(session, data=ApiKeyCreate(name="bench admin", role=Role.admin),
                                            actor=Principal.operator("bench"))
        admin = {"Authorization": f"Bearer {created.key}"}
        print(f"database: {url.split('://')[0]}, {args.events} events each")
        print(f"inbound, 1 at a time:   {await inbound(client, admin, args.events, 1):7.0f} events/s")
        print(f"inbound, 10 at a time:  {await inbound(client, admin, args.events, 10):7.0f} events/s")
        for workers in (1, 2):
            rate = await outbound(app, settings, admin, client, args.events, workers)
            print(f"outbound, {workers} worker(s):  {rate:7.0f} deliveries/s")


if __name__ == "__main__":
    asyncio.run(main())
