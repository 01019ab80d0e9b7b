"""Metrics (Prometheus) and structured logs (one JSON object per line).

Each process keeps its own counters. With several uvicorn workers, set
PROMETHEUS_MULTIPROC_DIR to a shared empty directory so /metrics sums all workers
(prometheus_client's multiprocess mode).
"""

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models.enums import DeliveryStatus

REQUESTS = Histogram(
    "pipeline_http_request_duration_seconds", "HTTP request latency by route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
POOL = Gauge("pipeline_db_pool_connections", "Database pool connections by state.", ["state"],
             multiprocess_mode="livesum")
OUTBOX = Gauge("pipeline_webhook_deliveries", "Webhook deliveries by status (pending is the outbox backlog).",
               ["status"], multiprocess_mode="mostrecent")


# Each (method, route, status)'s child of REQUESTS, found once: ``labels`` takes a lock and
# builds its key on every call. As many as REQUESTS keeps itself.
_REQUEST_CHILDREN: dict[tuple[str, str, int], Any] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    child = _REQUEST_CHILDREN.get((method, route, status))
    if child is None:
        child = _REQUEST_CHILDREN[(method, route, status)] = REQUESTS.labels(method, route, str(status))
    child.observe(seconds)


def observe_pool(engine: AsyncEngine) -> None:
    pool: Any = engine.pool
    for state, reader in (("checked_out", "checkedout"), ("idle", "checkedin"), ("size", "size")):
        value = getattr(pool, reader, None)
        if callable(value):
            POOL.labels(state).set(value())


async def observe_outbox(engine: AsyncEngine) -> None:
    """Read the delivery backlog from the database: every process sees the same figure."""
    from app.models import WebhookDelivery  # the metrics module loads before the models elsewhere

    status = WebhookDelivery.__table__.c.status  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        counts: dict[str, int] = {s: n for s, n in (await conn.execute(select(status, func.count()).group_by(status)))}
    for name in DeliveryStatus:
        OUTBOX.labels(name.value).set(counts.get(name.value, 0))


async def render(engine: AsyncEngine) -> tuple[bytes, str]:
    """The exposition text for /metrics."""
    observe_pool(engine)
    await observe_outbox(engine)
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        document.update(getattr(record, "fields", {}))
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log would repeat ours without the principal and request id.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
