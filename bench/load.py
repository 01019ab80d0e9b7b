"""A load driver: fixed concurrency, a bounded number of requests and a bounded time.

Each of ``concurrency`` tasks takes the next request number, sends it, and records its
latency, until ``requests`` have been sent or ``seconds`` have passed.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Figures:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def figures(latencies: list[float], errors: int, seconds: float) -> Figures:
    ordered = sorted(latencies) or [0.0]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return Figures(requests=len(latencies), errors=errors, seconds=seconds, p50_ms=pct(0.50), p99_ms=pct(0.99))


async def drive(call: Callable[[int], Awaitable[Any]], *, concurrency: int, requests: int, seconds: float,
                warmup: int = 0) -> Figures:
    """Run ``call(n)`` for n = 0, 1, … at ``concurrency``; ``call`` raises on a failed request."""
    for n in range(warmup):
        await call(-1 - n)
    counter = iter(range(requests))
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        for n in counter:
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            try:
                await call(n)
            except Exception:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return figures(latencies, errors, time.perf_counter() - started)


def http_get(client: httpx.AsyncClient, path_of: Callable[[int], str]) -> Callable[[int], Awaitable[None]]:
    async def call(n: int) -> None:
        response = await client.get(path_of(n))
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
    return call
