"""Load drivers: fixed concurrency, for a bounded time.

``wrk`` drives the HTTP reads (a request list, round-robin, for a fixed time). ``drive``
is the Python driver for what wrk cannot script simply (one project's stage move per
request) and for latency at concurrency 1: each of ``concurrency`` tasks takes the next
request number, sends it, and records its latency, until ``requests`` have been sent or
``seconds`` have passed.
"""

import asyncio
import contextlib
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


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
        with contextlib.suppress(Exception):  # a failure shows in the measured requests too
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


# wrk (Debian package ``wrk``) drives the HTTP reads: a C event loop on one thread takes a
# few per cent of a core, where a Python driver took as much CPU as the server it measured
# and so capped every figure at the driver's own rate.
WRK_SCRIPT = """
local keys = {%(authorizations)s}
local paths = {%(paths)s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1], {Authorization = keys[(n %% #keys) + 1]})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nRESULT {"requests":%%d,"us":%%d,"errors":%%d,"p50":%%d,"p99":%%d}\\n',
    summary.requests, summary.duration, e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is a valid Lua string literal


def wrk(base: str, paths: list[str], *, authorizations: list[str], concurrency: int, seconds: float,
        warmup_seconds: float = 2.0) -> Figures:
    """GET ``paths`` round-robin from ``base`` with wrk at ``concurrency`` for ``seconds``, each
    request with the next of ``authorizations`` (the load of many users, not of one)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("the benchmark drives HTTP with wrk: install it (Debian package wrk)")
    script = WRK_SCRIPT % {"authorizations": ", ".join(_lua(a) for a in authorizations),
                           "paths": ", ".join(_lua(p) for p in paths)}
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as f:
        f.write(script)
        f.flush()
        out = ""
        for duration in ([warmup_seconds] if warmup_seconds > 0 else []) + [seconds]:
            out = subprocess.run(["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--timeout", "60s",
                                  "-s", f.name, base], check=True, capture_output=True, text=True).stdout
    line = next(s for s in out.splitlines() if s.startswith("RESULT "))
    r = json.loads(line.removeprefix("RESULT "))
    return Figures(requests=r["requests"] - r["errors"], errors=r["errors"], seconds=r["us"] / 1e6,
                   p50_ms=r["p50"] / 1000, p99_ms=r["p99"] / 1000)


@dataclass
class CpuSplit:
    """Cores busy during a run, by whom (from /proc: Linux only)."""

    service: float
    postgres: float
    driver: float
    other: float
    idle: float


def _process_seconds() -> dict[int, tuple[str, int, float]]:
    """Each process: (name, parent, CPU seconds so far)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name, rest = raw[raw.index("(") + 1:raw.rindex(")")], raw[raw.rindex(")") + 2:].split()
        out[int(entry)] = (name, int(rest[1]), (int(rest[11]) + int(rest[12])) / tick)
    return out


def _idle_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return (int(fields[3]) + int(fields[4])) / os.sysconf("SC_CLK_TCK")


def _children_seconds() -> float:
    """CPU seconds of this process's finished children (the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_split(run: Callable[[], T], service_pids: set[int]) -> tuple[T, CpuSplit, list[float]]:
    """``run()``; the cores the service (``service_pids`` and their children), PostgreSQL,
    wrk and everything else kept busy meanwhile; and each service process's share."""
    before, idle, driver, started = _process_seconds(), _idle_seconds(), _children_seconds(), time.perf_counter()
    result = run()
    after, wall = _process_seconds(), time.perf_counter() - started
    idle, driver = _idle_seconds() - idle, _children_seconds() - driver
    used = {"service": 0.0, "postgres": 0.0, "other": 0.0}
    per_process: dict[int, float] = {}
    for pid, (name, parent, seconds) in after.items():
        spent = seconds - before.get(pid, (name, parent, 0.0))[2]
        if service_pids & {pid, parent}:
            used["service"] += spent
            per_process[pid] = spent / wall
        else:
            used["postgres" if name == "postgres" else "other"] += spent
    busy = sorted((v for v in per_process.values() if v > 0.01), reverse=True)
    return result, CpuSplit(**{k: v / wall for k, v in used.items()}, driver=driver / wall, idle=idle / wall), busy
