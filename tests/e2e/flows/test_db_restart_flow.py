"""A queue-store PostgreSQL restart while an agent runs a job loses nothing and runs
nothing twice. The test starts its own PostgreSQL server (the `private_postgres`
fixture of tests/support/fixtures/prefect.py) so restarting it disturbs no other test."""

from __future__ import annotations

import json
import subprocess

from launch_core.store import QueueStore
from tests.e2e.flows.test_agents_flow import start_agent
from tests.support import wait_for
from tests.support.fixtures.prefect import JOBS, pg_ctl, read_records


def test_store_restart_during_a_run_loses_nothing_and_runs_nothing_twice(
        relaunch, cli_env, private_postgres, out_dir, tmp_path):
    url, data = private_postgres
    env = {**cli_env, "RELAUNCH_DATABASE_URL": url}
    assert relaunch("queue", "create", "q", "-r", "local-process", env=env).code == 0
    jobs = [relaunch("launch", "-q", "q", "--code", str(JOBS), "-E", "python3 record.py",
                     "--run-config", json.dumps({"out": str(out_dir), "sleep": 4}), "--json",
                     env=env).json()["id"] for _ in range(2)]
    store = QueueStore(url)
    agents: list[subprocess.Popen[str]] = []
    try:
        agent = start_agent(env, agents, tmp_path, "-q", "q", "--until-idle")
        wait_for(lambda: store.get_item(jobs[0]).state == "running", "the first job to run")
        pg_ctl(data, "restart", "-m", "fast", "-w")
        assert agent.wait(timeout=180) == 0, (tmp_path / "agent-0.log").read_text()[-3000:]
        for job in jobs:
            assert store.get_item(job).state == "finished"
            assert len(read_records(out_dir, job)) == 1
    finally:
        for proc in agents:
            if proc.poll() is None:
                proc.kill()
        store.dispose()
