"""The webhook delivery worker: claims due deliveries, POSTs them signed, records results.

It runs inside every service process (the app's lifespan; ``PIPELINE_WEBHOOK_WORKER_ENABLED``
turns it off) or alone (``pipeline worker``). Any number may run against one database:
see ``app/services/delivery.py`` for why no attempt is made twice and nothing is lost.

Each request carries::

    Content-Type: application/json
    X-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
    X-Event-Id: <the event's stable id>      X-Event-Type: project.stage_changed
    X-Delivery-Id: <delivery id>             X-Delivery-Attempt: <1, 2, ...>

and the body ``{"id", "type", "occurred_at", "data"}``. Any 2xx answer is success;
anything else (3xx included), a timeout or a network error is retried with exponential
backoff until ``webhook_max_attempts``. An attempt records the status code, its duration
and one of our own error classes (``DeliveryError``), never what the receiver answered.
"""

import asyncio
import logging
import os
import socket
import ssl
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models.enums import AttemptOutcome, DeliveryError
from app.services.common import signing
from app.services.events import delivery, destinations
from app.services.events.delivery import Claim, Result

log = logging.getLogger("app.worker")

USER_AGENT = "investment-pipeline-webhooks/1"


def _failure_class(exc: BaseException) -> str:
    """Our name for a failed connection: a closed port and a refused connection read alike."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return DeliveryError.tls_error
        seen = seen.__cause__ or seen.__context__
    return DeliveryError.connection_failed


def make_http_client(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client for outbound calls: bounded timeouts, no redirects followed."""
    timeout = httpx.Timeout(settings.webhook_timeout_seconds, connect=settings.webhook_connect_timeout_seconds)
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT},
                             limits=httpx.Limits(max_connections=max(10, settings.webhook_batch_size)))


def worker_name() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Delivers webhooks until told to stop."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], client: httpx.AsyncClient,
                 settings: Settings, *, name: str | None = None) -> None:
        self.sessionmaker = sessionmaker
        self.client = client
        self.settings = settings
        self.name = name or worker_name()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver batches until ``stop`` is set; an attempt under way is finished first."""
        log.info("webhook worker %s started", self.name)
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception:  # the database may be down for a while: keep trying
                log.exception("webhook worker %s: a round failed", self.name)
                done = 0
            if done < self.settings.webhook_batch_size:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.webhook_poll_interval_seconds)
        log.info("webhook worker %s stopped", self.name)

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and make their attempts; returns how many."""
        claims = await asyncio.shield(self._claim())
        try:
            results = await asyncio.gather(*(self._attempt(c) for c in claims), return_exceptions=True)
        except asyncio.CancelledError:
            # Stopped mid-batch: hand back what is unfinished now rather than at lease end.
            with suppress(Exception):
                await asyncio.shield(self._release(claims))
            raise
        for claim, result in zip(claims, results, strict=True):
            if isinstance(result, BaseException):
                log.error("webhook delivery %s attempt %s could not be recorded: %r", claim.delivery_id,
                          claim.attempt, result)
        return len(claims)

    async def _attempt(self, claim: Claim) -> None:
        started = time.monotonic()
        result = await self._post(claim)
        result = Result(result.outcome, result.status_code, result.error,
                        duration_ms=int((time.monotonic() - started) * 1000))
        await asyncio.shield(self._record(claim, result))

    async def _post(self, claim: Claim) -> Result:
        headers = {
            "Content-Type": "application/json",
            signing.HEADER: signing.header(claim.secret, int(time.time()), claim.body),
            "X-Event-Id": claim.event_id,
            "X-Event-Type": claim.event_type,
            "X-Delivery-Id": str(claim.delivery_id),
            "X-Delivery-Attempt": str(claim.attempt),
        }
        connect, total = self.settings.webhook_connect_timeout_seconds, self.settings.webhook_timeout_seconds
        try:
            # Checked again at every delivery: the address a name stands for may have changed.
            target = await destinations.destination(claim.url, allowed_hosts=self.settings.webhook_allowed_hosts,
                                                    resolve_within=connect)
        except destinations.RefusedDestination:
            return Result(AttemptOutcome.failed, error=DeliveryError.destination_refused)
        try:
            async with asyncio.timeout(connect + total):
                # The answer's body is never read: what a receiver says is not ours to keep,
                # and would let a subscriber read what an internal address answers.
                response = await self.client.post(target.url, content=claim.body, headers={**headers, **target.headers},
                                                  extensions=target.extensions)
        except (TimeoutError, httpx.TimeoutException):
            return Result(AttemptOutcome.failed, error=DeliveryError.timeout)
        except httpx.HTTPError as exc:
            return Result(AttemptOutcome.failed, error=_failure_class(exc))
        if 200 <= response.status_code < 300:
            return Result(AttemptOutcome.succeeded, status_code=response.status_code)
        return Result(AttemptOutcome.failed, status_code=response.status_code, error=DeliveryError.http_status)

    # The transactions are shielded from a stop: one cut short can leave its connection
    # holding the transaction (on SQLite, the database's one write lock) until the garbage
    # collector finds it. A stop mid-batch thus lets a claim or a record finish first.
    async def _claim(self) -> list[Claim]:
        async with self.sessionmaker() as session, session.begin():
            return await delivery.claim(session, worker=self.name, settings=self.settings)

    async def _record(self, claim: Claim, result: Result) -> None:
        async with self.sessionmaker() as session, session.begin():
            await delivery.record(session, claim, result, settings=self.settings)

    async def _release(self, claims: list[Claim]) -> None:
        async with self.sessionmaker() as session, session.begin():
            await delivery.release(session, claims)


@asynccontextmanager
async def background(sessionmaker: async_sessionmaker[AsyncSession], client: httpx.AsyncClient,
                     settings: Settings) -> AsyncIterator[Worker | None]:
    """Run a worker beside the service while the context is open (if enabled)."""
    if not settings.webhook_worker_enabled:
        yield None
        return
    worker = Worker(sessionmaker, client, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop), name=f"webhook-worker {worker.name}")
    try:
        yield worker
    finally:
        stop.set()
        grace = settings.webhook_connect_timeout_seconds + settings.webhook_timeout_seconds + 1
        try:
            await asyncio.wait_for(task, timeout=grace)
        except TimeoutError:
            log.warning("webhook worker %s did not stop in %gs; cancelled", worker.name, grace)
