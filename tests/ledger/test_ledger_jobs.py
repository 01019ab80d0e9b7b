"""Large ledgers as import jobs: 202 with Location, run by a worker, polled to their end."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.models import ImportJob, utcnow
from app.services.ledger import jobs
from tests.ledger_files import all_projects, csv_bytes, job_done, ledger_row, table, upload, xlsx_bytes

ROWS = 8


def sync_max_rows(api, rows: int) -> None:
    api.app.state.settings = api.app.state.settings.model_copy(update={"import_sync_max_rows": rows})


@pytest.fixture
def small_files_only(api):
    """Files of more than 3 rows become jobs; the threshold goes back after the test."""
    settings = api.app.state.settings
    sync_max_rows(api, 3)
    yield
    api.app.state.settings = settings


def ledger(rows: int = ROWS, **overrides: str) -> bytes:
    return xlsx_bytes(table([ledger_row(n, **overrides) for n in range(1, rows + 1)]))


async def imported_events(api):
    return [e for e in await api.audit() if e["action"] in ("import", "project.create")]


async def test_a_large_ledger_is_a_job_whose_report_is_the_one_a_request_answers(api, small_files_only):
    file = ledger()
    filed = await upload(api, file, "台账.xlsx", dry_run=True)
    assert filed.status_code == 202, filed.text
    queued = filed.json()
    assert (queued["status"], queued["kind"], queued["dry_run"], queued["rows_done"]) == ("queued", "projects",
                                                                                           True, 0)
    assert queued["report"] is None and queued["problem"] is None
    job = await job_done(api, filed)
    assert (job["status"], job["attempts"], job["rows_done"], job["rows_total"]) == ("finished", 1, ROWS, ROWS)

    # The same file answered during the request: the same report.
    sync_max_rows(api, 500)
    at_once = await upload(api, file, "台账.xlsx", dry_run=True)
    assert at_once.status_code == 200, at_once.text
    assert job["report"] == at_once.json()
    assert await all_projects(api) == []


async def test_a_real_import_job_writes_every_row_once_as_its_filer(api, small_files_only):
    bureau = await api.key("bureau")
    job = await job_done(api, await upload(api, ledger(), "台账.xlsx", headers=bureau), headers=bureau)
    assert job["status"] == "finished", job
    report = job["report"]
    assert (report["dry_run"], report["valid"], report["rows"], report["created"]) == (False, True, ROWS, ROWS)
    assert len(await all_projects(api)) == ROWS
    events = await imported_events(api)
    assert len(events) == ROWS + 1
    assert {e["actor_name"] for e in events} == {"bureau key"}


async def test_only_its_filer_and_bureau_and_admin_keys_read_a_job(api, small_files_only):
    bureau = await api.key("bureau")
    filed = await upload(api, ledger(), "台账.xlsx", headers=bureau, dry_run=True)
    location = filed.headers["Location"]
    for headers, status in [(bureau, 200), (api.admin, 200), (await api.key("bureau"), 200),
                            (await api.key("viewer"), 404), (await api.key("integration"), 404)]:
        r = await api.client.get(location, headers=headers)
        assert r.status_code == status, r.text
    r = await api.client.get("/api/v1/imports/99999", headers=api.admin)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")


async def test_a_job_cut_mid_way_is_taken_up_again_and_writes_once(api, small_files_only):
    filed = await upload(api, ledger(), "台账.xlsx")
    sessionmaker, settings = api.app.state.sessionmaker, api.app.state.settings
    # A process claims the job, then dies: its import never commits, its lease runs out.
    async with sessionmaker() as session, session.begin():
        dead = await jobs.claim(session, worker="dead process", settings=settings, now=utcnow())
    assert dead is not None
    assert await jobs.run_once(sessionmaker, settings, worker="another") is None  # its lease still holds
    async with sessionmaker() as session, session.begin():
        await session.execute(update(ImportJob).values(lease_expires_at=utcnow() - timedelta(seconds=1)))

    job = await job_done(api, filed)
    assert (job["status"], job["attempts"], job["report"]["created"]) == ("finished", 2, ROWS)
    # The first process comes back and finishes its run: the job is no longer its own, so its
    # writes roll back.
    assert await jobs.run_claimed(sessionmaker, dead, settings, worker="dead process") is None
    assert len(await all_projects(api)) == ROWS
    assert len([e for e in await imported_events(api) if e["action"] == "import"]) == 1


async def test_a_job_cut_off_too_often_ends_failed_with_nothing_written(api, small_files_only):
    filed = await upload(api, ledger(), "台账.xlsx")
    async with api.app.state.sessionmaker() as session, session.begin():
        await session.execute(update(ImportJob).values(
            status="running", worker="dead", attempts=api.app.state.settings.import_job_max_attempts,
            lease_expires_at=utcnow() - timedelta(seconds=1)))
    job = await job_done(api, filed)
    assert (job["status"], job["problem"]["code"], job["problem"]["status"]) == ("failed", "import_interrupted", 500)
    assert await all_projects(api) == []


async def test_a_bad_ledger_job_ends_failed_with_its_row_errors_and_nothing_written(api, small_files_only):
    rows = [ledger_row(n) for n in range(1, ROWS + 1)]
    rows[4]["所处阶段"] = "验收"
    job = await job_done(api, await upload(api, csv_bytes(table(rows))))
    assert job["status"] == "failed"
    assert (job["problem"]["code"], job["problem"]["status"]) == ("ledger_invalid", 422)
    assert [(e["row"], e["field"]) for e in job["problem"]["errors"]] == [(6, "stage")]
    assert (job["report"]["valid"], job["report"]["invalid"], job["report"]["created"]) == (False, 1, ROWS - 1)
    assert await all_projects(api) == []
    assert await imported_events(api) == []


async def test_an_unreadable_file_is_refused_at_once_not_filed(api, small_files_only):
    r = await upload(api, b"%PDF-1.4 not a ledger", "台账.pdf")
    assert (r.status_code, r.json()["code"]) == (422, "unsupported_file")
    assert await jobs.run_once(api.app.state.sessionmaker, api.app.state.settings, worker="w") is None


async def test_a_retried_post_with_its_idempotency_key_files_one_job(api, small_files_only):
    boundary = "ledger-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ledger.xlsx\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + ledger() + f"\r\n--{boundary}--\r\n".encode()
    headers = {**api.admin, "Idempotency-Key": "ledger-2022-06", "Content-Type": f"multipart/form-data; "
                                                                                 f"boundary={boundary}"}
    first = await api.client.post("/api/v1/imports/projects", content=body, headers=headers)
    again = await api.client.post("/api/v1/imports/projects", content=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202), again.text
    assert again.headers["Location"] == first.headers["Location"] and again.json() == first.json()
    job = await job_done(api, first)
    assert job["report"]["created"] == ROWS
    assert len(await all_projects(api)) == ROWS


async def test_the_progress_is_written_as_the_job_runs(api, small_files_only):
    filed = await upload(api, ledger(), "台账.xlsx")
    sessionmaker, settings = api.app.state.sessionmaker, api.app.state.settings
    async with sessionmaker() as session, session.begin():
        claimed = await jobs.claim(session, worker="w", settings=settings, now=utcnow())
    assert claimed is not None
    beat = jobs.Heartbeat(sessionmaker, claimed.job_id, "w", settings)
    beat("importing", 3, ROWS)
    await beat.beat()
    running = (await api.client.get(filed.headers["Location"], headers=api.admin)).json()
    assert (running["status"], running["phase"], running["rows_done"], running["rows_total"]) == (
        "running", "importing", 3, ROWS)
