"""The fault matrix, in CI's size: a job paused at each point of its launch (claimed,
building, pushing, submitted-but-not-recorded, running, ended-but-not-recorded) while
its agent is killed with SIGKILL or stopped with SIGTERM, or the queue store restarts;
it must end once, ``finished``, counted from its own side effect (a marker line per
run; for a container, the Docker daemon's start events) and the events audit. Real
agents (bench/_fault_cli.py adds only the pause), a real Prefect server, PostgreSQL.
The whole table (more faults, both resources) is bench/bench_fault_matrix.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench._faults import POINTS, Rig, agent_env, table
from launch_core.store import QueueStore
from tests.conftest import RELAUNCH
from tests.flows.conftest import pg_ctl


@pytest.fixture
def rig(cli_env: dict[str, str], postgres_url: str, tmp_path: Path) -> Iterator[Rig]:
    store = QueueStore(postgres_url)
    made = Rig(RELAUNCH, agent_env(cli_env, postgres_url, tmp_path), tmp_path, store)
    yield made
    made._stop_agents()
    store.dispose()


@pytest.mark.parametrize("point", POINTS)
def test_agent_killed_at_each_point_then_a_new_agent_ends_the_job_once(rig: Rig, point: str):
    cell = rig.run("local-process", point, "kill-9")
    assert cell.ok, table([cell])


@pytest.mark.parametrize("point", ["claimed", "submitted", "ending"])
def test_agent_stopped_with_sigterm_then_a_new_agent_ends_the_job_once(rig: Rig, point: str):
    cell = rig.run("local-process", point, "sigterm")
    assert cell.ok, table([cell])


@pytest.mark.parametrize("point", ["claimed", "submitted", "running", "ending"])
def test_store_restarts_at_a_point_and_the_same_agent_ends_the_job_once(
        cli_env: dict[str, str], private_postgres: tuple[str, Path], tmp_path: Path,
        point: str) -> None:
    url, data = private_postgres
    store = QueueStore(url)
    rig = Rig(RELAUNCH, agent_env(cli_env, url, tmp_path), tmp_path, store,
              restart_store=lambda: pg_ctl(data, "restart", "-m", "fast", "-w"))
    try:
        cell = rig.run("local-process", point, "store-restart")
    finally:
        rig._stop_agents()
        store.dispose()
    assert cell.ok, table([cell])
