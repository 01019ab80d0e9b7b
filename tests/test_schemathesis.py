"""Schemathesis against the service's own OpenAPI document, over real HTTP on PostgreSQL.

Every operation gets generated requests (examples, coverage of edge values, fuzzing),
with a valid admin key and all default checks: no server error, responses conform to
their declared schema, status code and content type.
"""

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from app.config import Settings
from app.main import create_app
from tests.conftest import POSTGRES_URL

# Revoking keys would revoke the key the run itself uses; key revocation has its own tests.
EXCLUDED = {("DELETE", "/api/v1/api-keys/{key_id}")}
EXAMPLES = 10  # per operation and generation mode (each example a real HTTP request: the suite keeps to its 5 minutes)
# The operations are dealt round-robin to this many tests, so that the suite's workers
# share them instead of one worker running them all at the end.
SHARDS = 4

# Every default check is on. The one configured is which answers count as accepting
# schema-valid data: besides the defaults, 412/428 (a change needs the current ETag,
# which no generator can know) and 422 (rules JSON Schema cannot state: planned dates
# in order, a referenced leader that exists, a move not dated before the previous one,
# a cursor this service issued), and 410 (a retired operation, kept in the document as
# deprecated, answers every request so). Format-level rules are all in the schema (enums,
# patterns, lengths), so the check still catches a validator stricter than its schema.
CONFIG = schemathesis.Config.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "410", "412", "422", "428", "429"]}}})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(api, settings: Settings, backend: str) -> Iterator[str]:
    """The service on a real socket of 127.0.0.1, on the test database."""
    if backend == "sqlite" and POSTGRES_URL:
        pytest.skip("schemathesis runs on PostgreSQL when it is configured")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _seed(base_url: str, headers: dict[str, str]) -> None:
    # Some data, so that generated ids find rows as well as miss them.
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as client:
        leader = client.post("/api/v1/leaders", json={"name": "王副市长", "title": "副市长"}).json()
        unit = client.post("/api/v1/units", json={"name": "市商务局"}).json()
        for i in range(3):
            r = client.post("/api/v1/projects", json={
                "name": f"示例项目{i}", "investor": "示例投资方", "investor_country": "CN",
                "funding_source": "domestic", "industry": "new_energy", "zone": "binhai_new_area",
                "code": f"2020-370214-04-01-00000{i}",
                "total_investment": {"amount": "100000000.00", "currency": "CNY"},
                "leader_id": leader["id"], "unit_id": unit["id"]})
            assert r.status_code == 201, r.text


@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_operation_answers_as_its_schema_says(live_server: str, api, shard: int) -> None:
    """Positive and negative generated requests for every operation of the shard (every
    SHARDS-th in the document's order); every failure is reported."""
    _seed(live_server, api.admin)
    schema = schemathesis.openapi.from_url(f"{live_server}/openapi.json", config=CONFIG)
    failures: list[str] = []
    cases = operations = 0
    for index, result in enumerate(schema.get_all_operations()):
        operation = result.ok()
        if index % SHARDS != shard or (operation.method.upper(), operation.path) in EXCLUDED:
            continue
        operations += 1
        for mode in schemathesis.GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case: schemathesis.Case) -> None:
                nonlocal cases
                cases += 1
                case.call_and_validate(base_url=live_server, headers=api.admin)

            try:
                run()
            except Unsatisfiable:
                assert mode is schemathesis.GenerationMode.NEGATIVE  # nothing to get wrong without parameters
            except (Exception, BaseExceptionGroup) as exc:  # collect: one run shows every operation's failures
                failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {exc}")
    print(f"schemathesis: {operations} operations, {cases} cases")
    assert operations > 0 and cases >= operations
    assert not failures, "\n\n".join(failures)
