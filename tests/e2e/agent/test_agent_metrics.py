"""``relaunch launch-agent --metrics-port``: a real agent (the console script, the
session's Prefect server) runs local-process jobs, some finishing and one failing, on
a SQLite and on a PostgreSQL store. Its /metrics, scraped with httpx while the jobs
run and after they ended, agrees with the store: queued and running jobs, this
agent's running jobs, ends by state and stage, waits and runs observed once per job.
A 503 creating a job's flow run (a fault proxy in front of Prefect) is counted once.
The server stops with the agent."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from launch_core import api
from launch_core.store import QueueItem, QueueStore
from launch_core.store.states import ACTIVE, QUEUED, TERMINAL
from tests.support import RELAUNCH, wait_for
from tests.support.fault_proxy import FaultProxy
from tests.support.prefect_server import free_port

TEAM = {"entity": "team", "queue": "q"}


@pytest.fixture(params=["sqlite", "postgres"])
def agent_env(request: pytest.FixtureRequest, cli_env: dict[str, str]) -> dict[str, str]:
    if request.param == "postgres":
        return {**cli_env, "RELAUNCH_DATABASE_URL": request.getfixturevalue("postgres_url")}
    return cli_env


def open_store(env: dict[str, str]) -> QueueStore:
    """The store the agent of ``env`` uses, with queue ``q`` (local-process)."""
    data = Path(env["RELAUNCH_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    store = QueueStore(env.get("RELAUNCH_DATABASE_URL") or f"sqlite:///{data / 'relaunch.db'}")
    api.create_queue(store, "q", "local-process", entity="team", prioritization=True)
    return store


@pytest.fixture
def store(agent_env: dict[str, str]) -> Iterator[QueueStore]:
    opened = open_store(agent_env)
    yield opened
    opened.dispose()


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Agent processes a test started; any still running are stopped at the end."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def start_agent(env: dict[str, str], agents: list[subprocess.Popen[bytes]], tmp_path: Path,
                port: int) -> subprocess.Popen[bytes]:
    log = open(tmp_path / "agent.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([RELAUNCH, "launch-agent", "-q", "q", "--max-jobs", "2",
                             "--metrics-port", str(port)], env=env, cwd=tmp_path, stdout=log,
                            stderr=subprocess.STDOUT)
    agents.append(proc)
    return proc


def enqueue(store: QueueStore, gate: Path, code: int = 0, priority: str = "medium"
            ) -> QueueItem:
    """A job that waits for ``gate`` to exist, then exits with ``code``."""
    script = (f"import os, sys, time\nwhile not os.path.exists({str(gate)!r}): "
              f"time.sleep(0.05)\nsys.exit({code})")
    return api.launch(store, "q", {"image": "local", "priority": priority,
                                   "entry_point": [sys.executable, "-c", script]},
                      entity="team")


def scrape(port: int) -> list[Sample] | None:
    """Every sample /metrics serves now (None while nothing answers)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return None
    return [sample for family in text_string_to_metric_families(text)
            for sample in family.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(s.value for s in samples
               if s.name == name and labels.items() <= s.labels.items())


def store_counts(store: QueueStore) -> dict[str, float]:
    """What the queue gauges should say, read from the store."""
    items = store.list_items(entity="team", limit=1000)
    queued = Counter(item.priority_name for item in items if item.state == QUEUED)
    return {**{f"queued {p}": float(queued[p]) for p in ("critical", "high", "medium", "low")},
            "running": float(sum(item.state in ACTIVE for item in items))}


def gauges(samples: list[Sample]) -> dict[str, float]:
    queued = {f"queued {p}": value(samples, "relaunch_queue_queued_jobs", priority=p, **TEAM)
              for p in ("critical", "high", "medium", "low")}
    return {**queued, "running": value(samples, "relaunch_queue_running_jobs", **TEAM)}


def agreeing(port: int, expected: object, read: Callable[[list[Sample]], object]
             ) -> list[Sample] | None:
    """The scrape, once ``read(samples)`` equals ``expected`` (the gauges are cached
    for a few seconds)."""
    samples = scrape(port)
    return samples if samples is not None and read(samples) == expected else None


def test_metrics_agree_with_the_store_while_jobs_run_and_after(
        agent_env: dict[str, str], store: QueueStore,
        agents: list[subprocess.Popen[bytes]], tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    gate = tmp_path / "gate"
    request.addfinalizer(gate.touch)  # a failed assertion must not leave the jobs waiting
    jobs = [enqueue(store, gate, priority="high"), enqueue(store, gate, code=3),
            enqueue(store, gate), enqueue(store, gate)]
    port = free_port()
    agent = start_agent(agent_env, agents, tmp_path, port)
    log = tmp_path / "agent.log"

    # While two jobs run (max_jobs 2) and two wait, gate closed.
    wait_for(lambda: sum(store.get_item(j.id).state == "running" for j in jobs) == 2,
             lambda: f"two running jobs; agent log: {log.read_text()[-2000:]}")
    expected = store_counts(store)
    assert expected == {"queued critical": 0, "queued high": 0, "queued medium": 2,
                        "queued low": 0, "running": 2}
    samples = wait_for(lambda: agreeing(port, expected, gauges),
                       lambda: f"gauges {expected}, got {gauges(scrape(port) or [])}")
    assert value(samples, "relaunch_agent_running_jobs", **TEAM) == 2
    # The high-priority job was claimed first, then the first medium one.
    assert value(samples, "relaunch_job_wait_seconds_count", priority="high", **TEAM) == 1
    assert value(samples, "relaunch_job_wait_seconds_count", priority="medium", **TEAM) == 1
    assert value(samples, "relaunch_job_ends_total") == 0

    # After every job ended.
    gate.touch()
    wait_for(lambda: all(store.get_item(j.id).state in TERMINAL for j in jobs),
             lambda: f"every job to end; agent log: {log.read_text()[-2000:]}")
    ended = [store.get_item(j.id) for j in jobs]
    by_end = Counter((item.state, item.stage or "") for item in ended)
    assert by_end == {("finished", ""): 3, ("failed", "run"): 1}

    def ends(samples: list[Sample]) -> dict[tuple[str, str], float]:
        return {key: value(samples, "relaunch_job_ends_total", state=key[0], stage=key[1],
                           resource="local-process", **TEAM) for key in by_end}

    after = (store_counts(store), dict(by_end))
    samples = wait_for(
        lambda: agreeing(port, after, lambda s: (gauges(s), ends(s))),
        lambda: f"{after}, got {gauges(scrape(port) or [])} {ends(scrape(port) or [])}")
    assert value(samples, "relaunch_job_ends_total") == len(jobs)
    assert value(samples, "relaunch_agent_running_jobs", **TEAM) == 0
    assert value(samples, "relaunch_job_wait_seconds_count", **TEAM) == len(jobs)
    assert value(samples, "relaunch_job_run_seconds_count", **TEAM) == len(jobs)
    runs = sum((item.finished_at or 0) - (item.started_at or 0) for item in ended)
    assert all(item.started_at for item in ended)  # each ran
    assert value(samples, "relaunch_job_run_seconds_sum", **TEAM) == pytest.approx(runs)
    assert value(samples, "relaunch_claim_duration_seconds_count") >= 3
    assert value(samples, "relaunch_lease_renewals_lost_total") == 0
    assert value(samples, "relaunch_prefect_api_errors_total") == 0
    wait_for(lambda: value(scrape(port) or [], "relaunch_heartbeat_duration_seconds_count"),
             "a heartbeat to be timed (one every 5 s)")

    # The server stops with the agent.
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert scrape(port) is None


def test_a_503_creating_a_jobs_flow_run_is_counted_as_one_prefect_api_error(
        cli_env: dict[str, str], proxy: FaultProxy,
        agents: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    """Prefect answers 503 twice (past its client's one retry) to the creation of the
    job's flow run: the job is given back, runs on its next attempt, and the agent
    counts one error of operation flow_run_start."""
    env = {**cli_env, "PREFECT_API_URL": proxy.url, "PREFECT_CLIENT_MAX_RETRIES": "1"}
    store = open_store(env)
    try:
        gate = tmp_path / "gate"
        gate.touch()
        job = enqueue(store, gate)
        # The agent's own flow run is created first; the job's flow run next.
        fault = proxy.fail("POST", "/api/flow_runs/$", skip=1, times=2)
        port = free_port()
        start_agent(env, agents, tmp_path, port)
        wait_for(lambda: store.get_item(job.id).state in TERMINAL,
                 lambda: f"the job to end: {(tmp_path / 'agent.log').read_text()[-2000:]}")
        item = store.get_item(job.id)
        assert (item.state, item.attempts, fault.hits) == ("finished", 1, 2)
        samples = wait_for(lambda: (s := scrape(port)) and value(
            s, "relaunch_job_ends_total", state="finished") == 1 and s, "the job's end")
        assert value(samples, "relaunch_prefect_api_errors_total",
                     operation="flow_run_start") == 1
        assert value(samples, "relaunch_prefect_api_errors_total",
                     operation="flow_run_end") == 0
        assert value(samples, "relaunch_job_wait_seconds_count") == 2  # two claims
    finally:
        store.dispose()
