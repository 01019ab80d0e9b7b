"""Outbound events: written with the change, delivered signed to a real HTTP receiver on
127.0.0.1, at least once, retried with backoff, and never twice by two workers."""

import asyncio
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

import httpx
from sqlalchemy import func, select

from app.clock import today
from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.models import OutboxEvent
from app.services.events import delivery
from app.worker import Worker, make_http_client
from tests.factories import event_body
from tests.receiver import Receiver

# Fast polling and backoff; timeouts and the lease far beyond what a local delivery takes, even on
# a loaded machine, so that an attempt ends by its answer and never by a clock (tests of the
# clocks set their own). A 2 s request timeout once made a second attempt under load.
FAST = {"webhook_poll_interval_seconds": 0.05, "webhook_backoff_base_seconds": 0.05,
        "webhook_backoff_max_seconds": 0.3, "webhook_connect_timeout_seconds": 5.0,
        "webhook_timeout_seconds": 10.0, "webhook_lease_seconds": 20.0, "webhook_batch_size": 5}


def fast(settings: Settings, **overrides: object) -> Settings:
    return settings.model_copy(update={**FAST, **overrides})


@asynccontextmanager
async def worker(api, settings: Settings, *, own_engine: bool = False, **overrides: object) -> AsyncIterator[
        asyncio.Task[None]]:
    """A running worker, as another process would run one when ``own_engine``."""
    config = fast(settings, **overrides)
    engine = make_engine(config) if own_engine else None
    sessionmaker = make_sessionmaker(engine) if engine else api.app.state.sessionmaker
    client = make_http_client(config)
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(sessionmaker, client, config).run(stop))
    try:
        yield task
    finally:
        stop.set()
        if not task.done():
            await asyncio.wait_for(task, timeout=15)
        await client.aclose()
        if engine is not None:
            await engine.dispose()


async def eventually(check, *, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def all_delivered(api, hook, count: int) -> bool:
    items = await api.deliveries(hook["id"])
    return len(items) == count and all(d["status"] == "delivered" for d in items)


async def event_ids(api, hook) -> set[str]:
    return {d["event_id"] for d in await api.deliveries(hook["id"])}


async def test_project_changes_are_delivered_signed_with_a_stable_event_id(api, settings):
    async with Receiver() as receiver:
        hook = await api.webhook(receiver.url, ["project.*"])
        p = await api.project()
        moved = await api.move(p, "signed", today())
        assert moved.status_code == 201
        async with worker(api, settings):
            await eventually(lambda: all_delivered(api, hook, 2))
    events = [r.event for r in receiver.received]
    assert sorted(e["type"] for e in events) == ["project.created", "project.stage_changed"]
    stage = next(e for e in events if e["type"] == "project.stage_changed")
    assert (stage["data"]["previous_stage"], stage["data"]["stage"]) == ("negotiating", "signed")
    assert stage["data"]["project"]["id"] == p["id"]
    for r in receiver.received:
        assert r.signed_with(hook["secret"], now=time.time())
        assert not r.signed_with(hook["secret"] + "x")
        assert r.headers["x-event-id"] == r.event["id"] and r.headers["x-event-type"] == r.event["type"]
        assert r.headers["x-delivery-attempt"] == "1"
        assert r.headers["content-type"] == "application/json"


async def test_a_receiver_that_fails_and_then_recovers_gets_every_event(api, settings):
    async with Receiver(lambda n: 503 if n <= 8 else 200) as receiver:
        hook = await api.webhook(receiver.url, ["project.created", "approval.*"])
        for _ in range(4):
            p = await api.project()
        await api.approval(p)
        async with worker(api, settings):
            await eventually(lambda: all_delivered(api, hook, 5))
    assert set(receiver.delivered_ids()) == await event_ids(api, hook)
    assert sum(r.status == 503 for r in receiver.received) == 8
    retried = [d for d in await api.deliveries(hook["id"]) if d["attempts"] > 1]
    assert retried
    r = await api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries/{retried[0]['id']}", headers=api.admin)
    detail = r.json()
    log = detail["attempt_log"]
    assert [a["outcome"] for a in log] == ["failed"] * (len(log) - 1) + ["succeeded"]
    assert log[0]["status_code"] == 503 and log[0]["error"] == "http_status"
    assert log[-1]["status_code"] == 200 and detail["delivered_at"] is not None
    assert detail["event"]["id"] == detail["event_id"]
    # The same event id on every attempt.
    attempts_of = Counter(x.event["id"] for x in receiver.received)
    assert attempts_of[detail["event_id"]] == len(log)


async def test_stopping_the_worker_mid_run_and_starting_it_again_loses_nothing(api, settings):
    async with Receiver(delay=0.1) as receiver:
        hook = await api.webhook(receiver.url)
        for _ in range(20):
            await api.project()
        # A lease of seconds, not FAST's 20: an attempt the stop catches mid-claim waits it out.
        short = {"webhook_connect_timeout_seconds": 2.0, "webhook_timeout_seconds": 3.0, "webhook_lease_seconds": 6.0}
        async with worker(api, settings, **short) as task:
            await eventually(lambda: asyncio.sleep(0, len(receiver.received) >= 6))
            task.cancel()  # a hard stop, in the middle of a batch
            await asyncio.gather(task, return_exceptions=True)
        pending = [d for d in await api.deliveries(hook["id"]) if d["status"] == "pending"]
        assert pending, "the stop came too late to test anything"
        async with worker(api, settings, **short):
            await eventually(lambda: all_delivered(api, hook, 20), within=60)
    assert set(receiver.delivered_ids()) == await event_ids(api, hook)
    outcomes = Counter()
    for d in await api.deliveries(hook["id"]):
        detail = (await api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries/{d['id']}",
                                       headers=api.admin)).json()
        outcomes.update(a["outcome"] for a in detail["attempt_log"])
    # A hard stop hands unfinished attempts back (interrupted); one caught mid-claim waits out its lease.
    assert outcomes["succeeded"] == 20 and set(outcomes) <= {"succeeded", "interrupted", "abandoned"}


async def test_an_attempt_whose_worker_died_is_retried_when_its_lease_runs_out(api, settings):
    async with Receiver() as receiver:
        hook = await api.webhook(receiver.url)
        await api.project()
        config = fast(settings, webhook_lease_seconds=1.0, webhook_timeout_seconds=0.3,
                      webhook_connect_timeout_seconds=0.3)
        async with api.app.state.sessionmaker() as session, session.begin():  # claimed, then the worker "dies"
            [claim] = await delivery.claim(session, worker="dead-worker", settings=config)
        async with worker(api, settings, webhook_lease_seconds=1.0, webhook_timeout_seconds=0.3,
                          webhook_connect_timeout_seconds=0.3):
            await asyncio.sleep(0.5)
            assert receiver.received == []  # not while the lease holds
            await eventually(lambda: all_delivered(api, hook, 1))
    [d] = await api.deliveries(hook["id"])
    detail = (await api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries/{d['id']}", headers=api.admin)).json()
    first, second = detail["attempt_log"]
    assert (first["number"], first["worker"], first["outcome"]) == (1, "dead-worker", "abandoned")
    assert second["outcome"] == "succeeded" and claim.attempt == 1


async def test_two_workers_deliver_each_event_once(api, settings, caplog):
    async with Receiver(delay=0.02) as receiver:
        hook = await api.webhook(receiver.url)
        for _ in range(30):
            await api.project()
        async with worker(api, settings, own_engine=True), worker(api, settings, own_engine=True):
            await eventually(lambda: all_delivered(api, hook, 30))
    counts = receiver.delivered_ids()
    assert len(counts) == 30 and set(counts.values()) == {1}, counts
    deliveries = await api.deliveries(hook["id"])
    assert {d["attempts"] for d in deliveries} == {1}
    workers = Counter()
    for d in deliveries:
        detail = await api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries/{d['id']}", headers=api.admin)
        workers.update(a["worker"] for a in detail.json()["attempt_log"])
    assert len(workers) == 2, workers  # both took part, neither repeated the other's work
    # ... and neither had to back off from a claim the other had made.
    assert not [r for r in caplog.records if r.name == "app.worker" and r.levelname in ("ERROR", "WARNING")]


async def test_a_delivery_that_keeps_failing_gives_up_and_can_be_sent_again(api, settings):
    healthy = False
    async with Receiver(lambda n: 200 if healthy else 500) as receiver:
        hook = await api.webhook(receiver.url)
        await api.project()
        async with worker(api, settings, webhook_max_attempts=3):
            await eventually(lambda: _has_status(api, hook, "failed"))
            [d] = await api.deliveries(hook["id"])
            assert (d["attempts"], d["last_status_code"], d["next_attempt_at"]) == (3, 500, None)
            healthy = True
            r = await api.client.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{d['id']}/redeliver",
                                      headers=api.admin)
            assert r.status_code == 200 and r.json()["status"] == "pending"
            await eventually(lambda: all_delivered(api, hook, 1))
        again = await api.client.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{d['id']}/redeliver",
                                      headers=api.admin)
        assert again.status_code == 200  # a delivered one may be sent again too
    assert [e["action"] for e in await api.audit(action="webhook.redeliver")] == ["webhook.redeliver"] * 2


async def _has_status(api, hook, status):
    return any(d["status"] == status for d in await api.deliveries(hook["id"]))


async def test_an_unreachable_receiver_is_a_failed_attempt_not_a_crash(api, settings):
    async with Receiver() as receiver:
        url = receiver.url
    hook = await api.webhook(url)  # nobody listens there any more
    await api.project()
    async with worker(api, settings, webhook_max_attempts=2):
        await eventually(lambda: _has_status(api, hook, "failed"))
    [d] = await api.deliveries(hook["id"])
    assert d["last_error"] == "connection_failed"


async def test_events_are_written_with_their_change_or_not_at_all(api):
    hook = await api.webhook("http://127.0.0.1:9/hooks", ["project.updated"])
    p = await api.project()
    stale = await api.client.patch(f"/api/v1/projects/{p['id']}", headers={**api.admin, "If-Match": '"9"'},
                                   json={"name": "改名"})
    assert stale.status_code == 412
    assert await api.deliveries(hook["id"]) == []
    ok = await api.client.patch(f"/api/v1/projects/{p['id']}", headers={**api.admin, "If-Match": '"1"'},
                                json={"name": "改名"})
    assert ok.status_code == 200
    [d] = await api.deliveries(hook["id"])
    assert (d["event_type"], d["status"], d["attempts"]) == ("project.updated", "pending", 0)
    detail = (await api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries/{d['id']}", headers=api.admin)).json()
    assert detail["event"]["data"]["changes"]["after"]["name"] == "改名"
    async with api.app.state.sessionmaker() as session:
        types = (await session.execute(select(OutboxEvent.type).order_by(OutboxEvent.id))).scalars().all()
    assert types == ["project.created", "project.updated"]


async def test_every_kind_of_change_emits_its_event(api):
    hook = await api.webhook("http://127.0.0.1:9/hooks", ["*"])
    system = await api.integration()
    p = await api.project(code="2020-370214-04-01-000009")
    await api.move(p, "signed", today())
    item = await api.approval(p, status="submitted", submitted_on="2022-05-01")
    await api.client.patch(f"/api/v1/projects/{p['id']}/approvals/{item['id']}",
                           headers={**api.admin, "If-Match": '"1"'}, json={"note": "补正"})
    await system.post(event_body(project_code=p["code"], status="approved", submitted_on="2022-05-01",
                                 decided_on="2022-05-06", occurred_at="2022-05-06T02:00:00Z"))
    await api.client.delete(f"/api/v1/projects/{p['id']}/approvals/{item['id']}",
                            headers={**api.admin, "If-Match": '"3"'})
    current = await api.get_project(p["id"])
    await api.client.delete(f"/api/v1/projects/{p['id']}", headers={**api.admin, "If-Match": f'"{current["version"]}"'})
    types = [d["event_type"] for d in reversed(await api.deliveries(hook["id"]))]
    assert types == ["project.created", "project.stage_changed", "approval.created", "approval.updated",
                     "approval.status_changed", "approval.archived", "project.archived"]
    deliveries = await api.deliveries(hook["id"], event_type="approval.status_changed")
    detail = (await api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries/{deliveries[0]['id']}",
                                   headers=api.admin)).json()
    assert detail["event"]["data"]["previous_status"] == "submitted"
    assert detail["event"]["data"]["approval"]["status"] == "approved"
    assert detail["event"]["data"]["project_code"] == p["code"]


async def test_a_difficulty_emits_raised_updated_status_changed_and_escalated(api):
    from app.config import EscalationRung
    from app.services.supervision import escalation

    hook = await api.webhook("http://127.0.0.1:9/hooks", ["difficulty.*"])
    leader, unit = await api.leader(), await api.unit()
    p = await api.project(leader_id=leader["id"], unit_id=unit["id"])
    d = await api.difficulty(p, raised_on="2022-01-10", due_on="2022-03-01")
    r = await api.client.patch(f"/api/v1/difficulties/{d['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"title": "用地指标不足"})
    assert r.status_code == 200, r.text
    assert (await api.move_difficulty(d, "in_progress", occurred_on="2022-01-11")).status_code == 201
    await escalation.run_job(api.app.state.sessionmaker, today=date(2022, 3, 5), now=datetime(2022, 3, 5, tzinfo=UTC),
                             ladder=[EscalationRung(level="leader", after_days=1)], batch_size=10)
    deliveries = list(reversed(await api.deliveries(hook["id"])))
    assert [x["event_type"] for x in deliveries] == [
        "difficulty.raised", "difficulty.updated", "difficulty.status_changed", "difficulty.escalated"]

    async def data(delivery):
        r = await api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}", headers=api.admin)
        return r.json()["event"]["data"]

    raised, updated, moved, escalated = [await data(x) for x in deliveries]
    assert raised["difficulty"]["id"] == d["id"] and raised["difficulty"]["project_id"] == p["id"]
    assert updated["changes"]["after"]["title"] == "用地指标不足"
    assert (moved["previous_status"], moved["difficulty"]["status"]) == ("open", "in_progress")
    assert (escalated["difficulty_id"], escalated["previous_level"], escalated["escalation_level"],
            escalated["days_overdue"]) == (d["id"], "unit", "leader", 4)


async def test_other_modules_emit_their_own_families(api):
    from app.services.events import outbox

    family = await api.webhook("http://127.0.0.1:9/a", ["difficulty.*"])
    exact = await api.webhook("http://127.0.0.1:9/b", ["difficulty.resolved"])
    async with api.app.state.sessionmaker() as session, session.begin():
        await outbox.emit(session, "difficulty.escalated", {"difficulty": {"id": 1, "on": today()}})
    assert [d["event_type"] for d in await api.deliveries(family["id"])] == ["difficulty.escalated"]
    assert await api.deliveries(exact["id"]) == []
    try:
        async with api.app.state.sessionmaker() as session, session.begin():
            await outbox.emit(session, "nonsense", {})
        raise AssertionError("an unknown event type was emitted")
    except ValueError:
        pass


async def test_a_paused_webhook_holds_its_deliveries_and_an_archived_one_cancels_them(api, settings):
    async with Receiver() as receiver:
        hook = await api.webhook(receiver.url, active=False)
        await api.project()
        async with worker(api, settings):
            await asyncio.sleep(0.3)
            assert receiver.received == []
            r = await api.client.patch(f"/api/v1/webhooks/{hook['id']}", headers={**api.admin, "If-Match": '"1"'},
                                       json={"active": True})
            assert r.status_code == 200 and r.json()["active"] is True
            await eventually(lambda: all_delivered(api, hook, 1))
        other = await api.webhook(receiver.url)
        await api.project()
        gone = await api.client.delete(f"/api/v1/webhooks/{other['id']}", headers={**api.admin, "If-Match": '"1"'})
        assert gone.status_code == 200
        assert [d["status"] for d in await api.deliveries(other["id"])] == ["cancelled"]


async def test_webhooks_are_managed_by_admins_and_never_show_their_secret(api):
    r = await api.client.post("/api/v1/webhooks", headers=api.admin,
                              json={"url": "https://127.0.0.1:9/hooks", "event_types": ["project.*"],
                                    "secret": "s" * 40, "description": "审批系统"})
    assert r.status_code == 201 and r.json()["secret"] == "s" * 40
    hook_id = r.json()["id"]
    for url in (f"/api/v1/webhooks/{hook_id}", "/api/v1/webhooks"):
        got = await api.client.get(url, headers=api.admin)
        assert got.status_code == 200 and "s" * 40 not in got.text
    generated = await api.webhook("http://127.0.0.1:9/x")
    assert generated["secret"].startswith("whsec_") and len(generated["secret"]) > 40
    rotated = await api.client.patch(f"/api/v1/webhooks/{hook_id}", headers={**api.admin, "If-Match": '"1"'},
                                     json={"secret": "t" * 40})
    assert rotated.status_code == 200 and "t" * 40 not in rotated.text
    audit = await api.audit(resource_type="webhook")
    assert "s" * 40 not in str(audit) and "t" * 40 not in str(audit)


async def test_a_webhook_needs_a_usable_url_and_known_event_types(api):
    cases = [({"url": "ftp://example.com/x"}, "url"), ({"url": "not a url"}, "url"),
             ({"event_types": []}, "event_types"), ({"event_types": ["project.bogus*"]}, "event_types.0"),
             ({"event_types": ["payments.*"]}, "event_types.0"), ({"secret": "short"}, "secret")]
    for fields, field in cases:
        body = {"url": "https://127.0.0.1:9/hooks", "event_types": ["*"], **fields}
        r = await api.client.post("/api/v1/webhooks", headers=api.admin, json=body)
        assert r.status_code == 422, (fields, r.text)
        assert r.json()["errors"][0]["field"] == field, (fields, r.json())


async def test_the_service_runs_a_worker_unless_told_not_to(api, settings):
    async with Receiver() as receiver:
        hook = await api.webhook(receiver.url)
        app = create_app(fast(settings, webhook_worker_enabled=True))
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://second") as client:
            r = await client.post("/api/v1/projects", headers=api.admin, json={
                "name": "第二个进程建的项目", "investor": "某公司", "investor_country": "CN",
                "funding_source": "domestic", "industry": "logistics", "zone": "international_land_port",
                "total_investment": {"amount": "1.00", "currency": "CNY"}})
            assert r.status_code == 201
            await eventually(lambda: all_delivered(api, hook, 1))
    assert [x.event["type"] for x in receiver.delivered()] == ["project.created"]


async def test_pipeline_worker_delivers_alone_and_stops_on_sigterm(api, settings, database_url):
    async with Receiver() as receiver:
        hook = await api.webhook(receiver.url)
        await api.project()
        env = {**os.environ, "PIPELINE_DATABASE_URL": database_url,
               "PIPELINE_WEBHOOK_ALLOWED_HOSTS": json.dumps(settings.webhook_allowed_hosts),
               **{f"PIPELINE_{k.upper()}": str(v) for k, v in FAST.items()}}
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "app.cli", "worker", env=env,
                                                       stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.PIPE)
        try:
            await eventually(lambda: all_delivered(api, hook, 1))
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert "webhook worker" in stderr.decode() and "stopped" in stderr.decode()
    async with api.app.state.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(OutboxEvent))).scalar_one() == 1


async def test_an_archive_event_writes_the_instant_as_the_api_shows_it(api):
    hook = await api.webhook("https://127.0.0.1:9/hook")
    leader = await api.leader()
    archived = {}
    for kind, path, version in (("webhook", f"/api/v1/webhooks/{hook['id']}", hook["version"]),
                                ("leader", f"/api/v1/leaders/{leader['id']}", leader["version"])):
        r = await api.client.delete(path, headers={**api.admin, "If-Match": f'"{version}"'})
        assert r.status_code == 200, r.text
        archived[kind] = r.json()["archived_at"]
    events = {e["resource_type"]: e for e in await api.audit() if e["action"].endswith(".archive")}
    assert events["webhook"]["after"] == {"archived_at": archived["webhook"], "deliveries_cancelled": 0}
    assert events["leader"]["after"] == {"archived_at": archived["leader"]}
    assert events["webhook"]["before"] == events["leader"]["before"] == {"archived_at": None}
