"""Per-request values that deep code needs without threading them through every call."""

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
