"""An agent whose Prefect API fails: each job still ends once.

A real agent (console script, SQLite store) reaches the session's real Prefect
server through a loopback fault proxy (tests/support/fault_proxy.py, a test double of
a flaky network path) that answers 503 to chosen calls or to all of them for a
while. Prefect's client retries a 503 by itself; PREFECT_CLIENT_MAX_RETRIES=1 here
so a fault of two calls outlasts those retries. "Once" is counted from the job's own
marker (tests/support/jobs/record.py appends a line per run) and from the events table.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from launch_core.store import QueueStore
from tests.support import RELAUNCH, wait_for
from tests.support.fault_proxy import FaultProxy
from tests.support.fixtures.prefect import JOBS, read_records

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def agent_env(cli_env: dict[str, str], proxy: FaultProxy) -> dict[str, str]:
    return {**cli_env, "PREFECT_API_URL": proxy.url, "PREFECT_CLIENT_MAX_RETRIES": "1"}


@pytest.fixture
def store(cli_env: dict[str, str]) -> Iterator[QueueStore]:
    data = Path(cli_env["RELAUNCH_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    opened = QueueStore(f"sqlite:///{data / 'relaunch.db'}")
    yield opened
    opened.dispose()


def enqueue(relaunch, queue: str, out_dir: Path, **run_config: object) -> int:
    result = relaunch("launch", "-q", queue, "--code", str(JOBS), "-E", "python3 record.py",
                      "--run-config", json.dumps({"out": str(out_dir), **run_config}), "--json")
    assert result.code == 0, result.err
    return int(result.json()["id"])


def transitions(store: QueueStore, item_id: int) -> list[tuple[str | None, str]]:
    return [(e.from_state, e.to_state) for e in store.events_for(item_id)
            if e.from_state != e.to_state]


@pytest.mark.parametrize("call", ["/api/flows/$", "/api/flow_runs/$"],
                         ids=["flow", "flow-run"])
def test_a_503_creating_a_jobs_flow_run_gives_the_job_back_at_once_and_it_runs_once(
        relaunch, agent_env: dict[str, str], proxy: FaultProxy, store: QueueStore,
        out_dir: Path, call: str) -> None:
    """The issue's burst: Prefect answered 503 while the job's flow run was created
    (its flow registered, then the run). The item goes back to the queue at once with
    one attempt counted (not held until its lease lapses) and the next attempt runs
    it, once."""
    queue = f"create-{call.split('/')[2].replace('_', '-')}"
    assert relaunch("queue", "create", queue, "-r", "local-process").code == 0
    job = enqueue(relaunch, queue, out_dir)
    # The agent's own flow run is created first; the job's flow run next.
    fault = proxy.fail("POST", call, skip=1, times=2)
    agent = relaunch("launch-agent", "-q", queue, "--until-idle", env=agent_env,
                     timeout=240)
    assert agent.code == 0, agent.err[-3000:]
    assert fault.hits == 2
    item = store.get_item(job)
    assert (item.state, item.attempts) == ("finished", 1)
    assert len(read_records(out_dir, job)) == 1
    assert transitions(store, job) == [
        (None, "queued"), ("queued", "claimed"), ("claimed", "queued"),
        ("queued", "claimed"), ("claimed", "building"), ("building", "submitted"),
        ("submitted", "running"), ("running", "finished")]
    [back] = [e for e in store.events_for(job) if e.to_state == "queued" and e.from_state]
    assert back.message.startswith("launch failed: ") and "503" in back.message


def test_prefect_unreachable_while_a_job_runs_ends_the_job_once(
        relaunch, agent_env: dict[str, str], proxy: FaultProxy, store: QueueStore,
        out_dir: Path, tmp_path: Path) -> None:
    """From the moment the job's flow run starts its body, every Prefect call gets 503
    and the events websocket is refused for 20 s: the six stages, the job's run and
    its flow run's end fall inside. The job is not failed, given back or run again;
    one warning says the Prefect UI shows its flow run unfinished."""
    queue = "outage"
    assert relaunch("queue", "create", queue, "-r", "local-process").code == 0
    job = enqueue(relaunch, queue, out_dir, sleep=1)
    # The agent's flow run reads itself back first, then the job's does.
    outage = proxy.outage_after("GET", f"/api/flow_runs/{UUID}$", skip=1, seconds=20)
    log = tmp_path / "agent.log"
    with log.open("w") as out:
        agent = subprocess.Popen([RELAUNCH, "launch-agent", "-q", queue], env=agent_env,
                                 cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: store.get_item(job).state in ("finished", "failed", "cancelled"),
                 "the job to end", timeout=120)
        wait_for(lambda: outage.until and time.monotonic() > outage.until + 5,
                 "the outage to pass", timeout=60)
    finally:
        agent.terminate()
        agent.wait(timeout=60)
    item = store.get_item(job)
    assert (item.state, item.attempts) == ("finished", 0), log.read_text()[-3000:]
    assert outage.hits > 0
    assert len(read_records(out_dir, job)) == 1
    assert transitions(store, job) == [
        (None, "queued"), ("queued", "claimed"), ("claimed", "building"),
        ("building", "submitted"), ("submitted", "running"), ("running", "finished")]
    text = log.read_text()
    assert "given back" not in text and f"job {job} failed" not in text, text[-3000:]
    assert text.count(f"job {job} ended finished, but Prefect could not record the end "
                      "of its flow run") == 1, text[-3000:]
