"""Real PostgreSQL restarts under concurrent idempotent writers: nothing acknowledged is
lost, and nothing is answered 500.

    python -m bench.chaos                       # ten restarts, four writers
    python -m bench.chaos --restarts 3 --writers 8

It makes a PostgreSQL cluster of its own (``initdb`` in a temporary folder, on a free
port of 127.0.0.1, its socket in that folder; never a shared server), migrates a
database there, and serves the API in this process (ASGI, as the tests do). Writers
POST projects, each with its own ``Idempotency-Key``; a 503 is retried with the same key
and body until acknowledged (201). Meanwhile the cluster is restarted, cycling through
``pg_ctl restart -m fast``, ``-m immediate`` (a crash: recovery replays the WAL) and
``-m smart`` (which waits for every session to end: a pool's sessions do not, so after
``--smart-wait`` seconds of refusing new connections with 57P03 it is finished as fast).

It reports the answers by status, the writes acknowledged and found (an acknowledged
write that is missing is lost; one found twice was duplicated by a retry), and for
each restart the seconds from the server accepting connections again to the next
acknowledged write. The target: zero 500s, zero acknowledged writes lost, over ten
restarts. Run as root, it runs the PostgreSQL programs as the ``postgres`` user.
"""

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from app.cli import migrate
from app.config import Settings
from app.main import create_app
from app.models.access import ApiKeyCreate
from app.models.enums import Role
from app.services.access import keys
from app.services.access.permissions import Principal


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A PostgreSQL cluster of this run's own."""

    folder: Path
    port: int
    as_user: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.as_user, *args], check=check, capture_output=True, text=True)

    def options(self) -> str:
        return f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=on"

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-instructions")
        self.start()

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-o", self.options(), "-l", str(self.folder / "server.log"),
                 "-w", "-t", "60", "start")

    def restart(self, mode: str, *, smart_wait: float) -> str:
        """Restart with shutdown ``mode``; returns what was done."""
        if mode != "smart":
            self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
            self.start()
            return mode
        stopped = self.run("pg_ctl", "-D", str(self.data), "-m", "smart", "-w", "-t", f"{smart_wait:g}", "stop",
                           check=False)
        done = "smart"
        if stopped.returncode != 0:  # the sessions did not end: finish it as an operator would
            self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
            done = f"smart (sessions still open after {smart_wait:g} s, then fast)"
        self.start()
        return done

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    acknowledged: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    last_ack: float = 0.0
    acked: asyncio.Event = field(default_factory=asyncio.Event)

    async def ack_after(self, instant: float, *, within: float) -> float | None:
        """Seconds from ``instant`` to the first acknowledgement after it (None: not within)."""
        deadline = instant + within
        while self.last_ack < instant:
            self.acked.clear()
            remaining = deadline - time.monotonic()
            if self.last_ack >= instant or remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.acked.wait(), timeout=remaining)
        return self.last_ack - instant if self.last_ack >= instant else None


async def writer(client: httpx.AsyncClient, admin: dict[str, str], n: int, tally: Tally, stop: asyncio.Event) -> None:
    run = uuid.uuid4().hex[:8]
    i = 0
    while not stop.is_set():
        i += 1
        name = f"混沌写入 {run}-{n:02d}-{i:05d}"
        body = {"name": name, "investor": "混沌测试", "investor_country": "CN", "funding_source": "domestic",
                "industry": "logistics", "zone": "binhai_new_area",
                "total_investment": {"amount": "1000000.00", "currency": "CNY"}}
        headers = {**admin, "Idempotency-Key": f"chaos-{run}-{n}-{i}"}
        while True:  # the same key and body until acknowledged: a retry never makes a second project
            try:
                r = await client.post("/api/v1/projects", headers=headers, json=body)
            except Exception as exc:  # the service raised instead of answering: as bad as a 500
                tally.unexpected.append(f"{type(exc).__name__}: {exc}")
                tally.statuses[-1] += 1
                await asyncio.sleep(0.1)
                continue
            tally.statuses[r.status_code] += 1
            if r.status_code == 201:
                tally.acknowledged.append(name)
                tally.last_ack = time.monotonic()
                tally.acked.set()
                break
            if r.status_code != 503:
                tally.unexpected.append(f"{r.status_code}: {r.text[:300]}")
            await asyncio.sleep(0.05)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds of writing between restarts")
    parser.add_argument("--smart-wait", type=float, default=5.0)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="pipeline-chaos-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(folder, _free_port(), as_user)
    try:
        cluster.init()
        admin_conn = await asyncpg.connect(host="127.0.0.1", port=cluster.port, user="postgres", database="postgres")
        await admin_conn.execute("CREATE DATABASE chaos")
        await admin_conn.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{cluster.port}/chaos"
        await asyncio.to_thread(migrate, url)
        settings = Settings(database_url=url, webhook_worker_enabled=False, escalation_job_enabled=False,
                            housekeeping_enabled=False, rate_limit_per_minute=0, gc_freeze=False,
                            pool_size=4, max_overflow=2, pool_timeout_seconds=2.0, connect_timeout_seconds=2.0)
        app = create_app(settings)
        tally = Tally()
        recoveries: list[tuple[str, float | None]] = []
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://chaos", timeout=60) as client:
            async with app.state.sessionmaker() as session, session.begin():
                created = await keys.create_key(session, data=ApiKeyCreate(name="chaos admin", role=Role.admin),
                                                actor=Principal.operator("chaos"))
            admin = {"Authorization": f"Bearer {created.key}"}
            stop = asyncio.Event()
            writers = [asyncio.create_task(writer(client, admin, n, tally, stop)) for n in range(args.writers)]
            modes = ["fast", "immediate", "smart"]
            for i in range(args.restarts):
                await asyncio.sleep(args.interval)
                mode = modes[i % len(modes)]
                done = await asyncio.to_thread(cluster.restart, mode, smart_wait=args.smart_wait)
                recovery = await tally.ack_after(time.monotonic(), within=30)
                recoveries.append((done, recovery))
                shown = f"{recovery:.2f} s" if recovery is not None else "not within 30 s"
                print(f"restart {i + 1:2d} ({done}): writing again {shown} after the server was up", flush=True)
            await asyncio.sleep(args.interval)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*writers), timeout=120)
        conn = await asyncpg.connect(host="127.0.0.1", port=cluster.port, user="postgres", database="chaos")
        try:
            names = Counter(r["name"] for r in await conn.fetch(
                "SELECT name FROM projects WHERE investor = '混沌测试'"))
        finally:
            await conn.close()
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)

    acknowledged = set(tally.acknowledged)
    lost = acknowledged - set(names)
    duplicated = [n for n, c in names.items() if c > 1]
    times = [r for _, r in recoveries if r is not None]
    print()
    print(f"restarts: {len(recoveries)} ({', '.join(sorted(Counter(d.split()[0] for d, _ in recoveries)))}), "
          f"writers: {args.writers}")
    print("answers by status: " + ", ".join(f"{'raised' if s == -1 else s}: {c}"
                                            for s, c in sorted(tally.statuses.items())))
    print(f"writes acknowledged: {len(acknowledged)}; found: {sum(names.values())}; "
          f"acknowledged and lost: {len(lost)}; duplicated: {len(duplicated)}")
    if times:
        print(f"seconds to recover: max {max(times):.2f}, mean {sum(times) / len(times):.2f}")
    for line in tally.unexpected[:10]:
        print(f"unexpected: {line}")
    failed = tally.statuses[500] or tally.statuses[-1] or lost or duplicated or len(times) < len(recoveries)
    print("target (zero 500s, zero acknowledged writes lost):", "NOT MET" if failed else "met")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    asyncio.run(main())
