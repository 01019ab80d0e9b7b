"""Webhooks go to public addresses only: refused at subscription and at every delivery,
connected to the address that was checked, and nothing a receiver answers is kept.

The suite's settings allow 127.0.0.1 on purpose (its receivers listen there); the tests of
refusal use every other spelling of an internal address, or settings without the allowance.
"""

import asyncio
import ipaddress
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from app.main import create_app
from app.services.events import destinations
from tests.events.test_webhooks import eventually, worker
from tests.factories import assert_invalid
from tests.receiver import Receiver

INTERNAL = [
    "http://localhost:{port}/hooks",
    "http://[::1]:{port}/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://0x7f000001:{port}/hooks",
    "http://127.1:{port}/hooks",
    "http://2130706433:{port}/hooks",
    "http://017700000001:{port}/hooks",
    "http://127.0.0.2:{port}/hooks",
    "http://10.0.0.8/hooks",
    "http://172.16.3.4/hooks",
    "http://192.168.1.1/hooks",
    "http://100.64.0.1/hooks",
    "http://224.0.0.1/hooks",
    "http://0.0.0.0:{port}/hooks",
    "http://[::]:{port}/hooks",
    "http://[::ffff:127.0.0.1]:{port}/hooks",
    "http://[::ffff:7f00:1]:{port}/hooks",
    "http://[fc00::1]/hooks",
    "http://[fe80::1]/hooks",
    "http://[ff02::1]/hooks",
    "http://[64:ff9b::a00:1]/hooks",
    "http://[2002:7f00:1::]/hooks",
    "https://does-not-resolve.invalid/hooks",
]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.31.255.255", "192.168.0.1", "169.254.169.254",
                                     "100.64.0.1", "100.127.255.254", "0.0.0.0", "224.0.0.251", "255.255.255.255",
                                     "192.0.2.1", "198.18.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12::1",
                                     "ff02::1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:a00:1::1",
                                     "2001:db8::1"])
def test_internal_addresses_are_refused(address: str) -> None:
    assert destinations.refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "203.0.114.1", "2001:4860:4860::8888",
                                     "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_are_accepted(address: str) -> None:
    assert destinations.refusal(ipaddress.ip_address(address)) is None


async def _webhook_count(api) -> int:
    r = await api.client.get("/api/v1/webhooks", headers=api.admin, params={"limit": 200})
    assert r.status_code == 200
    return len(r.json()["items"])


async def test_a_subscription_to_an_internal_address_is_refused_and_nothing_is_written(api):
    async with Receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        audit_before = len(await api.audit())
        for template in INTERNAL:
            url = template.format(port=port)
            r = await api.client.post("/api/v1/webhooks", headers=api.admin, json={"url": url, "event_types": ["*"]})
            assert_invalid(r, "url", code="webhook_url_refused")
        assert await _webhook_count(api) == 0
        assert len(await api.audit()) == audit_before
        # Nothing was sent while checking.
        assert receiver.received == []


async def test_a_subscription_cannot_be_moved_to_an_internal_address(api):
    hook = await api.webhook("http://127.0.0.1:9/hooks")
    r = await api.client.patch(f"/api/v1/webhooks/{hook['id']}", headers={**api.admin, "If-Match": '"1"'},
                               json={"url": "http://169.254.169.254/latest/"})
    assert_invalid(r, "url", code="webhook_url_refused")
    r = await api.client.get(f"/api/v1/webhooks/{hook['id']}", headers=api.admin)
    assert r.json()["url"] == "http://127.0.0.1:9/hooks" and r.json()["version"] == 1


@asynccontextmanager
async def service(settings, **overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=overrides))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://other") as client:
        yield client


async def test_loopback_is_refused_unless_the_operator_allows_it(api, settings):
    async with Receiver() as receiver, service(settings, webhook_allowed_hosts=[]) as client:
        r = await client.post("/api/v1/webhooks", headers=api.admin, json={"url": receiver.url, "event_types": ["*"]})
        assert_invalid(r, "url", code="webhook_url_refused")
    async with service(settings, webhook_allowed_hosts=["LOCALHOST"]) as client:
        r = await client.post("/api/v1/webhooks", headers=api.admin,
                              json={"url": "http://localhost:9/hooks", "event_types": ["*"]})
        assert r.status_code == 201, r.text
        # Allowing a name does not allow the address it stands for under another spelling.
        r = await client.post("/api/v1/webhooks", headers=api.admin,
                              json={"url": "http://127.1:9/hooks", "event_types": ["*"]})
        assert_invalid(r, "url", code="webhook_url_refused")


async def test_every_delivery_checks_the_destination_again(api, settings):
    async with Receiver() as receiver:
        hook = await api.webhook(receiver.url)  # allowed when made
        await api.project()
        async with worker(api, settings, webhook_max_attempts=2, webhook_allowed_hosts=[]):
            await eventually(lambda: _status_is(api, hook, "failed"))
        assert receiver.received == []
    [d] = await api.deliveries(hook["id"])
    assert d["last_error"] == "destination_refused" and d["last_status_code"] is None


async def _status_is(api, hook, status: str) -> bool:
    return [d["status"] for d in await api.deliveries(hook["id"])] == [status]


async def test_a_delivery_connects_to_the_checked_address_and_keeps_the_name(api, settings):
    async with Receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        async with service(settings, webhook_allowed_hosts=["localhost"]) as client:
            r = await client.post("/api/v1/webhooks", headers=api.admin,
                                  json={"url": f"http://localhost:{port}/hooks", "event_types": ["*"]})
            assert r.status_code == 201, r.text
            hook = r.json()
        await api.project()
        async with worker(api, settings, webhook_allowed_hosts=["localhost"]):
            await eventually(lambda: _status_is(api, hook, "delivered"))
    [received] = receiver.received
    assert received.headers["host"] == f"localhost:{port}"


async def test_the_destination_is_pinned_to_a_resolved_address() -> None:
    target = await destinations.destination("https://localhost:8443/a?b=1", allowed_hosts=["localhost"],
                                            resolve_within=5)
    pinned = httpx.URL(target.url)
    assert ipaddress.ip_address(pinned.host).is_loopback
    assert (pinned.scheme, pinned.port, pinned.path, pinned.query) == ("https", 8443, "/a", b"b=1")
    assert target.headers == {"Host": "localhost:8443"}
    assert target.extensions == {"sni_hostname": "localhost"}  # TLS checks the certificate of the name


async def test_nothing_a_receiver_answers_is_kept(api, settings):
    secret = b"root:x:0:0:internal-secret"
    async with Receiver(lambda n: 500 if n == 1 else 302, body=secret,
                        headers={"Location": "http://169.254.169.254/"}) as receiver:
        hook = await api.webhook(receiver.url)
        await api.project()
        async with worker(api, settings, webhook_max_attempts=2):
            await eventually(lambda: _status_is(api, hook, "failed"))
        assert len(receiver.received) == 2  # the redirect was not followed
    [d] = await api.deliveries(hook["id"])
    r = await api.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries/{d['id']}", headers=api.admin)
    detail = r.json()
    assert [(a["status_code"], a["error"]) for a in detail["attempt_log"]] == [(500, "http_status"),
                                                                              (302, "http_status")]
    assert all(a["duration_ms"] is not None for a in detail["attempt_log"])
    assert "internal-secret" not in json.dumps(detail)


async def _closing_server() -> asyncio.Server:
    async def accept_and_close(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    return await asyncio.start_server(accept_and_close, "127.0.0.1", 0)


async def test_a_closed_port_and_a_dropped_connection_read_alike(api, settings):
    async with Receiver() as gone:
        closed_url = gone.url
    server = await _closing_server()
    dropping_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks"
    try:
        closed = await api.webhook(closed_url)
        dropping = await api.webhook(dropping_url)
        await api.project()
        async with worker(api, settings, webhook_max_attempts=1):
            await eventually(lambda: _both_failed(api, closed, dropping))
    finally:
        server.close()
    [a], [b] = await api.deliveries(closed["id"]), await api.deliveries(dropping["id"])
    assert (a["last_status_code"], a["last_error"]) == (b["last_status_code"], b["last_error"]) == (
        None, "connection_failed")


async def _both_failed(api, *hooks) -> bool:
    return all([await _status_is(api, h, "failed") for h in hooks])

