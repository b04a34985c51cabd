"""Agents against a PostgreSQL queue store and a real Prefect server: exactly-once
execution across agents, max_jobs, re-adoption after kill -9 and after SIGTERM, a
kill -9 between starting a job and recording it, cancel of a running job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from launch_core.store import QueueStore
from tests.support import RELAUNCH, wait_for
from tests.support.fixtures.prefect import JOBS, read_records

# The real CLI with one fault injected (see the file).
FAULTY_CLI = Path(__file__).resolve().parents[2] / "support" / "faulty_cli.py"


def start_faulty_agent(fault: str, file: Path, env: dict[str, str], agents: list,
                       tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    log = open(tmp_path / f"agent-{len(agents)}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, str(FAULTY_CLI), fault, str(file),
                             "launch-agent", *args], env=env, cwd=tmp_path, stdout=log,
                            stderr=subprocess.STDOUT, text=True)
    agents.append(proc)
    return proc


@pytest.fixture
def pg_env(cli_env: dict[str, str], postgres_url: str) -> dict[str, str]:
    cli_env["RELAUNCH_DATABASE_URL"] = postgres_url
    return cli_env


@pytest.fixture
def store(pg_env: dict[str, str]) -> Iterator[QueueStore]:
    opened = QueueStore(pg_env["RELAUNCH_DATABASE_URL"])
    yield opened
    opened.dispose()


@pytest.fixture
def agents(pg_env: dict[str, str], tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """Agent processes started by a test; any still running are killed at the end."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def start_agent(env: dict[str, str], agents: list, tmp_path: Path, *args: str):
    log = open(tmp_path / f"agent-{len(agents)}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([RELAUNCH, "launch-agent", *args], env=env, cwd=tmp_path,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    agents.append(proc)
    return proc


def enqueue(relaunch, out_dir: Path, **run_config) -> int:
    result = relaunch("launch", "-q", "q", "--code", str(JOBS), "-E", "python3 record.py",
                      "--run-config", json.dumps({"out": str(out_dir), **run_config}), "--json")
    assert result.code == 0, result.err
    return int(result.json()["id"])


def short_lease_queue(relaunch, tmp_path: Path, lease: float) -> Path:
    """Queue ``q`` (local-process) and an agent config polling it with ``lease``."""
    config = tmp_path / "launch-config.yaml"
    config.write_text(f"queues: [q]\nlease_seconds: {lease}\n")
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0
    return config


def kill_9_then_drain(first, store, agents, pg_env, out_dir, tmp_path, config, job):
    """kill -9 the agent ``first``; a new agent drains the queue: the job must have
    finished, run once by its own record. Returns the job's events."""
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    second = start_agent(pg_env, agents, tmp_path, "-c", str(config), "--until-idle")
    assert second.wait(timeout=180) == 0, (tmp_path / "agent-1.log").read_text()[-3000:]
    item = store.get_item(job)
    assert (item.state, item.exit_code) == ("finished", 0)
    assert len(read_records(out_dir, job)) == 1  # the job's own record: one run
    return store.events_for(job)


def claimed_by(store: QueueStore, item_id: int) -> list[str]:
    """The agents that claimed the item (notes, which keep the state, left out)."""
    return [e.actor for e in store.events_for(item_id)
            if e.to_state == "claimed" and e.from_state != "claimed"]


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    current = peak = 0
    for _, step in points:
        current += step
        peak = max(peak, current)
    return peak


def test_two_agents_run_forty_jobs_exactly_once_within_max_jobs(
        relaunch, api, store, agents, pg_env, out_dir, tmp_path):
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0
    jobs = [enqueue(relaunch, out_dir, sleep=0.3) for _ in range(40)]
    for _ in range(2):
        start_agent(pg_env, agents, tmp_path, "-q", "q", "--max-jobs", "2", "--until-idle")
    for proc in agents:
        assert proc.wait(timeout=600) == 0, (tmp_path / "agent-0.log").read_text()[-3000:]

    per_agent: dict[str, list[tuple[float, float]]] = {}
    for job in jobs:
        assert store.get_item(job).state == "finished"
        [record] = read_records(out_dir, job)  # ran exactly once
        [agent] = claimed_by(store, job)  # claimed exactly once
        per_agent.setdefault(agent, []).append((record["start"], record["end"]))
    assert len(per_agent) == 2, "both agents should have taken jobs"
    # each agent's flow run is named after its entity and queues, findable in the UI
    assert len(api.flow_runs("agent-team-q")) >= 2
    for intervals in per_agent.values():
        assert max_overlap(intervals) <= 2


def test_kill_9_agent_then_new_agent_readopts_without_resubmitting(
        relaunch, store, agents, pg_env, out_dir, tmp_path):
    config = short_lease_queue(relaunch, tmp_path, lease=5)
    job = enqueue(relaunch, out_dir, sleep=8)
    first = start_agent(pg_env, agents, tmp_path, "-c", str(config))
    wait_for(lambda: store.get_item(job).state == "running", "the job to run")
    events = kill_9_then_drain(first, store, agents, pg_env, out_dir, tmp_path, config, job)
    assert [e.to_state for e in events].count("submitted") == 1
    assert any(e.message == "re-adopted" for e in events)


def test_sigterm_releases_running_job_which_keeps_running_and_is_readopted(
        relaunch, store, agents, pg_env, out_dir, tmp_path):
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0
    job = enqueue(relaunch, out_dir, sleep=6)
    first = start_agent(pg_env, agents, tmp_path, "-q", "q")
    wait_for(lambda: store.get_item(job).state == "running", "the job to run")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=60) == 0
    item = store.get_item(job)
    assert item.state == "running" and item.agent_id is None  # released, not lost
    second = start_agent(pg_env, agents, tmp_path, "-q", "q", "--until-idle")
    assert second.wait(timeout=180) == 0
    assert store.get_item(job).state == "finished"
    assert len(read_records(out_dir, job)) == 1


def test_cancel_running_job_stops_its_process(relaunch, store, agents, pg_env, out_dir,
                                              tmp_path):
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0
    job = enqueue(relaunch, out_dir, sleep=120)
    start_agent(pg_env, agents, tmp_path, "-q", "q")
    wait_for(lambda: store.get_item(job).state == "running", "the job to run")
    pid = store.get_item(job).handle["pid"]
    assert relaunch("job", "cancel", str(job)).code == 0
    wait_for(lambda: store.get_item(job).state == "cancelled", "the job to be cancelled", 60)
    wait_for(lambda: not Path(f"/proc/{pid}").exists()
             or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3],
             "the job process to end", 30)
    assert read_records(out_dir, job) == []


def test_kill_9_between_start_and_submitted_record_runs_the_job_once(
        relaunch, store, agents, pg_env, out_dir, tmp_path):
    config = short_lease_queue(relaunch, tmp_path, lease=5)
    job = enqueue(relaunch, out_dir, sleep=2)
    paused = tmp_path / "paused"
    first = start_faulty_agent("pause-after-submit", paused, pg_env, agents, tmp_path,
                               "-c", str(config))
    wait_for(paused.exists, "the job to start under the paused agent", 120)
    assert store.get_item(job).state == "building"  # started, not recorded
    events = kill_9_then_drain(first, store, agents, pg_env, out_dir, tmp_path, config, job)
    item = store.get_item(job)
    [submitted] = [e for e in events if e.to_state == "submitted"]
    assert "re-attached" in (submitted.message or "")
    assert item.handle is not None and item.handle["pid"] == int(paused.read_text())


def test_a_dead_heartbeat_ends_the_agent_with_exit_1_naming_it_and_releases_its_job(
        relaunch, store, agents, pg_env, out_dir, tmp_path):
    config = short_lease_queue(relaunch, tmp_path, lease=6)  # a heartbeat every 2 s
    job = enqueue(relaunch, out_dir, sleep=10)
    fault = tmp_path / "break-heartbeat"
    agent = start_faulty_agent("heartbeat-dies", fault, pg_env, agents, tmp_path,
                               "-c", str(config))
    wait_for(lambda: store.get_item(job).state == "running", "the job to run")
    fault.touch()
    assert agent.wait(timeout=60) == 1
    output = (tmp_path / "agent-0.log").read_text()
    assert "error: agent" in output and "heartbeat died: RuntimeError: injected heartbeat" \
        " fault; its jobs were released" in output, output[-3000:]
    item = store.get_item(job)
    assert (item.state, item.agent_id) == ("running", None)  # released: re-adoptable
    second = start_agent(pg_env, agents, tmp_path, "-c", str(config), "--until-idle")
    assert second.wait(timeout=180) == 0
    assert store.get_item(job).state == "finished"
    assert len(read_records(out_dir, job)) == 1
