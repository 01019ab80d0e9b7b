"""A real HTTP receiver for webhook tests: a small HTTP/1.1 server on 127.0.0.1.

It answers each POST with the status ``answer(n)`` gives for the n-th request (1-based)
and the given body and headers, after an optional delay, and records every request it
answered.
"""

import asyncio
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    def signed_with(self, secret: str, *, tolerance: int = 300, now: float | None = None) -> bool:
        """Checks the signature as a receiver would, written independently of the service."""
        parts = dict(p.split("=", 1) for p in self.headers["x-signature"].split(","))
        timestamp = int(parts["t"])
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + self.body, hashlib.sha256).hexdigest()
        fresh = now is None or abs(now - timestamp) <= tolerance
        return fresh and hmac.compare_digest(expected, parts["v1"])


class Receiver:
    def __init__(self, answer: Callable[[int], int] = lambda n: 200, *, delay: float = 0.0, body: bytes = b"ok",
                 headers: dict[str, str] | None = None) -> None:
        self.answer = answer
        self.delay = delay
        self.body = body
        self.headers = headers or {}
        self.received: list[Received] = []
        self._count = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> "Receiver":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks"

    def delivered(self) -> list[Received]:
        return [r for r in self.received if 200 <= r.status < 300]

    def delivered_ids(self) -> Counter[str]:
        return Counter(r.event["id"] for r in self.delivered())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self._count += 1
                status = self.answer(self._count)
                if self.delay:
                    await asyncio.sleep(self.delay)
                extra = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
                writer.write(f"HTTP/1.1 {status} Answer\r\nContent-Type: text/plain\r\n{extra}"
                             f"Content-Length: {len(self.body)}\r\n\r\n".encode() + self.body)
                await writer.drain()
                self.received.append(Received(headers, body, status))
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()
