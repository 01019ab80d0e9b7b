"""The `pipeline` command line run in this process, as `python -m app.cli` runs it.

A fresh interpreter per command cost about a second and a half each (importing the app)
for nothing the tests check: `main()` reads the same environment and prints to the same
streams. The commands run in a thread of their own because they start their own event
loop (`asyncio.run`), which cannot nest in a test's. The serve and concurrent-migration
tests still start real processes: a process is what they are about.
"""

import contextlib
import io
import os
import shutil
import subprocess
import threading
from pathlib import Path
from unittest import mock

from app import cli
from app.config import get_settings

# One command at a time per test process: the environment and the standard streams are
# the process's own.
_lock = threading.Lock()


def pipeline(*args: str, db: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``pipeline ARGS`` on database ``db``; its exit code and what it printed."""
    out, err = io.StringIO(), io.StringIO()
    result: list[int] = []

    def run() -> None:
        try:
            result.append(cli.main(list(args)))
        except SystemExit as stop:  # argparse's refusals, and commands that exit with a message
            code = stop.code
            if isinstance(code, str):
                err.write(code + "\n")
                code = 1
            result.append(int(code or 0))

    with _lock, mock.patch.dict(os.environ, {"PIPELINE_DATABASE_URL": db, **(env or {})}), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        get_settings.cache_clear()
        try:
            worker = threading.Thread(target=run)
            worker.start()
            worker.join(120)
            assert not worker.is_alive(), f"pipeline {' '.join(args)} did not finish"
        finally:
            get_settings.cache_clear()
    return subprocess.CompletedProcess(["pipeline", *args], result[0], out.getvalue(), err.getvalue())


_template: dict[str, Path] = {}


def migrated_sqlite(directory: Path, name: str = "cli.db") -> str:
    """A SQLite database at the latest migration in ``directory``: migrated once per test
    process by ``pipeline migrate``, copied for each test after that."""
    if "db" not in _template:
        template = Path(directory).parent / "migrated-template.db"
        r = pipeline("migrate", db=f"sqlite+aiosqlite:///{template}")
        assert r.returncode == 0, r.stderr
        _template["db"] = template
    target = Path(directory) / name
    shutil.copyfile(_template["db"], target)
    return f"sqlite+aiosqlite:///{target}"
