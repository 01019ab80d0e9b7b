"""The outermost layer of every request, as plain ASGI (no per-request task or body copy).

It gives each request its id, refuses bodies over the size limit before they are read,
adds the security headers, writes one JSON log line, and observes the metrics.
"""

import json
import logging
import time
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import context, observability
from app.errors import PROBLEM_JSON, TYPE_BASE

access_log = logging.getLogger("app.access")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
# The API answers JSON only; /docs loads its page assets, so it keeps the browser's defaults.
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = str(value.decode("latin-1"))
            if 0 < len(candidate) <= 64 and candidate.isascii() and candidate.isprintable():
                return candidate
    return uuid.uuid4().hex


def _too_large(limit: int, rid: str) -> bytes:
    return json.dumps({"type": TYPE_BASE + "payload_too_large", "title": "Payload too large", "status": 413,
                       "detail": f"The request body is larger than the limit of {limit} bytes.",
                       "code": "payload_too_large",
                       "errors": [{"field": "body", "message": f"must be at most {limit} bytes"}]}).encode()


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, body_limit: Callable[[str], int]) -> None:
        self.app = app
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        token = context.request_id.set(rid)
        started = time.perf_counter()
        path: str = scope["path"]
        limit = self.body_limit(path)
        status = 500
        received = 0

        declared = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            status = 413
            await _send_413(send, limit, rid)
            self._finish(scope, status, started, rid)
            context.request_id.reset(token)
            return

        # The body is read here, up to the limit, before the application sees any of it:
        # a body without Content-Length (or with a false one) is refused the same way.
        chunks: list[bytes] = []
        more = scope["method"] in ("POST", "PUT", "PATCH", "DELETE")
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            if received > limit:
                status = 413
                await _send_413(send, limit, rid)
                self._finish(scope, status, started, rid)
                context.request_id.reset(token)
                return
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def limited_receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                present = {k.lower() for k, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in present]
                if path.startswith("/api/") and API_CSP[0] not in present:
                    headers.append(API_CSP)
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        finally:
            self._finish(scope, status, started, rid)
            context.request_id.reset(token)

    @staticmethod
    def _finish(scope: Scope, status: int, started: float, rid: str) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path_format", None) or "unmatched"  # without convertors: {project_id}
        observability.observe_request(scope["method"], template, status, elapsed)
        if not access_log.isEnabledFor(logging.INFO):
            return  # the line's fields need not be gathered
        state: MutableMapping[str, Any] = scope.get("state", {})
        principal = state.get("principal")
        access_log.info("request", extra={"fields": {
            "method": scope["method"], "route": template, "path": scope["path"], "status": status,
            "duration_ms": round(elapsed * 1000, 2), "request_id": rid,
            "principal_id": getattr(principal, "key_id", None),
        }})


async def _send_413(send: Send, limit: int, rid: str) -> None:
    body = _too_large(limit, rid)
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
        (b"x-request-id", rid.encode()), (b"connection", b"close"), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})
