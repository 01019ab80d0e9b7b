"""The `pipeline` command line, run as an operator would run it."""

import os
import subprocess
import sys

import httpx

from app.config import Settings
from app.main import create_app
from tests.command_line import migrated_sqlite, pipeline


async def test_migrate_create_key_and_seed_demo(tmp_path):
    db = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    assert pipeline("migrate", db=db).returncode == 0
    created = pipeline("create-key", "--role", "bureau", "--name", "招商局 张科长", db=db)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("ipk_")

    seeded = pipeline("seed-demo", db=db)
    assert seeded.returncode == 0, seeded.stderr
    assert "760 projects" in seeded.stdout
    again = pipeline("seed-demo", db=db)
    assert again.returncode == 1 and "already" in again.stderr
    assert pipeline("seed-demo", "--if-empty", db=db).returncode == 0

    app = create_app(Settings(database_url=db))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://cli") as client:
        ok = await client.get("/api/v1/projects?stage=negotiating&limit=1", headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200 and len(ok.json()["items"]) == 1
        wrong = await client.get("/api/v1/projects", headers={"Authorization": f"Bearer {key}x"})
        assert wrong.status_code == 401


def test_create_key_refuses_an_unbound_leader_key(tmp_path):
    db = migrated_sqlite(tmp_path)
    r = pipeline("create-key", "--role", "leader", "--name", "no leader", db=db)
    assert r.returncode == 2 and "leader_id" in r.stderr


def test_serve_finishes_a_request_in_flight_when_told_to_stop(tmp_path):
    import signal
    import socket
    import threading
    import time

    from tests.ledger_files import csv_bytes, ledger_row, table

    db = migrated_sqlite(tmp_path, "serve.db")
    key = pipeline("create-key", "--role", "admin", "--name", "shutdown", db=db).stdout.strip().splitlines()[-1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PIPELINE_DATABASE_URL": db, "PIPELINE_WEBHOOK_WORKER_ENABLED": "false",
           "PIPELINE_ESCALATION_JOB_ENABLED": "false", "PIPELINE_LOG_LEVEL": "WARNING",
           # A request that takes a while: the ledger is imported during it, not as a job.
           "PIPELINE_IMPORT_SYNC_MAX_ROWS": "100000", "PIPELINE_IMPORT_JOB_WORKER_ENABLED": "false"}
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        ledger = csv_bytes(table([ledger_row(n) for n in range(1, 30_001)]))  # a dry run of a second or more
        answer: list[httpx.Response] = []
        finished: list[float] = []

        def send() -> None:
            answer.append(httpx.post(f"{base}/api/v1/imports/projects", params={"dry_run": "true"}, timeout=60,
                                     headers={"Authorization": f"Bearer {key}"},
                                     files={"file": ("台账.csv", ledger, "text/csv")}))
            finished.append(time.monotonic())

        request = threading.Thread(target=send)
        request.start()
        time.sleep(0.5)
        told_to_stop = time.monotonic()
        server.send_signal(signal.SIGTERM)
        request.join(60)
        assert answer and answer[0].status_code == 200, answer and answer[0].text
        assert finished[0] > told_to_stop, "the request was not in flight when the server was told to stop"
        # uvicorn finishes what is in flight, then lets SIGTERM end the process as it would have.
        assert server.wait(30) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
