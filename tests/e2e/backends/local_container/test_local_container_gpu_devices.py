"""The GPU devices an agent assigned to a run reach its container as a Docker device
request, on the real daemon. The test daemon has no GPU runtime, so a container that
asks for a GPU is created but cannot start: the tests read what the daemon recorded
(``HostConfig.DeviceRequests``) from the created container."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import docker
import pytest

from launch_core.backends.local_container import LocalContainerResource
from launch_core.backends.resource import JobContext
from launch_core.errors import InvalidInput
from tests.support.docker import DockerEnv, Names


def _job(names: Names, tmp_path: Path, gpus: Any, devices: tuple[str, ...] | None,
         image: str) -> JobContext:
    config = {"labels": {"relaunch.test": names.token}}
    if gpus is not None:
        config["gpus"] = gpus
    return JobContext(run_id=names.token[:12], item_id=1, entry_point=["true"], args=[],
                      env={}, config=config, run_dir=tmp_path / "run", workdir=None,
                      image=image, gpu_devices=devices)


def _recorded(docker_env: DockerEnv, job: JobContext) -> Any:
    """Submit ``job`` (its start fails without a GPU runtime when it asks for a GPU);
    the device requests the daemon recorded for its container."""
    resource = LocalContainerResource(docker_env.client)
    try:
        resource.submit(job)
    except docker.errors.APIError as exc:
        assert "device driver" in str(exc)  # created; no GPU runtime to start it
    container = docker_env.client.containers.get(job.ref.name)
    return container.attrs["HostConfig"]["DeviceRequests"]


def test_the_agents_devices_are_the_containers_device_request(
        docker_env: DockerEnv, names: Names, tmp_path: Path) -> None:
    job = _job(names, tmp_path, 2, ("1", "3"), docker_env.base_image)
    assert _recorded(docker_env, job) == [{"Driver": "", "Count": 0,
                                           "DeviceIDs": ["1", "3"],
                                           "Capabilities": [["gpu"]], "Options": {}}]


def test_without_agent_devices_the_option_is_the_request(
        docker_env: DockerEnv, names: Names, tmp_path: Path) -> None:
    job = _job(names, tmp_path, "device=0,2", None, docker_env.base_image)
    [request] = _recorded(docker_env, job)
    assert (request["DeviceIDs"], request["Capabilities"]) == (["0", "2"], [["gpu"]])


def test_a_run_given_no_device_gets_no_gpu_and_runs(
        docker_env: DockerEnv, names: Names, tmp_path: Path) -> None:
    job = _job(names, tmp_path, 0, (), docker_env.base_image)
    resource = LocalContainerResource(docker_env.client)
    handle = resource.submit(job)
    deadline = time.monotonic() + 120
    while not (status := resource.status(handle)).done:
        assert time.monotonic() < deadline, "the container did not end in 120 s"
        time.sleep(0.2)
    assert status.state == "finished"
    container = docker_env.client.containers.get(handle["container_id"])
    assert not container.attrs["HostConfig"]["DeviceRequests"]


def test_all_on_an_agent_with_gpu_slots_is_refused_before_anything_is_created(
        docker_env: DockerEnv, names: Names, tmp_path: Path) -> None:
    job = _job(names, tmp_path, "all", ("0",), docker_env.base_image)
    with pytest.raises(InvalidInput, match="^local-container: option 'gpus': 'all' cannot"):
        LocalContainerResource(docker_env.client).submit(job)
    with pytest.raises(docker.errors.NotFound):
        docker_env.client.containers.get(job.ref.name)
