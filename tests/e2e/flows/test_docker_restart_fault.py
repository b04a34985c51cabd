"""The fault matrix's Docker-daemon-restart column, in CI's size: a local-container job
caught at ``submitted`` (its container started, not yet recorded) and at ``running``
while the Docker daemon restarts; the same agent goes on and the job ends once,
``finished``. The daemon is a private one (tests/support/faults/docker_daemon.py: its own socket and
data root, live-restore) so the machine's daemon is left alone; the container's starts
are counted from that daemon's start log. Real agent, Prefect server, PostgreSQL.
The whole column is bench/bench_docker_restart.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from launch_core.store import QueueStore
from tests.support import RELAUNCH
from tests.support.faults.docker_daemon import PrivateDockerd
from tests.support.faults.matrix import Rig, agent_env, table

pytestmark = pytest.mark.soak  # Docker daemon restarts (a private dockerd): `make soak`


class DaemonRig(Rig):
    daemon: PrivateDockerd

    def _container_starts(self, run_id: str, since: float) -> int:
        return self.daemon.starts(f"relaunch-{run_id}")


@pytest.fixture(scope="module")
def daemon(docker_env) -> Iterator[PrivateDockerd]:
    made = PrivateDockerd(Path(f"/var/tmp/relaunch-test-docker-{uuid.uuid4().hex[:8]}"))
    try:
        made.start()
        made.load_image(docker_env.base_image)
        yield made
    finally:
        made.remove()


@pytest.mark.parametrize("point", ["submitted", "running"])
def test_docker_daemon_restarts_and_the_same_agent_ends_the_job_once(
        daemon: PrivateDockerd, docker_env, cli_env: dict[str, str],
        postgres_url: str, tmp_path: Path, point: str) -> None:
    store = QueueStore(postgres_url)
    rig = DaemonRig(RELAUNCH, {**agent_env(cli_env, postgres_url, tmp_path), **daemon.env},
                    tmp_path, store, image=docker_env.base_image,
                    restart_store=daemon.restart)
    rig.daemon = daemon
    try:
        cell = rig.run("local-container", point, "store-restart")
    finally:
        rig._stop_agents()
        store.dispose()
    cell.fault = "docker-restart"
    assert cell.ok, table([cell])
