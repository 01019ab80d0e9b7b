"""``pipeline import FILE``: the ledger import at the command line, with a progress line."""

import json

from tests.command_line import migrated_sqlite, pipeline
from tests.ledger_files import csv_bytes, ledger_row, table, xlsx_bytes


def test_pipeline_import_loads_a_ledger_all_or_nothing_with_progress_on_stderr(tmp_path):
    db = migrated_sqlite(tmp_path)
    good = tmp_path / "台账.xlsx"
    good.write_bytes(xlsx_bytes(table([ledger_row(n) for n in range(1, 31)])))
    bad = tmp_path / "坏台账.csv"
    bad.write_bytes(csv_bytes(table([ledger_row(1), ledger_row(2, 所属区域="火星")]), "gbk"))

    dry = pipeline("import", str(good), "--dry-run", db=db)
    assert dry.returncode == 0, dry.stderr
    assert "30 rows; 30 would be created" in dry.stdout and "dry run" in dry.stdout
    assert "validating" in dry.stderr and "30/30 rows" in dry.stderr

    refused = pipeline("import", str(bad), db=db)
    assert refused.returncode == 1
    assert "nothing was imported" in refused.stderr
    assert "row 3, 所属区域 = '火星': is not a zone" in refused.stderr

    done = pipeline("import", str(good), "--json", db=db)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["created"], report["dry_run"], report["file_name"]) == (30, False, "台账.xlsx")
    assert "importing" in done.stderr

    again = pipeline("import", str(good), db=db)
    assert again.returncode == 0 and "0 were created, 0 updated, 30 unchanged" in again.stdout


def test_pipeline_import_refuses_a_missing_file(tmp_path):
    r = pipeline("import", str(tmp_path / "nope.xlsx"), db=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert r.returncode == 2 and "error" in r.stderr
