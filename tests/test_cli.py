"""The `pipeline` command line, run as an operator would run it."""

import os
import subprocess
import sys

import httpx

from app.config import Settings
from app.main import create_app


def pipeline(*args, db):
    env = {**os.environ, "PIPELINE_DATABASE_URL": db}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


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
    db = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    assert pipeline("migrate", db=db).returncode == 0
    r = pipeline("create-key", "--role", "leader", "--name", "no leader", db=db)
    assert r.returncode == 2 and "leader_id" in r.stderr
