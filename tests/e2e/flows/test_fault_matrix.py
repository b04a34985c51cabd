"""The fault matrix: `make test` runs one representative cell per fault kind (and per
cloud resource), `make soak` the others (marked ``soak``). A job paused at each point
of its launch (claimed, building, pushing, submitted-but-not-recorded, running,
ended-but-not-recorded) while its agent is killed with SIGKILL or stopped with
SIGTERM, or the queue store restarts; it must end once, ``finished``, counted from its
own side effect (a marker line per run; for a container, the Docker daemon's start
events) and the events audit. Real agents (tests/support/faults/fault_cli.py adds only
the pause), a real Prefect server, PostgreSQL. The cloud resources' cells run against
test doubles (tests/support/faults/doubles.py): the Kubernetes double (kmock's emulator
over HTTP plus a job controller running the pods' containers on the local Docker
daemon), moto (AWS's emulator, in this process over HTTP) and the Vertex fake (a fake
of Vertex AI's JobService REST API); there "once" is what reached the double
(containers started and Jobs created, CreateTrainingJob requests, CustomJobs created).
The whole table is bench/bench_fault_matrix.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from launch_core.store import QueueStore
from tests.support import RELAUNCH
from tests.support.docker import DockerEnv
from tests.support.faults import doubles as _fault_doubles
from tests.support.faults.matrix import POINTS, Rig, agent_env, table
from tests.support.fixtures.prefect import pg_ctl
from tests.support.kube_double import KubeDouble
from tests.support.moto_double import SageMakerDouble
from tests.support.vertex_fake import VertexFake


@pytest.fixture
def rig(cli_env: dict[str, str], postgres_url: str, tmp_path: Path) -> Iterator[Rig]:
    store = QueueStore(postgres_url)
    made = Rig(RELAUNCH, agent_env(cli_env, postgres_url, tmp_path), tmp_path, store)
    yield made
    made._stop_agents()
    store.dispose()


def cells(points, keep: str) -> list:
    """``points`` as parameters: ``keep``, the representative cell, runs in `make test`;
    the others are the full matrix's and marked ``soak`` (`make soak`)."""
    return [point if point == keep else pytest.param(point, marks=pytest.mark.soak)
            for point in points]


@pytest.mark.parametrize("point", cells(POINTS, keep="submitted"))
def test_agent_killed_at_each_point_then_a_new_agent_ends_the_job_once(rig: Rig, point: str):
    cell = rig.run("local-process", point, "kill-9")
    assert cell.ok, table([cell])


@pytest.mark.parametrize("point", cells(["claimed", "submitted", "ending"], keep="submitted"))
def test_agent_stopped_with_sigterm_then_a_new_agent_ends_the_job_once(rig: Rig, point: str):
    cell = rig.run("local-process", point, "sigterm")
    assert cell.ok, table([cell])


@pytest.mark.parametrize("point", cells(["claimed", "submitted", "running", "ending"],
                                        keep="running"))
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


# The re-adoption cells of the cloud resources: the agent killed once the run exists at
# the resource but before it is recorded submitted, and while the run is running.
CLOUD_POINTS = ["submitted", "running"]


@pytest.mark.parametrize("point", cells(CLOUD_POINTS, keep="submitted"))
def test_kubernetes_agent_killed_then_a_new_agent_ends_the_job_once(
        rig: Rig, kube_double: KubeDouble, docker_env: DockerEnv,  # noqa: F811
        tmp_path: Path, point: str) -> None:
    rig.targets["kubernetes"] = _fault_doubles.kubernetes(kube_double, docker_env.base_image,
                                                          tmp_path)
    cell = rig.run("kubernetes", point, "kill-9")
    assert cell.ok, table([cell])


@pytest.mark.parametrize("point", cells(CLOUD_POINTS, keep="submitted"))
def test_sagemaker_agent_killed_then_a_new_agent_ends_the_job_once(
        rig: Rig, sagemaker_moto: SageMakerDouble, point: str) -> None:  # noqa: F811
    registry = os.environ.get("RELAUNCH_TEST_REGISTRY", "127.0.0.1:5000")
    rig.targets["sagemaker"] = _fault_doubles.sagemaker(sagemaker_moto, registry)
    cell = rig.run("sagemaker", point, "kill-9")
    assert cell.ok, table([cell])


@pytest.mark.parametrize("point", cells(CLOUD_POINTS, keep="submitted"))
def test_vertex_agent_killed_then_a_new_agent_ends_the_job_once(
        rig: Rig, vertex_fake: VertexFake, point: str) -> None:  # noqa: F811
    rig.targets["vertex"] = _fault_doubles.vertex(vertex_fake)
    cell = rig.run("vertex", point, "kill-9")
    assert cell.ok, table([cell])
