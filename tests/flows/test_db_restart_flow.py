"""A queue-store PostgreSQL restart while an agent runs a job loses nothing and runs
nothing twice. The test starts its own PostgreSQL server (scripts/start-postgres.sh on
a private port and data dir) so restarting it disturbs no other test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from launch_core.store import QueueStore
from tests.flows.conftest import JOBS, read_records
from tests.flows.test_agents_flow import start_agent
from tests.prefect_server import free_port
from tests.support import require_service, wait_for

ROOT = Path(__file__).resolve().parents[2]
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))


def _pg_ctl(data: Path, *args: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    # Output to the server log, never to pipes: a (re)started server would hold them open.
    subprocess.run([*prefix, str(PGBIN / "pg_ctl"), "-D", str(data), "-l",
                    str(data / "server.log"), *args], check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


@pytest.fixture
def private_postgres() -> Iterator[tuple[str, Path]]:
    """(URL, data dir) of a PostgreSQL server of this test's own."""
    if not (PGBIN / "initdb").exists():
        require_service("PostgreSQL server binaries", f"{PGBIN} not found")
    data = Path(f"/var/tmp/relaunch-test-pg-{uuid.uuid4().hex[:8]}")
    env = {**os.environ, "RELAUNCH_PGDATA": str(data), "RELAUNCH_PGPORT": str(free_port())}
    started = subprocess.run(["bash", str(ROOT / "scripts/start-postgres.sh")], env=env,
                             capture_output=True, text=True, timeout=180)
    if started.returncode != 0:
        require_service("a private PostgreSQL server", started.stderr[-500:])
    try:
        yield started.stdout.strip(), data
    finally:
        try:
            _pg_ctl(data, "stop", "-m", "immediate")
        finally:
            shutil.rmtree(data, ignore_errors=True)


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
        _pg_ctl(data, "restart", "-m", "fast", "-w")
        assert agent.wait(timeout=180) == 0, (tmp_path / "agent-0.log").read_text()[-3000:]
        for job in jobs:
            assert store.get_item(job).state == "finished"
            assert len(read_records(out_dir, job)) == 1
    finally:
        for proc in agents:
            if proc.poll() is None:
                proc.kill()
        store.dispose()
