"""local-container options in W&B's forms (``env`` as a list of KEY=VALUE, ``ulimit``,
``pids-limit``) reach a real container on the real Docker daemon; and an unchanged
W&B training script, in an image holding the host's ``wandb`` package, sees the
launched run config and run id through the pipeline (no Prefect, SQLite sqlite_store).
No container here uses a network (the test daemon has no bridge)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from launch_core import api
from launch_core.backends.local_container import LocalContainerResource
from launch_core.backends.resource import JobContext
from launch_core.pipeline.pipeline import JobPipeline
from launch_core.spec.agent_config import AgentConfig, load_agent_config
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueStore
from tests.support.docker import DockerEnv, Names

TRAIN = """\
import json
import wandb

run = wandb.init(project="stock-project", config={"lr": 0.01})
print("RESULT " + json.dumps({"lr": run.config.lr, "id": run.id}), flush=True)
run.finish()
"""


def _run(docker_env: DockerEnv, job: JobContext) -> tuple[Any, str]:
    """Submit ``job``, wait for its end; its container (still there) and its output."""
    resource = LocalContainerResource(docker_env.client)
    handle = resource.submit(job)
    deadline = time.monotonic() + 120
    while not resource.status(handle).done:
        assert time.monotonic() < deadline, "the container did not end in 120 s"
        time.sleep(0.2)
    container = docker_env.client.containers.get(handle["container_id"])
    return container, resource.read_logs(handle, 0)[0]


def test_wandb_option_forms_reach_the_container(docker_env: DockerEnv, names: Names,
                                                tmp_path: Path) -> None:
    # (The env list form is shown by the W&B script below: WANDB_MODE=offline.)
    config = {"labels": {"relaunch.test": names.token}, "ulimit": "nofile=512:1024",
              "pids-limit": 64, "m": "256m"}
    script = 'echo "soft=$(ulimit -Sn) hard=$(ulimit -Hn)"'
    job = JobContext(run_id=names.token[:12], item_id=1, entry_point=["sh", "-c", script],
                     args=[], env={}, config=config, run_dir=tmp_path / "run", workdir=None,
                     image=docker_env.base_image)
    try:
        container, output = _run(docker_env, job)
        assert "soft=512 hard=1024" in output
        host = container.attrs["HostConfig"]
        assert host["PidsLimit"] == 64
        assert host["Memory"] == 256 * 1024 * 1024
        assert host["NetworkMode"] == "none"  # relaunch's default: no network
    finally:
        LocalContainerResource(docker_env.client).cleanup({"container_id": job.ref.name})


def test_the_short_env_form_reaches_the_container_through_the_pipeline(
        docker_env: DockerEnv, names: Names, sqlite_store: QueueStore) -> None:
    """W&B's ``e`` (docker run's -e) is the queue's env option: the job sees it."""
    queue = api.create_queue(sqlite_store, "short-env", "local-container", entity="team",
                             config={"labels": {"relaunch.test": names.token},
                                     "e": ["FROM_E=yes"]})
    item = sqlite_store.enqueue(queue, LaunchSpec.model_validate({
        "image": docker_env.base_image, "entry_point": ["sh", "-c", "echo from_e=$FROM_E"]}))
    config: AgentConfig = load_agent_config(environ={}, flags={"builder": {"type": "noop"}})[0]
    [claimed] = sqlite_store.claim("agent-a", [queue.id])
    lines: list[str] = []
    state = asyncio.run(JobPipeline(sqlite_store, config, "agent-a", lines.append).run(
        item.id, claim_token=claimed.claim_token))
    assert state == "finished", lines[-20:]
    assert "from_e=yes" in lines


# --- an unchanged W&B script ------------------------------------------------------------


def _closure(name: str, seen: set[str]) -> set[str]:
    """The installed distributions ``name`` needs (markers for no extras)."""
    dist = metadata.distribution(name)
    key = dist.metadata["Name"].lower()
    if key in seen:
        return seen
    seen.add(key)
    for text in dist.requires or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            _closure(requirement.name, seen)
    return seen


def _copy_packages(names: set[str], target: Path) -> None:
    for name in names:
        for file in metadata.distribution(name).files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue
            source = Path(str(file.locate()))
            if source.is_file():
                (target / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / file)


@pytest.fixture(scope="module")
def wandb_image(docker_env: DockerEnv, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[str]:
    """The test base image plus this interpreter's ``wandb`` and what it needs (the
    base image's Python is the same minor version) and the training script."""
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the base image's Python is 3.11; copied packages must match it")
    context = tmp_path_factory.mktemp("wandb-image")
    _copy_packages(_closure("wandb", set()), context / "site")
    (context / "train.py").write_text(TRAIN)
    (context / "Dockerfile").write_text(
        f"FROM {docker_env.base_image}\nCOPY site /opt/wandb-site\nCOPY train.py /app/\n"
        "ENV PYTHONPATH=/opt/wandb-site\nWORKDIR /app\n")
    tag = f"relaunch-test/wandb:{context.name.lower()}"
    docker_env.client.images.build(path=str(context), tag=tag, network_mode="none", rm=True)
    yield tag
    docker_env.client.images.remove(tag, force=True)


def test_wandb_script_in_a_container_sees_the_launched_config_and_run_id(
        docker_env: DockerEnv, names: Names, wandb_image: str, sqlite_store: QueueStore) -> None:
    queue = api.create_queue(sqlite_store, "wandb", "local-container", entity="team", config={
        "labels": {"relaunch.test": names.token},
        "env": ["WANDB_MODE=offline", "WANDB_SILENT=true", "HOME=/tmp"]})
    item = sqlite_store.enqueue(queue, LaunchSpec.model_validate({
        "image": wandb_image, "entry_point": ["python3", "train.py"],
        "run_config": {"lr": 0.5}}))
    config: AgentConfig = load_agent_config(environ={}, flags={"builder": {"type": "noop"}})[0]
    [claimed] = sqlite_store.claim("agent-a", [queue.id])
    lines: list[str] = []
    state = asyncio.run(JobPipeline(sqlite_store, config, "agent-a", lines.append).run(
        item.id, claim_token=claimed.claim_token))
    assert state == "finished", lines[-20:]
    [result] = [json.loads(line.removeprefix("RESULT ")) for line in lines
                if line.startswith("RESULT ")]
    assert result == {"lr": 0.5, "id": item.run_id}
